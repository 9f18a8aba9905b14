"""Figures of the worked cells, built from the same derivation the text shows.

One builder per command family turns a problem into a :class:`~convcalc.render.figure.Figure`:
the grids come from the core's arrays, the shaded cells from the window each output cell
reads (``start + tap·dilation`` on the padded input), the sums from the derivation's own
:class:`~convcalc.derive.records.CellWork`. Pictures show one sample and one channel pair:
the first worked cell's; other cells of the selection are in the text.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from convcalc.core.pool import pool_window
from convcalc.derive import conv, pool
from convcalc.derive.layout import select_cells
from convcalc.derive.pool import PoolProblem
from convcalc.derive.records import CellWork
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array, fmt, normalize
from convcalc.render.figure import MAX_CELLS, Figure, Frame, Grid, Mark, cell_text, wrap

FLAG = "--figure"
MAX_FRAMES = 200


def label(symbol: str, index: Sequence[int], base: int) -> str:
    return f"{symbol}[{','.join(str(i + base) for i in index)}]"


def factor(x: object) -> str:
    s = fmt(normalize(x))
    return f"({s})" if s.startswith("-") or "/" in s else s


def plane(a: Array) -> Array:
    """A (*S) spatial slice as a 2-D grid: a 1-D signal is one row."""
    return a.reshape(1, -1) if a.ndim == 1 else a


def check_drawable(*grids: Array) -> None:
    for g in grids:
        if max(g.shape) > MAX_CELLS:
            raise ConvcalcError(f"draws grids of at most {MAX_CELLS}×{MAX_CELLS} cells; this one is "
                                f"{'×'.join(map(str, g.shape))} (use --cell for the text)", FLAG)


def cells_of(out_shape: tuple[int, ...], cells: Sequence[tuple[int, ...]], cap: int | None,
             base: int, channel: str = "output channel") -> tuple[list[tuple[int, ...]], list[str]]:
    """The worked cells (as the text picks them) that share the first one's sample and channel."""
    chosen, total = select_cells(out_shape, cells, None if cells else cap, base)
    picked = list(itertools.islice(chosen, MAX_FRAMES))
    if not picked:
        raise ConvcalcError("there is no worked cell to draw (--steps 0, or an empty output)", FLAG)
    head = picked[0][:2]
    kept = [c for c in picked if c[:2] == head]
    notes = []
    if len(kept) < len(picked):
        notes.append(f"Sample {head[0] + base}, {channel} {head[1] + base} drawn; "
                     f"{len(picked) - len(kept)} worked cells of other samples or channels are in the text.")
    if len(picked) == MAX_FRAMES and (cells or cap is None or cap > MAX_FRAMES) and total > MAX_FRAMES:
        notes.append(f"The first {MAX_FRAMES} worked cells are drawn (a longer animation helps nobody).")
    return kept, notes


def _sum_lines(cw: CellWork, base: int) -> tuple[str, ...]:
    """The cell's sum in the text's words: products per channel, bias, total."""
    head = f"{label(cw.symbol, cw.index, base)} = "
    lines: list[str] = []
    for g in cw.groups:
        parts = [f"{factor(a)}·{factor(b)}" for a, b in g.terms]
        first = f"{g.label}: " if len(cw.groups) > 1 else head
        lines += wrap(parts or ["0"], first)
        if len(cw.groups) > 1:
            lines[-1] += f" = {fmt(g.subtotal)}"
    tail = " + ".join(fmt(g.subtotal) for g in cw.groups)
    if cw.bias is not None:
        tail += f" + bias {fmt(cw.bias)}"
    elif len(cw.groups) == 1:
        tail = ""
    end = f"{'= ' + tail + ' ' if tail else ''}= {fmt(cw.total)}"
    if len(lines[-1]) + len(end) < 100 and len(cw.groups) == 1:
        lines[-1] += " " + end
    else:
        lines.append("    " + end)
    return tuple(lines)


def settings_text(pairs: Sequence[tuple[str, Sequence[int]]]) -> str:
    """``stride 2, padding 2`` (one number when the axes agree, else h,w)."""
    return ", ".join(f"{k} {v[0] if len(set(v)) == 1 else ','.join(map(str, v))}" for k, v in pairs)


def conv_figure(p: conv.ConvProblem, cells: Sequence[tuple[int, ...]], cap: int | None, base: int,
                dimmed: Sequence[tuple[int, int]] | None = None, title: str = "") -> Figure:
    """Each worked cell's window on the padded input: the sampled cells shaded, each with its tap.

    ``dimmed`` overrides the border drawn as padding (the gather view of a transposed conv pads
    before the convolution); ``title`` the figure's title."""
    wk = conv.compute(p)
    spec = p.spec
    picked, notes = cells_of(wk.out.shape, cells, cap, base)
    n, o = picked[0][:2]
    cg, og = wk.x.shape[1] // spec.groups, wk.w.shape[0] // spec.groups
    c = (o // og) * cg  # the group's first input channel
    source, target, kernel = plane(wk.xp[n, c]), plane(wk.out[n, o]), plane(wk.w[o, 0])
    check_drawable(source, target)
    if cg > 1 or wk.x.shape[1] > 1:
        notes.append(f"Input channel {c + base} drawn; each sum adds all {cg} channels of its group (in the text).")
    pads = spec.padding if spec.dim == 2 else ((0, 0), *spec.padding)
    stride = spec.stride if spec.dim == 2 else (1, *spec.stride)
    dil = spec.dilation if spec.dim == 2 else (1, *spec.dilation)
    ksize = kernel.shape
    names = p.names
    src = names.input + ("_pad" if any(lo or hi for lo, hi in spec.padding) else "")
    frames = []
    for cell in picked:
        pos = cell[2:] if spec.dim == 2 else (0, *cell[2:])
        start = [q * s for q, s in zip(pos, stride, strict=True)]
        taps = list(itertools.product(range(ksize[0]), range(ksize[1])))
        marks = tuple(Mark((start[0] + i * dil[0], start[1] + j * dil[1]), "×" + cell_text(kernel[i, j]))
                      for i, j in taps)
        span = ((start[0], start[0] + dil[0] * (ksize[0] - 1)), (start[1], start[1] + dil[1] * (ksize[1] - 1)))
        cw = conv.cell_work(p, wk, cell)
        where = ",".join(f"{a + base}..{b + base}" for a, b in (span if spec.dim == 2 else span[1:]))
        how = f" ({settings_text([('dilation', spec.dilation)])}: the shaded cells only)" if max(dil) > 1 else ""
        heading = f"{label(names.output, cell[2:], base)} from the window {src}[{where}]{how}"
        frames.append(Frame(heading, marks, (Mark((int(pos[0]), int(pos[1]))),), _sum_lines(cw, base), span))
    kind = "Dilated convolution" if max(dil) > 1 else "Convolution"
    settings = settings_text((("stride", spec.stride), ("padding", [lo for lo, _ in spec.padding]),
                              *((("dilation", spec.dilation),) if max(dil) > 1 else ())))
    kcap = "kernel (flipped)" if spec.flip else "kernel"
    caption = "padded input" if src.endswith("_pad") else "input"
    if dimmed is not None:
        pads, caption = tuple(dimmed if spec.dim == 2 else ((0, 0), *dimmed)), "zero-stuffed, padded input"
    return Figure(title or f"{kind}: {settings}", Grid(src, caption, source, _frame2(pads), base),
                  Grid(names.output, "output", target, base=base), tuple(frames),
                  Grid(names.kernel, kcap, kernel, base=base), tuple(notes))


def _frame2(pads: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], tuple[int, int]]:
    (a, b), (c, d) = pads
    return ((a, b), (c, d))


def words(text: str, width: int = 100) -> tuple[str, ...]:
    """A sentence broken at spaces into lines of at most ``width`` characters."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = "    " + word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return tuple(lines)


def pool_figure(p: PoolProblem, cells: Sequence[tuple[int, ...]], cap: int | None, base: int) -> Figure:
    """Each worked window on the padded input (padding is −∞ for max, 0 for the average), the max's winner outlined."""
    if p.adaptive:
        raise ConvcalcError("draws max, avg and lp pooling; adaptive windows are in the text", FLAG)
    out, idx = pool.compute(p)
    picked, notes = cells_of(out.shape, cells, cap, base, "channel")
    n, c = picked[0][:2]
    dim = len(p.kernel)
    lift = (lambda t: tuple(t)) if dim == 2 else (lambda t: (0, *t))
    x = plane(p.x[n, c])
    pads = lift(p.padding)
    windows = {cell: pool_window(cell[2:], p.x.shape[2:], p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode)
               for cell in picked}
    far = [max([x.shape[a] + 2 * pads[a] - 1] + [lift(t.padded)[a] for w in windows.values() for t in w]) + 1
           for a in range(2)]
    fill = "−∞" if p.mode == "max" else "0"
    grid = np.full(far, fill, dtype=object)
    grid[pads[0]:pads[0] + x.shape[0], pads[1]:pads[1] + x.shape[1]] = x
    check_drawable(grid, plane(out[n, c]))
    a, o = p.names
    src = a + ("_pad" if any(p.padding) else "")
    frames = []
    for cell in picked:
        taps = windows[cell]
        marks = tuple(Mark(lift(t.padded)) for t in taps)
        marked: tuple[tuple[int, int], ...] = ()
        if p.mode == "max" and idx is not None and any(not t.is_padding for t in taps):
            win = np.unravel_index(int(idx[cell]), p.x.shape[2:])
            marked = (tuple(int(v) + q for v, q in zip(lift(win), pads, strict=True)),)  # type: ignore[assignment]
        first, last = lift(taps[0].padded), lift(taps[-1].padded)
        where = ",".join(f"{lo + base}..{hi + base}" for lo, hi in list(zip(first, last, strict=True))[2 - dim:])
        title = f"{label(o, cell[2:], base)} from the window {src}[{where}]" + \
            (" (the winner outlined)" if marked else "")
        span = ((first[0], last[0]), (first[1], last[1]))
        frames.append(Frame(title, marks, (Mark(lift(cell[2:])),), words(pool.cell_text(p, out, idx, cell, base)),
                            span, marked))
    settings = settings_text((("kernel", p.kernel), ("stride", p.stride), ("padding", p.padding),
                              *((("dilation", p.dilation),) if max(p.dilation) > 1 else ())))
    bottom, right = far[0] - pads[0] - x.shape[0], far[1] - pads[1] - x.shape[1]
    return Figure(f"{p.mode.capitalize()} pooling: {settings}",
                  Grid(src, "padded input" if any(p.padding) else "input", grid, ((pads[0], bottom), (pads[1], right)),
                       base),
                  Grid(o, "output", plane(out[n, c]), base=base), tuple(frames), None, tuple(notes))
