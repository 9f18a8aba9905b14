"""Figures as SVG, written by convcalc itself: grids of cells with the worked window on them.

The picture students know from vdumoulin/conv_arithmetic, with numbers: the source grid (its
padding dimmed, values written in), the worked cell's window shaded with the kernel tap of
each sampled cell (a dilated window: only the sampled cells), the kernel, the target grid
with the cell it makes marked, and the sum beside it. One frame per worked cell; an animated
SVG shows them in turn (SMIL ``<animate>``, no script) and :func:`frame_svgs` gives one still
SVG per frame. Black on white, one accent colour, system fonts only; every piece of text is
escaped, so a name the user chose cannot inject markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from convcalc.numbers import Array, fmt

ACCENT = "#c2410c"  # the one colour: the window, its taps, the marked cell
PAD_FILL = "#eeeeee"
PAD_TEXT = "#8a8a8a"
CELL = 34  # px per cell
GAP = 44  # px between grids
MARGIN = 20
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
SECONDS_PER_FRAME = 1.5
MAX_CELLS = 48  # per side of a grid: a bigger one is unreadable as a picture


@dataclass(frozen=True)
class Grid:
    """A 2-D grid of values; ``frame`` rows/cols (top, bottom), (left, right) are dimmed (padding)."""

    symbol: str
    caption: str
    values: Array
    frame: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    base: int = 1  # the first row/column's number in the labels
    first: tuple[int, int] = (0, 0)  # the grid's first row and column in a larger one (a crop)

    def dimmed(self, r: int, c: int) -> bool:
        (top, bottom), (left, right) = self.frame
        rows, cols = self.values.shape
        return r < top or r >= rows - bottom or c < left or c >= cols - right


@dataclass(frozen=True)
class Mark:
    """A cell marked in a frame, with an optional small label (a kernel tap, a product)."""

    cell: tuple[int, int]
    label: str = ""
    shade: float = 1.0  # 0..1: how strongly it is shaded (a receptive field's path count)


@dataclass(frozen=True)
class Frame:
    title: str  # e.g. "Y[1,1] from the window X_pad[1..5,1..5]"
    source: tuple[Mark, ...]  # cells shaded on the source grid
    target: tuple[Mark, ...]  # cells marked on the target grid
    lines: tuple[str, ...]  # the sum, already wrapped
    span: tuple[tuple[int, int], tuple[int, int]] | None = None  # the window's extent on the source (dilated)
    source_marked: tuple[tuple[int, int], ...] = ()  # source cells outlined (a max's winner, a scattered value)
    target_values: Array | None = None  # the target grid as it stands after this frame (a running sum)


@dataclass(frozen=True)
class Figure:
    title: str
    source: Grid
    target: Grid | None  # None: the frames mark the source only (a receptive field)
    frames: tuple[Frame, ...]
    kernel: Grid | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def cell_text(v: object) -> str:
    """A value as it fits in a cell: exact numbers whole, long decimals to 3 significant digits."""
    s = v if isinstance(v, str) else fmt(v)
    if len(s) <= 6:
        return s
    try:
        return f"{float(v):.3g}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return s[:6] + "…"


def _block_width(grid: Grid) -> int:
    """A grid's width on the page: its cells, or its caption when that is longer."""
    return max(grid.values.shape[1] * CELL, int(len(f"{grid.symbol} {grid.caption}") * 7.2))


class _Layout:
    """Where each grid goes and how big the picture is."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        y = MARGIN + 62 + 16 * len(fig.notes)
        x = MARGIN + 18
        self.source = (x, y)
        x += _block_width(fig.source) + GAP
        self.kernel = None
        if fig.kernel is not None:
            self.kernel = (x, y)
            x += _block_width(fig.kernel) + GAP
        self.target = (x + 18, y)
        x += 18 + _block_width(fig.target) + MARGIN if fig.target is not None else MARGIN - GAP
        tallest = max(g.values.shape[0] for g in (fig.source, fig.target, fig.kernel) if g is not None)
        self.text_y = y + tallest * CELL + 34
        lines = max((len(f.lines) for f in fig.frames), default=0)
        longest = max((len(t) for f in fig.frames for t in (f.title, *f.lines, *fig.notes)), default=0)
        self.width = max(x, MARGIN * 2 + int(longest * 7.4), MARGIN * 2 + int(len(fig.title) * 9))
        self.height = self.text_y + 22 * (lines + 1) + MARGIN


def render_svg(fig: Figure, only: int | None = None) -> str:
    """The whole figure; ``only`` = a frame number gives a still of that frame, else all frames animated."""
    lay = _Layout(fig)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width}" height="{lay.height}" '
           f'viewBox="0 0 {lay.width} {lay.height}" font-family={quoteattr(FONT)}>',
           f"<title>{escape(fig.title)}</title>",
           f'<rect width="{lay.width}" height="{lay.height}" fill="#ffffff"/>',
           f'<text x="{MARGIN}" y="{MARGIN + 14}" font-size="16" font-weight="bold">{escape(fig.title)}</text>']
    for i, note in enumerate(fig.notes):
        out.append(f'<text x="{MARGIN}" y="{MARGIN + 36 + 16 * i}" font-size="12" fill="#444444">{escape(note)}</text>')
    out += _grid(fig.source, lay.source, "source")
    if fig.kernel is not None and lay.kernel is not None:
        out += _grid(fig.kernel, lay.kernel, "kernel")
    if fig.target is not None:
        out += _grid(fig.target, lay.target, "target")
    frames = list(enumerate(fig.frames)) if only is None else [(only, fig.frames[only])]
    for k, frame in frames:
        out += _frame(fig, lay, frame, k, len(fig.frames) if only is None else 1)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def frame_svgs(fig: Figure) -> list[str]:
    """One still SVG per frame."""
    return [render_svg(fig, only=k) for k in range(len(fig.frames))]


def _grid(grid: Grid, at: tuple[int, int], role: str) -> list[str]:
    x0, y0 = at
    rows, cols = grid.values.shape
    out = [f'<g class="grid" data-role="{role}">',
           f'<text x="{x0}" y="{y0 - 22}" font-size="13"><tspan font-weight="bold">{escape(grid.symbol)}</tspan> '
           f'{escape(grid.caption)}</text>']
    for c in range(cols):  # column numbers above, row numbers at the left
        out.append(f'<text x="{x0 + c * CELL + CELL / 2}" y="{y0 - 5}" font-size="9" fill="{PAD_TEXT}" '
                   f'text-anchor="middle">{c + grid.base + grid.first[1]}</text>')
    for r in range(rows):
        out.append(f'<text x="{x0 - 5}" y="{y0 + r * CELL + CELL / 2 + 3}" font-size="9" fill="{PAD_TEXT}" '
                   f'text-anchor="end">{r + grid.base + grid.first[0]}</text>')
        for c in range(cols):
            dim = grid.dimmed(r, c)
            x, y = x0 + c * CELL, y0 + r * CELL
            out.append(f'<rect class="{"pad" if dim else "cell"}" data-row="{r}" data-col="{c}" x="{x}" y="{y}" '
                       f'width="{CELL}" height="{CELL}" fill="{PAD_FILL if dim else "#ffffff"}" stroke="#333333" '
                       'stroke-width="0.8"/>')
            out.append(f'<text class="value" x="{x + CELL / 2}" y="{y + CELL / 2 + 4}" font-size="12" text-anchor="middle" '
                       f'fill="{PAD_TEXT if dim else "#000000"}">{escape(cell_text(grid.values[r, c]))}</text>')
    out.append("</g>")
    return out


def _visibility(k: int, n: int) -> str:
    """A frame shown during its slot of the loop; the first one also without SMIL (a still)."""
    if n <= 1:
        return ""
    total = n * SECONDS_PER_FRAME
    if k == 0:
        values, times = "visible;hidden", f"0;{1 / n:.6f}"
    elif k == n - 1:
        values, times = "hidden;visible", f"0;{k / n:.6f}"
    else:
        values, times = "hidden;visible;hidden", f"0;{k / n:.6f};{(k + 1) / n:.6f}"
    return (f'<animate attributeName="visibility" values="{values}" keyTimes="{times}" dur="{total:g}s" '
            'calcMode="discrete" repeatCount="indefinite"/>')


def _frame(fig: Figure, lay: _Layout, frame: Frame, k: int, n: int) -> list[str]:
    sx, sy = lay.source
    tx, ty = lay.target
    shown = "visible" if k == 0 or n == 1 else "hidden"
    out = [f'<g class="frame" data-frame="{k}" visibility="{shown}">', _visibility(k, n)]
    if frame.span is not None:
        (r0, r1), (c0, c1) = frame.span
        out.append(f'<rect class="span" x="{sx + c0 * CELL}" y="{sy + r0 * CELL}" width="{(c1 - c0 + 1) * CELL}" '
                   f'height="{(r1 - r0 + 1) * CELL}" fill="none" stroke="{ACCENT}" stroke-width="1.5" '
                   'stroke-dasharray="5 3"/>')
    out += _marks(frame.source, sx, sy, "window", 0.22, 2)
    for r, c in frame.source_marked:
        out.append(f'<rect class="picked" data-row="{r}" data-col="{c}" x="{sx + c * CELL + 3}" y="{sy + r * CELL + 3}" '
                   f'width="{CELL - 6}" height="{CELL - 6}" fill="none" stroke="{ACCENT}" stroke-width="2.5"/>')
    if frame.target_values is not None and fig.target is not None:
        out += _values(fig.target, frame.target_values, tx, ty)
    out += _marks(frame.target, tx, ty, "target", 0.3, 3)
    if fig.target is not None:
        out.append(f'<text class="arrow" x="{tx - 16}" y="{ty - 22}" font-size="13" fill="{ACCENT}">→</text>')
    y = lay.text_y
    out.append(f'<text class="caption" x="{MARGIN}" y="{y}" font-size="13" font-weight="bold" '
               f'fill="{ACCENT}">{escape(frame.title)}</text>')
    for i, line in enumerate(frame.lines):
        out.append(f'<text class="sum" x="{MARGIN}" y="{y + 22 * (i + 1)}" font-size="12" '
                   f'font-family={quoteattr(MONO)}>{escape(line)}</text>')
    out.append("</g>")
    return out


def _values(grid: Grid, values: Array, x0: int, y0: int) -> list[str]:
    """The grid's cells drawn again with this frame's values, over the static ones."""
    out = []
    for r, c in np.ndindex(*values.shape):
        dim = grid.dimmed(r, c)
        x, y = x0 + c * CELL, y0 + r * CELL
        out.append(f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{PAD_FILL if dim else "#ffffff"}" '
                   'stroke="#333333" stroke-width="0.8"/>')
        out.append(f'<text class="value" x="{x + CELL / 2}" y="{y + CELL / 2 + 4}" font-size="12" text-anchor="middle" '
                   f'fill="{PAD_TEXT if dim else "#000000"}">{escape(cell_text(values[r, c]))}</text>')
    return out


def _marks(marks: tuple[Mark, ...], x0: int, y0: int, cls: str, opacity: float, width: float) -> list[str]:
    out = []
    for m in marks:
        r, c = m.cell
        x, y = x0 + c * CELL, y0 + r * CELL
        out.append(f'<rect class="{cls}" data-row="{r}" data-col="{c}" x="{x}" y="{y}" width="{CELL}" '
                   f'height="{CELL}" fill="{ACCENT}" fill-opacity="{opacity * m.shade:.3f}" stroke="{ACCENT}" '
                   f'stroke-width="{width}"/>')
        if m.label:
            out.append(f'<text x="{x + 2}" y="{y + 9}" font-size="8.5" fill="{ACCENT}">{escape(m.label)}</text>')
    return out


def wrap(parts: list[str], first: str, width: int = 96, sep: str = " + ") -> tuple[str, ...]:
    """``first`` then the parts joined by ``sep``, broken into lines of at most ``width`` characters."""
    lines: list[str] = []
    line = first
    for i, part in enumerate(parts):
        piece = part if i == 0 else f"{sep}{part}"
        if len(line) + len(piece) > width and line.strip():
            lines.append(line)
            line = "    " + piece.lstrip()
        else:
            line += piece
    lines.append(line)
    return tuple(lines)


def as_grid_values(a: Array) -> Array:
    """A 1-D signal as one row; 2-D as is."""
    a = np.asarray(a)
    return a.reshape(1, -1) if a.ndim == 1 else a
