"""The Jacobian of a vector-valued expression, numerically and as a closed form.

Numerically, row i of J = ∂f/∂y is one backward pass started from the one-hot seed e_i
(so each row is the gradient of the entry f_i, worked by the same chain rule). The closed
form is built forward instead, node by node (J(σ(u)) = diag(σ′(u)) J(u), J(A u) = A J(u),
J(y) = I), and shown only when it reproduces the numbers: ``σ(A y + b)`` gives
``diag(σ′(A y + b)) A``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.expr import algebra as al
from convcalc.expr.algebra import Q, Sum, Unsupported
from convcalc.expr.algebra_print import LATEX, TEXT
from convcalc.expr.autodiff import Backward, backward
from convcalc.expr.closed_form import MAX_NODES, ClosedForm, agrees, forward_forms, local_derivative, shape_of, shown
from convcalc.expr.graph import Graph, Node
from convcalc.expr.rules import tex_name
from convcalc.numbers import Array

MAX_ROWS = 400  # entries of f: one backward pass each
IDENTITY = "I"  # the identity's name in a form (a variable named I means no form is shown)


@dataclass(frozen=True)
class Jacobian:
    wrt: str
    matrix: Array  # (entries of f, entries of wrt), both flattened in row-major order
    rows: tuple[Backward, ...]  # the backward pass of each row


def jacobian(graph: Graph, wrt: str) -> Jacobian:
    """∂f/∂wrt, a row per entry of f and a column per entry of ``wrt``."""
    if wrt not in graph.variables:
        raise ConvcalcError(f"{wrt!r} is not a variable of the expression; name one of "
                            + ", ".join(graph.variables), "--wrt")
    out = graph.output
    n = out.value.size
    if n > MAX_ROWS:
        raise ConvcalcError(f"f has {n} entries; a Jacobian here has at most {MAX_ROWS} rows", "--wrt")
    exact = out.value.dtype == object
    rows = []
    for i in range(n):
        seed = np.full(out.shape, Fraction(0), dtype=object) if exact else np.zeros(out.shape)
        seed.reshape(-1)[i] = Fraction(1) if exact else 1.0
        rows.append(backward(graph, seed))
    index = graph.node_of(wrt).index
    matrix = np.stack([np.asarray(b.grads[index]).reshape(-1) for b in rows]) if rows else np.zeros((0, 0))
    return Jacobian(wrt, np.asarray(matrix, dtype=object) if exact else matrix, tuple(rows))


def jacobian_form(graph: Graph, jac: Jacobian, printers: tuple = (TEXT, LATEX)) -> ClosedForm | None:
    """J's closed form, when the graph is one this covers and the form reproduces ``jac.matrix``."""
    if IDENTITY in graph.variables or len(graph.nodes) > MAX_NODES:
        return None
    try:
        form = _forward_jacobian(graph, forward_forms(graph), jac.wrt)
    except (Unsupported, ValueError, ZeroDivisionError, OverflowError):
        return None
    if form is None:
        return None
    env = {n.name: n.value for n in graph.nodes if n.op == "var"}
    m = graph.node_of(jac.wrt).value.size
    env[IDENTITY] = np.eye(m)
    if not agrees(form, env, jac.matrix):
        return None
    out = graph.output.name
    return shown(form, f"∂{out}/∂{jac.wrt} = ", rf"\frac{{\partial {tex_name(out)}}}{{\partial {tex_name(jac.wrt)}}} = ",
                 jac.wrt, printers)


def _column(node: Node) -> bool:
    return shape_of(node)[1] == 1


def _forward_jacobian(graph: Graph, forms: list[Sum], wrt: str) -> Sum | None:
    target = graph.node_of(wrt)
    if not _column(target):
        raise Unsupported("a Jacobian with respect to a matrix")
    m = shape_of(target)[0]
    ident = al.number(Q(1)) if m == 1 else al.var(IDENTITY, (m, m))
    jac: dict[int, Sum | None] = {}
    for node in graph.nodes:
        if node.op == "var":
            jac[node.index] = ident if node.name == wrt else None
            continue
        if node.op == "const":
            jac[node.index] = None
            continue
        ins = [jac[i] for i in node.inputs]
        if all(j is None for j in ins):
            jac[node.index] = None
            continue
        if not _column(node):
            raise Unsupported("a matrix-valued node that depends on the variable")
        jac[node.index] = _rule(graph, forms, node, ins, ident)
    return jac[graph.output.index]


def _mm(a: Sum, j: Sum, ident: Sum) -> Sum:
    return a if j is ident else al.matmul(a, j)


def _diag(v: Sum, j: Sum, ident: Sum) -> Sum:
    """diag(v) J; for a scalar v, v J."""
    if v.shape == al.SCALAR:
        return al.times(v, j)
    return _mm(al.atom(al.Diag(v)), j, ident)


def _plus(parts: list[Sum]) -> Sum:
    total = parts[0]
    for p in parts[1:]:
        total = al.add(total, p)
    return total


def _rule(graph: Graph, forms: list[Sum], node: Node, ins: list[Sum | None], ident: Sum) -> Sum:
    op = node.op
    args = [forms[i] for i in node.inputs]
    shapes = [a.shape for a in args]
    if op in ("add", "sub"):
        if any(j is not None and s != forms[node.index].shape for j, s in zip(ins, shapes, strict=True)):
            raise Unsupported("broadcasting")
        parts = [j if k == 0 or op == "add" else al.neg(j) for k, j in enumerate(ins) if j is not None]
        return _plus(parts)
    if op == "neg":
        return al.neg(ins[0])  # type: ignore[arg-type]
    if op == "T":
        return ins[0]  # type: ignore[return-value]  # a column's transpose of a 1-D vector: the same entries
    if op == "mul":
        a, b = args
        parts = []
        for j, own, other in ((ins[0], a, b), (ins[1], b, a)):
            if j is None:
                continue
            if own.shape == other.shape:
                parts.append(_diag(other, j, ident))
            elif other.shape == al.SCALAR:
                parts.append(al.times(other, j))
            elif own.shape == al.SCALAR:
                parts.append(al.matmul(other, j))  # v · s: v times the row J(s)
            else:
                raise Unsupported("broadcasting")
        return _plus(parts)
    if op == "div":
        if ins[1] is not None:
            raise Unsupported("a divisor that depends on the variable")
        return _diag(al.power(args[1], Q(-1)), ins[0], ident)  # type: ignore[arg-type]
    if op == "matmul":
        return _matmul(graph, node, args, ins, ident)
    (a,) = args[:1]
    j = ins[0]
    assert j is not None
    if op in ("sum", "mean"):
        row = al.transpose(al.ones(a.shape)) if a.shape != al.SCALAR else al.number(Q(1))
        total = _mm(row, j, ident)
        return al.scale(total, Q(1, graph.nodes[node.inputs[0]].value.size)) if op == "mean" else total
    if op == "norm":
        return _mm(al.times(al.power(forms[node.index], Q(-1)), al.transpose(a)), j, ident)
    return _diag(local_derivative(graph, forms, node, a), j, ident)  # elementwise functions and powers


def _matmul(graph: Graph, node: Node, args: list[Sum], ins: list[Sum | None], ident: Sum) -> Sum:
    a, b = args
    left, right = (graph.nodes[i].value.ndim for i in node.inputs)
    parts = []
    if left == 1 and right == 1:  # uᵀv
        if ins[0] is not None:
            parts.append(_mm(al.transpose(b), ins[0], ident))
        if ins[1] is not None:
            parts.append(_mm(al.transpose(a), ins[1], ident))
        return _plus(parts)
    if left == 1:  # u @ B = Bᵀ u
        if ins[1] is not None:
            raise Unsupported("a matrix factor that depends on the variable")
        return _mm(al.transpose(b), ins[0], ident)  # type: ignore[arg-type]
    if ins[0] is not None:
        raise Unsupported("a matrix factor that depends on the variable")
    return _mm(a, ins[1], ident)  # type: ignore[arg-type]
