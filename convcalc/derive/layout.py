"""The user's layouts vs the core's canonical ones, and which cells to work.

Data may come as (*S), (C, *S) or (N, C, *S); the core always sees (N, C, *S). Results
are shown back in the user's layout: no batch axis if the input had none, no channel axis
if neither the input nor the result has more than one channel.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.numbers import Array


@dataclass(frozen=True)
class Layout:
    """How the user's data maps onto (N, C, *S): which leading axes they wrote."""

    dim: int
    has_batch: bool
    has_channel: bool

    def canonical(self, a: Array) -> Array:
        if not self.has_channel:
            a = a[None]
        if not self.has_batch:
            a = a[None]
        return a

    def shown(self, out: Array) -> Array:
        """(N, C, *O) back into the user's layout."""
        if not self.has_batch:
            out = out[0]
            if not self.has_channel and out.shape[0] == 1:
                out = out[0]
        elif not self.has_channel and out.shape[1] == 1:
            out = out[:, 0]
        return out


def data_layout(a: Array, dim: int, flag: str) -> Layout:
    """Decide the layout of an input of rank dim, dim+1 or dim+2."""
    if a.ndim == dim:
        return Layout(dim, False, False)
    if a.ndim == dim + 1:
        return Layout(dim, False, True)
    if a.ndim == dim + 2:
        return Layout(dim, True, True)
    raise ConvcalcError(
        f"has {a.ndim} axes; a {dim}-D input has {dim} (spatial), {dim + 1} (C, ...) or {dim + 2} (N, C, ...)", flag)


def as_signal(a: Array, dim: int) -> Array:
    """A one-row matrix typed for a 1-D problem is the signal itself."""
    if dim == 1 and a.ndim == 2 and a.shape[0] == 1:
        return a[0]
    return a


def canonical_kernel(w: Array, dim: int, flag: str = "--kernel") -> Array:
    """(*K) -> (1, 1, *K); (C_in/g, *K) -> (1, C_in/g, *K); (C_out, C_in/g, *K) as is."""
    if w.ndim == dim:
        return w[None, None]
    if w.ndim == dim + 1:
        return w[None]
    if w.ndim == dim + 2:
        return w
    raise ConvcalcError(
        f"has {w.ndim} axes; a {dim}-D kernel has {dim}, {dim + 1} (C_in, ...) or {dim + 2} (C_out, C_in/groups, ...)",
        flag)


def canonical_bias(b: Array | None, out_channels: int, flag: str = "--bias") -> Array | None:
    """A scalar for every output channel, or one value per output channel."""
    if b is None:
        return None
    flat = b.reshape(-1)
    if flat.size == 1:
        return np.repeat(flat, out_channels)
    if flat.size != out_channels:
        channels = "one output channel" if out_channels == 1 else f"{out_channels} output channels"
        fix = ("give one number" if out_channels == 1 else f"give one number or {out_channels}, like "
               + ",".join(str(i + 1) for i in range(min(out_channels, 3))) + ("…" if out_channels > 3 else ""))
        raise ConvcalcError(f"has {flat.size} values, but the layer has {channels} (one bias each): {fix}, or give "
                            "the kernel more output channels", flag)
    return flat


def shown_index(n: int, c: int, pos: tuple[int, ...], layout: Layout, out_channels: int) -> tuple[int, ...]:
    """The index of canonical cell (n, c, *pos) in the array the user is shown."""
    show_n = layout.has_batch
    show_c = layout.has_channel or out_channels > 1
    return (*((n,) if show_n else ()), *((c,) if show_c else ()), *pos)


def check_cell_rank(cells: Sequence[tuple[int, ...]], shown_ndim: int, nsp: int, what: str = "output",
                    flag: str = "--cell") -> None:
    """Refuse a cell with more indices than the matrix shown has (``--cell 1,1,1`` on a 2-D output):
    its spatial indices, or one index per axis shown."""
    allowed = {nsp, shown_ndim} | ({nsp + 1} if shown_ndim == nsp + 2 else set())
    for w in cells:
        if len(w) not in allowed:
            example = ",".join(["1"] * shown_ndim)
            raise ConvcalcError(f"{','.join(map(str, w))} has {len(w)} indices, but the {what} is {shown_ndim}-D: "
                                f"give {shown_ndim}, like {example}", flag)


def select_cells(
    out_shape: tuple[int, ...], wanted: Sequence[tuple[int, ...]], cap: int | None, base: int, flag: str = "--cell"
) -> tuple[Iterator[tuple[int, ...]], int]:
    """Canonical cells (n, c, *pos) to work, and how many there are in all.

    ``wanted`` holds user indices (``base``-based) of either the spatial rank (every batch
    and channel) or the full shown rank; ``cap`` limits the default selection.
    """
    total = int(np.prod(out_shape))
    if not wanted:
        cells = itertools.product(*(range(n) for n in out_shape))
        return (itertools.islice(cells, cap) if cap is not None else cells), total
    picked: list[tuple[int, ...]] = []
    nsp = len(out_shape) - 2
    for w in wanted:
        idx = tuple(i - base for i in w)
        if len(idx) == nsp:
            heads = itertools.product(range(out_shape[0]), range(out_shape[1]))
            candidates = [(*h, *idx) for h in heads]
        elif len(idx) == nsp + 1:
            candidates = [(n, idx[0], *idx[1:]) for n in range(out_shape[0])]
        elif len(idx) == nsp + 2:
            candidates = [idx]
        else:
            raise ConvcalcError(f"{','.join(map(str, w))} has {len(w)} indices; the output has {nsp} spatial axes", flag)
        for cand in candidates:
            if any(not 0 <= i < n for i, n in zip(cand, out_shape, strict=True)):
                raise ConvcalcError(
                    f"{','.join(map(str, w))} is outside the output (indices start at {base})", flag)
            picked.append(cand)
    return iter(picked), total


def slices_2d(a: Array) -> Iterator[tuple[tuple[int, ...], Array]]:
    """Leading indices and each 1-D or 2-D slice of an array, for display."""
    if a.ndim <= 2:
        yield (), a
        return
    for i in range(a.shape[0]):
        for lead, sl in slices_2d(a[i]):
            yield (i, *lead), sl
