"""Pooling's backward pass seen from one input cell: which windows send it gradient, and how much.

∂E/∂A_ij = Σ ∂E/∂C_o · ∂C_o/∂A_ij over the output cells o whose windows hold A_ij. The local
derivative ∂C_o/∂A_ij is 1 or 0 for max (did A_ij win the window?), 1/divisor for avg, and
the chain rule of the power average for LP (sign(A_ij) or 0 for p = ±inf).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from convcalc.core import pool as core
from convcalc.core import pool_backward as bw
from convcalc.derive.layout import Layout, shown_index
from convcalc.derive.records import Block, CellWork, Note, TermGroup
from convcalc.numbers import Array, Kind, fmt, kind_of, normalize


@dataclass(frozen=True)
class Routing:
    """A pooling layer's forward and backward, with ∂C_o/∂A for every tap of every window."""

    x: Array  # (N, C, *S)
    out: Array  # (N, C, *O)
    g: Array  # upstream (N, C, *O)
    gi: Array  # (N, C, *S)
    local: Array  # (N, C, *O, prod K): ∂out/∂x per tap, 0 on padding
    geom: core.PoolGeometry
    mode: str  # max, avg, lp, lp-inf (p = ±inf)
    layout: Layout
    norm_type: float = 2.0


def local_derivatives(x: Array, g: Array, mode: str, geom: core.PoolGeometry, count_include_pad: bool,
                      divisor_override: int | None, norm_type: float) -> Array:
    """∂C_o/∂A per tap, (N, C, *O, prod K), from the core's winners, divisors and LP chain rule."""
    real = core.region_windows(geom) == core.REAL
    if mode == "max":
        _, indices = core.max_pool_nd(x, geom.kernel, geom.stride, geom.padding, geom.dilation, geom.ceil_mode)
        taps = core.flat_index(core.tap_coordinates(geom), geom.input_size)
        return ((taps == indices[..., None]) & real).astype(np.int64)
    if mode == "avg":
        div = (np.full(geom.output_size, divisor_override, dtype=np.int64) if divisor_override is not None
               else core.avg_divisors(geom, count_include_pad))
        exact = kind_of(g) is not Kind.FLOAT
        share = np.empty(div.shape, dtype=object if exact else np.float64)
        share.flat[:] = [Fraction(1, int(d)) if exact else 1.0 / d for d in div.flat]
        local = np.where(real, share[..., None], 0)
        return np.broadcast_to(local, x.shape[:2] + local.shape).copy()
    return bw.lp_tap_derivatives(x, norm_type, geom.kernel, geom.stride, geom.ceil_mode)


def windows_holding(geom: core.PoolGeometry, pos: Sequence[int]) -> list[tuple[tuple[int, ...], int]]:
    """The (output cell, flat tap) pairs whose window reads input cell ``pos``, in row-major order."""
    per_axis = []
    for i, k, s, p, d, o_n in zip(pos, geom.kernel, geom.stride, geom.padding, geom.dilation, geom.output_size,
                                  strict=True):
        at = i + p  # the coordinate in the padded input: o·s + t·d
        lo = max(0, -(-(at - d * (k - 1)) // s))
        pairs = [(o, (at - o * s) // d) for o in range(lo, min(o_n - 1, at // s) + 1) if (at - o * s) % d == 0]
        per_axis.append(pairs)
    found = []
    for combo in itertools.product(*per_axis):
        o = tuple(c[0] for c in combo)
        t = int(np.ravel_multi_index(tuple(c[1] for c in combo), geom.kernel))
        found.append((o, t))
    return found


def input_cell(r: Routing, cell: tuple[int, ...], base: int = 1) -> Iterator[Block]:
    """The chain-rule sum for canonical input cell (n, c, *pos), each window's weight named."""
    n, c, *pos = cell
    name = _name("A", shown_index(n, c, tuple(pos), r.layout, r.x.shape[1]), base)
    held = windows_holding(r.geom, pos)
    if not held:
        yield Note(f"No window reads {name} (PyTorch's output size leaves it out), so no gradient reaches it.")
    else:
        yield Note(_explain(r, n, c, name, held, base))
    terms, span = [], []
    for o, t in held:
        w = normalize(r.local[(n, c, *o, t)])
        if r.mode in ("max", "lp-inf") and w == 0:
            continue  # a window it did not win sends it nothing
        terms.append((normalize(r.g[(n, c, *o)]), w))
        span.append(o)
    subtotal = normalize(sum((a * b for a, b in terms), start=0))
    at = tuple((min(o[a] for o in span), max(o[a] for o in span)) for a in range(len(pos))) if span else ()
    idx = shown_index(n, c, tuple(pos), r.layout, r.x.shape[1])
    if not terms:
        yield Note(f"d{name} = {fmt(normalize(r.gi[cell]))}")
        return
    yield CellWork("dA", idx, (TermGroup("", tuple(terms), subtotal, None, at),), normalize(r.gi[cell]), None, "dC")


def _explain(r: Routing, n: int, c: int, name: str, held: list[tuple[tuple[int, ...], int]], base: int) -> str:
    outs = [_name("C", shown_index(n, c, o, r.layout, r.out.shape[1]), base) for o, _ in held]
    weights = [normalize(r.local[(n, c, *o, t)]) for o, t in held]
    where = f"{name} lies in the window(s) of {', '.join(outs)}"
    if r.mode in ("max", "lp-inf"):
        won = [(o, w) for o, w in zip(outs, weights, strict=True) if w != 0]
        what = "the max" if r.mode == "max" else ("the largest" if r.norm_type > 0 else "the smallest") + " |x|"
        if not won:
            return f"{where}; it is {what} of none of them, so ∂C/∂{name} = 0 for each and no gradient reaches it."
        weight = "1" if r.mode == "max" else f"sign({name}) = {fmt(won[0][1])}"
        rest = "" if len(won) == len(outs) else f"; the others have ∂C/∂{name} = 0"
        return (f"{where}; it is {what} of {', '.join(o for o, _ in won)} (∂C/∂{name} = {weight}), so "
                f"{'that window sends' if len(won) == 1 else 'those send'} its upstream value back{rest}.")
    if r.mode == "avg":
        parts = ", ".join(f"{o}: 1/{_den(w)}" for o, w in zip(outs, weights, strict=True))
        return f"{where}; each passes on 1/divisor of its upstream value ({parts})."
    parts = ", ".join(f"{o}: {fmt(w)}" for o, w in zip(outs, weights, strict=True))
    return (f"{where}; ∂C/∂{name} = (K/n)·(K·a)^(1/p−1)·{name}^(p−1), a the window's mean of x^p (0 when a = 0, "
            f"as torch has it): {parts}.")


def _den(w: object) -> str:
    if isinstance(w, Fraction):
        return str(w.denominator)
    return fmt(normalize(1 / float(w))) if w else "∞"  # type: ignore[arg-type]


def _name(symbol: str, idx: Sequence[int], base: int) -> str:
    return f"{symbol}[{','.join(str(i + base) for i in idx)}]"

