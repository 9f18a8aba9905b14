"""Closed forms of the gradients, from SymPy, where it can find them (the LaTeX output).

The SymPy expression is built from the parsed graph node by node (never from the user's
text), with matrix symbols for matrices: ``sum((W @ x)**2)`` becomes ``xᵀWᵀWx`` and SymPy's
matrix calculus gives ``∇_W f = 2Wxxᵀ``. Every closed form is evaluated at the given values
and shown only if it agrees with the backward pass; anything SymPy cannot do is left out
silently, since the numeric working above already answers the question.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from convcalc.derive.records import Block, Equation, Heading, Note
from convcalc.expr.autodiff import Backward
from convcalc.expr.graph import Graph, Node
from convcalc.expr.rules import tex_name

MAX_NODES = 40  # SymPy's matrix calculus slows down fast; beyond this, numbers only


class _Unsupported(Exception):
    """This op, on these kinds of operands, has no matrix-calculus form here."""


def closed_form_blocks(graph: Graph, back: Backward) -> list[Block]:
    """A heading, f's closed form and every gradient SymPy gets right; [] if none."""
    try:
        forms = closed_forms(graph, back)
    except Exception:  # SymPy can fail in many ways; the numbers stand on their own
        return []
    if len(forms) <= 1:
        return []
    note = Note("Closed forms from SymPy's matrix calculus, each checked against the numbers above.")
    return [Heading("Closed forms"), note, *(Equation(text, tex) for text, tex in forms)]


def closed_forms(graph: Graph, back: Backward) -> list[tuple[str, str]]:
    """(text, tex) of f, then of ∇_V f for each variable V whose closed form checks out."""
    if len(graph.nodes) > MAX_NODES:
        return []
    symbols = {n.name: _symbol(n) for n in graph.nodes if n.op == "var"}
    # Built top-down from the output so that a node with no form of its own (‖A‖ of a
    # matrix) can still be used where its parent has one (‖A‖² = AᵀA).
    f = _rebuild(graph, graph.output.index)
    out = graph.output.name
    forms = [(f"{out} = {f}", f"{tex_name(out)} = {sp.latex(f)}")]
    values = {symbols[n.name]: _value(n) for n in graph.nodes if n.op == "var"}
    for name in graph.variables:
        grad = _tidy(sp.diff(f, symbols[name]))
        if _agrees(grad, values, back.grads[graph.node_of(name).index]):
            forms.append((f"∇_{name} {out} = {grad}", rf"\nabla_{{{tex_name(name)}}} {tex_name(out)} = {sp.latex(grad)}"))
    return forms


def _symbol(node: Node) -> Any:
    name = node.name
    if node.value.ndim == 0:
        return sp.Symbol(name, real=True)
    if node.value.ndim == 1:  # a vector is a column, as in the course notes
        return sp.MatrixSymbol(name, node.value.shape[0], 1)
    if node.value.ndim == 2:
        return sp.MatrixSymbol(name, *node.value.shape)
    raise _Unsupported


def _number(x: float) -> Any:
    q = Fraction(repr(x))  # the literal's decimal digits exactly: 0.5 -> 1/2
    return sp.Rational(q.numerator, q.denominator)


def _value(node: Node) -> Any:
    if node.value.ndim == 0:
        return sp.Float(float(node.value))
    return sp.ImmutableMatrix(node.value.reshape(node.value.shape[0], -1).tolist())


def _is_matrix(e: Any) -> bool:
    return isinstance(e, sp.MatrixExpr)


def _op(node: Node, args: list[Any], graph: Graph) -> Any:
    op, a = node.op, args[0]
    b = args[1] if len(args) > 1 else None
    if op in ("add", "sub"):
        if _is_matrix(a) != _is_matrix(b) or (_is_matrix(a) and a.shape != b.shape):
            raise _Unsupported
        return a + b if op == "add" else a - b
    if op == "mul":
        if not (_is_matrix(a) and _is_matrix(b)):
            return a * b
        if a.shape != b.shape:
            raise _Unsupported
        return sp.HadamardProduct(a, b)
    if op == "div":
        if _is_matrix(b):
            raise _Unsupported
        return a / b if not _is_matrix(a) else a * (1 / b)
    if op == "matmul":
        if not (_is_matrix(a) and _is_matrix(b)):
            raise _Unsupported
        return a * b
    if op == "neg":
        return -a
    if op == "T":
        return a.T if _is_matrix(a) else a
    inner = graph.nodes[node.inputs[0]]
    if op in ("pow", "square"):
        p = 2 if op == "square" else _number(node.exponent or 0.0)
        return sp.HadamardPower(a, p) if _is_matrix(a) else a**p
    if op in ("sum", "mean"):
        total = _sum(a, inner, graph)
        return total if op == "sum" else total / int(inner.value.size)
    if not _is_matrix(a):
        scalar = {"exp": sp.exp, "log": sp.log, "tanh": sp.tanh, "norm": sp.Abs,
                  "sigmoid": lambda u: 1 / (1 + sp.exp(-u)), "relu": lambda u: sp.Max(0, u)}
        return scalar[op](a)
    raise _Unsupported


def _rebuild(graph: Graph, index: int) -> Any:
    """The SymPy form of node ``index`` (a tree walk: only variables are shared)."""
    node = graph.nodes[index]
    inner = graph.nodes[node.inputs[0]] if node.inputs else None
    if node.op == "pow" and node.exponent == 2 and inner is not None and inner.op == "norm":
        return _squared_norm(_rebuild(graph, inner.inputs[0]))  # ‖A‖² without the square root
    if node.op == "var":
        return _symbol(node)
    if node.op == "const":
        return _number(float(node.value))
    return _op(node, [_rebuild(graph, i) for i in node.inputs], graph)


def _squared_norm(a: Any) -> Any:
    if not _is_matrix(a):
        return a**2
    rows, cols = a.shape
    if cols == 1:
        return a.T * a
    if rows == 1:
        return a * a.T
    return sp.Trace(a.T * a)


def _sum(a: Any, inner: Node, graph: Graph) -> Any:
    if not _is_matrix(a):
        return a
    squared = (inner.op == "square" or (inner.op == "pow" and inner.exponent == 2)
               or (inner.op == "mul" and inner.inputs[0] == inner.inputs[1]))
    if squared:  # Σ aᵢ² is aᵀa: the form the notes use, and SymPy differentiates it cleanly
        return _squared_norm(_rebuild(graph, inner.inputs[0]))
    rows, cols = a.shape
    if cols == 1:
        return sp.OneMatrix(1, rows) * a
    if rows == 1:
        return a * sp.OneMatrix(cols, 1)
    return sp.OneMatrix(1, rows) * a * sp.OneMatrix(cols, 1)


def _tidy(e: Any) -> Any:
    """Drop the 1×1 identities SymPy's matrix calculus leaves behind."""
    if isinstance(e, sp.Basic):
        e = e.replace(lambda u: isinstance(u, sp.DiagMatrix) and u.shape == (1, 1), lambda u: sp.Identity(1))
        e = e.doit() if _is_matrix(e) else e
    return e


def _agrees(grad: Any, values: dict[Any, Any], numeric: np.ndarray) -> bool:
    try:
        at = grad.subs(values).doit()
        got = np.array(sp.Matrix(at).evalf() if isinstance(at, sp.MatrixBase | sp.MatrixExpr) else [at.evalf()],
                       dtype=np.float64)
    except (TypeError, ValueError, AttributeError, sp.SympifyError):
        return False
    want = np.asarray(numeric, dtype=np.float64)  # exact (Fraction) gradients too
    return got.size == want.size and bool(np.allclose(got.reshape(-1), want.reshape(-1), rtol=1e-9, atol=1e-12))
