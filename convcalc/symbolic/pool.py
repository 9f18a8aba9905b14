"""Max and power-average pooling of letters, where NumPy's comparisons cannot go.

``max(a, b, c, d)`` stays a maximum (SymPy's ``Max``) unless the order of its entries is
known (numbers, or letters whose difference SymPy can sign); there is no argmax then, so
the indices come back as -1 ("depends on the letters").
"""

from __future__ import annotations

import numpy as np
import sympy

from convcalc.core import pool as core
from convcalc.numbers import Array
from convcalc.symbolic.cells import to_sympy


def max_pool(x: Array, geom: core.PoolGeometry) -> tuple[Array, Array]:
    """(values, indices) of (N, C, *S): each value ``Max`` of the window's real cells; indices -1."""
    win = core.windows(core.frame(x, geom, 0), geom)
    real = np.broadcast_to(core.region_windows(geom) == core.REAL, win.shape)
    values = np.empty(win.shape[:-1], dtype=object)
    for idx in np.ndindex(values.shape):
        taps = [to_sympy(v) for v, ok in zip(win[idx], real[idx], strict=True) if ok]
        values[idx] = sympy.Max(*taps) if taps else -sympy.oo
    return values, np.full(values.shape, -1, dtype=np.int64)


def adaptive_max_pool(x: Array, cells: list[tuple[tuple[int, ...], tuple[slice, ...]]],
                      out_size: tuple[int, ...]) -> tuple[Array, Array]:
    values = np.empty(x.shape[:2] + out_size, dtype=object)
    for idx, region in cells:
        block = x[(slice(None), slice(None), *region)]
        for n, c in np.ndindex(block.shape[:2]):
            values[(n, c, *idx)] = sympy.Max(*(to_sympy(v) for v in block[n, c].flat))
    return values, np.full(values.shape, -1, dtype=np.int64)


def lp_pool(x: Array, norm: float, geom: core.PoolGeometry) -> Array:
    """(Σ x^p)^(1/p) per window, as PyTorch: the mean of x^p times ∏K (a clipped ceil_mode window
    scaled up), then the 1/p power; p = ±∞ gives max/min of |x|."""
    if np.isinf(norm):
        mags = np.empty(x.shape, dtype=object)
        mags.flat[:] = [sympy.Abs(to_sympy(v)) for v in x.flat]
        values, _ = max_pool(mags if norm > 0 else -mags, geom)
        return values if norm > 0 else -values
    p = sympy.nsimplify(norm)
    powered = np.empty(x.shape, dtype=object)
    powered.flat[:] = [to_sympy(v) ** p for v in x.flat]
    win = core.windows(core.frame(powered, geom, 0), geom)
    real = core.region_windows(geom) == core.REAL
    scale = int(np.prod(geom.kernel))
    out = np.empty(win.shape[:-1], dtype=object)
    counts = real.sum(axis=-1)
    for idx in np.ndindex(out.shape):
        total = sum(win[idx], sympy.Integer(0)) * sympy.Rational(scale, int(counts[idx[2:]]))
        out[idx] = total ** (1 / p)
    return out
