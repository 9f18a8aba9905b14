"""Renderers: one per format, each walking the same Solution records.

Only this package and the CLI import Rich or write to a stream.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import TextIO

from convcalc.derive.records import Solution


class Format(str, Enum):
    text = "text"
    markdown = "markdown"
    latex = "latex"
    json = "json"


def render(solution: Solution, fmt: Format, out: TextIO, color: bool | None = None, width: int | None = None) -> None:
    """Write ``solution`` to ``out`` in ``fmt``; imports only the renderer it needs."""
    if fmt is Format.json:
        from convcalc.render.json import render_json

        render_json(solution, out)
    elif fmt is Format.markdown:
        from convcalc.render.markdown import render_markdown

        render_markdown(solution, out)
    elif fmt is Format.latex:
        from convcalc.render.latex import render_latex

        render_latex(solution, out)
    else:
        from convcalc.render.text import make_console, render_text

        render_text(solution, make_console(out, color, width))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text with its control characters shown as escapes (``\\x1b``): user text (a problem's id,
    a comment in a layer) never sends a terminal a colour, a title or a cursor move."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text) if _CONTROL.search(text) else text
