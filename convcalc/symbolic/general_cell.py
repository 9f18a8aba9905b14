"""The general cell: one output cell Y[i,j] as a formula in shifted entries of an input of
unknown size, and where that formula holds.

Cross-correlation, as in PyTorch (0-based): Y[o] = Σ_t W[t]·X[s·o + d·t − p] per axis. With
indices counted from ``base`` (the course's), output index i reads X at s·(i − b) + b + d·t − p.
A transposed convolution (and a convolution's input gradient, which is one) sends X[q]·W[t]
to Y[s·q + d·t − p]: output cells fall into s phases per axis, and each phase has its own
formula. Sizes are letters (H, W: positive integers).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from convcalc.numbers import Array
from convcalc.symbolic.cells import to_sympy
from convcalc.symbolic.parse import symbol

INDEX_NAMES = ("i", "j", "k")
SIZE_NAMES = {1: ("W",), 2: ("H", "W"), 3: ("D", "H", "W")}


def index_symbols(n: int) -> tuple[sympy.Symbol, ...]:
    """The output cell's indices: i (1-D), i, j (2-D), i, j, k (3-D)."""
    return tuple(sympy.Symbol(name, integer=True) for name in INDEX_NAMES[:n])


def size_symbols(n: int, prefix: str = "") -> tuple[sympy.Symbol, ...]:
    """The input's unknown sizes (H, W): positive integers."""
    return tuple(symbol(prefix + name, "positive_int") for name in SIZE_NAMES[n])


@dataclass(frozen=True)
class AxisRange:
    """Along one axis: the output cells whose every term reads inside the input."""

    index: sympy.Symbol       # i
    first: sympy.Expr         # the first output index reading no padding
    last: sympy.Expr          # the last such index
    out_first: int            # the first output index (the base)
    out_last: sympy.Expr      # the last output index: base + size − 1
    low: sympy.Expr           # the smallest input index a term reads, as a function of the output index
    high: sympy.Expr          # the largest


@dataclass(frozen=True)
class GeneralCell:
    """Y[lhs index] = rhs: the formula, and per axis where it reads no padding."""

    lhs: sympy.Expr
    rhs: sympy.Expr
    ranges: tuple[AxisRange, ...]
    phase: tuple[int, ...] = ()


def in_tap_order(terms: list[sympy.Expr]) -> sympy.Expr:
    """The sum unevaluated, so that it prints tap by tap (SymPy would sort its terms)."""
    return sympy.Add(*terms, evaluate=False) if len(terms) > 1 else (terms[0] if terms else sympy.Integer(0))


def conv_cell(kernel: Array, stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int], base: int,
              x_name: str = "X", y_name: str = "Y", sizes: Sequence[sympy.Expr] | None = None,
              padding_after: Sequence[int] | None = None) -> GeneralCell:
    """Y[i,j] of a cross-correlation with the (kh, kw) ``kernel`` (numbers, letters, or W[m,n])."""
    n = kernel.ndim
    idx = index_symbols(n)
    sizes = tuple(sizes) if sizes is not None else size_symbols(n)
    after = tuple(padding) if padding_after is None else tuple(padding_after)
    x, y = sympy.IndexedBase(x_name), sympy.IndexedBase(y_name)
    terms = []
    used: list[set[int]] = [set() for _ in range(n)]
    for tap in itertools.product(*(range(k) for k in kernel.shape)):
        w = to_sympy(kernel[tap])
        if w == 0:
            continue
        at = [s * (i - base) + base + d * t - p for i, s, d, t, p in zip(idx, stride, dilation, tap, padding,
                                                                       strict=True)]
        terms.append(w * x[tuple(at)])
        for a, t in enumerate(tap):
            used[a].add(t)
    ranges = []
    for a in range(n):
        taps = sorted(used[a]) or [0]
        s, d, p, k = stride[a], dilation[a], padding[a], kernel.shape[a]
        lo_off, hi_off = d * taps[0] - p, d * taps[-1] - p
        first = base + max(0, -(lo_off // s))  # ⌈−lo/s⌉: the first i with s·(i−b) + lo ≥ 0
        last = base + sympy.floor((sizes[a] - 1 - hi_off) / sympy.Integer(s))
        out_last = base + sympy.floor((sizes[a] + p + after[a] - d * (k - 1) - 1) / sympy.Integer(s))
        read = s * (idx[a] - base) + base
        ranges.append(AxisRange(idx[a], sympy.Integer(first), last, base, out_last, read + lo_off, read + hi_off))
    return GeneralCell(y[idx], in_tap_order(terms), tuple(ranges))


def transposed_cells(kernel: Array, stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int],
                     base: int, x_name: str = "X", y_name: str = "Y") -> list[GeneralCell]:
    """One formula per phase: Y[s·(i − b) + r + b] = Σ W[t]·X[i + (r + p − d·t)/s] over the taps
    t with (r + p − d·t) divisible by s (X read as 0 outside the input)."""
    n = kernel.ndim
    idx = index_symbols(n)
    x, y = sympy.IndexedBase(x_name), sympy.IndexedBase(y_name)
    cells = []
    for phase in itertools.product(*(range(s) for s in stride)):
        terms = []
        for tap in itertools.product(*(range(k) for k in kernel.shape)):
            w = to_sympy(kernel[tap])
            shifts = [r + p - d * t for r, p, d, t in zip(phase, padding, dilation, tap, strict=True)]
            if w == 0 or any(sh % s for sh, s in zip(shifts, stride, strict=True)):
                continue
            terms.append(w * x[tuple(i + sh // s for i, sh, s in zip(idx, shifts, stride, strict=True))])
        out = tuple(s * (i - base) + r + base for i, s, r in zip(idx, stride, phase, strict=True))
        cells.append(GeneralCell(y[out], in_tap_order(terms), (), phase))
    return cells


def pool_cell(mode: str, kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int], base: int,
              x_name: str = "X", y_name: str = "Y") -> GeneralCell:
    """avg: (1/∏K) Σ X[…] over the window; max: max(X[…], …)."""
    ones = np.ones(tuple(kernel), dtype=object)
    cell = conv_cell(ones, stride, padding, (1,) * len(kernel), base, x_name, y_name)
    entries = sympy.Add.make_args(cell.rhs)
    if mode == "max":
        return GeneralCell(cell.lhs, sympy.Max(*entries, evaluate=False), cell.ranges)
    return GeneralCell(cell.lhs, sympy.Mul(sympy.Rational(1, int(np.prod(kernel))), cell.rhs, evaluate=False),
                       cell.ranges)


def pool_as_conv(k: sympy.Expr, channels: sympy.Expr, base: int = 1, x_name: str = "X",
                 y_name: str = "Y") -> list[tuple[str, sympy.Expr]]:
    """Average pooling (window k, stride k) as a convolution with C×C×k×k weights δ_{lγ}/k²,
    worked in symbols: the steps, each (label, Eq). The sum over γ collapses on γ = l."""
    lch, g, al, be = (sympy.Symbol(s, integer=True) for s in ("l", "gamma", "alpha", "beta"))
    i, j = index_symbols(2)
    x, y, w = sympy.IndexedBase(x_name), sympy.IndexedBase(y_name), sympy.IndexedBase("w")
    at = (k * (i - base) + al + base - 1, k * (j - base) + be + base - 1)
    lhs = y[lch, i, j]
    conv = sympy.Sum(w[lch, g, al, be] * x[(g, *at)], (g, 1, channels), (al, 1, k), (be, 1, k))
    weights = sympy.KroneckerDelta(lch, g) / k**2
    put = sympy.Sum(weights * x[(g, *at)], (g, 1, channels), (al, 1, k), (be, 1, k))
    inner = sympy.Sum(weights * x[(g, *at)], (g, 1, channels)).doit()  # SymPy sums the δ over γ
    if isinstance(inner, sympy.Piecewise):  # δ picks γ = l when 1 ≤ l ≤ C: the channel exists
        inner = inner.args[0][0]
    if sympy.simplify(inner * k**2 - x[(lch, *at)]) != 0:
        raise RuntimeError(f"the sum over γ gave {inner}, not X[l, …]/k²")
    pooled = sympy.Sum(inner * k**2, (al, 1, k), (be, 1, k)) / k**2
    return [("convolution", sympy.Eq(lhs, conv, evaluate=False)),
            ("weights", sympy.Eq(w[lch, g, al, be], weights, evaluate=False)),
            ("substituted", sympy.Eq(lhs, put, evaluate=False)),
            ("the sum over γ keeps γ = l", sympy.Eq(lhs, pooled, evaluate=False))]
