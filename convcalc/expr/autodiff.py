"""Reverse-mode differentiation of a :class:`~convcalc.expr.graph.Graph`, step by step.

Starting from ∂f/∂f = 1 at the output, each node (last to first) passes its gradient to
each input through its local derivative (a vector-Jacobian product). Where an input was
broadcast, the contribution is summed back to the input's shape. Every contribution is
kept as a :class:`Step` so a derivation can show it; the gradients are their sums.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.expr import layers
from convcalc.expr.graph import Graph, Node
from convcalc.numbers import Array


@dataclass(frozen=True, eq=False)
class Step:
    """Node ``node`` passing its gradient to its input number ``slot`` (node ``target``)."""

    node: int
    slot: int
    target: int
    contribution: Array  # in the target's shape
    reduced: bool  # summed over broadcast axes to fit the target's shape


@dataclass(frozen=True, eq=False)
class Backward:
    grads: tuple[Array, ...]  # ∂f/∂(node) for every node, in the node's shape
    steps: tuple[Step, ...]  # in the order they are taken: output first


def backward(graph: Graph, seed: Array | None = None) -> Backward:
    """All gradients of the graph's output, which must hold a single number; or, given ``seed``
    (in the output's shape), the gradients of Σ seed ⊙ output: one row of a Jacobian for a one-hot seed."""
    out = graph.output
    if seed is None and out.value.size != 1:
        raise ConvcalcError(f"the expression's value has shape {out.shape}; backpropagation needs a single "
                            "number: wrap it in sum(...) or mean(...)", "expression")
    grads: list[Array] = [np.zeros_like(n.value) for n in graph.nodes]
    # an exact graph starts from the Fraction 1, so every later g/n stays a Fraction
    grads[-1] = np.full(out.value.shape, Fraction(1), dtype=object) if out.value.dtype == object \
        else np.ones_like(out.value)
    if seed is not None:
        grads[-1] = seed
    steps: list[Step] = []
    for node in reversed(graph.nodes):
        if not node.inputs:
            continue
        inputs = [graph.nodes[i] for i in node.inputs]
        try:
            with np.errstate(all="ignore"):  # a non-finite derivative is reported below
                local = vjp(node, inputs, grads[node.index])
        except ZeroDivisionError:  # exact arithmetic: a derivative that divides by zero
            local = [np.full(np.shape(n.value), np.inf) for n in inputs]
        for slot, (target, raw) in enumerate(zip(inputs, local, strict=True)):
            contribution = unbroadcast(raw, target.shape)
            if contribution.dtype != object and not np.all(np.isfinite(contribution)):
                raise ConvcalcError(f"the derivative of {node.text} with respect to {target.text} is not finite "
                                    "at these values", "expression")
            steps.append(Step(node.index, slot, target.index, contribution, contribution.shape != np.shape(raw)))
            total = grads[target.index] + contribution
            grads[target.index] = np.asarray(total, dtype=object) if contribution.dtype == object else total
    return Backward(tuple(grads), tuple(steps))


def unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum ``g`` down to ``shape``: the adjoint of NumPy's broadcasting."""
    g = np.asarray(g)
    g = g if g.dtype == object else g.astype(np.float64)
    while g.ndim > len(shape):  # axes broadcasting added in front
        g = np.asarray(g.sum(axis=0), dtype=g.dtype)  # an object sum to 0-d is a bare Fraction
    for axis, size in enumerate(shape):  # axes stretched from size 1
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g.reshape(shape)


def vjp(node: Node, inputs: list[Node], g: Array) -> list[Array]:
    """∂f/∂(each input) before unbroadcasting, given ``g`` = ∂f/∂(node)."""
    a = inputs[0].value
    if node.op in layers.LAYERS:
        return layers.vjp(node.op, [n.value for n in inputs], node.params, g, node.text)
    if node.op in _LOCAL:  # elementwise of one input: g times the local derivative
        return [g * _LOCAL[node.op](a, node.value, node.exponent)]
    if node.op == "matmul":
        return _matmul_vjp(a, inputs[1].value, g)
    b = inputs[1].value if len(inputs) > 1 else None
    rules: dict[str, Callable[[], list[Array]]] = {
        "add": lambda: [g, g],
        "sub": lambda: [g, -g],
        "mul": lambda: [g * b, g * a],
        "div": lambda: [g / b, -g * a / (b * b)],
        "sum": lambda: [np.broadcast_to(g, a.shape).copy()],
        "mean": lambda: [np.broadcast_to(g / a.size, a.shape).copy()],
        "T": lambda: [np.asarray(g).T],
    }
    return rules[node.op]()


# Local derivative of each one-input elementwise op, from (input a, output y, exponent p).
_LOCAL: dict[str, Callable[[Array, Array, float | None], Array]] = {
    "neg": lambda a, y, p: -np.ones_like(a),
    "pow": lambda a, y, p: np.zeros_like(a) if p == 0 else p * np.power(a, p - 1),
    "square": lambda a, y, p: 2 * a,
    "relu": lambda a, y, p: (a > 0).astype(np.float64),  # 0 at a = 0, as PyTorch
    "sigmoid": lambda a, y, p: y * (1 - y),
    "tanh": lambda a, y, p: 1 - y * y,
    "exp": lambda a, y, p: y,
    "log": lambda a, y, p: 1 / a,
    "norm": lambda a, y, p: a / y,
}


def _matmul_vjp(a: Array, b: Array, g: Array) -> list[Array]:
    # Vectors are made matrices (a row on the left, a column on the right, as NumPy reads
    # them), so one pair of formulas, G·Bᵀ and Aᵀ·G, covers every case.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = np.asarray(g).reshape(a2.shape[0], b2.shape[1])
    return [(g2 @ b2.T).reshape(a.shape), (a2.T @ g2).reshape(b.shape)]
