"""Max and average pooling of float32/float64 arrays and their gradients, bit for bit PyTorch's.

The same results as :func:`convcalc.core.pool.max_pool_nd` and ``avg_pool_nd`` (which also
handle exact numbers and show each window), computed in PyTorch's order: each window is walked
tap by tap in row-major order (max: a value replaces the best so far if it is greater or NaN;
average: a sum from +0, then one division), and the gradients add into each input cell in the
row-major order of the windows that send to it. Floats keep their dtype, as in torch.

How, with NumPy: planes are pooled in cache-sized blocks, on ``limits.threads()`` threads. A
block's padded input is split by stride phase (:class:`_Phases`), so that each kernel tap reads
one contiguous run and is one NumPy operation over the whole block; no window matrix is built.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convcalc.core.blocks import plane_blocks, run_blocks
from convcalc.core.pool import PoolGeometry, avg_divisors, pool_geometry
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def is_float_array(x: Array) -> bool:
    return np.asarray(x).dtype in FLOATS


# --- Geometry ---------------------------------------------------------------------------


def _axis_span(o_count: int, size: int, s: int, p: int, d: int, t: int) -> tuple[slice, slice] | None:
    """Outputs o whose tap t lands inside the input (0 ≤ o·s − p + t·d < size), and where it lands."""
    offset = t * d - p
    lo = max(0, -(offset // s))  # ceil(−offset / s)
    hi = min(o_count, (size - 1 - offset) // s + 1)
    if hi <= lo:
        return None
    start = lo * s + offset
    return slice(lo, hi), slice(start, start + (hi - lo - 1) * s + 1, s)


def _real_taps(geom: PoolGeometry) -> list[tuple[int, ...]]:
    """The kernel taps that land inside the input for some output, in row-major order."""
    return [tap for tap in itertools.product(*(range(k) for k in geom.kernel))
            if all(_axis_span(o, i, s, p, d, t) is not None for o, i, s, p, d, t in
                   zip(geom.output_size, geom.input_size, geom.stride, geom.padding, geom.dilation, tap,
                       strict=True))]


def _tap_id(tap: tuple[int, ...], geom: PoolGeometry) -> int:
    return int(np.ravel_multi_index(tap, geom.kernel))


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


def _first_taps(geom: PoolGeometry) -> tuple[Array, Array]:
    """Each window's first tap at or after 0 on every axis (PyTorch's starting point), (*O):
    its index in the input, and its tap id (prod(K), "no tap", if it is not inside the input)."""
    positions, ids = [], np.zeros((), dtype=np.int64)
    inside: Array = np.ones((), dtype=bool)
    for axis, (o, i, k, s, p, d) in enumerate(zip(geom.output_size, geom.input_size, geom.kernel, geom.stride,
                                                 geom.padding, geom.dilation, strict=True)):
        start = np.arange(o) * s - p
        t = np.where(start >= 0, 0, (-start + d - 1) // d)
        positions.append(_axis_coords(geom, axis, start + t * d))
        inside = inside & _axis_coords(geom, axis, (t < k) & (start + t * d < i))
        ids = ids * k + _axis_coords(geom, axis, t)
    ids = np.where(inside, ids, math.prod(geom.kernel))
    return (np.broadcast_to(_flat(positions, geom.input_size), geom.output_size),
            np.broadcast_to(ids, geom.output_size))


def _base_and_offsets(geom: PoolGeometry) -> tuple[Array, Array]:
    """Row-major input index = base[window] + offset[tap], (*O) and (prod K,): the index is linear."""
    base = _flat([_axis_coords(geom, a, np.arange(o) * s - p) for a, (o, s, p) in
                  enumerate(zip(geom.output_size, geom.stride, geom.padding, strict=True))], geom.input_size)
    taps = np.unravel_index(np.arange(math.prod(geom.kernel)), geom.kernel)
    offsets = _flat([t * d for t, d in zip(taps, geom.dilation, strict=True)], geom.input_size)
    return np.broadcast_to(base, geom.output_size), offsets


@dataclass(frozen=True)
class _Phases:
    """A block of planes' padded input split by stride phase, so that each tap reads one
    contiguous run (NumPy is several times slower on strided or clipped views than on flat ones).

    Along an axis, padded position f = i + p is phase f mod s, row f // s. The buffer is
    (used phases, planes · plane + tail): per phase, each plane's (*rows) grid, plane after
    plane. Output cell (n, *o) of the block has the place n · plane + Σ o · row_stride of a
    "wide" array of planes · plane cells (the (*O) corner of each grid is real, the other cells
    are computed and discarded), and tap t reads its input at that place plus ``offset`` in its
    phase: one slice of planes · plane cells per tap.
    """

    rows: tuple[int, ...]
    plane: int
    phases: int
    taps: tuple[tuple[int, int, int], ...]  # (tap id, phase, offset) of each real tap, ascending id
    copies: tuple[tuple[int, tuple[slice, ...], tuple[slice, ...]], ...]  # phase, its rows, input cells
    tail: int
    output_size: tuple[int, ...]

    def real(self, wide: Array, count: int) -> Array:
        """The (count, *O) cells of a wide array, as a view."""
        return wide[:count * self.plane].reshape(count, *self.rows)[
            (slice(None), *(slice(0, o) for o in self.output_size))]

    def buffer(self, scratch: threading.local, name: str, count: int, dtype: np.dtype[Any], pad: float) -> Array:
        """This thread's (phases, count · plane + tail) buffer, made filled with ``pad`` on first use.

        Blocks only write input cells, and the first block is the largest, so the padding
        written once stays right for the other blocks of the call.
        """
        buf: Array | None = getattr(scratch, name, None)
        if buf is None or buf.shape[1] < count * self.plane + self.tail:
            buf = np.full((self.phases, count * self.plane + self.tail), pad, dtype=dtype)
            setattr(scratch, name, buf)
        return buf

    def fill(self, buf: Array, planes: Array) -> None:
        """Copy the (count, *S) planes into their places in ``buf``."""
        count = planes.shape[0]
        for phase, rows, ins in self.copies:
            buf[phase, :count * self.plane].reshape(count, *self.rows)[(slice(None), *rows)] = \
                planes[(slice(None), *ins)]

    def drain(self, buf: Array, out: Array) -> None:
        """Copy the input cells of ``buf`` into the (count, *S) ``out``."""
        count = out.shape[0]
        for phase, rows, ins in self.copies:
            out[(slice(None), *ins)] = buf[phase, :count * self.plane].reshape(count, *self.rows)[
                (slice(None), *rows)]

    def view(self, buf: Array, tap: tuple[int, int, int], count: int) -> Array:
        """The wide run that one tap reads (or adds into)."""
        _, phase, offset = tap
        return buf[phase, offset:offset + count * self.plane]

    @property
    def ids(self) -> list[int]:
        return [tap for tap, _, _ in self.taps]

    def wide(self, count: int, dtype: np.dtype[Any]) -> Array:
        return np.empty(count * self.plane, dtype=dtype)

    def reads(self, planes: Array, scratch: threading.local, pad: float) -> list[Array]:
        """What each tap reads of the (count, *S) planes: one wide run each (``pad`` outside)."""
        count = planes.shape[0]
        buf = self.buffer(scratch, f"input{pad}", count, planes.dtype, pad)
        self.fill(buf, planes)
        return [self.view(buf, tap, count) for tap in self.taps]


@dataclass(frozen=True)
class _Direct:
    """When every tap of every window is inside the input (no padding met, like 2×2 stride 2),
    each tap's strided view of the input already lines up with the (count, *O) output: that
    is cheaper than splitting the input by phase first. Same interface as :class:`_Phases`."""

    ids: list[int]
    ins: list[tuple[slice, ...]]
    output_size: tuple[int, ...]

    @staticmethod
    def of(geom: PoolGeometry) -> _Direct | None:
        ids, ins = [], []
        for tap in itertools.product(*(range(k) for k in geom.kernel)):
            spans = [_axis_span(o, i, s, p, d, t) for o, i, s, p, d, t in
                     zip(geom.output_size, geom.input_size, geom.stride, geom.padding, geom.dilation, tap,
                         strict=True)]
            if not all(span is not None and span[0] == slice(0, o) for span, o in
                       zip(spans, geom.output_size, strict=True)):
                return None
            ids.append(_tap_id(tap, geom))
            ins.append(tuple(span[1] for span in spans if span is not None))
        return _Direct(ids, ins, geom.output_size)

    def wide(self, count: int, dtype: np.dtype[Any]) -> Array:
        return np.empty((count, *self.output_size), dtype=dtype)

    def real(self, wide: Array, count: int) -> Array:
        return wide

    def reads(self, planes: Array, scratch: threading.local, pad: float) -> list[Array]:
        return [planes[(slice(None), *ins)] for ins in self.ins]


def _phases(geom: PoolGeometry) -> _Phases:
    rows = tuple(-(-f // s) for f, s in zip(geom.frame, geom.stride, strict=True))
    row_strides = [math.prod(rows[a + 1:]) for a in range(len(rows))]
    used: dict[tuple[int, ...], int] = {}
    taps = []
    for tap in _real_taps(geom):
        shifts = [t * d for t, d in zip(tap, geom.dilation, strict=True)]
        phase = used.setdefault(tuple(f % s for f, s in zip(shifts, geom.stride, strict=True)), len(used))
        offset = sum(f // s * r for f, s, r in zip(shifts, geom.stride, row_strides, strict=True))
        taps.append((_tap_id(tap, geom), phase, offset))
    copies = []
    for residues, phase in used.items():
        row_slices, in_slices = [], []
        for r, s, p, i, q in zip(residues, geom.stride, geom.padding, geom.input_size, rows, strict=True):
            lo, hi = max(0, -((r - p) // s)), min(q, (i - 1 + p - r) // s + 1)  # rows holding input cells
            row_slices.append(slice(lo, hi))
            in_slices.append(slice(lo * s + r - p, (hi - 1) * s + r - p + 1, s))
        copies.append((phase, tuple(row_slices), tuple(in_slices)))
    return _Phases(rows, math.prod(rows), len(used), tuple(taps), tuple(copies),
                   max((offset for _, _, offset in taps), default=0), geom.output_size)


def _planes(a: Array, spatial: int) -> Array:
    """(N, C, *S) → (N·C, *S), a view when ``a`` is contiguous."""
    return a.reshape((-1, *a.shape[a.ndim - spatial:]))


# --- Max pooling ------------------------------------------------------------------------


def _tap_id_dtype(geom: PoolGeometry) -> np.dtype[Any]:
    """The smallest unsigned type that holds every tap id and prod(K), "no tap"."""
    return np.min_scalar_type(math.prod(geom.kernel))


def _wide_max(views: list[Array], ids: list[int], best: Array, won: Array | None, has_nan: bool) -> None:
    """Fill ``best`` with each window's maximum over the taps' ``views`` and ``won`` (if given)
    with the id of PyTorch's tap; ``best`` stays −inf where no tap beat the start.

    PyTorch's rule, one tap at a time in row-major order: a value replaces the best so far if it
    is greater or NaN. So ties keep the first, the last NaN wins, and −inf never replaces.
    Branch-free on purpose (a masked copy mispredicts on every other cell): ``best`` follows
    ``np.maximum``, which may pick either zero of a ±0 tie (the callers fix that where it
    shows), and since tap ids only grow, ``won = max(won, update · id)``.
    """
    if not views:  # every window is padding only
        best.fill(-np.inf)
        if won is not None:
            won.fill(0)
        return
    np.copyto(best, views[0])
    if won is None:
        for v in views[1:]:
            np.maximum(v, best, out=best)
        return
    won.fill(ids[0])  # where the first value is −inf, best stays −inf: no winner
    update, step = np.empty(best.shape, dtype=bool), np.empty(best.shape, dtype=won.dtype)
    for v, tap in zip(views[1:], ids[1:], strict=True):
        np.greater(v, best, out=update)
        if has_nan:
            np.logical_or(update, np.isnan(v), out=update)
        np.maximum(v, best, out=best)
        np.maximum(won, np.multiply(update, won.dtype.type(tap), out=step), out=won)


def _has_negative_zero(planes: Array) -> bool:
    return bool(np.any(np.signbit(planes) & (planes == 0)))


@dataclass(frozen=True)
class _MaxPlan:
    """Everything a block of max pooling needs, worked out once per call."""

    geom: PoolGeometry
    layout: _Phases
    forward: _Phases | _Direct  # the cheaper layout when nothing goes back to the input
    base: Array  # (*O) and (prod K,): input index = base + offsets[tap id]
    offsets: Array
    first_index: Array  # (*O): PyTorch's index of a window without a winner
    first_id: Array  # (*O): its tap id, prod(K) if not inside the input

    @classmethod
    def of(cls, geom: PoolGeometry) -> _MaxPlan:
        base, offsets = _base_and_offsets(geom)
        first_index, first_id = _first_taps(geom)
        layout = _phases(geom)
        return cls(geom, layout, _Direct.of(geom) or layout, base, offsets, first_index,
                   first_id.astype(_tap_id_dtype(geom)))

    def winners(self, layout: _Phases | _Direct, planes: Array, scratch: threading.local,
                with_ids: bool = True) -> tuple[Array, Array | None]:
        """(best, won) of the (count, *S) planes in ``layout``'s wide form; ``won`` only if asked."""
        best = layout.wide(planes.shape[0], planes.dtype)
        won = np.empty(best.shape, dtype=_tap_id_dtype(self.geom)) if with_ids else None
        _wide_max(layout.reads(planes, scratch, -np.inf), layout.ids, best, won,
                  with_ids and bool(np.isnan(planes).any()))
        return best, won

    def indices(self, planes: Array, value: Array, won: Array, index: Array) -> None:
        """PyTorch's (count, *O) indices from the winners' tap ids, and each ±0 maximum's own sign."""
        np.add(self.base, self.offsets[won], out=index)
        zero = value == 0
        if zero.any():  # the winner's own zero: PyTorch keeps the first of −0 and +0
            cells = np.nonzero(zero)
            value[cells] = planes.reshape(planes.shape[0], -1)[cells[0], index[cells]]
        np.copyto(index, self.first_index, where=value == -np.inf)


def max_pool_float(
    x: Array, kernel: Sequence[int], stride: Sequence[int] | None = None, padding: Sequence[int] | None = None,
    dilation: Sequence[int] | None = None, ceil_mode: bool = False, with_indices: bool = True,
) -> tuple[Array, Array | None]:
    """Max pooling of a float (N, C, *S) array → (values, indices or None), both (N, C, *O).

    PyTorch's rule per window, in row-major tap order: a value replaces the best so far if
    it is greater or NaN (so ties keep the first, and the last NaN wins); a window where
    nothing beat −inf (all −inf, or padding only) gives −inf and its first tap's index.
    """
    geom = pool_geometry(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    plan = _MaxPlan.of(geom)
    planes = _planes(x, len(geom.kernel))
    values = np.empty(planes.shape[:1] + geom.output_size, dtype=planes.dtype)
    indices = np.empty(values.shape, dtype=np.int64) if with_indices else None
    scratch = threading.local()

    def work(block: slice) -> None:
        count, value, layout = block.stop - block.start, values[block], plan.forward
        best, won = plan.winners(layout, planes[block], scratch, with_indices)
        np.copyto(value, layout.real(best, count))
        if won is None and (value == 0).any() and _has_negative_zero(planes[block]):
            _, won = plan.winners(layout, planes[block], scratch)  # which zero wins needs the winner
        if won is not None:
            index = indices[block] if indices is not None else np.empty(value.shape, dtype=np.int64)
            plan.indices(planes[block], value, layout.real(won, count), index)

    run_blocks(work, plane_blocks(planes.shape[0], planes[0].nbytes))
    shape = x.shape[:2] + geom.output_size
    return values.reshape(shape), None if indices is None else indices.reshape(shape)


def max_pool_float_backward(
    grad_output: Array, x: Array, kernel: Sequence[int], stride: Sequence[int] | None = None,
    padding: Sequence[int] | None = None, dilation: Sequence[int] | None = None, ceil_mode: bool = False,
) -> Array:
    """∂L/∂x of :func:`max_pool_float`: each upstream value added to its window's winner, (N, C, *S).

    Per tap, the outputs that tap won add their upstream value onto the input run the tap
    reads; for one tap no two outputs share an input cell.
    """
    geom = pool_geometry(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    _check_grad(grad_output, x.shape[:2] + geom.output_size)
    plan = _MaxPlan.of(geom)
    layout = plan.layout
    planes = _planes(x, len(geom.kernel))
    g = _planes(np.asarray(grad_output).astype(x.dtype, copy=False), len(geom.kernel))
    grad: Array = np.zeros(planes.shape, dtype=x.dtype)
    scratch = threading.local()

    def work(block: slice) -> None:
        count = block.stop - block.start
        best, won = plan.winners(layout, planes[block], scratch)
        assert won is not None
        np.copyto(layout.real(won, count), plan.first_id, where=layout.real(best, count) == -np.inf)
        wide_g = _wide_upstream(layout, scratch, g[block])
        sums = layout.buffer(scratch, "sums", count, x.dtype, 0)
        sums.fill(0)
        mine, zero = np.empty(won.shape, dtype=bool), x.dtype.type(0)
        # Last tap first: a cell that wins several windows then adds their values in the
        # windows' row-major order, as PyTorch does (float addition is not associative).
        with np.errstate(all="ignore"):  # inf − inf is NaN, as in torch, without a warning
            for tap in reversed(layout.taps):
                target = layout.view(sums, tap, count)
                target += np.where(np.equal(won, tap[0], out=mine), wide_g, zero)
        layout.drain(sums, grad[block])

    run_blocks(work, plane_blocks(planes.shape[0], planes[0].nbytes))
    # A window of padding only: PyTorch still sends its value to the cell its index names, when
    # that index falls inside the plane (beyond it, torch writes into the next plane; not here).
    size = math.prod(geom.input_size)
    ghosts = np.flatnonzero((plan.first_id == math.prod(geom.kernel)) & (plan.first_index < size))
    if ghosts.size:
        cells = grad.reshape(grad.shape[0], -1).T  # (cell, plane), a view
        np.add.at(cells, plan.first_index.ravel()[ghosts], g.reshape(g.shape[0], -1)[:, ghosts].T)
    return grad.reshape(x.shape)


def _wide_upstream(layout: _Phases, scratch: threading.local, g: Array) -> Array:
    """The (count, *O) upstream values in the wide layout; the discarded cells hold +0, so that
    whatever they add is +0 (a sum from +0 is never −0, so adding +0 changes nothing)."""
    count = g.shape[0]
    wide: Array | None = getattr(scratch, "upstream", None)
    if wide is None or wide.shape[0] < count * layout.plane:
        wide = np.zeros(count * layout.plane, dtype=g.dtype)
        scratch.upstream = wide
    wide = wide[:count * layout.plane]
    layout.real(wide, count)[...] = g
    return wide


# --- Average pooling --------------------------------------------------------------------


def _divisors(geom: PoolGeometry, count_include_pad: bool, divisor_override: int | None) -> Array:
    if divisor_override is not None and divisor_override == 0:
        raise ConvcalcError("divisor must be not zero", "--divisor-override")
    return (np.full(geom.output_size, divisor_override) if divisor_override is not None
            else avg_divisors(geom, count_include_pad))


def avg_pool_float(
    x: Array, kernel: Sequence[int], stride: Sequence[int] | None = None, padding: Sequence[int] | None = None,
    ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None,
) -> Array:
    """Average pooling of a float (N, C, *S) array → (N, C, *O), PyTorch's divisor rules.

    As PyTorch: the window's input cells summed from +0 in row-major order, then divided.
    """
    geom = pool_geometry(x.shape[2:], kernel, stride, padding, None, ceil_mode)
    divisor = _divisors(geom, count_include_pad, divisor_override).astype(x.dtype)
    layout = _Direct.of(geom) or _phases(geom)
    planes = _planes(x, len(geom.kernel))
    out = np.empty(planes.shape[:1] + geom.output_size, dtype=planes.dtype)
    scratch = threading.local()

    def work(block: slice) -> None:
        count = block.stop - block.start
        total = layout.wide(count, x.dtype)
        with np.errstate(all="ignore"):  # the discarded cells may meet inf − inf
            views = layout.reads(planes[block], scratch, 0)  # never none: padding ≤ kernel / 2
            if len(views) > 1:
                np.add(views[0], views[1], out=total)
            else:
                np.copyto(total, views[0])
            for view in views[2:]:
                total += view
            result = out[block]
            np.divide(layout.real(total, count), divisor, out=result)
            # PyTorch sums from +0 and adds the quotient to a zeroed output. Both only change
            # the sign of a zero, and adding +0 at the end does the same: the sum of a window
            # of −0 (padding adds +0), 0 / −2, or a quotient that rounds to −0 all give +0.
            result += 0

    run_blocks(work, plane_blocks(planes.shape[0], planes[0].nbytes))
    return out.reshape(x.shape[:2] + geom.output_size)


def avg_pool_float_backward(
    grad_output: Array, input_shape: Sequence[int], kernel: Sequence[int], stride: Sequence[int] | None = None,
    padding: Sequence[int] | None = None, ceil_mode: bool = False, count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Array:
    """∂L/∂x of :func:`avg_pool_float`: g/divisor added to every input cell of each window, (N, C, *S).

    As PyTorch: each input cell adds its windows' shares in the windows' row-major order.
    """
    geom = pool_geometry(input_shape[2:], kernel, stride, padding, None, ceil_mode)
    g = np.asarray(grad_output)
    _check_grad(g, tuple(input_shape[:2]) + geom.output_size)
    shares = _planes(g / _divisors(geom, count_include_pad, divisor_override).astype(g.dtype), len(geom.kernel))
    layout = _phases(geom)
    grad = np.zeros((shares.shape[0], *geom.input_size), dtype=g.dtype)
    scratch = threading.local()

    def work(block: slice) -> None:
        count = block.stop - block.start
        wide = _wide_upstream(layout, scratch, shares[block])
        sums = layout.buffer(scratch, "sums", count, g.dtype, 0)
        sums.fill(0)
        with np.errstate(all="ignore"):  # inf − inf is NaN, as in torch, without a warning
            for tap in reversed(layout.taps):  # last tap first: the windows' row-major order
                target = layout.view(sums, tap, count)
                target += wide
        layout.drain(sums, grad[block])

    run_blocks(work, plane_blocks(grad.shape[0], grad[0].nbytes))
    return grad.reshape(tuple(input_shape))


def _check_grad(g: Array, expected: tuple[int, ...]) -> None:
    if g.shape != expected:
        raise ConvcalcError(f"has shape {g.shape}, but the pooled output is {expected}", "--grad-output")
