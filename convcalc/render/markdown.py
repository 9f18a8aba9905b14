"""Markdown with LaTeX math (``$$ … $$``), ready to paste into a write-up."""

from __future__ import annotations

from functools import singledispatch
from typing import Any, TextIO

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
)
from convcalc.numbers import fmt
from convcalc.render import mathtex, printable
from convcalc.render.preview import is_truncated


def render_markdown(sol: Solution, out: TextIO) -> None:
    out.write(f"# {sol.title}\n\n")
    out.write("Settings: " + ", ".join(f"`{k}={_setting(v)}`" for k, v in sol.settings.items()) + "\n")
    for block in sol.blocks:
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
    return f"## {text(block.text)}"


@md.register
def _(block: Note, base: int) -> str:
    mark = {"warn": "**Note:** ", "error": "**✗** ", "ok": "**✓** "}.get(block.tone, "")
    return mark + text(block.text)


@md.register
def _(block: SideBySide, base: int) -> str:
    said = "; ".join(f"{v.symbol}: {v.caption}" for v in block.views)
    body = r" \qquad ".join(rf"\text{{{v.symbol}}} = {mathtex.matrix(v.values)}" for v in block.views)
    return f"{said}:\n\n$$\n{body}\n$$"


@md.register
def _(block: MatrixView, base: int) -> str:
    shape = r" \times ".join(map(str, block.values.shape))
    return (f"{block.caption.capitalize()} (${shape}$):\n\n"
            f"$$\n{mathtex.symbol_tex(block.symbol)} = {mathtex.matrix(block.values)}\n$$")


@md.register
def _(block: SizeFormula, base: int) -> str:
    return f"$$\n{mathtex.formula_lines(block)}\n$$"


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
    rows = ["| " + " | ".join(f"✓ {fmt(cv)}" if good else f"✗ {fmt(cv)} → **{fmt(rv)}**"
                              for cv, good, rv in zip(cr, okr, ar, strict=True)) + " |"
            for cr, okr, ar in zip(c, ok, a, strict=True)]
    return "\n".join([head, rule, *rows])


@md.register
def _(block: Table, base: int) -> str:
    head = "| " + " | ".join(map(_cell, block.columns)) + " |"
    rule = "|" + "|".join(":---" if c in block.left else "---:" for c in block.columns) + "|"
    rows = ["| " + " | ".join(_cell(v) if isinstance(v, str) else fmt(v) for v in row) + " |" for row in block.rows]
    title = f"**{text(block.title)}**\n\n" if block.title else ""
    return title + "\n".join([head, rule, *rows])


@md.register
def _(block: Equation, base: int) -> str:
    rhs = "" if block.values is None else f" = {mathtex.matrix(block.values)}"
    return f"$$\n{block.tex}{rhs}\n$$"
