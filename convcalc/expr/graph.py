"""The computation graph of a parsed expression, with every node's forward value.

Nodes are frozen and listed in topological order (inputs before the nodes that use them);
each variable is one node however often it appears, so its gradient collects every use.
Values are float64 NumPy arrays, 0-d for a scalar, with NumPy's broadcasting and ``@``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.expr import exact, layers
from convcalc.expr.layers import Params
from convcalc.expr.parse import Term
from convcalc.limits import check_work
from convcalc.numbers import Array, Kind

MAX_ENTRIES = 1_000_000  # per node: a broadcast like (10⁴,1)·(1,10⁴) is refused, not attempted
MAX_MATMUL_WORK = 50_000_000  # multiply-adds of one @

# Elementwise functions of one input: the value from the input.
UNARY = {
    "neg": np.negative,
    "relu": lambda a: np.maximum(a, 0.0),
    "sigmoid": lambda a: 0.5 * (1.0 + np.tanh(0.5 * a)),  # this form never overflows exp
    "tanh": np.tanh,
    "exp": np.exp,
    "log": np.log,
    "square": np.square,
}
_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@"}

# Why a value can stop being finite, per op: the message names the likely cause.
_WHY_NOT_FINITE = {
    "log": "log needs positive entries",
    "div": "division by zero",
    "pow": "a negative base with a fractional exponent, or 0 to a negative power",
    "exp": "exp overflows float64",
}


@dataclass(frozen=True, eq=False)
class Node:
    """One node: ``op`` applied to the nodes ``inputs`` (indices), giving ``value``."""

    index: int
    op: str
    inputs: tuple[int, ...]
    value: Array
    name: str  # the variable's name, or v1, v2, ... and f for the output
    text: str  # the subexpression as written
    exponent: float | None = None  # for pow
    params: Params = ()  # a layer's settings

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)


@dataclass(frozen=True)
class Graph:
    """All nodes in topological order; ``output`` is the last one."""

    nodes: tuple[Node, ...]
    variables: tuple[str, ...]  # names of the variable nodes, in order of first use

    @property
    def output(self) -> Node:
        return self.nodes[-1]

    def node_of(self, name: str) -> Node:
        return next(n for n in self.nodes if n.op == "var" and n.name == name)


def build(term: Term, env: Mapping[str, Array]) -> Graph:
    """The graph of ``term`` with forward values; variables take their values from ``env``.

    Values are exact Fractions when :func:`convcalc.expr.exact.is_exact` allows, else float64.
    """
    for name, raw in env.items():  # each variable's own limit first: it names the variable
        if raw.size > MAX_ENTRIES:
            raise ConvcalcError(f"has {raw.size} entries; at most {MAX_ENTRIES} per variable", f"--var {name}")
    is_exact = exact.is_exact(term, env)
    # the whole expression's work, forward and backward (about twice more), before any of it:
    # exact values cost ~µs an operation, so 5·10⁷ of them (one 250×200 @ 200×1000) is minutes
    check_work(3 * work_of(term, env)[1], Kind.RATIONAL if is_exact else Kind.FLOAT,
               "this expression (forward and backward)")
    builder = _Builder(env, is_exact)
    builder.add(term)
    nodes = builder.nodes
    taken = set(env)
    names = iter(n for n in (f"v{i}" for i in range(1, len(nodes) + 2)) if n not in taken)
    out_name = next(n for n in ("f", "out", "result", "f_out") if n not in taken)
    named = []
    for node in nodes:
        if node.op != "var":
            name = out_name if node is nodes[-1] else next(names)
            node = Node(node.index, node.op, node.inputs, node.value, name, node.text, node.exponent, node.params)
        named.append(node)
    return Graph(tuple(named), tuple(n.name for n in named if n.op == "var"))


class _Builder:
    def __init__(self, env: Mapping[str, Array], is_exact: bool) -> None:
        self.env = env
        self.exact = is_exact
        self.nodes: list[Node] = []
        self.var_index: dict[str, int] = {}

    def add(self, term: Term) -> int:
        """Add ``term`` (after its inputs) and return its node index."""
        if term.op == "var":
            if term.name not in self.var_index:
                raw = self.env[term.name]
                if raw.size > MAX_ENTRIES:  # before any per-entry work (Fractions cost ~µs apiece)
                    raise ConvcalcError(f"has {raw.size} entries; at most {MAX_ENTRIES} per variable",
                                        f"--var {term.name}")
                value = exact.fractions(raw) if self.exact else _as_float(raw, term.name)
                self.var_index[term.name] = self._push("var", (), value, term.text, name=term.name)
            return self.var_index[term.name]
        if term.op == "const":
            value = exact.const(term) if self.exact else np.asarray(term.number, dtype=np.float64)
            return self._push("const", (), value, term.text)
        inputs = tuple(self.add(arg) for arg in term.args)
        values = [self.nodes[i].value for i in inputs]
        exponent = (int(term.number) if self.exact else term.number) if term.op == "pow" else None
        value = forward(term.op, values, term.text, exponent, term.params)
        return self._push(term.op, inputs, value, term.text, exponent=exponent, params=term.params)

    def _push(self, op: str, inputs: tuple[int, ...], value: Array, text: str, name: str = "",
              exponent: float | None = None, params: Params = ()) -> int:
        self.nodes.append(Node(len(self.nodes), op, inputs, value, name, text, exponent, params))
        return len(self.nodes) - 1


def work_of(term: Term, env: Mapping[str, Array]) -> tuple[tuple[int, ...] | None, int]:
    """The shape of ``term`` and the operations its forward pass takes, from shapes alone
    (multiply-adds of an @, one per entry of anything else); None where shapes do not fit,
    which the forward pass then reports."""
    if term.op == "var":
        return (tuple(env[term.name].shape) if term.name in env else None), 0
    if term.op == "const":
        return (), 0
    parts = [work_of(arg, env) for arg in term.args]
    work = sum(w for _, w in parts)
    shapes = [shape for shape, _ in parts]
    if not shapes or any(shape is None for shape in shapes):
        return None, work
    if term.op == "matmul" and len(shapes) == 2:
        a, b = shapes
        assert a is not None and b is not None
        if not (1 <= len(a) <= 2 and 1 <= len(b) <= 2):
            return None, work
        rows, cols = (a[0] if len(a) == 2 else 1), (b[1] if len(b) == 2 else 1)
        shape = (*a[:-1], *b[1:])
        return shape, work + rows * a[-1] * cols
    try:
        shape = tuple(np.broadcast_shapes(*shapes))  # type: ignore[arg-type]
    except ValueError:
        return None, work
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if term.op in ("sum", "mean", "norm"):
        return (), work + size
    return (shape[::-1] if term.op == "T" else shape), work + size


def _as_float(a: Array, name: str) -> Array:
    try:  # exact inputs (ints, Fractions) become float64; Python ints past 1e308 cannot
        return np.asarray(a, dtype=np.float64)
    except (OverflowError, TypeError, ValueError):
        raise ConvcalcError("has entries too large for float64", f"--var {name}") from None


def forward(op: str, values: list[Array], text: str, exponent: float | None = None, params: Params = ()) -> Array:
    """The value of ``op`` on ``values``; shape problems and non-finite results are errors.

    Object arrays (exact Fractions) stay exact; a division by zero there is the same error.
    """
    try:
        with np.errstate(all="ignore"):  # non-finite results are reported below, with a reason
            value = layers.forward(op, values, params, text) if op in layers.LAYERS \
                else _apply(op, values, text, exponent)
    except ZeroDivisionError:
        raise ConvcalcError(f"{text} is not finite for these values ({_WHY_NOT_FINITE.get(op, 'division by zero')})",
                            "expression") from None
    if any(v.dtype == object for v in values):
        value = np.asarray(value, dtype=object)  # a 0-d ufunc result comes back as a bare Fraction
        exact.check_size(value, text)
        return value
    if not np.all(np.isfinite(value)):
        why = _WHY_NOT_FINITE.get(op, "overflow")
        raise ConvcalcError(f"{text} is not finite for these values ({why})", "expression")
    return value


def _apply(op: str, values: list[Array], text: str, exponent: float | None) -> Array:
    if op in _BINARY:
        a, b = values
        _check_size(broadcast_shape(a, b, SYMBOL[op], text), text)
        return _kept(_BINARY[op](a, b), a, b)
    (a,) = values[:1]
    if op == "matmul":
        return matmul(a, values[1], text)
    if op == "pow":
        return np.power(a, exponent)
    if op in UNARY:
        return _kept(UNARY[op](a), a)
    if op == "sum":
        return np.asarray(np.sum(a))
    if op == "mean":
        if a.size == 0:
            raise ConvcalcError(f"{text}: the mean of nothing", "expression")
        return np.asarray(np.sum(a) / Fraction(a.size)) if a.dtype == object else np.asarray(np.mean(a))
    if op == "norm":  # Euclidean for a vector, Frobenius for a matrix: all entries
        return np.asarray(np.sqrt(np.sum(np.square(a))))
    if op == "T":
        return np.ascontiguousarray(a.T)
    raise AssertionError(f"unknown op {op}")


def broadcast_shape(a: Array, b: Array, symbol: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise ConvcalcError(f"{text}: shapes {_shape(a)} and {_shape(b)} do not broadcast together for "
                            f"{symbol} (sizes must match or be 1, axis by axis from the right)", "expression") from None


def matmul(a: Array, b: Array, text: str) -> Array:
    """``a @ b`` for vectors and matrices, with the shapes in any error."""
    if not (1 <= a.ndim <= 2 and 1 <= b.ndim <= 2):
        raise ConvcalcError(f"{text}: @ takes vectors and matrices, got shapes {_shape(a)} and {_shape(b)}"
                            + ("; use * to multiply by a scalar" if 0 in (a.ndim, b.ndim) else ""), "expression")
    inner_a, inner_b = a.shape[-1], b.shape[0]
    if inner_a != inner_b:
        raise ConvcalcError(f"{text}: shapes {_shape(a)} and {_shape(b)} do not match for @ "
                            f"(inner sizes {inner_a} ≠ {inner_b})", "expression")
    rows = a.shape[0] if a.ndim == 2 else 1
    cols = b.shape[1] if b.ndim == 2 else 1
    _check_size((rows, cols), text)
    if rows * cols * inner_a > MAX_MATMUL_WORK:
        raise ConvcalcError(f"{text}: {rows}×{inner_a} @ {inner_a}×{cols} is too much work; "
                            f"at most {MAX_MATMUL_WORK} multiply-adds", "expression")
    return _kept(a @ b, a, b)


def _kept(value: Array, *operands: Array) -> Array:
    """An op's result: exact (object) when its operands are, else float64."""
    if any(np.asarray(x).dtype == object for x in operands):
        return np.asarray(value, dtype=object)
    return np.asarray(value, dtype=np.float64)


def _check_size(shape: tuple[int, ...], text: str) -> None:
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if size > MAX_ENTRIES:
        raise ConvcalcError(f"{text} would have shape {shape} ({size} entries); at most {MAX_ENTRIES}", "expression")


def _shape(a: Array) -> str:
    return "×".join(map(str, a.shape)) if a.ndim else "scalar"
