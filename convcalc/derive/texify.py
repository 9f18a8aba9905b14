"""A worked line written as plain math (``P[1,1] = max(1, 2, 0) = 2 (at A[1,2])``) in LaTeX,
so pooling cells and the receptive-field recurrence are math in LaTeX and Markdown as conv
cells are. Only the shapes convcalc itself writes are handled: names with bracketed indices,
ranges ``1..3``, ``·``, ``×``, ``−∞``, powers ``^p`` and ``^(1/p)``, ``|x|``, fractions ``7/9``;
a closing remark in parentheses (``(divisor 9: …)``) or after ``; `` is set as text.
"""

from __future__ import annotations

import re

_INDEX = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\[([^\[\]]*)\]")
_FRACTION = re.compile(r"(?<![\w.)])(-?)(\d+)/(\d+)(?![\w.(])")
_SUBSCRIPTS = re.compile("([\u2080-\u2089]+)")
_POWER = re.compile(r"\^\(([^()]*)\)|\^([-0-9./a-z]+)")
_TEXT_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_MATH_SYMBOLS = {"·": r" \cdot ", "×": r" \times ", "−∞": r"-\infty", "∞": r"\infty", "−": "-", "…": r"\dots ",
                 "≤": r"\le ", "≥": r"\ge ", "⌊": r"\left\lfloor ", "⌋": r"\right\rfloor ", "⌈": r"\left\lceil ",
                 "⌉": r"\right\rceil ", "Σ": r"\sum ", "%": r"\%"}


def split_remark(text: str) -> tuple[str, str]:
    """``(math, remark)``: a last parenthesis that opens with a word, or a ``; …`` tail."""
    math, tail = text, ""
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text.startswith("; ", i):
            math, tail = text[:i], text[i + 2:]
            break
    remark = tail
    if math.endswith(")"):
        depth = 0
        for i in range(len(math) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(math[i], 0)
            if depth == 0:
                inner = math[i + 1:-1]
                if i > 0 and math[i - 1] == " " and inner[:1].isalpha() and not inner.startswith(("max", "min")):
                    math, remark = math[:i - 1], inner + (f"; {tail}" if tail else "")
                break
    return math, remark


def text_tex(text: str) -> str:
    """Words for ``\\text{…}``: LaTeX's special characters escaped, and math symbols in math."""
    out = "".join(_TEXT_SPECIAL.get(ch, ch) for ch in text)
    for sym, tex in _MATH_SYMBOLS.items():
        out = out.replace(sym, f"${tex.strip()}$")
    out = _SUBSCRIPTS.sub(lambda m: "$_{" + "".join(str(ord(c) - 0x2080) for c in m.group(1)) + "}$", out)
    out = "".join(ch if ch.isascii() or ch in "äöüéèàçñÄÖÜÉß" else "?" for ch in out)  # nothing pdflatex refuses
    return _INDEX.sub(lambda m: f"${_name(m.group(1))}_{{{_index(m.group(2))}}}$", out)


def _index(inside: str) -> str:
    """``1,2`` as ``12`` when every part is one digit (as conv's cells are written), else as is."""
    parts = inside.split(",")
    return "".join(parts) if all(len(p) == 1 and p.isdigit() for p in parts) else inside


def math_tex(text: str) -> str:
    """The plain math part in LaTeX."""
    s = text.replace("(pad)", r"_{\text{pad}}")
    s = _INDEX.sub(lambda m: f"{_name(m.group(1))}_{{{_index(m.group(2))}}}", s)
    s = s.replace("..", r"{:}")
    s = _POWER.sub(lambda m: f"^{{{m.group(1) or m.group(2)}}}", s)
    s = _FRACTION.sub(lambda m: rf"{m.group(1)}\tfrac{{{m.group(2)}}}{{{m.group(3)}}}", s)
    s = re.sub(r"\b(max|min)\b", r"\\\1", s)
    s = re.sub(r"\bmean\b", r"\\operatorname{mean}", s)
    s = re.sub(r"\bover\b", r"\\text{ over }", s)
    for sym, tex in _MATH_SYMBOLS.items():
        s = s.replace(sym, tex)
    s = _SUBSCRIPTS.sub(lambda m: "_{" + "".join(str(ord(c) - 0x2080) for c in m.group(1)) + "}", s)  # X₁₁₃: letters
    s = s.replace("²", "^{2}").replace("³", "^{3}")
    return "".join(ch if ch.isascii() else rf"\text{{{ch}}}" if ch.isalpha() else "?" for ch in s)


def _name(name: str) -> str:
    head, _, sub = name.partition("_")
    return f"{{{head}_{{\\text{{{sub}}}}}}}" if sub else head  # braced: never a double subscript


def sentence_tex(text: str) -> str:
    """A worked line: its math, then its remark as text."""
    math, remark = split_remark(text)
    if ": " in math and not math.split(": ", 1)[0].count("="):  # "line 1 (Conv2d) H: r = …": a label first
        label, math = math.split(": ", 1)
        return rf"\text{{{text_tex(label)}:}}\quad " + sentence_tex(math + (f" ({remark})" if remark else ""))
    out = math_tex(math)
    return out + (rf"\quad \text{{({text_tex(remark)})}}" if remark else "")
