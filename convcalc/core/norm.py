"""Normalization (batch, layer, instance, group, or statistics over any axes): NumPy, no printing.

A :class:`NormPlan` says which axes of the input the statistics are taken over (group norm
first splits C into G groups), and how γ and β are shaped (as PyTorch shapes them). The
statistics are exact for integer and rational input (means and variances as Fractions);
the std is exact only where σ² + ε is the square of a rational, else float64, and so is
everything after it.

Shapes: x (N, C, *S) or (N, F); the statistics are kept with the reduced axes as size 1
(``keepdims``) in the plan's ``view`` of x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.numbers import Array, Kind, Scalar, as_kind, integer_product_fits, kind_of, to_exact_object

KINDS = ("batch", "layer", "instance", "group")


@dataclass(frozen=True)
class NormPlan:
    """Where the statistics are taken and how the affine parameters are shaped.

    ``view``: x reshaped for the statistics (x's own shape, or (N, G, C/G, *S) for group
    norm); ``axes``: the axes of ``view`` reduced; ``param_axes``: the axes of x that γ and
    β span (PyTorch's weight shape is x's sizes along them).
    """

    kind: str  # batch, layer, instance, group, or "custom" (an --over no module has)
    shape: tuple[int, ...]
    view: tuple[int, ...]
    axes: tuple[int, ...]
    param_axes: tuple[int, ...]
    groups: int = 1

    @property
    def count(self) -> int:
        """Values per statistic (M)."""
        return math.prod(self.view[a] for a in self.axes)

    @property
    def stats_keep(self) -> tuple[int, ...]:
        """The statistics' shape with the reduced axes kept as 1."""
        return tuple(1 if i in self.axes else n for i, n in enumerate(self.view))

    @property
    def stats_shape(self) -> tuple[int, ...]:
        """The statistics' shape with the reduced axes dropped (``(C,)`` for BatchNorm2d)."""
        return tuple(n for i, n in enumerate(self.view) if i not in self.axes)

    @property
    def param_shape(self) -> tuple[int, ...]:
        return tuple(self.shape[a] for a in self.param_axes)

    @property
    def param_keep(self) -> tuple[int, ...]:
        """γ and β reshaped to broadcast against x."""
        return tuple(n if i in self.param_axes else 1 for i, n in enumerate(self.shape))

    @property
    def batch_reduced(self) -> bool:
        """Whether the batch axis is averaged over (so a running estimate makes sense per statistic)."""
        return 0 in self.axes

    @property
    def running_shape(self) -> tuple[int, ...]:
        """Running statistics: the statistics without the batch axis (InstanceNorm averages over it)."""
        if self.batch_reduced:
            return self.stats_shape
        return self.stats_shape[1:]


def plan_kind(shape: tuple[int, ...], kind: str, groups: int = 1,
              normalized_shape: tuple[int, ...] | None = None) -> NormPlan:
    """PyTorch's modules: BatchNorm (per C, over N and *S), LayerNorm (over the trailing
    ``normalized_shape``, default every axis but N), InstanceNorm (per N and C, over *S),
    GroupNorm (per N and group, over C/G and *S)."""
    nd = len(shape)
    if nd < 2:
        raise ConvcalcError(f"has shape {shape}; normalization needs (N, C, ...) or (N, F)", "--input")
    if kind == "batch":
        axes = (0, *range(2, nd))
        return NormPlan("batch", shape, shape, axes, (1,))
    if kind == "layer":
        ns = tuple(shape[1:]) if normalized_shape is None else tuple(normalized_shape)
        if not ns or len(ns) > nd or tuple(shape[nd - len(ns):]) != ns:
            raise ConvcalcError(f"{'x'.join(map(str, ns)) or '()'} is not the input's trailing shape "
                                f"{'x'.join(map(str, shape))}", "--normalized-shape")
        axes = tuple(range(nd - len(ns), nd))
        return NormPlan("layer", shape, shape, axes, axes)
    if kind == "instance":
        if nd < 3:
            raise ConvcalcError(f"has shape {shape}; instance norm needs (N, C, L...) with a spatial axis", "--input")
        return NormPlan("instance", shape, shape, tuple(range(2, nd)), (1,))
    if kind == "group":
        c = shape[1]
        if groups < 1 or c % groups:
            raise ConvcalcError(f"must be a positive divisor of the {c} channels, got {groups}", "--groups")
        view = (shape[0], groups, c // groups, *shape[2:])
        return NormPlan("group", shape, view, tuple(range(2, nd + 1)), (1,), groups)
    raise ConvcalcError(f"must be one of {', '.join(KINDS)}, got {kind!r}", "--kind")


def plan_over(shape: tuple[int, ...], axes: tuple[int, ...]) -> NormPlan:
    """Statistics over the given axes of x. γ and β are shaped as PyTorch's module that
    takes the same statistics (BatchNorm, LayerNorm, InstanceNorm); for other axes, as the
    statistics themselves (with N reduced: a per-(C,H,W) BatchNorm has γ of shape (C,H,W))."""
    nd = len(shape)
    axes = tuple(sorted(set(axes)))
    if not axes or any(not 0 <= a < nd for a in axes):
        raise ConvcalcError(f"names axes outside the input's {nd}", "--over")
    kept = tuple(a for a in range(nd) if a not in axes)
    if nd >= 2 and axes == (0, *range(2, nd)):
        return NormPlan("batch", shape, shape, axes, (1,))
    if axes == tuple(range(1, nd)):
        return NormPlan("layer", shape, shape, axes, axes)
    if nd >= 3 and axes == tuple(range(2, nd)):
        return NormPlan("instance", shape, shape, axes, (1,))
    return NormPlan("custom", shape, shape, axes, tuple(a for a in kept if a != 0) if 0 not in axes else kept)


@dataclass(frozen=True)
class Moments:
    """Statistics in ``plan.stats_keep`` shape: mean, biased variance (÷M), unbiased (÷(M−1),
    None when M = 1), and the sum of squared deviations S they come from."""

    mean: Array
    var: Array
    var_unbiased: Array | None
    squares: Array


def exact(a: Array) -> bool:
    return kind_of(a) is not Kind.FLOAT


def moments(x: Array, plan: NormPlan) -> Moments:
    """Mean and variances over ``plan.axes``: exact for integers and Fractions (from the sums
    Σx and Σx², in Python ints when int64 could overflow), two-pass float64 otherwise."""
    v = x.reshape(plan.view)
    m = plan.count
    if m == 0:
        raise ConvcalcError("has no values to take statistics over", "--input")
    if exact(v):
        if v.dtype != object and not integer_product_fits(v, v, m):
            v = to_exact_object(v)
        s1 = _obj(v.sum(axis=plan.axes, keepdims=True))
        s2 = _obj((v * v).sum(axis=plan.axes, keepdims=True))  # M·Σx² may pass int64: Python ints from here
        frac = np.frompyfunc(Fraction, 2, 1)
        squares = frac(s2 * m - s1 * s1, m)  # S = Σ(x−μ)² = (MΣx² − (Σx)²)/M
        mean = frac(s1, m)
        var = squares * Fraction(1, m)
        unbiased = squares * Fraction(1, m - 1) if m > 1 else None
        return Moments(_tidy(mean), _tidy(var), None if unbiased is None else _tidy(unbiased), _tidy(squares))
    v = as_kind(v, Kind.FLOAT)
    mean = v.mean(axis=plan.axes, keepdims=True)
    d = v - mean
    squares = (d * d).sum(axis=plan.axes, keepdims=True)
    return Moments(mean, squares / m, squares / (m - 1) if m > 1 else None, squares)


def _obj(a: Array | object) -> Array:
    """Python ints in an object array (so Fraction never sees a NumPy integer)."""
    arr = np.asarray(a)
    return arr if arr.dtype == object else to_exact_object(arr)


def _tidy(a: Array) -> Array:
    """An object array of exact numbers (Fraction(4, 1) stays a Fraction: kinds are by array)."""
    out = np.empty(np.shape(a), dtype=object)
    out[...] = a
    return out


def sqrt_exact(r: Fraction) -> Fraction | None:
    """√r when it is rational, else None."""
    if r < 0:
        return None
    n, d = r.numerator, r.denominator
    rn, rd = math.isqrt(n), math.isqrt(d)
    return Fraction(rn, rd) if rn * rn == n and rd * rd == d else None


def std_of(var: Array, eps: Scalar) -> tuple[Array, Array]:
    """(σ, σ² + ε): σ = √(σ² + ε), exact (Fractions) when every cell is a rational square."""
    if exact(var) and not isinstance(eps, float):
        radicand = var + Fraction(eps)
        roots = [sqrt_exact(Fraction(r)) for r in radicand.flat]
        if all(r is not None for r in roots):
            out = np.empty(var.shape, dtype=object)
            out.flat[:] = roots
            return out, radicand
        return np.sqrt(as_kind(radicand, Kind.FLOAT)), radicand
    radicand = as_kind(var, Kind.FLOAT) + float(eps)
    return np.sqrt(radicand), radicand


EXACT_CELLS = 200_000  # x̂ in Fractions up to this many cells (a Fraction op costs ~1 µs); floats beyond


def normalized(x: Array, plan: NormPlan, mean: Array, std: Array) -> Array:
    """x̂ = (x − μ)/σ in x's shape; exact when x, μ and σ are (and x has at most EXACT_CELLS
    cells). Otherwise float64: x − μ in floats is exact to rounding, μ being one rational."""
    v = x.reshape(plan.view)
    if exact(std) and exact(v) and exact(mean) and v.size <= EXACT_CELLS:
        d = as_kind(v, Kind.RATIONAL) - mean
        return (d / std).reshape(plan.shape)
    d = as_kind(v, Kind.FLOAT) - as_kind(mean, Kind.FLOAT)
    return (d / as_kind(std, Kind.FLOAT)).reshape(plan.shape)


def affine(xhat: Array, plan: NormPlan, weight: Array | None, bias: Array | None) -> Array:
    """y = γ ⊙ x̂ + β, γ and β in PyTorch's shape (``plan.param_shape``), broadcast over x."""
    y = xhat
    if weight is not None:
        y = _mix(y, weight.reshape(plan.param_keep), np.multiply)
    if bias is not None:
        y = _mix(y, bias.reshape(plan.param_keep), np.add)
    return y


def _mix(a: Array, b: Array, op: np.ufunc) -> Array:
    if exact(a) and exact(b):
        return op(as_kind(a, Kind.RATIONAL) if a.dtype != object else a, as_kind(b, Kind.RATIONAL))
    return op(as_kind(a, Kind.FLOAT), as_kind(b, Kind.FLOAT))


def batch_mean(stat: Array, plan: NormPlan) -> Array:
    """A statistic in ``plan.running_shape``: as is when N was reduced, else averaged over N."""
    s = stat.reshape(plan.stats_shape)
    if plan.batch_reduced:
        return s
    n = s.shape[0]
    return s.sum(axis=0) * (Fraction(1, n) if exact(s) else 1.0 / n)


def running_update(old: Array, stat: Array, momentum: Scalar) -> Array:
    """PyTorch's update: new = (1 − momentum)·old + momentum·stat."""
    if exact(old) and exact(stat) and not isinstance(momentum, float):
        m = Fraction(momentum)
        return _tidy(as_kind(old, Kind.RATIONAL) * (1 - m) + as_kind(stat, Kind.RATIONAL) * m)  # 0-d stays an array
    m = float(momentum)
    return np.asarray(as_kind(old, Kind.FLOAT) * (1 - m) + as_kind(stat, Kind.FLOAT) * m)


def running_as_stats(r: Array, plan: NormPlan) -> Array:
    """Running statistics (``plan.running_shape``) broadcast as the statistics (``stats_keep``)."""
    keep = plan.stats_keep
    return r.reshape(((1,) if not plan.batch_reduced else ()) + plan.running_shape).reshape(
        tuple(1 if i == 0 else n for i, n in enumerate(keep)))


@dataclass(frozen=True)
class Gradients:
    """∂L/∂x and its three terms (in x's shape; terms 2 and 3 broadcast), ∂L/∂γ, ∂L/∂β."""

    grad_input: Array
    grad_xhat: Array
    term_mean: Array | None  # mean over the statistic's values of ∂L/∂x̂
    term_proj: Array | None  # x̂ ⊙ mean(∂L/∂x̂ ⊙ x̂)
    grad_weight: Array
    grad_bias: Array


def backward(dy: Array, xhat: Array, std: Array, plan: NormPlan, weight: Array | None,
             training: bool = True) -> Gradients:
    """Gradients of y = γ x̂ + β, x̂ = (x − μ)/σ.

    ∂L/∂β = Σ ∂L/∂y and ∂L/∂γ = Σ ∂L/∂y ⊙ x̂ over every axis γ does not span;
    ∂L/∂x̂ = γ ⊙ ∂L/∂y; in training (μ, σ from the batch)
    ∂L/∂x = (1/σ)(∂L/∂x̂ − mean(∂L/∂x̂) − x̂ ⊙ mean(∂L/∂x̂ ⊙ x̂)), the means over the
    statistic's M values; in eval mode (running μ, σ are constants) ∂L/∂x = ∂L/∂x̂ / σ.
    """
    pairs = [dy, xhat, std] + ([] if weight is None else [weight])
    exact_all = all(exact(a) for a in pairs) and dy.size <= EXACT_CELLS
    conv = (lambda a: as_kind(a, Kind.RATIONAL) if a.dtype != object else a) if exact_all else \
        (lambda a: as_kind(a, Kind.FLOAT))
    g, xh, sd = conv(dy), conv(xhat), conv(std)
    other = tuple(a for a in range(len(plan.shape)) if a not in plan.param_axes)
    gb = g.sum(axis=other).reshape(plan.param_shape)
    gw = (g * xh).sum(axis=other).reshape(plan.param_shape)
    gx_hat = g * conv(weight).reshape(plan.param_keep) if weight is not None else g
    gv, xv = gx_hat.reshape(plan.view), xh.reshape(plan.view)
    if not training:
        return Gradients((gv / sd).reshape(plan.shape), gx_hat, None, None, gw, gb)
    scale = Fraction(1, plan.count) if exact_all else 1.0 / plan.count
    t2 = gv.sum(axis=plan.axes, keepdims=True) * scale
    t3 = xv * ((gv * xv).sum(axis=plan.axes, keepdims=True) * scale)
    gi = ((gv - t2 - t3) / sd).reshape(plan.shape)
    return Gradients(gi, gx_hat, np.broadcast_to(t2, plan.view).reshape(plan.shape), t3.reshape(plan.shape), gw, gb)
