"""A whole document around rendered solutions, for ``solve`` and ``check``: a LaTeX file
that compiles as it is, a Markdown file with a title. Text and JSON need no wrapper.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

from convcalc.render import Format

LATEX_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\IfFileExists{lmodern.sty}{\usepackage{lmodern}}{}
\usepackage[utf8]{inputenc}
\ifdefined\pdfgentounicode\input{glyphtounicode}\pdfgentounicode=1\fi
\usepackage{amsmath,amssymb}
\usepackage{array,longtable}
\usepackage[margin=2cm]{geometry}
\setcounter{MaxMatrixCols}{64}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
"""


INSIDE: ContextVar[bool] = ContextVar("convcalc_inside_document", default=False)  # solutions are its sections


@contextmanager
def whole_document(fmt: Format, out: TextIO, title: str) -> Iterator[None]:
    """Write the document's head, let the caller render the body, then its end."""
    token = INSIDE.set(True)
    try:
        yield from _document(fmt, out, title)
    finally:
        INSIDE.reset(token)


def _document(fmt: Format, out: TextIO, title: str) -> Iterator[None]:
    if fmt is Format.latex:
        from convcalc.render.latex import escape

        out.write(LATEX_PREAMBLE)
        out.write(f"\\title{{{escape(title)}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n")
    elif fmt is Format.markdown:
        out.write(f"# {title}\n\n")
    yield
    if fmt is Format.latex:
        out.write("\n\\end{document}\n")
