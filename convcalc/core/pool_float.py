"""Max and average pooling of float32/float64 arrays, one pass per kernel tap.

The same results as :func:`convcalc.core.pool.max_pool_nd` and ``avg_pool_nd`` (which also
handle exact numbers and show each window), computed like PyTorch's CPU loops: each tap of
the kernel meets a strided slice of the input, clipped to the output cells whose window
puts that tap on a real input cell, so no padded copy and no window matrix is built. Floats
keep their dtype (float32 stays float32, as in torch).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from convcalc.core.pool import PoolGeometry, avg_divisors, pool_geometry
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# Planes are pooled in runs of about this many input bytes, so the kernel's taps, one pass
# each, re-read the run from cache instead of from memory (L2 here is 1 MiB per core).
PLANE_BLOCK_BYTES = 1 * 2**20
Span = tuple[tuple[int, ...], tuple[slice, ...], tuple[slice, ...]]  # tap, output slices, input slices


def is_float_array(x: Array) -> bool:
    return np.asarray(x).dtype in FLOATS


def _axis_span(o_count: int, size: int, s: int, p: int, d: int, t: int) -> tuple[slice, slice] | None:
    """Outputs o whose tap t lands inside the input (0 ≤ o·s − p + t·d < size), and where it lands."""
    offset = t * d - p
    lo = max(0, -(offset // s))  # ceil(−offset / s)
    hi = min(o_count, (size - 1 - offset) // s + 1)
    if hi <= lo:
        return None
    start = lo * s + offset
    return slice(lo, hi), slice(start, start + (hi - lo - 1) * s + 1, s)


def _tap_spans(geom: PoolGeometry) -> list[Span]:
    """Per kernel tap with any real cell: (tap, output slices, input slices), row-major tap order."""
    spans = []
    for tap in itertools.product(*(range(k) for k in geom.kernel)):
        per_axis = [_axis_span(o, i, s, p, d, t) for o, i, s, p, d, t in
                    zip(geom.output_size, geom.input_size, geom.stride, geom.padding, geom.dilation, tap,
                        strict=True)]
        if all(a is not None for a in per_axis):
            spans.append((tap, tuple(a[0] for a in per_axis if a), tuple(a[1] for a in per_axis if a)))
    return spans


def _flat(coords: Sequence[Array], size: Sequence[int]) -> Array:
    """Row-major index over the input from per-axis coordinate arrays (broadcast together)."""
    index: Array = np.zeros((), dtype=np.int64)
    for c, n in zip(coords, size, strict=True):
        index = index * n + c
    return index


def _axis_coords(geom: PoolGeometry, axis: int, values: Array) -> Array:
    """``values`` along ``axis`` of the output grid, as a broadcastable (1, …, O_axis, …, 1) array."""
    shape = [1] * len(geom.kernel)
    shape[axis] = -1
    return values.reshape(shape)


def _first_taps(geom: PoolGeometry) -> Array:
    """PyTorch's starting index of each window: its first tap at or after 0 on every axis, (*O)."""
    firsts = []
    for axis, (o, s, p, d) in enumerate(zip(geom.output_size, geom.stride, geom.padding, geom.dilation, strict=True)):
        start = np.arange(o) * s - p
        firsts.append(_axis_coords(geom, axis, np.where(start >= 0, start, start + (-start + d - 1) // d * d)))
    return np.broadcast_to(_flat(firsts, geom.input_size), geom.output_size)


def _plane_blocks(planes: int, plane_bytes: int) -> list[slice]:
    """Runs of (n, c) planes of about PLANE_BLOCK_BYTES: every tap's pass then reads from cache."""
    step = max(1, PLANE_BLOCK_BYTES // max(1, plane_bytes))
    return [slice(i, min(planes, i + step)) for i in range(0, planes, step)]


def _planes(a: Array, spatial: int) -> Array:
    """(N, C, *S) → (N·C, *S), a view when ``a`` is contiguous."""
    return a.reshape((-1, *a.shape[a.ndim - spatial:]))


def _base_and_offsets(geom: PoolGeometry) -> tuple[Array, Array]:
    """Row-major input index = base[window] + offset[tap], (*O) and (prod K,): the index is linear."""
    base = _flat([_axis_coords(geom, a, np.arange(o) * s - p) for a, (o, s, p) in
                  enumerate(zip(geom.output_size, geom.stride, geom.padding, strict=True))], geom.input_size)
    taps = np.unravel_index(np.arange(math.prod(geom.kernel)), geom.kernel)
    offsets = _flat([t * d for t, d in zip(taps, geom.dilation, strict=True)], geom.input_size)
    return np.broadcast_to(base, geom.output_size), offsets


def _winners(planes: Array, geom: PoolGeometry) -> tuple[Array, Array]:
    """Max values and PyTorch's indices of (P, *S) planes, both (P, *O).

    PyTorch's rule per window, in row-major tap order: a value replaces the best so far if it
    is greater or NaN, starting from −inf at the first tap inside the input. So ties keep the
    first, the last NaN wins, and a window of −inf (or of padding only) keeps its first tap.
    """
    spans, taps = _tap_spans(geom), math.prod(geom.kernel)
    base, offsets = _base_and_offsets(geom)
    first = _first_taps(geom)
    has_nan = bool(np.isnan(planes).any())
    values = np.empty(planes.shape[:1] + geom.output_size, dtype=planes.dtype)
    indices = np.empty(values.shape, dtype=np.int64)
    def work(block: slice) -> None:
        # The block's window matrix, taps innermost; cells outside the input stay −inf.
        cand = np.full((block.stop - block.start, *geom.output_size, taps), -np.inf, dtype=planes.dtype)
        for tap, outs, ins in spans:
            where: tuple[Any, ...] = (slice(None), *outs, int(np.ravel_multi_index(tap, geom.kernel)))
            cand[where] = planes[(block, *ins)]
        best = np.argmax(cand, axis=-1)  # the first maximum; NaN counts as the maximum (the first NaN)
        if has_nan:
            nan = np.isnan(cand)
            best = np.where(nan.any(axis=-1), taps - 1 - np.argmax(nan[..., ::-1], axis=-1), best)
        top = np.take_along_axis(cand, best[..., None], axis=-1)[..., 0]
        values[block] = top
        indices[block] = np.where(top == -np.inf, first, base + offsets[best])

    for block in _plane_blocks(planes.shape[0], values[0].nbytes * taps):
        work(block)
    return values, indices


def max_pool_float(
    x: Array, kernel: Sequence[int], stride: Sequence[int] | None = None, padding: Sequence[int] | None = None,
    dilation: Sequence[int] | None = None, ceil_mode: bool = False, with_indices: bool = True,
) -> tuple[Array, Array | None]:
    """Max pooling of a float (N, C, *S) array → (values, indices or None), both (N, C, *O).

    PyTorch's rule per window, in row-major tap order: a value replaces the best so far if
    it is greater or NaN (so ties keep the first, and the last NaN wins); a window with no
    input cell gives −inf and its first-tap index.
    """
    geom = pool_geometry(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    planes = _planes(x, len(geom.kernel))
    if not with_indices:
        # Max is separable: one axis at a time. Ties and NaN give the same value either way.
        values = _separable(planes, geom, -np.inf, np.maximum)
        return values.reshape(x.shape[:2] + geom.output_size), None
    values, indices = _winners(planes, geom)
    shape = x.shape[:2] + geom.output_size
    return values.reshape(shape), indices.reshape(shape)


def max_pool_float_backward(
    grad_output: Array, x: Array, kernel: Sequence[int], stride: Sequence[int] | None = None,
    padding: Sequence[int] | None = None, dilation: Sequence[int] | None = None, ceil_mode: bool = False,
) -> Array:
    """∂L/∂x of :func:`max_pool_float`: each upstream value added to its window's winner, (N, C, *S)."""
    geom = pool_geometry(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    _check_grad(grad_output, x.shape[:2] + geom.output_size)
    planes = _planes(x, len(geom.kernel))
    _, indices = _winners(planes, geom)
    count, size = planes.shape[0], math.prod(geom.input_size)
    flat = indices.reshape(count, -1)
    targets = flat + (np.arange(count) * size)[:, None]
    weights = np.asarray(grad_output, dtype=np.float64).reshape(count, -1)
    # A window of padding only has no winner inside the input; it sends nothing back.
    keep = (flat >= 0) & (flat < size)
    if not keep.all():
        targets, weights = targets[keep], weights[keep]
    return np.bincount(targets.ravel(), weights.ravel(), minlength=count * size).astype(x.dtype).reshape(x.shape)


def _axis_spans(geom: PoolGeometry, axis: int) -> list[tuple[slice, slice]]:
    """(output slice, input slice) of each tap along one axis that meets the input, one that
    covers every output first (it can be copied instead of combined into a filled array)."""
    o = geom.output_size[axis]
    spans = [span for t in range(geom.kernel[axis])
             if (span := _axis_span(o, geom.input_size[axis], geom.stride[axis], geom.padding[axis],
                                    geom.dilation[axis], t)) is not None]
    return sorted(spans, key=lambda span: span[0] != slice(0, o))


def _separable(planes: Array, geom: PoolGeometry, start: float, op: np.ufunc, divisor: Array | None = None) -> Array:
    """``op``-reduce every window's input cells, one spatial axis at a time: (P, *S) → (P, *O).

    Right for sums and maxima, because a window's input cells are a product of per-axis runs.
    With ``divisor`` (*O), each block is divided while it is still in cache.
    """
    out = np.empty(planes.shape[:1] + geom.output_size, dtype=planes.dtype)
    per_axis = [_axis_spans(geom, a) for a in range(len(geom.kernel))]
    def work(block: slice) -> None:
        current = planes[block]
        for axis, spans in enumerate(per_axis):
            shape = list(current.shape)
            shape[1 + axis] = geom.output_size[axis]
            lead: tuple[Any, ...] = (slice(None),) * (1 + axis)
            covers = bool(spans) and spans[0][0] == slice(0, geom.output_size[axis])
            reduced = current[(*lead, spans[0][1])].copy() if covers else np.full(shape, start, dtype=planes.dtype)
            for outs, ins in spans[1:] if covers else spans:
                target = reduced[(*lead, outs)]
                op(target, current[(*lead, ins)], out=target)
            current = reduced
        if divisor is None:
            out[block] = current
        else:
            np.divide(current, divisor, out=out[block])

    for block in _plane_blocks(planes.shape[0], planes[0].nbytes):
        work(block)
    return out


def _divisors(geom: PoolGeometry, count_include_pad: bool, divisor_override: int | None) -> Array:
    if divisor_override is not None and divisor_override == 0:
        raise ConvcalcError("divisor must be not zero", "--divisor-override")
    return (np.full(geom.output_size, divisor_override) if divisor_override is not None
            else avg_divisors(geom, count_include_pad))


def avg_pool_float(
    x: Array, kernel: Sequence[int], stride: Sequence[int] | None = None, padding: Sequence[int] | None = None,
    ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None,
) -> Array:
    """Average pooling of a float (N, C, *S) array → (N, C, *O), PyTorch's divisor rules."""
    geom = pool_geometry(x.shape[2:], kernel, stride, padding, None, ceil_mode)
    divisor = _divisors(geom, count_include_pad, divisor_override).astype(x.dtype)
    planes = _planes(x, len(geom.kernel))
    return _separable(planes, geom, 0, np.add, divisor).reshape(x.shape[:2] + geom.output_size)


def avg_pool_float_backward(
    grad_output: Array, input_shape: Sequence[int], kernel: Sequence[int], stride: Sequence[int] | None = None,
    padding: Sequence[int] | None = None, ceil_mode: bool = False, count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Array:
    """∂L/∂x of :func:`avg_pool_float`: g/divisor added to every input cell of each window, (N, C, *S)."""
    geom = pool_geometry(input_shape[2:], kernel, stride, padding, None, ceil_mode)
    g = np.asarray(grad_output)
    _check_grad(g, tuple(input_shape[:2]) + geom.output_size)
    shares = _planes(g / _divisors(geom, count_include_pad, divisor_override).astype(g.dtype), len(geom.kernel))
    grad = np.zeros((shares.shape[0], *geom.input_size), dtype=g.dtype)
    spans = _tap_spans(geom)

    def work(block: slice) -> None:
        for _, outs, ins in spans:
            grad[(block, *ins)] += shares[(block, *outs)]

    for block in _plane_blocks(grad.shape[0], grad[0].nbytes):
        work(block)
    return grad.reshape(tuple(input_shape))


def _check_grad(g: Array, expected: tuple[int, ...]) -> None:
    if g.shape != expected:
        raise ConvcalcError(f"has shape {g.shape}, but the pooled output is {expected}", "--grad-output")
