"""Renderers: one per format, each walking the same Solution records.

Only this package and the CLI import Rich or write to a stream.
"""

from __future__ import annotations

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
