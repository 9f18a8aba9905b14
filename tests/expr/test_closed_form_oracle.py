"""Closed forms of f and its gradients against an independent oracle: torch.autograd.

Production shows a form only if it reproduces the backward pass *at the given values*; a
form that is wrong as a function (Wᵀ for W, a missing term that happens to vanish there)
could still pass that check. Here every form shown is evaluated at fresh random values by
a walk of its algebra tree into torch ops, and compared with torch.autograd of the original
expression (a walk of the parsed Term tree) at those same values. Random expressions come
from a Hypothesis strategy over the whole language; a curated list of homework expressions
must get a form for every variable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import reduce

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convcalc.errors import ConvcalcError
from convcalc.expr import algebra as al
from convcalc.expr.autodiff import backward
from convcalc.expr.closed_form import ClosedForm, ClosedForms, closed_forms
from convcalc.expr.graph import Graph, build
from convcalc.expr.parse import Term, parse
from convcalc.io import read_tensor

torch = pytest.importorskip("torch")

Shape = tuple[int, ...]
F64 = torch.float64
FRESH_POINTS = 3  # independent draws of all variables per case
NEGATIVE_RANGE = (-2.0, 2.0)  # any variable
POSITIVE_RANGE = (0.25, 2.0)  # a variable under log, a fractional power or a division
HUGE = 1e100  # torch's f or gradient past this: the draw is skipped (exp(exp(exp(a))) overflows when squared)


# --- the oracle: the parsed expression in torch ------------------------------------------

def _torch_t(a: torch.Tensor) -> torch.Tensor:
    return a.T if a.dim() == 2 else a  # NumPy: .T of a vector or a number is itself


_TERM_UNARY: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "neg": torch.neg, "T": _torch_t, "sum": torch.sum, "mean": torch.mean, "relu": torch.relu,
    "sigmoid": torch.sigmoid, "tanh": torch.tanh, "exp": torch.exp, "log": torch.log, "square": torch.square,
    "norm": lambda a: torch.sqrt(torch.sum(a * a)),
}  # fmt: skip
_TERM_BINARY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "matmul": torch.matmul,
}  # fmt: skip


def term_value(term: Term, tensors: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """A parsed expression evaluated with torch ops (NumPy's broadcasting and 1-D @ semantics)."""
    if term.op == "var":
        return tensors[term.name]
    if term.op == "const":
        return torch.tensor(term.number, dtype=F64)
    args = [term_value(a, tensors) for a in term.args]
    if term.op == "pow":
        return torch.pow(args[0], term.number)
    if term.op in _TERM_BINARY:
        return _TERM_BINARY[term.op](*args)
    return _TERM_UNARY[term.op](args[0])


@dataclass(frozen=True)
class Oracle:
    value: torch.Tensor  # f, 0-d
    grads: dict[str, torch.Tensor]  # ∂f/∂(each variable), in the variable's NumPy shape


def oracle(term: Term, point: Mapping[str, np.ndarray]) -> Oracle | None:
    """f and its gradients by torch.autograd at ``point``; None where anything is not finite (or huge)."""
    tensors = {n: torch.tensor(np.asarray(v, dtype=np.float64), dtype=F64, requires_grad=True) for n, v in point.items()}
    out = term_value(term, tensors)
    assert out.numel() == 1, f"{term.text}: torch gives shape {tuple(out.shape)}"
    out = out.reshape(())
    names = list(tensors)
    raw = torch.autograd.grad(out, [tensors[n] for n in names], allow_unused=True)
    out = out.detach()
    grads = {n: torch.zeros_like(tensors[n]).detach() if g is None else g.detach() for n, g in zip(names, raw, strict=True)}
    for t in (out, *grads.values()):  # past ~1e100 a form's x² may overflow where torch's x·x/‖x‖ does not
        if not bool(torch.isfinite(t).all()) or float(t.abs().max()) > HUGE:
            return None
    return Oracle(out, grads)


# --- the forms in torch: an evaluator of our own for the algebra tree ---------------------

_FORM_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "exp": torch.exp, "log": torch.log, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
    "step": lambda a: (a > 0).to(F64), "dsigmoid": lambda a: torch.sigmoid(a) * (1 - torch.sigmoid(a)),
}  # fmt: skip


def _power(x: torch.Tensor, p: Fraction) -> torch.Tensor:
    return x if p == 1 else torch.pow(x, float(p))


def form_value(a: al.Sum, env: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``a`` as a (rows, cols) float64 tensor: Σ coef · Π scalarᵖ · body over its terms."""
    out = torch.zeros(a.shape, dtype=F64)
    for t in a.terms:
        assert t.shape == a.shape, f"term of shape {t.shape} in a sum of shape {a.shape}"
        value = torch.full(a.shape, float(t.coef), dtype=F64)
        for f, p in t.scalars:
            s = _factor(f, env)
            assert tuple(s.shape) == al.SCALAR, f"a scalar factor of shape {tuple(s.shape)}"
            value = value * _power(s, p)
        if t.body is not None:
            body = _factor(t.body, env)
            assert tuple(body.shape) == a.shape, f"body of shape {tuple(body.shape)} in a sum of shape {a.shape}"
            value = value * body
        out = out + value
    return out


def _factor(f: al.Factor, env: Mapping[str, torch.Tensor]) -> torch.Tensor:
    if isinstance(f, al.Sum):
        return form_value(f, env)
    if isinstance(f, al.Var):
        stored = f.shape[::-1] if f.transposed else f.shape  # the variable as a column or matrix
        value = env[f.name].reshape(stored)
        return value.T if f.transposed else value
    if isinstance(f, al.Ones):
        return torch.ones(f.shape, dtype=F64)
    if isinstance(f, al.Fn):
        value = _FORM_FUNCTIONS[f.name](form_value(f.arg, env))
        return value.T if f.transposed else value
    if isinstance(f, al.Norm):
        return torch.sqrt(torch.sum(form_value(f.arg, env) ** 2)).reshape(1, 1)
    if isinstance(f, al.Total):
        return torch.sum(form_value(f.arg, env)).reshape(1, 1)
    if isinstance(f, al.MatMul):
        return reduce(torch.matmul, (_factor(x, env) for x in f.factors))
    if isinstance(f, al.Had):
        return reduce(torch.mul, (_power(_factor(x, env), p) for x, p in f.factors))
    raise AssertionError(f"unknown factor {type(f).__name__}")


# --- checking every form shown ------------------------------------------------------------

def algebra_shape(shape: Shape) -> al.Shape:
    """A NumPy shape as the algebra writes it: a number is 1×1, a vector a column."""
    return al.SCALAR if len(shape) == 0 else (shape[0], 1) if len(shape) == 1 else (shape[0], shape[1])


def close(got: torch.Tensor, want: torch.Tensor) -> bool:
    got, want = got.reshape(-1), want.reshape(-1)
    scale = 1.0 + float(want.abs().max()) if want.numel() else 1.0
    return got.numel() == want.numel() and bool(torch.allclose(got, want, rtol=1e-7, atol=1e-9 * scale))


def check_at(text: str, forms: ClosedForms, point: Mapping[str, np.ndarray]) -> bool:
    """Every form shown equals torch's value or gradient at ``point``; False (skipped) where torch, or
    convcalc's own backward pass, is not finite there: ‖relu(u)‖'s gradient u⊙[u > 0]/‖relu(u)‖ is 0/0
    wherever u ≤ 0, and both the form and the numeric pass (which refuses) are undefined there."""
    expected = oracle(parse(text, point.keys()), point)
    if expected is None:
        return False
    try:
        backward(build(parse(text, point.keys()), point))
    except ConvcalcError:
        return False
    env = {n: torch.tensor(np.asarray(v, dtype=np.float64), dtype=F64) for n, v in point.items()}
    where = ", ".join(f"{n}={np.asarray(v).tolist()}" for n, v in point.items())
    shown: list[tuple[ClosedForm, torch.Tensor]] = [(cf, expected.grads[cf.name]) for cf in forms.gradients]
    if forms.value is not None:
        shown.append((forms.value, expected.value))
    for cf, want in shown:
        got = form_value(cf.form, env)
        assert close(got, want), (f"{text}: the closed form {cf.text!r} is wrong at {where}:\n"
                                  f"form gives {got.reshape(-1).tolist()}, torch gives {want.reshape(-1).tolist()}")
    return True


def check_structure(graph: Graph, forms: ClosedForms) -> None:
    """Each variable once, in the graph's order: shown with a form of its shape, or missing."""
    names = [cf.name for cf in forms.gradients]
    assert sorted(names + list(forms.missing)) == sorted(graph.variables)
    assert names == [n for n in graph.variables if n in names]
    for cf in forms.gradients:
        assert cf.form.shape == algebra_shape(graph.node_of(cf.name).shape), cf.text
        assert cf.text.startswith(f"∇_{cf.name} ") and cf.tex
    if forms.value is not None:
        assert forms.value.form.shape == al.SCALAR and forms.value.name == graph.output.name


def forms_of(text: str, env: Mapping[str, np.ndarray]) -> tuple[Graph, ClosedForms | None]:
    graph = build(parse(text, env.keys()), env)
    return graph, closed_forms(graph, backward(graph))


def fresh_points(shapes: Mapping[str, Shape], positive: set[str], seed: int, count: int) -> list[dict[str, np.ndarray]]:
    """``count`` independent draws of every variable, generic (no ties), in the same ranges."""
    rng = np.random.default_rng(seed)
    return [{n: rng.uniform(*(POSITIVE_RANGE if n in positive else NEGATIVE_RANGE), size=s) for n, s in shapes.items()}
            for _ in range(count)]


# --- random expressions -------------------------------------------------------------------

NAMES = tuple("abcdghkmnpqruvwyzABCDGHKMNPQRUVWYZ")
FRACTIONAL = (0.5, 1.5, -0.5, 2.5, 0.25, -1.5)


@dataclass
class Case:
    text: str
    shapes: dict[str, Shape] = field(default_factory=dict)
    positive: set[str] = field(default_factory=set)


class _Expressions:
    """Draws a shape-consistent expression, creating variables as it needs them."""

    def __init__(self, draw: Callable[[st.SearchStrategy], object]) -> None:
        self.draw = draw
        self.shapes: dict[str, Shape] = {}
        self.positive: set[str] = set()

    def pick(self, options: list[str] | tuple[str, ...]) -> str:
        return str(self.draw(st.sampled_from(options)))

    def size(self) -> int:
        return int(self.draw(st.sampled_from([1, 2, 2, 3, 3])))  # type: ignore[call-overload]

    def shape(self) -> Shape:
        kind = self.pick(("scalar", "vector", "column", "matrix"))
        if kind == "scalar":
            return ()
        if kind == "vector":
            return (self.size(),)
        return (self.size(), 1) if kind == "column" else (self.size(), self.size())

    def leaf(self, shape: Shape, positive: bool) -> str:
        if shape == () and self.draw(st.integers(0, 3)) == 0:
            return self.pick(("0.5", "2", "3", "1.5") if positive else ("0.5", "2", "(-1.5)", "3", "(-1)"))
        same = [n for n, s in self.shapes.items() if s == shape and (n in self.positive or not positive)]
        if (same and self.draw(st.booleans())) or len(self.shapes) == len(NAMES):
            assume(same)
            return self.pick(same)
        name = NAMES[len(self.shapes)]
        self.shapes[name] = shape
        if positive:
            self.positive.add(name)
        return name

    def expr(self, shape: Shape, depth: int, positive: bool = False, root: bool = False) -> str:
        if depth <= 0 or (not root and self.draw(st.integers(0, 4)) == 0):
            return self.leaf(shape, positive)
        if positive:
            return self.positive_expr(shape, depth)
        sub = lambda s=shape, pos=False: self.expr(s, depth - 1, pos)  # noqa: E731
        kinds = ["fn", "fn", "arith", "arith", "div", "pow", "neg", "matmul", "matmul"]
        kinds += ["reduce", "reduce"] if shape == () else ["broadcast", "broadcast"]
        kinds += ["T"] if len(shape) == 2 else ["T1"] if len(shape) == 1 else []
        kind = self.pick(kinds)
        if kind == "fn":
            f = self.pick(("relu", "sigmoid", "tanh", "exp", "square", "log"))
            return f"{f}({sub(shape, f == 'log')})"
        if kind == "arith":
            return f"({sub()} {self.pick(('+', '-', '*'))} {sub()})"
        if kind == "div":
            return f"({sub()} / {sub(shape, True)})"
        if kind == "pow":
            p = self.draw(st.sampled_from((2, 3, -1, -2, 0, 1, *FRACTIONAL)))
            return f"(({sub(shape, p not in (2, 3))}) ** {p})"
        if kind == "neg":
            return f"(-{sub()})"
        if kind == "broadcast":  # a single number (0-d, or 1 or 1×1 where NumPy keeps the shape) against an array
            one = self.draw(st.sampled_from([(), (), (), (1,), *([(1, 1)] if len(shape) == 2 else [])]))
            op = self.pick(("*", "+", "-", "/", "*"))
            if op == "/":
                return f"({sub()} / {sub(one, True)})"
            return f"({sub(one)} {op} {sub()})" if self.draw(st.booleans()) else f"({sub()} {op} {sub(one)})"
        if kind == "T":
            return f"({sub((shape[1], shape[0]))}).T"
        if kind == "T1":
            return f"({sub()}).T"
        if kind == "reduce":
            return f"{self.pick(('sum', 'mean', 'norm'))}({sub(self.shape())})"
        return self.matmul(shape, sub)

    def matmul(self, shape: Shape, sub: Callable[..., str]) -> str:
        """``a @ b`` of ``shape``, with 1-D operands where NumPy gives that shape."""
        k = self.size()
        if shape == ():
            return f"({sub((k,))} @ {sub((k,))})"
        if len(shape) == 1:
            (m,) = shape
            return f"({sub((m, k))} @ {sub((k,))})" if self.draw(st.booleans()) else f"({sub((k,))} @ {sub((k, m))})"
        m, n = shape
        return f"({sub((m, k))} @ {sub((k, n))})"

    def positive_expr(self, shape: Shape, depth: int) -> str:
        """An expression whose value is positive (away from 0) at any values of the variables."""
        sub = lambda s=shape, pos=False: self.expr(s, depth - 1, pos)  # noqa: E731
        kinds = ["exp", "sigmoid", "shift", "square", "product", "plus", "quotient", "power"]
        kinds += ["sum", "mean", "norm"] if shape == () else ["matmul"]
        kind = self.pick(kinds)
        if kind in ("exp", "sigmoid"):
            return f"{kind}({sub()})"
        if kind == "shift":
            return f"(1.5 + tanh({sub()}))"
        if kind == "square":
            return f"(square({sub()}) + 0.5)" if self.draw(st.booleans()) else f"(({sub()}) ** 2 + 0.5)"
        if kind in ("product", "plus", "quotient"):
            op = {"product": "*", "plus": "+", "quotient": "/"}[kind]
            return f"({sub(shape, True)} {op} {sub(shape, True)})"
        if kind == "power":
            return f"(({sub(shape, True)}) ** {self.draw(st.sampled_from((2, 3, -1, *FRACTIONAL)))})"
        if kind == "sum" or kind == "mean":
            return f"{kind}({sub(self.shape(), True)})"
        if kind == "norm":
            return f"norm({sub(self.shape())})"
        return self.matmul(shape, lambda s, pos=False: sub(s, True))  # positive entries: a positive product


@st.composite
def cases(draw: Callable[[st.SearchStrategy], object]) -> Case:
    gen = _Expressions(draw)
    shape = gen.shape()
    text = gen.expr(shape, int(draw(st.integers(2, 4))), root=True)  # type: ignore[call-overload]
    assume(gen.shapes)  # not a constant
    if len(shape) and not (shape == (1, 1) and draw(st.booleans())):  # a 1×1 result is a number already
        text = f"{gen.pick(('sum', 'mean', 'norm'))}({text})"
    return Case(text, gen.shapes, gen.positive)


def given_values(draw: Callable[[st.SearchStrategy], object], case: Case) -> dict[str, np.ndarray]:
    """The values the CLI would be given: Hypothesis floats (ties, zeros, repeats), or exact Fractions."""
    if draw(st.integers(0, 3)) == 0:  # exact inputs, as the CLI reads "1/2; 3"
        env = {}
        for name, shape in case.shapes.items():
            lo = 1 if name in case.positive else -8
            quarters = draw(hnp.arrays(np.int64, shape, elements=st.integers(lo, 8)))
            env[name] = np.asarray(np.vectorize(lambda q: Fraction(int(q), 4), otypes=[object])(quarters), dtype=object)
        return env
    return {name: draw(hnp.arrays(np.float64, shape, elements=st.floats(*(POSITIVE_RANGE if name in case.positive
                                                                         else NEGATIVE_RANGE))))
            for name, shape in case.shapes.items()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.data(), cases(), st.integers(0, 2**32 - 1))
def test_random_forms_are_the_true_gradients(data: st.DataObject, case: Case, seed: int) -> None:
    """Whatever form production shows at the given values holds at fresh, independent values too."""
    env = given_values(data.draw, case)
    try:
        graph = build(parse(case.text, env.keys()), env)
        back = backward(graph)
    except ConvcalcError:  # refused (too many nodes, not finite at these values): no gradient to check
        assume(False)
        return
    forms = closed_forms(graph, back)
    event("exact" if graph.output.value.dtype == object else "float64")
    if forms is None:
        event("no closed form")
        return
    event("every variable has a form" if not forms.missing else "some variables without a form")
    check_structure(graph, forms)
    checked = sum(check_at(case.text, forms, p) for p in fresh_points(case.shapes, case.positive, seed, FRESH_POINTS))
    assume(checked > 0)  # torch not finite at every fresh draw: redrawn by Hypothesis
    event(f"checked at {checked} fresh points")


# --- curated homework expressions: a form for every variable -----------------------------

W23 = (2, 3)
CURATED: list[tuple[str, dict[str, Shape], set[str]]] = [
    ("sum((W @ x)**2)", {"W": W23, "x": (3,)}, set()),
    ("sum((W @ x)**2)", {"W": W23, "x": (3, 1)}, set()),
    ("norm(W @ x - y)**2", {"W": W23, "x": (3,), "y": (2,)}, set()),
    ("norm(W @ x - y)**2", {"W": W23, "x": (3, 1), "y": (2, 1)}, set()),
    ("x.T @ A @ x", {"A": (3, 3), "x": (3, 1)}, set()),
    ("v @ A @ v", {"A": (3, 3), "v": (3,)}, set()),
    ("sum(relu(W @ x + b))", {"W": W23, "x": (3, 1), "b": (2, 1)}, set()),
    ("sum(sigmoid(W @ x))", {"W": W23, "x": (3,)}, set()),
    ("mean((W @ x - y)**2)", {"W": W23, "x": (3, 1), "y": (2, 1)}, set()),
    ("sum(w * square(V @ x + c)) + b", {"w": (2,), "V": W23, "x": (3,), "c": (2,), "b": ()}, set()),
    ("sum(exp(W @ x))", {"W": W23, "x": (3, 1)}, set()),
    ("sum(tanh(W @ x))", {"W": W23, "x": (3,)}, set()),
    ("norm(x)", {"x": (3,)}, set()),
    ("norm(x)", {"x": (3, 1)}, set()),
    ("a*c + a**2", {"a": (), "c": ()}, set()),
    ("sigmoid(a)", {"a": ()}, set()),
    ("log(a)", {"a": ()}, {"a"}),
    ("sum(x**-1)", {"x": (3,)}, {"x"}),
    # beyond the brief's list: 1-D on the left of @, the inner product, .T, fractional powers, scalars
    ("sum(u @ B)", {"u": (2,), "B": W23}, set()),
    ("u @ v", {"u": (3,), "v": (3,)}, set()),
    ("x.T @ x", {"x": (3, 1)}, set()),
    ("norm(W.T @ y)", {"W": W23, "y": (2, 1)}, set()),
    ("norm(W)", {"W": W23}, set()),
    ("sum(W @ W.T)", {"W": W23}, set()),
    ("sum(x ** 0.5)", {"x": (3,)}, {"x"}),
    ("sum(log(sigmoid(W @ x)))", {"W": W23, "x": (3, 1)}, set()),
    ("sum(relu(W @ x + b)**2)", {"W": W23, "x": (3, 1), "b": (2, 1)}, set()),
    ("mean(W * W) / s", {"W": W23, "s": ()}, {"s"}),
    ("sum(s * W @ x)", {"W": W23, "x": (3,), "s": ()}, set()),
    ("sum((W @ x - y) / s)", {"W": W23, "x": (3, 1), "y": (2, 1), "s": ()}, {"s"}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "shapes", "positive"), CURATED, ids=[f"{t} {s}" for t, s, _ in CURATED])
def test_curated_expressions_have_every_form(text: str, shapes: dict[str, Shape], positive: set[str]) -> None:
    given_point, *fresh = fresh_points(shapes, positive, seed=455, count=1 + FRESH_POINTS)
    graph, forms = forms_of(text, given_point)
    assert forms is not None, f"{text}: no closed form"
    assert forms.missing == (), f"{text}: no form for {forms.missing}"
    assert forms.value is not None, f"{text}: no form for f"
    check_structure(graph, forms)
    assert check_at(text, forms, given_point)
    assert all(check_at(text, forms, p) for p in fresh)


def test_the_textbook_forms_read_as_the_notes_write_them() -> None:
    _, forms = forms_of("sum((W @ x)**2)", {"W": np.ones(W23), "x": np.ones(3)})
    assert forms is not None
    assert [cf.text for cf in forms.gradients] == ["∇_W f = 2 W x xᵀ", "∇_x f = 2 Wᵀ W x"]


# --- broadcasting beyond a scalar: no form, and the CLI still answers --------------------

BROADCASTS = [
    ("sum(R + C)", "R=1 2", "C=1; 2"),
    ("sum(R * C)", "R=1 2", "C=1; 2"),
    ("sum(M - C)", "M=1 2 3; 4 5 6", "C=1; 2"),
]


@pytest.mark.parametrize(("text", "first", "second"), BROADCASTS)
def test_broadcasting_other_than_by_a_scalar_has_no_form(cli, text: str, first: str, second: str) -> None:
    env = {}
    for binding in (first, second):
        name, _, value = binding.partition("=")
        env[name] = np.asarray(read_tensor(value, f"--var {name}", exact=False), dtype=np.float64)
    _, forms = forms_of(text, env)
    assert forms is None
    r = cli("backprop", "expr", text, "--var", first, "--var", second, "--format", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["closed_forms"] is None
    r = cli("backprop", "expr", text, "--var", first, "--var", second)
    assert r.code == 0 and "Closed forms" not in r.out and "∂f/∂" in r.out


# --- exact inputs: Fractions in, forms still shown and right ------------------------------

EXACT = [
    ("mean((W @ x - y)**2)", {"W": "1 2 -1; 0 1/2 3", "x": "1/2; 3; -1", "y": "1; -1/3"}),
    ("x.T @ A @ x", {"A": "1 2 0; -1 1/3 2; 0 1 1", "x": "1/2; 3; -1"}),
    ("sum((W @ x) / s) + s * s", {"W": "1 2 -1; 0 1/2 3", "x": "1/2; 3; -1", "s": "3/2"}),
    ("sum((W @ x.T)**2) - 2 * sum(x)", {"W": "1 2 -1; 0 1/2 3", "x": "2 -1 1/4"}),  # inline "a b c" is a 1×3 row
    ("sum(u.T @ B) / mean(B * B)", {"u": "1/2; -2", "B": "1 2 -1; 0 1/2 3"}),
]


def _exact_env(values: Mapping[str, str]) -> dict[str, np.ndarray]:
    out = {}
    for name, text in values.items():
        if " " in text or ";" in text:
            out[name] = read_tensor(text, f"--var {name}", exact=False)
        else:  # one number inline is a 0-d scalar, as the CLI reads it
            out[name] = np.asarray(Fraction(text), dtype=object)
    return out


@pytest.mark.parametrize(("text", "values"), EXACT)
def test_exact_inputs_keep_their_forms(cli, text: str, values: dict[str, str]) -> None:
    env = _exact_env(values)
    assert all(v.dtype == object for v in env.values())
    graph, forms = forms_of(text, env)
    assert graph.output.value.dtype == object  # worked in Fractions
    assert forms is not None and forms.missing == () and forms.value is not None
    check_structure(graph, forms)
    assert check_at(text, forms, {n: np.asarray(v, dtype=np.float64) for n, v in env.items()})
    shapes = {n: v.shape for n, v in env.items()}
    assert all(check_at(text, forms, p) for p in fresh_points(shapes, {"s"}, seed=2, count=FRESH_POINTS))
    # the exact gradients themselves are the forms at the exact values
    back = backward(graph)
    tensors = {n: torch.tensor(np.asarray(v, dtype=np.float64), dtype=F64) for n, v in env.items()}
    for cf in forms.gradients:
        exact = np.asarray(back.grads[graph.node_of(cf.name).index], dtype=np.float64)
        np.testing.assert_allclose(form_value(cf.form, tensors).numpy().reshape(-1), exact.reshape(-1), rtol=1e-12)
    argv = [a for n, v in values.items() for a in ("--var", f"{n}={v}")]
    r = cli("backprop", "expr", text, *argv, "--format", "json")
    assert r.code == 0, r.err
    shown = json.loads(r.out)["closed_forms"]
    assert shown is not None and set(shown["gradients"]) == set(values)

