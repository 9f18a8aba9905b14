"""Text for a terminal, with Rich: colour only on a terminal, plain and stable when piped."""

from __future__ import annotations

import os
from functools import singledispatch
from typing import Any, TextIO

import numpy as np
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from convcalc.derive.records import (
    AnswerCheck,
    CellWork,
    Elided,
    Equation,
    Heading,
    MatrixView,
    Note,
    SideBySide,
    SizeFormula,
    Solution,
    Table,
    TermGroup,
)
from convcalc.numbers import Kind, fmt, kind_of, needs_brackets, normalize
from convcalc.render import printable
from convcalc.render.preview import is_truncated, preview

MAX_TERMS = 64
MAX_LISTED = 400  # cells of a matrix of formulas listed one a line when the grid is too wide
_TONE = {"info": "", "warn": "yellow", "ok": "green", "error": "red"}


def make_console(out: TextIO, color: bool | None = None, width: int | None = None) -> Console:
    """A Console on ``out``; colour only for a terminal and never with NO_COLOR set."""
    no_color = "NO_COLOR" in os.environ or color is False
    console = Console(file=out, no_color=no_color, force_terminal=color if color else None,
                      width=width or (None if out.isatty() else 100), highlight=False, soft_wrap=False,
                      emoji=False, markup=False)  # user text (ids, comments, names) is never Rich markup
    console.on_broken_pipe = closed_pipe  # type: ignore[method-assign]  # Rich's own exits 1 (the wrong-answer status)
    return console


def closed_pipe() -> None:
    """The reader of standard output went away: the CLI ends quietly, as SIGPIPE would end it."""
    raise BrokenPipeError


def render_text(sol: Solution, console: Console) -> None:
    console.print(Text(printable(sol.title), style="bold"))
    console.print(Text(printable("settings: " + ", ".join(f"{k}={_setting(v)}" for k, v in sol.settings.items())),
                       style="dim"))
    for block in sol.blocks:
        draw(block, console, sol.index_base)


def _setting(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)


@singledispatch
def draw(block: Any, console: Console, base: int) -> None:
    raise TypeError(f"no text renderer for {type(block).__name__}")


@draw.register
def _(block: Heading, console: Console, base: int) -> None:
    console.print()
    console.print(Text(printable(block.text), style="bold underline"))


@draw.register
def _(block: Note, console: Console, base: int) -> None:
    console.print(Text(printable(block.text), style=_TONE[block.tone]))


@draw.register
def _(block: MatrixView, console: Console, base: int) -> None:
    shape = "×".join(map(str, block.values.shape))
    console.print(Text.assemble((block.symbol, "bold"), f" ({block.caption}, {shape})"))
    body = matrix_text(block)
    if block.values.dtype == object and block.values.size <= MAX_LISTED and \
            max(cell_len(line) for line in body.plain.splitlines()) > console.width and \
            kind_of(block.values) is Kind.SYMBOLIC:
        for idx in np.ndindex(block.values.shape):  # formulas too wide for a grid: one cell a line
            print_line(console, Text(f"  {cell_label(block.symbol, idx, base)} = {fmt(block.values[idx])}"))
        return
    console.print(body)


def matrix_text(block: MatrixView, indent: str = "  ") -> Text:
    """A matrix as bracketed, right-aligned rows; padding dimmed, highlights bold; big ones previewed."""
    a = block.values
    rows = preview(a)
    cells = [[(idx, fmt(v) if idx is not None else v) for idx, v in row] for row in rows]
    width = max((len(c) for row in cells for _, c in row), default=1)
    out = Text()
    for r, row in enumerate(cells):
        left, right = _brackets(r, len(cells))
        out.append(indent + left + " ")
        for idx, value in row:
            style = "" if idx is None else (
                "bold cyan" if idx in block.highlight else ("dim" if _in_frame(idx, a.shape, block.frame) else ""))
            out.append(value.rjust(width), style=style)
            out.append(" ")
        out.append(right + ("\n" if r < len(cells) - 1 else ""))
    if is_truncated(a):
        out.append(f"\n{indent}({'×'.join(map(str, a.shape))}, previewed; --format json or --output FILE gives it whole)",
                   style="dim")
    return out


def _brackets(r: int, n: int) -> tuple[str, str]:
    if n == 1:
        return "[", "]"
    if r == 0:
        return "┌", "┐"
    if r == n - 1:
        return "└", "┘"
    return "│", "│"


def _in_frame(idx: tuple[int, ...], shape: tuple[int, ...], frame: tuple[tuple[int, int], ...]) -> bool:
    if not frame:
        return False
    axes = list(zip(idx[-len(frame):], shape[-len(frame):], frame, strict=True))
    return any(i < lo or i >= n - hi for i, n, (lo, hi) in axes)


@draw.register
def _(block: SizeFormula, console: Console, base: int) -> None:
    from convcalc.render.formula import view

    v = view(block)
    res = block.result
    exact = "" if res.integral else f"  (exact {fmt(res.exact)} = {float(res.exact):g})"
    console.print(f"{block.axis}_out = {v.symbolic}")
    console.print(f"{' ' * len(block.axis)}     = {v.numeric} = {res.value}{exact}")


def product(a: Any, b: Any) -> str:
    return f"{_factor(a)}·{_factor(b)}"


def _factor(x: Any) -> str:
    v = normalize(x)
    s = fmt(v)
    return f"({s})" if needs_brackets(v) or "/" in s else s


def terms_text(group: TermGroup) -> str:
    items = [product(a, b) for a, b in group.terms[:MAX_TERMS]]
    if group.n_terms > MAX_TERMS:
        items.append(f"… ({group.n_terms} products)")
    return " + ".join(items) or "0"


def cell_label(symbol: str, index: tuple[int, ...], base: int) -> str:
    return f"{symbol}[{','.join(str(i + base) for i in index)}]"


def window_label(source: str, g: TermGroup, base: int, lead: tuple[int, ...] = ()) -> str:
    ranges = [f"{a + base}..{b + base}" for a, b in g.window_at]
    return f"{source}[{','.join([*map(str, lead), *ranges])}]"


# The window being worked: its label and its values in the products stand out (terminal and --export).
WINDOW = "black on yellow"


def window_terms(group: TermGroup) -> Text:
    """``terms_text`` with each window value (the second factor) in the WINDOW style."""
    out = Text()
    for i, (a, b) in enumerate(group.terms[:MAX_TERMS]):
        out.append((" + " if i else "") + _factor(a) + "·")
        out.append(_factor(b), style=WINDOW)
    if group.n_terms > MAX_TERMS:
        out.append(f" + … ({group.n_terms} products)")
    return out if group.terms else Text("0")


@draw.register
def _(block: CellWork, console: Console, base: int) -> None:
    name = cell_label(block.symbol, block.index, base)
    bias = [] if block.bias is None else [f"{_factor(block.bias)} (bias)"]
    if len(block.groups) == 1:
        g = block.groups[0]
        print_line(console, Text.assemble((name, "bold"), "  window ", (window_label(block.source, g, base), WINDOW)))
        print_line(console, Text.assemble("  = ", window_terms(g), *(f" + {b}" for b in bias), f" = {fmt(block.total)}"))
        return
    print_line(console, Text.assemble((name, "bold"), " = sum over input channels" + (" + bias" if bias else "")))
    for g in block.groups:
        print_line(console, Text.assemble(f"  {g.label}: ", window_terms(g), f" = {fmt(g.subtotal)}"))
    parts = [_factor(g.subtotal) for g in block.groups] + ([_factor(block.bias)] if block.bias is not None else [])
    print_line(console, Text(f"  = {' + '.join(parts)} = {fmt(block.total)}"))


def print_line(console: Console, line: Text) -> None:
    """``console.print(line)``, minus Rich's per-line work where it cannot change the output.

    With no colour system (piped output), no recording, and a line that fits the width, Rich
    would write the plain text and a newline; writing that directly halves the time of
    ``--steps all`` on thousands of cells (benchmarks/big_problems.py).
    """
    plain = line.plain
    if console.color_system is None and not console.record and "\n" not in plain \
            and cell_len(plain) <= console.width:
        console.file.write(plain + "\n")
    else:
        console.print(line)


@draw.register
def _(block: Elided, console: Console, base: int) -> None:
    console.print(Text(f"… {block.shown} of {block.total} cells worked; {block.hint}.", style="dim"))


@draw.register
def _(block: AnswerCheck, console: Console, base: int) -> None:
    if not block.shape_ok:
        return
    if is_truncated(block.computed):
        wrong = int((~block.ok).sum())
        console.print(f"{block.symbol}: {block.ok.size - wrong} of {block.ok.size} cells right, {wrong} wrong.")
        return
    console.print(Text.assemble((block.symbol, "bold"), " (your answer: ✓ right, ✗ wrong with the right value)"))
    a = block.computed
    rows = [(block.claimed, block.ok, a)] if a.ndim == 1 else list(zip(block.claimed.reshape(-1, a.shape[-1]),
                                                                        block.ok.reshape(-1, a.shape[-1]),
                                                                        a.reshape(-1, a.shape[-1]), strict=True))
    cells = [[(bool(g), f"✓ {fmt(c)}" if g else f"✗ {fmt(c)} ({fmt(r)})")
              for c, g, r in zip(claimed, ok, right, strict=True)] for claimed, ok, right in rows]
    width = max(len(t) for row in cells for _, t in row)
    for row in cells:
        line = Text("  ")
        for good, t in row:
            line.append(t.ljust(width + 2), style="green" if good else "red")
        console.print(line)


@draw.register
def _(block: SideBySide, console: Console, base: int) -> None:
    from rich.table import Table as RichTable

    grid = RichTable.grid(padding=(0, 4))
    for _view in block.views:
        grid.add_column()
    grid.add_row(*(Text.assemble((v.symbol, "bold"), f" ({v.caption}, {'×'.join(map(str, v.values.shape))})")
                   for v in block.views))
    grid.add_row(*(matrix_text(v) for v in block.views))
    console.print(grid)


@draw.register
def _(block: Table, console: Console, base: int) -> None:
    from rich.table import Table as RichTable

    t = RichTable(title=printable(block.title) or None, show_edge=False, header_style="bold")
    for col in block.columns:
        t.add_column(printable(col), justify="right" if col not in block.left else "left")
    for row in block.rows:
        t.add_row(*(fmt(v) if not isinstance(v, str) else Text(printable(v)) for v in row))  # Text: X[i,j] is no markup
    console.print(t)


@draw.register
def _(block: Equation, console: Console, base: int) -> None:
    if block.values is None:
        console.print(Text(printable(block.text)))  # Text, not a markup string: "[a > 0]" is math here
        return
    console.print(Text(block.text + " ="))
    console.print(matrix_text(MatrixView("", "", block.values)))
