"""A LaTeX fragment (needs amsmath): bmatrix, align*, floor brackets."""

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
from convcalc.render import mathtex
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
    out.write("% convcalc worked solution; needs \\usepackage{amsmath,amssymb}\n")
    out.write(f"\\subsection*{{{escape(sol.title)}}}\n")
    out.write("Settings: " + ", ".join(f"\\texttt{{{escape(k)}={escape(_setting(v))}}}"
                                        for k, v in sol.settings.items()) + ".\n")
    for block in sol.blocks:
        out.write("\n" + tex(block, sol.index_base) + "\n")


def _setting(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)


@singledispatch
def tex(block: Any, base: int) -> str:
    raise TypeError(f"no LaTeX renderer for {type(block).__name__}")


@tex.register
def _(block: Heading, base: int) -> str:
    return f"\\paragraph{{{escape(block.text)}}}"


@tex.register
def _(block: Note, base: int) -> str:
    text = escape(block.text)
    return f"\\textbf{{{text}}}" if block.tone in ("warn", "error") else text


@tex.register
def _(block: SideBySide, base: int) -> str:
    said = "; ".join(f"{escape(v.symbol)}: {escape(v.caption)}" for v in block.views)
    body = r" \qquad ".join(rf"\text{{{escape(v.symbol)}}} = {mathtex.matrix(v.values)}" for v in block.views)
    return f"{said}:\n\\[ {body} \\]"


@tex.register
def _(block: MatrixView, base: int) -> str:
    shape = r" \times ".join(map(str, block.values.shape))
    return (f"{escape(block.caption.capitalize())} (${shape}$):\n"
            f"\\[ {mathtex.symbol_tex(block.symbol)} = {mathtex.matrix(block.values)} \\]")


@tex.register
def _(block: SizeFormula, base: int) -> str:
    return f"\\[ {mathtex.formula_lines(block)} \\]"


@tex.register
def _(block: CellWork, base: int) -> str:
    body = " \\\\\n".join(mathtex.cell_lines(block, base))
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
    rows = [" & ".join(rf"\checkmark\ {mathtex.num(cv)}" if g else rf"\times\ {mathtex.num(cv)} \to \mathbf{{{mathtex.num(rv)}}}"
                       for cv, g, rv in zip(cr, okr, ar, strict=True)) for cr, okr, ar in zip(c, ok, a, strict=True)]
    return "\\[ \\begin{array}{" + "c" * a.shape[1] + "} " + r" \\ ".join(rows) + r" \end{array} \]"


@tex.register
def _(block: Table, base: int) -> str:
    spec = "".join("l" if c in block.left else "r" for c in block.columns)
    head = " & ".join(f"\\textbf{{{escape(c)}}}" for c in block.columns) + r" \\ \hline"
    rows = [" & ".join(escape(v) if isinstance(v, str) else fmt(v) for v in row) + r" \\" for row in block.rows]
    title = f"\\textbf{{{escape(block.title)}}}\n\n" if block.title else ""
    return title + f"\\begin{{tabular}}{{{spec}}}\n{head}\n" + "\n".join(rows) + "\n\\end{tabular}"


@tex.register
def _(block: Equation, base: int) -> str:
    rhs = "" if block.values is None else f" = {mathtex.matrix(block.values)}"
    return f"\\[ {block.tex}{rhs} \\]"
