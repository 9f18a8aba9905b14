"""A LaTeX fragment (needs amsmath): bmatrix, align*, floor brackets."""

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
from convcalc.render import mathtex
from convcalc.render.cellrun import CellRun, EquationRun, equation_lines, merged_cells
from convcalc.render.preview import is_truncated

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "✓": r"$\checkmark$", "✗": r"$\times$", "−": "-", "·": r"$\cdot$", "…": r"\dots{}",
            "⌊": r"$\lfloor$", "⌋": r"$\rfloor$", "⌈": r"$\lceil$", "⌉": r"$\rceil$", "×": r"$\times$",
            "→": r"$\to$", "⇒": r"$\Rightarrow$", "∞": r"$\infty$", "∏": r"$\prod$", "Σ": r"$\Sigma$",
            "∑": r"$\sum$", "∂": r"$\partial$", "∇": r"$\nabla$", "‖": r"$\|$", "⊙": r"$\odot$",
            "σ": r"$\sigma$", "γ": r"$\gamma$", "β": r"$\beta$", "±": r"$\pm$", "≤": r"$\le$", "≥": r"$\ge$",
            "≡": r"$\equiv$", "≠": r"$\ne$", "≈": r"$\approx$", "⋱": r"$\ddots$", "⋮": r"$\vdots$",
            "—": "---", "–": "--", "§": r"\S{}", "′": "'", "ᵀ": r"$^{\top}$", "ᵢ": r"$_i$",
            "ε": r"$\epsilon$", "μ": r"$\mu$", "÷": r"$\div$", "\u0302": r"\^{}",
            "²": r"$^{2}$", "³": r"$^{3}$", "⁴": r"$^{4}$", "┃": "|", "│": "|", "└": r"$\llcorner$"}
_SUBSCRIPTS = {chr(0x2080 + i): f"$_{{{i}}}$" for i in range(10)}


def escape(text: str) -> str:
    """Plain text made safe for LaTeX; any other non-ASCII symbol is named, never passed raw."""
    return "".join(_SPECIAL.get(ch) or _SUBSCRIPTS.get(ch) or (ch if ch.isascii() else _named(ch)) for ch in text)


def _named(ch: str) -> str:
    import unicodedata

    if ch in "äöüéèàçñÄÖÜÉß":  # Latin-1 letters: inputenc with T1 fonts sets these
        return ch
    return r"\textit{" + unicodedata.name(ch, f"U+{ord(ch):04X}").lower() + "}"


def render_latex(sol: Solution, out: TextIO) -> None:
    out.write("% convcalc worked solution; needs \\usepackage{amsmath,amssymb,array,longtable}\n")
    title_tex = sol.extra.get("title_tex")  # a title that is math (an expression) is typeset, not Python
    head = f"{escape(sol.title.partition(' = ')[0].rsplit(' ', 1)[0])} ${title_tex}$" if title_tex else escape(sol.title)
    out.write(f"\\subsection*{{{head}}}\n")
    shown = {k: v for k, v in sol.settings.items() if not (title_tex and k == "expression")}
    out.write("Settings: " + ", ".join(escape(s) for s in mathtex.settings_prose(shown)) + ".\n")
    for block in merged_cells(sol.blocks):
        out.write("\n" + tex(block, sol.index_base) + "\n")


def _setting(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)


@singledispatch
def tex(block: Any, base: int) -> str:
    raise TypeError(f"no LaTeX renderer for {type(block).__name__}")


@tex.register
def _(block: Heading, base: int) -> str:
    return f"\\subsubsection*{{{escape(block.text)}}}"


@tex.register
def _(block: Note, base: int) -> str:
    text = mathtex.cell_refs_as_math(escape(block.text), escaped=True)
    return f"\\textbf{{{text}}}" if block.tone in ("warn", "error") else text


@tex.register
def _(block: SideBySide, base: int) -> str:
    said = "; ".join(f"{escape(v.symbol)}: {escape(v.caption)}" for v in block.views)
    body = r" \qquad ".join(rf"\text{{{escape(v.symbol)}}} = {mathtex.matrix(v.values)}" for v in block.views)
    return f"{said}:\n\\[ {body} \\]"


@tex.register
def _(block: MatrixView, base: int) -> str:
    shape = r" \times ".join(map(str, block.values.shape))
    caption = mathtex.cell_refs_as_math(escape(block.caption[:1].upper() + block.caption[1:]), escaped=True)
    return (f"{caption} (${shape}$):\n"
            f"\\[ {mathtex.symbol_tex(block.symbol)} = {mathtex.matrix(block.values)} \\]")


@tex.register
def _(block: SizeFormula, base: int) -> str:
    return f"\\[ {mathtex.formula_lines(block)} \\]"


@tex.register
def _(block: CellWork, base: int) -> str:
    body = " \\\\\n".join(mathtex.cell_lines(block, base))
    return f"\\begin{{align*}}\n{body}\n\\end{{align*}}"


@tex.register
def _(block: EquationRun, base: int) -> str:
    body = " \\\\\n".join(line for e in block.equations for line in equation_lines(e.tex))
    return f"\\begin{{align*}}\n{body}\n\\end{{align*}}"


@tex.register
def _(block: CellRun, base: int) -> str:
    body = " \\\\\n".join(line for c in block.cells for line in mathtex.cell_lines(c, base))
    return f"\\begin{{align*}}\n{body}\n\\end{{align*}}"


@tex.register
def _(block: Elided, base: int) -> str:
    return f"\\emph{{{block.shown} of {block.total} cells worked; {escape(block.hint)}.}}"


@tex.register
def _(block: AnswerCheck, base: int) -> str:
    if not block.shape_ok:
        return ""
    if is_truncated(block.computed):
        wrong = int((~block.ok).sum())
        return f"{block.ok.size - wrong} of {block.ok.size} cells right, {wrong} wrong."
    a = block.computed.reshape(-1, block.computed.shape[-1]) if block.computed.ndim > 1 else block.computed[None]
    c, ok = block.claimed.reshape(a.shape), block.ok.reshape(a.shape)
    how = block.how.reshape(a.shape) if block.how is not None else np.full(a.shape, "", dtype=object)
    rows = [" & ".join((rf"\checkmark\ {mathtex.num(cv)}" if g
                        else rf"\times\ {mathtex.num(cv)} \to \mathbf{{{mathtex.num(rv)}}}")
                       + (rf"\ \text{{({escape(h)})}}" if h else "")
                       for cv, g, rv, h in zip(cr, okr, ar, hr, strict=True))
            for cr, okr, ar, hr in zip(c, ok, a, how, strict=True)]
    return "\\[ \\begin{array}{" + "c" * a.shape[1] + "} " + r" \\ ".join(rows) + r" \end{array} \]"


@tex.register
def _(block: Table, base: int) -> str:
    """A longtable: it breaks across pages (its head repeated), and its text columns wrap within the
    line's width (p-columns sized by their longest entry)."""
    cells = [[escape(v) if isinstance(v, str) else f"${v.tex}$" if isinstance(v, MathCell) else grouped(v)
              for v in row] for row in block.rows]
    spec = "".join(_column_specs(block, cells))
    head = " & ".join(f"\\textbf{{{escape(c)}}}" for c in block.columns) + r" \\ \hline"
    rows = [" & ".join(row) + r" \\" for row in cells]
    caption = f"\\caption*{{\\textbf{{{escape(block.title)}}}}} \\\\\n" if block.title else ""
    return (f"{{\\small\n\\begin{{longtable}}{{@{{}}{spec}@{{}}}}\n{caption}{head}\n\\endhead\n"
            + "\n".join(rows) + "\n\\end{longtable}}")


def _column_specs(block: Table, cells: list[list[str]]) -> list[str]:
    """``r``/``l`` for short columns; the long text columns share what is left of the line as p-columns."""
    import re

    plain = [[re.sub(r"\\[a-zA-Z]+|[{}$]", "", c) for c in row] for row in cells]
    longest = [max([len(c), *(len(row[j]) for row in plain)]) for j, c in enumerate(block.columns)]
    short = [n <= 28 or (j == 0 and n <= 36) for j, n in enumerate(longest)]  # ids (first column) do not wrap
    if sum(n + 2 for n in longest) <= 90:  # fits on the line as it is
        return ["l" if c in block.left else "r" for c in block.columns]
    rest = sum(n for n, s in zip(longest, short, strict=True) if not s)
    room = 0.96 - sum(0.0105 * (n + 2) for n, s in zip(longest, short, strict=True) if s)
    return [("l" if c in block.left else "r") if s else
            f">{{\\raggedright\\arraybackslash}}p{{{max(room * n / rest, 0.1):.3f}\\linewidth}}"
            for c, n, s in zip(block.columns, longest, short, strict=True)]


def grouped(v: Any) -> str:
    """A number for a table: thousands grouped with a thin space when it has more than 4 digits."""
    s = fmt(v)
    if s.lstrip("-").isdigit() and len(s.lstrip("-")) > 4:
        return f"{int(s):,}".replace(",", "\\,")
    return s


@tex.register
def _(block: Equation, base: int) -> str:
    rhs = "" if block.values is None else f" = {mathtex.matrix(block.values)}"
    return f"\\[ {block.tex}{rhs} \\]"
