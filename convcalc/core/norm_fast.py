"""float64 BatchNorm-like normalization at NumPy's speed (issue 18: within 2× of torch's CPU time).

For plans whose γ and β span exactly the axes the statistics keep (BatchNorm: per channel),
x is read and written a few times, in place, instead of through the exact core's general
temporaries: a new array costs its page faults (a 25 MB one about 10 ms here), an in-place pass
about a quarter of that. Same results as :mod:`convcalc.core.norm` to rounding.
"""

from __future__ import annotations

import string

import numpy as np

from convcalc.core.norm import NormPlan
from convcalc.numbers import Array


def fits(x: Array, plan: NormPlan, *params: Array | None) -> bool:
    """Whether the fast path applies: float64 data, no group split, γ/β per kept statistic."""
    kept = tuple(a for a in range(len(plan.shape)) if a not in plan.axes)
    return (x.dtype == np.float64 and plan.view == plan.shape and plan.param_axes == kept
            and all(p is None or np.asarray(p).dtype == np.float64 for p in params))


def _spec(plan: NormPlan) -> str:
    letters = string.ascii_lowercase[: len(plan.shape)]
    kept = "".join(ch for i, ch in enumerate(letters) if i not in plan.axes)
    return f"{letters},{letters}->{kept}"


def _keep(a: Array | None, plan: NormPlan) -> Array | None:
    return None if a is None else np.asarray(a, dtype=np.float64).reshape(plan.stats_keep)


def forward(x: Array, plan: NormPlan, weight: Array | None, bias: Array | None, eps: float,
            stats: tuple[Array, Array] | None = None) -> tuple[Array, Array, Array, Array | None, Array]:
    """(y, mean, var, var_unbiased or None, std), the statistics in ``plan.stats_keep`` shape;
    ``stats`` = (mean, var) replaces the batch's (eval mode)."""
    m = plan.count
    if stats is None:
        mean = x.sum(axis=plan.axes, keepdims=True) / m
        y = np.subtract(x, mean)
        squares = np.einsum(_spec(plan), y, y).reshape(plan.stats_keep)  # two-pass: Σ(x − μ)²
        var, unbiased = squares / m, (squares / (m - 1) if m > 1 else None)
    else:
        mean, var = (np.asarray(s, dtype=np.float64).reshape(plan.stats_keep) for s in stats)
        y, unbiased = np.subtract(x, mean), None
    std = np.sqrt(var + eps)
    w = _keep(weight, plan)
    y *= (1.0 / std) if w is None else w / std
    if bias is not None:
        y += _keep(bias, plan)
    return y, mean, var, unbiased, std


def backward(dy: Array, x: Array, plan: NormPlan, weight: Array | None, eps: float,
             stats: tuple[Array, Array] | None = None) -> tuple[Array, Array, Array]:
    """(grad_input, grad_weight, grad_bias): ∂L/∂x = k·∂L/∂y − k·mean(∂L/∂y) − (k/σ)·mean(∂L/∂y·x̂)·(x − μ),
    k = γ/σ, written into one buffer in place. The batch's statistics (training), or ``stats`` =
    the running (mean, var), constants (eval mode: ∂L/∂x = k·∂L/∂y)."""
    g = np.asarray(dy, dtype=np.float64)
    m = plan.count
    training = stats is None
    gb = g.sum(axis=plan.axes, keepdims=True)
    if stats is None:
        mean = x.sum(axis=plan.axes, keepdims=True) / m
        d = np.subtract(x, mean)  # becomes ∂L/∂x
        var = np.einsum(_spec(plan), d, d).reshape(plan.stats_keep) / m
    else:
        mean, var = (np.asarray(s, dtype=np.float64).reshape(plan.stats_keep) for s in stats)
        d = np.subtract(x, mean)
    std = np.sqrt(var + eps)
    gw = np.einsum(_spec(plan), g, d).reshape(plan.stats_keep) / std  # Σ ∂L/∂y · x̂
    w = _keep(weight, plan)
    k = 1.0 / std if w is None else w / std
    shape = plan.param_shape
    if not training:
        np.multiply(g, k, out=d)
        return d, gw.reshape(shape), gb.reshape(shape)
    c0 = -k * gb / m
    cd = -k * gw / (m * std)
    if np.all(k != 0):  # d ← ((cd/k)·d + ∂L/∂y)·k + c0, every pass in place
        d *= cd / k
        d += g
        d *= k
    else:
        d *= cd
        d += g * k
    d += c0
    return d, gw.reshape(shape), gb.reshape(shape)
