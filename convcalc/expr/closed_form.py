"""Closed forms of f and of its gradients, by reverse-mode matrix calculus on the graph.

Each node gets its expression in the variables (built forward), then each node passes
∂f/∂node to its inputs by the same rules the numeric backward pass uses, but on
expressions: ``v = A @ B`` gives ``∂f/∂A = G Bᵀ`` and ``∂f/∂B = Aᵀ G``. For
``sum((W @ x)**2)`` that reads ``f = ‖W x‖²``, ``∇_W f = 2 W x xᵀ``, ``∇_x f = 2 Wᵀ W x``.
Every form is evaluated at the given values and shown only if it reproduces the backward
pass's numbers; broadcasting other than by a scalar, and 3-D values, have no form here.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from convcalc.expr import algebra as al
from convcalc.expr.algebra import Q, Shape, Sum, Unsupported
from convcalc.expr.algebra_eval import evaluate
from convcalc.expr.algebra_print import DIAG_LATEX, DIAG_TEXT, LATEX, TEXT, LatexPrinter, TextPrinter
from convcalc.expr.autodiff import Backward
from convcalc.expr.graph import Graph, Node
from convcalc.expr.layers import LAYERS
from convcalc.expr.rules import tex_name
from convcalc.numbers import Array

MAX_NODES = 60  # a bigger graph's forms are too long to read
MAX_SIZE = 60  # factors in one printed form; a longer one helps nobody


@dataclass(frozen=True)
class ClosedForm:
    """``name`` is ``f`` (the output) or a variable, whose gradient this is."""

    name: str
    text: str
    tex: str
    form: Sum  # the expression itself, in the variables (for evaluating it elsewhere)


@dataclass(frozen=True)
class ClosedForms:
    value: ClosedForm | None  # f's own closed form
    gradients: tuple[ClosedForm, ...]  # in the order of the graph's variables
    missing: tuple[str, ...]  # variables whose gradient has no closed form here


def closed_forms(graph: Graph, back: Backward, diag: bool = False) -> ClosedForms | None:
    """The forms that check out against ``back``; None when the graph has none at all.

    ``diag`` writes u ⊙ v of columns as diag(u) v, as the MathDNN notes do."""
    if len(graph.nodes) > MAX_NODES:
        return None
    try:
        forward = forward_forms(graph)
        grads = _backward(graph, forward)
    except (Unsupported, ValueError, ZeroDivisionError, OverflowError):
        return None
    env = {n.name: n.value for n in graph.nodes if n.op == "var"}
    out = graph.output
    printers = (DIAG_TEXT, DIAG_LATEX) if diag else (TEXT, LATEX)
    value = shown(forward[out.index], f"{out.name} = ", f"{tex_name(out.name)} = ", out.name, printers) \
        if agrees(forward[out.index], env, out.value) else None
    made: list[ClosedForm] = []
    missing: list[str] = []
    for name in graph.variables:
        index = graph.node_of(name).index
        form = grads.get(index)
        item = None
        if form is not None and agrees(form, env, back.grads[index]):
            item = shown(form, f"∇_{name} {out.name} = ", rf"\nabla_{{{tex_name(name)}}} {tex_name(out.name)} = ",
                          name, printers)
        if item is None:
            missing.append(name)
        else:
            made.append(item)
    if not made:
        return None
    return ClosedForms(value, tuple(made), tuple(missing))


def shown(form: Sum, text: str, tex: str, name: str,
          printers: tuple[TextPrinter, LatexPrinter] = (TEXT, LATEX)) -> ClosedForm | None:
    """The form printed after ``text``/``tex``; None when it is too long to read."""
    if al.size(form) > MAX_SIZE:
        return None
    return ClosedForm(name, text + printers[0].expr(form), tex + printers[1].expr(form), form)


def agrees(form: Sum, env: dict[str, Array], numeric: Array) -> bool:
    try:
        got = evaluate(form, env)
        want = np.asarray(numeric, dtype=np.float64)  # exact (Fraction) gradients too
    except (OverflowError, TypeError, ValueError):
        return False
    return got.size == want.size and bool(np.allclose(got.reshape(-1), want.reshape(-1), rtol=1e-9, atol=1e-12))


# --- the forms ---------------------------------------------------------------------------

def shape_of(node: Node) -> Shape:
    value = node.value
    if value.ndim == 0:
        return al.SCALAR
    if value.ndim == 1:
        return (value.shape[0], 1)  # a vector is a column
    if value.ndim == 2:
        return (value.shape[0], value.shape[1])
    raise Unsupported("more than two axes")


def _number(x: object) -> Q:
    if isinstance(x, Fraction | int):
        return Q(x)
    return Q(repr(float(x)))  # type: ignore[arg-type]  # the literal's digits: 0.1 -> 1/10


def forward_forms(graph: Graph) -> list[Sum]:
    forms: list[Sum] = []
    for node in graph.nodes:
        _check_broadcast(graph, node)
        form = _define(graph, node, [forms[i] for i in node.inputs])
        if form.shape != shape_of(node):
            raise Unsupported(f"{node.text}: shape {form.shape}")
        forms.append(form)
    return forms


def _check_broadcast(graph: Graph, node: Node) -> None:
    """An input of an elementwise op must have the result's shape or be a single number."""
    if node.op in ("add", "sub", "mul", "div"):
        for i in node.inputs:
            value = graph.nodes[i].value
            if value.shape != node.value.shape and value.size != 1:
                raise Unsupported("broadcasting")
    shape_of(node)


def _define(graph: Graph, node: Node, args: list[Sum]) -> Sum:
    op = node.op
    if op in LAYERS:  # no matrix-calculus form here: the numbers (from the core) stand alone
        raise Unsupported(f"{op} has no closed form here")
    if op == "var":
        return al.var(node.name, shape_of(node))
    if op == "const":
        return al.number(_number(node.value.item()))
    if op == "matmul":
        return _matmul(graph, node, args)
    if op in ("add", "sub", "mul", "div"):
        a, b = args
        if op in ("add", "sub"):
            return al.add(*_spread(a, b if op == "add" else al.neg(b)))
        return al.elementwise(a, b if op == "mul" else al.power(b, Q(-1)))
    a = args[0]
    if op in ("pow", "square"):
        return al.power(a, Q(2) if op == "square" else _number(node.exponent))
    unary = {"neg": al.neg, "sum": al.total, "norm": al.norm,
             "T": lambda u: al.transpose(u) if graph.nodes[node.inputs[0]].value.ndim == 2 else u,
             "mean": lambda u: al.scale(al.total(u), Q(1, graph.nodes[node.inputs[0]].value.size))}
    if op in unary:
        return unary[op](a)
    return al.fn(op, a)  # exp log tanh sigmoid relu


def _spread(a: Sum, b: Sum) -> tuple[Sum, Sum]:
    """A scalar added to a matrix is added to every entry: c + M = c𝟏 + M."""
    if a.shape == al.SCALAR and b.shape != al.SCALAR:
        a = al.times(a, al.ones(b.shape))
    elif b.shape == al.SCALAR and a.shape != al.SCALAR:
        b = al.times(b, al.ones(a.shape))
    return a, b


def _kinds(graph: Graph, node: Node) -> tuple[int, int]:
    return graph.nodes[node.inputs[0]].value.ndim, graph.nodes[node.inputs[1]].value.ndim


def _matmul(graph: Graph, node: Node, args: list[Sum]) -> Sum:
    """NumPy's @ with vectors as columns: u @ B is Bᵀu and u @ v is uᵀv."""
    a, b = args
    left, right = _kinds(graph, node)
    if left == 1:
        return al.matmul(al.transpose(a), b) if right == 1 else al.matmul(al.transpose(b), a)
    return al.matmul(a, b)


def _backward(graph: Graph, forward: list[Sum]) -> dict[int, Sum]:
    """∂f/∂(node) for every node f depends on, as expressions."""
    out = graph.output
    adjoint: dict[int, Sum] = {out.index: al.ones(shape_of(out))}
    for node in reversed(graph.nodes):
        g = adjoint.get(node.index)
        if g is None or not node.inputs:
            continue
        for slot, i in enumerate(node.inputs):
            contribution = _vjp(graph, forward, node, slot, g)
            if contribution.shape != forward[i].shape:  # a scalar broadcast over the result
                contribution = al.total(contribution)
            adjoint[i] = al.add(adjoint[i], contribution) if i in adjoint else contribution
    return adjoint


def _vjp(graph: Graph, forward: list[Sum], node: Node, slot: int, g: Sum) -> Sum:
    """∂f/∂(input ``slot``) from g = ∂f/∂node, before summing a broadcast back."""
    op = node.op
    args = [forward[i] for i in node.inputs]
    a = args[0]
    if op == "matmul":
        return _matmul_vjp(graph, node, args, slot, g)
    if op in ("add", "sub", "mul", "div"):
        b = args[1]
        if op == "add":
            return g
        if op == "sub":
            return g if slot == 0 else al.neg(g)
        if op == "mul":
            return al.elementwise(g, b if slot == 0 else a)
        if slot == 0:
            return al.elementwise(g, al.power(b, Q(-1)))
        return al.neg(al.elementwise(al.elementwise(g, a), al.power(b, Q(-2))))
    if op == "T":
        return al.transpose(g) if graph.nodes[node.inputs[0]].value.ndim == 2 else g
    local = local_derivative(graph, forward, node, a)
    return al.times(g, local) if op in ("sum", "mean", "norm") else al.elementwise(g, local)


def local_derivative(graph: Graph, forward: list[Sum], node: Node, a: Sum) -> Sum:
    """∂node/∂a, elementwise (or, for sum, mean and norm, what multiplies the scalar G)."""
    op, y = node.op, forward[node.index]
    one = al.ones(a.shape)
    if op in ("pow", "square"):
        p = Q(2) if op == "square" else _number(node.exponent)
        return al.scale(al.power(a, p - 1), p) if p else al.zero(a.shape)
    local = {
        "neg": lambda: al.neg(one),
        "sum": lambda: one,
        "mean": lambda: al.scale(one, Q(1, graph.nodes[node.inputs[0]].value.size)),
        "norm": lambda: al.times(al.power(y, Q(-1)), a),
        "exp": lambda: y,
        "log": lambda: al.power(a, Q(-1)),
        "tanh": lambda: al.add(one, al.neg(al.power(y, Q(2)))),
        "sigmoid": lambda: al.fn("dsigmoid", a),  # σ′ = σ(1 − σ), said once in the legend
        "relu": lambda: al.fn("step", a),
    }
    return local[op]()


def _matmul_vjp(graph: Graph, node: Node, args: list[Sum], slot: int, g: Sum) -> Sum:
    a, b = args
    left, right = _kinds(graph, node)
    t = al.transpose
    if left == 1 and right == 1:  # uᵀv
        return al.times(g, b if slot == 0 else a)
    if left == 1:  # Bᵀu: ∂/∂u = B G, ∂/∂B = u Gᵀ
        return al.matmul(b, g) if slot == 0 else al.matmul(a, t(g))
    return al.matmul(g, t(b)) if slot == 0 else al.matmul(t(a), g)  # AB and Av
