"""Markdown with LaTeX math (``$$ … $$``), ready to paste into a write-up."""

from __future__ import annotations

from functools import singledispatch
from typing import Any, TextIO

import numpy as np

from convcalc.derive.records import (
    AnswerCheck,
    CellWork,
    Elided,
    Equation,
    Heading,
    MathCell,
    MatrixView,
    Note,
    SideBySide,
    SizeFormula,
    Solution,
    Table,
)
from convcalc.numbers import fmt
from convcalc.render import mathtex, printable
from convcalc.render.cellrun import CellRun, EquationRun, equation_lines, merged_cells
from convcalc.render.preview import is_truncated
from convcalc.render.text import grouped


def render_markdown(sol: Solution, out: TextIO) -> None:
    title_tex = sol.extra.get("title_tex")  # a title that is math (an expression) is typeset, not Python
    head = f"{text(sol.title.partition(' = ')[0].rsplit(' ', 1)[0])} ${title_tex}$" if title_tex else sol.title
    from convcalc.render.document import INSIDE

    level = "##" if INSIDE.get() else "#"  # inside a document (solve, check) a solution is a section
    out.write(f"{level} {text(head) if not title_tex else head}\n\n")
    shown = {k: v for k, v in sol.settings.items() if not (title_tex and k == "expression")}
    out.write("Settings: " + ", ".join(mathtex.settings_prose(shown)) + ".\n")
    for block in merged_cells(sol.blocks):
        out.write("\n" + md(block, sol.index_base) + "\n")


def text(s: str) -> str:
    """Plain text in Markdown: no HTML (a ``<script>`` in a problem's id stays text)."""
    return printable(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(s: str) -> str:
    return text(s).replace("|", "\\|").replace("\n", " ")


def _setting(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)


@singledispatch
def md(block: Any, base: int) -> str:
    raise TypeError(f"no markdown renderer for {type(block).__name__}")


@md.register
def _(block: Heading, base: int) -> str:
    from convcalc.render.document import INSIDE

    return f"{'###' if INSIDE.get() else '##'} {text(block.text)}"


@md.register
def _(block: Note, base: int) -> str:
    mark = {"warn": "**Note:** ", "error": "**✗** ", "ok": "**✓** "}.get(block.tone, "")
    return mark + mathtex.cell_refs_as_math(text(block.text))


@md.register
def _(block: SideBySide, base: int) -> str:
    said = "; ".join(f"{v.symbol}: {v.caption}" for v in block.views)
    body = r" \qquad ".join(rf"\text{{{v.symbol}}} = {mathtex.matrix(v.values)}" for v in block.views)
    return f"{said}:\n\n$$\n{body}\n$$"


@md.register
def _(block: MatrixView, base: int) -> str:
    shape = r" \times ".join(map(str, block.values.shape))
    return (f"{mathtex.cell_refs_as_math(block.caption[:1].upper() + block.caption[1:])} (${shape}$):\n\n"
            f"$$\n{mathtex.symbol_tex(block.symbol)} = {mathtex.matrix(block.values)}\n$$")


@md.register
def _(block: SizeFormula, base: int) -> str:
    return f"$$\n{mathtex.formula_lines(block)}\n$$"


@md.register
def _(block: CellRun, base: int) -> str:
    body = " \\\\\n".join(line for c in block.cells for line in mathtex.cell_lines(c, base))
    return f"$$\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n$$"


@md.register
def _(block: EquationRun, base: int) -> str:
    body = " \\\\\n".join(line for e in block.equations for line in equation_lines(e.tex))
    return f"$$\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n$$"


@md.register
def _(block: CellWork, base: int) -> str:
    lines = mathtex.cell_lines(block, base)
    body = " \\\\\n".join(lines)
    return f"$$\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n$$"


@md.register
def _(block: Elided, base: int) -> str:
    return f"*{block.shown} of {block.total} cells worked; {block.hint}.*"


@md.register
def _(block: AnswerCheck, base: int) -> str:
    if not block.shape_ok:
        return ""
    if is_truncated(block.computed):
        wrong = int((~block.ok).sum())
        return f"{block.ok.size - wrong} of {block.ok.size} cells right, {wrong} wrong."
    a = block.computed.reshape(-1, block.computed.shape[-1]) if block.computed.ndim > 1 else block.computed[None]
    c = block.claimed.reshape(a.shape)
    ok = block.ok.reshape(a.shape)
    head = "| " + " | ".join(str(j + base) for j in range(a.shape[1])) + " |"
    rule = "|" + "---|" * a.shape[1]
    how = block.how.reshape(a.shape) if block.how is not None else np.full(a.shape, "", dtype=object)
    rows = ["| " + " | ".join((f"✓ {fmt(cv)}" + (f" ({h})" if h else "")) if good
                              else f"✗ {fmt(cv)} → **{fmt(rv)}**" + (f" ({h})" if h else "")
                              for cv, good, rv, h in zip(cr, okr, ar, hr, strict=True)) + " |"
            for cr, okr, ar, hr in zip(c, ok, a, how, strict=True)]
    return "\n".join([head, rule, *rows])


@md.register
def _(block: Table, base: int) -> str:
    head = "| " + " | ".join(map(_cell, block.columns)) + " |"
    rule = "|" + "|".join(":---" if c in block.left else "---:" for c in block.columns) + "|"
    rows = ["| " + " | ".join(_cell(v) if isinstance(v, str) else f"${v.tex}$" if isinstance(v, MathCell) else grouped(v)
                              for v in row) + " |" for row in block.rows]
    title = f"**{text(block.title)}**\n\n" if block.title else ""
    return title + "\n".join([head, rule, *rows])


@md.register
def _(block: Equation, base: int) -> str:
    rhs = "" if block.values is None else f" = {mathtex.matrix(block.values)}"
    return f"$$\n{block.tex}{rhs}\n$$"
