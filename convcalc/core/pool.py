"""Pooling as PyTorch does it: max, average, power-average (LP) and adaptive, over N spatial axes.

Data is (N, C, *S). Window geometry (padding, dilation, ``ceil_mode``) is resolved once into
a :class:`PoolGeometry`; its "extended frame" is the padded input, lengthened on the end
side when ``ceil_mode`` lets the last window run past the padding. Integers stay exact:
max of ints is an int, an average of ints is an exact ``Fraction`` (an object array).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from convcalc.core.windows import window_view
from convcalc.errors import ConvcalcError
from convcalc.formulas import adaptive_widths, effective_kernel, pool_output_size
from convcalc.limits import check_cells, check_memory, check_work
from convcalc.numbers import (
    Array,
    Kind,
    as_kind,
    integer_product_fits,
    is_symbolic,
    kind_of,
    normalize,
    to_exact_object,
)

# Window cells are one of three kinds: a real input value, padding inside the padded input,
# or beyond the padded input (only reachable through ceil_mode).
REAL, PADDING, BEYOND = 0, 1, 2


@dataclass(frozen=True)
class PoolGeometry:
    """Validated per-axis window settings and the output size they give (PyTorch's rules)."""

    input_size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    output_size: tuple[int, ...]

    @property
    def frame(self) -> tuple[int, ...]:
        """Length of the extended frame per axis: the padded input, or more if ceil_mode needs it."""
        return tuple(max(i + 2 * p, (o - 1) * s + effective_kernel(k, d))
                     for i, p, o, s, k, d in zip(self.input_size, self.padding, self.output_size,
                                                 self.stride, self.kernel, self.dilation, strict=True))

    def regions(self, axis: int) -> Array:
        """REAL / PADDING / BEYOND for each position of the extended frame along ``axis``."""
        i, p = self.input_size[axis], self.padding[axis]
        pos = np.arange(self.frame[axis])
        return np.where((pos >= p) & (pos < p + i), REAL, np.where(pos < i + 2 * p, PADDING, BEYOND))


def pool_geometry(
    input_size: Sequence[int], kernel: Sequence[int], stride: Sequence[int] | None = None,
    padding: Sequence[int] | None = None, dilation: Sequence[int] | None = None, ceil_mode: bool = False,
) -> PoolGeometry:
    """Check the settings as PyTorch does (user-facing errors) and work out the output size.

    ``stride`` defaults to ``kernel``, ``padding`` to 0, ``dilation`` to 1.
    """
    n = len(kernel)
    stride = tuple(kernel) if stride is None else tuple(stride)
    padding = (0,) * n if padding is None else tuple(padding)
    dilation = (1,) * n if dilation is None else tuple(dilation)
    for name, values, low in (("kernel_size", kernel, 1), ("stride", stride, 1), ("padding", padding, 0),
                              ("dilation", dilation, 1)):
        flag = "--" + name.replace("_", "-")
        if len(values) != n:
            raise ConvcalcError(f"{name} needs {n} value(s), got {tuple(values)}", flag)
        if any(v < low for v in values):
            raise ConvcalcError(f"{name} must be >= {low}, got {tuple(values)}", flag)
    # PyTorch compares padding with the kernel size, not the dilated span.
    if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        raise ConvcalcError(f"padding should be at most half of kernel size, but got padding={padding} "
                            f"and kernel_size={tuple(kernel)}", "--padding")
    if len(input_size) != n or any(i < 1 for i in input_size):
        raise ConvcalcError(f"the input's spatial size {tuple(input_size)} does not fit a {n}-D pool", "--input")
    out = tuple(pool_output_size(i, k, s, p, d, ceil_mode).value
                for i, k, s, p, d in zip(input_size, kernel, stride, padding, dilation, strict=True))
    if any(o < 1 for o in out):
        raise ConvcalcError(f"input size {tuple(input_size)} gives output size {out}, which is too small "
                            "(the window is larger than the padded input)", "--kernel-size")
    return PoolGeometry(tuple(input_size), tuple(kernel), stride, padding, dilation, ceil_mode, out)


def check_pool_size(x: Array, geom: PoolGeometry) -> None:
    """Refuse, before any array is made, a pooling whose frame or windows a laptop cannot hold.

    A window of 10⁶ with padding 5·10⁵ around a 1×1 input frames 10¹² cells (8 TB).
    """
    planes = x.shape[0] * x.shape[1]
    taps = planes * math.prod(geom.output_size) * math.prod(geom.kernel)
    kind = _work_kind(x)
    check_cells(max(planes * math.prod(geom.frame), planes * math.prod(geom.output_size)), "this pooling")
    check_work(taps, kind, "this pooling")
    check_memory(8 * max(planes * math.prod(geom.frame), taps), "this pooling")


def frame(x: Array, geom: PoolGeometry, fill: Any) -> Array:
    """(N, C, *S) placed into the extended frame, the rest set to ``fill``: (N, C, *frame)."""
    check_pool_size(x, geom)
    out = np.empty(x.shape[:2] + geom.frame, dtype=x.dtype)
    out[...] = fill
    out[(slice(None), slice(None), *(slice(p, p + i) for p, i in zip(geom.padding, geom.input_size, strict=True)))] = x
    return out


def windows(a: Array, geom: PoolGeometry) -> Array:
    """Windows of a framed (..., *frame) array, taps flattened row-major: (..., *O, prod K)."""
    lead = a.ndim - len(geom.kernel)
    a4 = a.reshape((-1, 1, *a.shape[lead:]))
    view = window_view(a4, geom.kernel, geom.stride, geom.dilation)
    view = view[(slice(None), slice(None), *(slice(0, o) for o in geom.output_size))]
    return view.reshape(a.shape[:lead] + geom.output_size + (math.prod(geom.kernel),))


def region_windows(geom: PoolGeometry) -> Array:
    """The region code of every tap of every window: (*O, prod K), the worst axis wins."""
    grids = np.meshgrid(*(geom.regions(a) for a in range(len(geom.kernel))), indexing="ij")
    return windows(np.maximum.reduce(grids) if len(grids) > 1 else grids[0], geom)


def tap_coordinates(geom: PoolGeometry) -> list[Array]:
    """Per axis, the unpadded input coordinate of every tap of every window: each (*O, prod K)."""
    nd, taps_n = len(geom.kernel), math.prod(geom.kernel)
    taps = np.unravel_index(np.arange(taps_n), geom.kernel)
    coords = []
    for axis, (o, s, d, p) in enumerate(zip(geom.output_size, geom.stride, geom.dilation, geom.padding, strict=True)):
        start = (np.arange(o) * s - p).reshape([o if a == axis else 1 for a in range(nd)] + [1])
        coords.append(np.broadcast_to(start + taps[axis] * d, (*geom.output_size, taps_n)))
    return coords


def flat_index(coords: Sequence[Array], size: Sequence[int]) -> Array:
    """Row-major index over the unpadded input (PyTorch's return_indices), from per-axis coordinates."""
    index = np.zeros(np.shape(coords[0]), dtype=np.int64)
    for c, n in zip(coords, size, strict=True):
        index = index * n + c
    return index


def max_pool_nd(
    x: Array, kernel: Sequence[int], stride: Sequence[int] | None = None, padding: Sequence[int] | None = None,
    dilation: Sequence[int] | None = None, ceil_mode: bool = False,
) -> tuple[Array, Array]:
    """Max pooling of (N, C, *S): returns (values, indices), both (N, C, *O).

    Indices are PyTorch's: flattened per channel over the unpadded input. Ties go to the
    first position in row-major window order; a NaN wins, and of several NaNs the last one
    (PyTorch's CPU loop keeps ``val > max || isnan(val)``). A window holding only padding
    gives −inf (ints then come back in an object array) and PyTorch's index for it.
    """
    geom = pool_geometry(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    floating = kind_of(x) is Kind.FLOAT
    if _symbolic(x):
        from convcalc.symbolic.pool import max_pool

        return max_pool(x, geom)
    # Filling with the input's own minimum keeps ints exact; ties with the fill are repaired below.
    fill = -math.inf if floating else (min(x.flat) if x.size else 0)
    win = windows(frame(x, geom, fill), geom)
    best = np.argmax(win, axis=-1)
    real = region_windows(geom) == REAL
    on_padding = ~np.take_along_axis(np.broadcast_to(real, win.shape), best[..., None], axis=-1)[..., 0]
    best = np.where(on_padding, np.argmax(real, axis=-1), best)
    if floating and x.dtype != object:
        nan = np.isnan(win)
        best = np.where(nan.any(axis=-1), win.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1), best)
    values = np.take_along_axis(win, best[..., None], axis=-1)[..., 0]
    coords = [np.take_along_axis(np.broadcast_to(c, win.shape), best[..., None], axis=-1)[..., 0]
              for c in tap_coordinates(geom)]
    indices = flat_index(coords, geom.input_size)
    empty = ~real.any(axis=-1)
    if empty.any():
        values, indices = _all_padding_windows(values, indices, empty, geom)
    return np.ascontiguousarray(values), np.ascontiguousarray(indices)


def _all_padding_windows(values: Array, indices: Array, empty: Array, geom: PoolGeometry) -> tuple[Array, Array]:
    """−inf and PyTorch's index for windows that hold no input (possible with dilation)."""
    if values.dtype != np.float64:
        values = values.astype(object)
    values = values.copy()
    values[..., empty] = -math.inf
    # PyTorch starts its index at the first tap at or after coordinate 0 on each axis, even
    # when that tap is past the input's end.
    firsts = []
    for axis, (o, s, p, d) in enumerate(zip(geom.output_size, geom.stride, geom.padding, geom.dilation, strict=True)):
        start = np.arange(o) * s - p
        first = np.where(start >= 0, start, start + (-start + d - 1) // d * d)
        firsts.append(first.reshape([o if a == axis else 1 for a in range(len(geom.output_size))]))
    default = np.broadcast_to(flat_index(firsts, geom.input_size), geom.output_size)
    return values, np.where(empty, default, indices)


def avg_divisors(geom: PoolGeometry, count_include_pad: bool) -> Array:
    """PyTorch's divisor for every window, (*O): cells inside the padded input, or real cells only."""
    regions = region_windows(geom)
    counted = regions <= PADDING if count_include_pad else regions == REAL
    return counted.sum(axis=-1)


def avg_pool_nd(
    x: Array, kernel: Sequence[int], stride: Sequence[int] | None = None, padding: Sequence[int] | None = None,
    ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None,
) -> Array:
    """Average pooling of (N, C, *S) → (N, C, *O), PyTorch's divisor rules exactly.

    The sum covers the real cells of each window; the divisor counts the cells inside the
    padded input (``count_include_pad``) or the real ones, unless ``divisor_override``.
    Floats give float64; ints and Fractions give exact ints/Fractions in an object array.
    """
    geom = pool_geometry(x.shape[2:], kernel, stride, padding, None, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise ConvcalcError("divisor must be not zero", "--divisor-override")
    kind = kind_of(x)
    if kind is Kind.INT and not integer_product_fits(x, np.ones(1, np.int64), math.prod(kernel)):
        x = to_exact_object(x)
    sums = windows(frame(x, geom, 0), geom).sum(axis=-1)
    divisor = (np.full(geom.output_size, divisor_override, dtype=np.int64) if divisor_override is not None
               else avg_divisors(geom, count_include_pad))
    if kind is Kind.FLOAT:
        return np.ascontiguousarray(as_kind(sums, Kind.FLOAT) / divisor)
    return exact_divide(sums, np.broadcast_to(divisor, sums.shape))


def exact_divide(num: Array, den: Array) -> Array:
    """Elementwise exact quotient of ints/Fractions, simplest form per cell, as an object array."""
    out = np.empty(num.shape, dtype=object)
    out.flat[:] = [a / int(b) if is_symbolic(a) else normalize(Fraction(a) / int(b))
                   for a, b in ((normalize(a), b) for a, b in zip(num.flat, den.flat, strict=True))]
    return out


def _work_kind(x: Array) -> Kind:
    """The kind whose work limit applies: object arrays are Python ints, Fractions or letters."""
    if x.dtype.kind == "f":
        return Kind.FLOAT
    return (Kind.SYMBOLIC if _symbolic(x) else Kind.RATIONAL) if x.dtype == object else Kind.INT


def _symbolic(x: Array) -> bool:
    """Letters (SymPy cells): their max and powers are worked in convcalc.symbolic."""
    return x.dtype == object and kind_of(x) is Kind.SYMBOLIC


def lp_pool_nd(
    x: Array, norm_type: float, kernel: Sequence[int], stride: Sequence[int] | None = None, ceil_mode: bool = False,
) -> Array:
    """Power-average pooling of (N, C, *S) → (N, C, *O), exactly as torch's ``lp_pool{1,2}d``.

    PyTorch computes ``avg_pool(x**p) * prod(kernel)`` (through sign·relu·abs, an identity
    but for NaN) and then the 1/p power. So in ceil_mode a clipped last window's sum is
    scaled by prod(kernel)/cells, not left as the plain sum. ±inf norms are max/min of |x|.
    Exact inputs give exact results for p = 1; otherwise float64.
    """
    if _symbolic(x):
        from convcalc.symbolic.pool import lp_pool

        return lp_pool(x, norm_type, pool_geometry(x.shape[2:], kernel, stride, None, None, ceil_mode))
    if math.isinf(norm_type):
        mags = np.abs(x) if norm_type > 0 else -np.abs(x)
        values, _ = max_pool_nd(mags, kernel, stride, None, None, ceil_mode)
        return values if norm_type > 0 else -values
    if norm_type == 0:
        raise ConvcalcError("norm_type must not be 0 (the result is a 1/p power)", "--norm-type")
    scale = math.prod(kernel)
    if norm_type == 1 and kind_of(x) is not Kind.FLOAT:
        avg = avg_pool_nd(x, kernel, stride, None, ceil_mode)
        out = np.empty(avg.shape, dtype=object)
        out.flat[:] = [normalize(v * scale) for v in avg.flat]
        return out
    xf = as_kind(x, Kind.FLOAT)
    with np.errstate(all="ignore"):  # negative bases and zero sums give nan/inf, as in torch
        avg = avg_pool_nd(np.power(xf, float(norm_type)), kernel, stride, None, ceil_mode)
        out = np.sign(avg) * np.maximum(np.abs(avg), 0) * scale
        return np.power(out, 1.0 / norm_type)


MAX_ADAPTIVE_CELLS = 100_000


def adaptive_ranges(in_size: int, out_size: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows along one axis: [floor(i·In/Out), ceil((i+1)·In/Out))."""
    return [(i * in_size // out_size, -(-(i + 1) * in_size // out_size)) for i in range(out_size)]


def _adaptive_cells(x: Array, output_size: Sequence[int]) -> tuple[tuple[int, ...], list[Any]]:
    """Validated output size and, per output cell, its index and input slices."""
    size = x.shape[2:]
    if len(output_size) != len(size) or any(o < 0 for o in output_size):
        raise ConvcalcError(f"output_size must be {len(size)} non-negative value(s), got {tuple(output_size)}",
                            "--output-size")
    if any(i < 1 for i in size):
        raise ConvcalcError(f"the input's spatial size {size} has an empty axis", "--input")
    cells = math.prod(output_size)
    if cells > MAX_ADAPTIVE_CELLS:  # each output cell is one NumPy step here
        raise ConvcalcError(f"adaptive pooling to {cells} cells per channel is worked window by window; "
                            f"at most {MAX_ADAPTIVE_CELLS}", "--output-size")
    kind = _work_kind(x)
    check_work(x.shape[0] * x.shape[1] * math.prod(o * adaptive_widths(i, o)[1] for i, o in zip(size, output_size,
               strict=True) if o), kind, "this adaptive pooling")
    ranges = [adaptive_ranges(i, o) for i, o in zip(size, output_size, strict=True)]
    cells = [(idx, tuple(slice(*ranges[a][i]) for a, i in enumerate(idx)))
             for idx in itertools.product(*(range(o) for o in output_size))]
    return tuple(output_size), cells


def adaptive_avg_pool_nd(x: Array, output_size: Sequence[int]) -> Array:
    """Adaptive average pooling of (N, C, *S) → (N, C, *output_size); exact for ints/Fractions."""
    out_size, cells = _adaptive_cells(x, output_size)
    kind = kind_of(x)
    if kind is Kind.INT and not integer_product_fits(x, np.ones(1, np.int64), math.prod(x.shape[2:])):
        x = to_exact_object(x)
    sums = np.empty(x.shape[:2] + out_size, dtype=object if x.dtype == object else x.dtype)
    counts = np.empty(out_size, dtype=np.int64)
    axes = tuple(range(2, x.ndim))
    for idx, region in cells:
        block = x[(slice(None), slice(None), *region)]
        sums[(slice(None), slice(None), *idx)] = block.sum(axis=axes)
        counts[idx] = math.prod(block.shape[2:])
    if kind is Kind.FLOAT:
        return as_kind(sums, Kind.FLOAT) / counts
    return exact_divide(sums, np.broadcast_to(counts, sums.shape))


def adaptive_max_pool_nd(x: Array, output_size: Sequence[int]) -> tuple[Array, Array]:
    """Adaptive max pooling of (N, C, *S): (values, indices), both (N, C, *output_size).

    Indices are flattened per channel over the input; ties go to the first position in
    row-major order, and NaN wins (the last NaN), as in PyTorch.
    """
    out_size, cells = _adaptive_cells(x, output_size)
    if _symbolic(x):
        from convcalc.symbolic.pool import adaptive_max_pool

        return adaptive_max_pool(x, cells, out_size)
    values = np.empty(x.shape[:2] + out_size, dtype=x.dtype)
    indices = np.empty(x.shape[:2] + out_size, dtype=np.int64)
    floating = x.dtype.kind == "f"
    for idx, region in cells:
        block = x[(slice(None), slice(None), *region)]
        flat = block.reshape((*block.shape[:2], -1))
        best = np.argmax(flat, axis=-1)
        if floating:
            nan = np.isnan(flat)
            best = np.where(nan.any(axis=-1), flat.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1), best)
        local = np.unravel_index(best, block.shape[2:])
        coords = [loc + sl.start for loc, sl in zip(local, region, strict=True)]
        values[(slice(None), slice(None), *idx)] = np.take_along_axis(flat, best[..., None], axis=-1)[..., 0]
        indices[(slice(None), slice(None), *idx)] = flat_index(coords, x.shape[2:])
    return values, indices


@dataclass(frozen=True)
class WindowTap:
    """One cell of a pooling window, for showing the window in a worked solution."""

    tap: tuple[int, ...]      # position inside the kernel
    padded: tuple[int, ...]   # coordinate in the padded input: o·s + t·d
    input: tuple[int, ...]    # coordinate in the unpadded input (padded − P); out of range for padding
    is_padding: bool          # not an input value: padding, or beyond the padded input
    beyond: bool              # past the padded input (only in ceil_mode); never counted by avg pool


def pool_window(
    out_index: Sequence[int], input_size: Sequence[int], kernel: Sequence[int], stride: Sequence[int] | None = None,
    padding: Sequence[int] | None = None, dilation: Sequence[int] | None = None, ceil_mode: bool = False,
) -> list[WindowTap]:
    """The input cells under output cell ``out_index``, in row-major tap order."""
    geom = pool_geometry(input_size, kernel, stride, padding, dilation, ceil_mode)
    if len(out_index) != len(kernel) or not all(0 <= o < n for o, n in zip(out_index, geom.output_size, strict=True)):
        raise ConvcalcError(f"cell {tuple(out_index)} is outside the output of size {geom.output_size}", "--cell")
    taps = []
    for tap in itertools.product(*(range(k) for k in geom.kernel)):
        padded = tuple(o * s + t * d for o, s, t, d in zip(out_index, geom.stride, tap, geom.dilation, strict=True))
        unpadded = tuple(q - p for q, p in zip(padded, geom.padding, strict=True))
        real = all(0 <= u < i for u, i in zip(unpadded, geom.input_size, strict=True))
        beyond = any(q >= i + 2 * p for q, i, p in zip(padded, geom.input_size, geom.padding, strict=True))
        taps.append(WindowTap(tap, padded, unpadded, not real, beyond))
    return taps
