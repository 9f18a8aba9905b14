"""``--export`` pages written as the run goes: an HTML page or an SVG picture of the text
rendering, streamed to a temporary file segment by segment (memory stays flat however many
cells are worked) and renamed over the target only when the run ends well.

The pages are made here, not by Rich's exporters, so that what is in them is known: every
piece of text is escaped, styles become colours and weights only, and there are no links,
no script and nothing fetched from elsewhere (Rich's SVG loads a font from a CDN).
"""

from __future__ import annotations

import html
import re
import tempfile
from collections.abc import Iterable
from typing import IO

from rich.cells import cell_len
from rich.color import blend_rgb
from rich.segment import Segment
from rich.style import Style
from rich.terminal_theme import DEFAULT_TERMINAL_THEME, SVG_EXPORT_THEME

from convcalc.atomic import AtomicFile
from convcalc.errors import ConvcalcError

FLAG = "--export"
# Characters XML 1.0 does not allow (control characters but tab and newline, lone surrogates,
# U+FFFE/U+FFFF): shown as U+FFFD so the SVG parses and the HTML holds only text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

HTML_HEAD = """<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>convcalc</title>
<style>
body {{ color: {fg}; background-color: {bg}; }}
</style>
</head>
<body>
<pre style="font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace"><code style="font-family:inherit">"""
HTML_FOOT = "</code></pre>\n</body>\n</html>\n"

CHAR_HEIGHT = 20
CHAR_WIDTH = CHAR_HEIGHT * 0.61
LINE_HEIGHT = CHAR_HEIGHT * 1.22
PAD = 10


def text(s: str) -> str:
    """``s`` as element content: escaped, with characters XML refuses replaced."""
    return html.escape(_NOT_XML.sub("\ufffd", s), quote=True)


def open_page(target: str, width: int) -> HtmlPage | SvgPage:
    return SvgPage(target, width) if target.lower().endswith(".svg") else HtmlPage(target)


class HtmlPage:
    """An HTML page: a ``<pre>`` of spans with inline colours."""

    def __init__(self, target: str) -> None:
        self.out = AtomicFile(target, FLAG)
        theme = DEFAULT_TERMINAL_THEME
        self.theme = theme
        self.out.write(HTML_HEAD.format(fg=theme.foreground_color.hex, bg=theme.background_color.hex))

    def feed(self, segments: Iterable[Segment]) -> None:
        parts = []
        for s, style, _ in Segment.filter_control(Segment.simplify(segments)):
            piece = text(s)
            rule = style.get_html_style(self.theme) if style else ""
            parts.append(f'<span style="{html.escape(rule)}">{piece}</span>' if rule else piece)
        self.out.write("".join(parts))

    def finish(self) -> None:
        self.out.write(HTML_FOOT)
        self.out.commit()

    def discard(self) -> None:
        self.out.discard()


class SvgPage:
    """An SVG picture: a ``<text>`` per styled run, a ``<rect>`` behind each coloured one.

    Its size is known only at the end, so the body is spooled to an unnamed temporary file and
    copied behind the header then.
    """

    def __init__(self, target: str, width: int) -> None:
        self.out = AtomicFile(target, FLAG)
        try:
            self.body: IO[str] = tempfile.TemporaryFile(  # noqa: SIM115  # closed by finish or discard
                "w+", encoding="utf-8", dir=self.out.folder)
        except OSError as e:
            self.out.discard()
            raise ConvcalcError(f"cannot write {target}: {e.strerror or e}", FLAG) from None
        self.theme = SVG_EXPORT_THEME
        self.columns = width
        self.x = 0
        self.y = 0
        self.styles: dict[Style, tuple[str, str | None]] = {}

    def _style(self, style: Style | None) -> tuple[str, str | None]:
        """(the text's attributes, its background colour or None)"""
        style = style or Style()
        if style not in self.styles:
            t = self.theme
            fg = t.foreground_color if style.color is None or style.color.is_default \
                else style.color.get_truecolor(t)
            bg = t.background_color if style.bgcolor is None or style.bgcolor.is_default \
                else style.bgcolor.get_truecolor(t)
            has_bg = style.bgcolor is not None and not style.bgcolor.is_default
            if style.reverse:
                fg, bg, has_bg = bg, fg, True
            if style.dim:
                fg = blend_rgb(fg, bg, 0.4)
            attrs = f'fill="{fg.hex}"' + (' font-weight="bold"' if style.bold else "") \
                + (' text-decoration="underline"' if style.underline else "")
            self.styles[style] = (attrs, bg.hex if has_bg else None)
        return self.styles[style]

    def feed(self, segments: Iterable[Segment]) -> None:
        parts = []
        for s, style, _ in Segment.filter_control(segments):
            for i, piece in enumerate(s.split("\n")):
                if i:
                    self.y += 1
                    self.x = 0
                if not piece:
                    continue
                attrs, bg = self._style(style)
                n = cell_len(piece)
                x, y = self.x * CHAR_WIDTH + PAD, self.y * LINE_HEIGHT + PAD
                if bg is not None:
                    parts.append(f'<rect fill="{bg}" x="{x:g}" y="{y + 1.5:g}" width="{n * CHAR_WIDTH:g}" '
                                 f'height="{LINE_HEIGHT + 0.25:g}" shape-rendering="crispEdges"/>')
                if piece.strip():
                    parts.append(f'<text {attrs} x="{x:g}" y="{y + CHAR_HEIGHT:g}" textLength="{n * CHAR_WIDTH:g}">'
                                 f'{text(piece).replace(" ", "&#160;")}</text>')
                self.x += n
                self.columns = max(self.columns, self.x)
        self._write("".join(parts))

    def _write(self, s: str) -> None:
        try:
            self.body.write(s)
        except OSError as e:
            self.discard()
            raise ConvcalcError(f"cannot write {self.out.target}: {e.strerror or e}", FLAG) from None

    def finish(self) -> None:
        width = self.columns * CHAR_WIDTH + 2 * PAD
        height = (self.y + 1) * LINE_HEIGHT + 2 * PAD
        bg = self.theme.background_color.hex
        self.out.write(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
                       f'width="{width:g}" height="{height:g}">\n<title>convcalc</title>\n'
                       f'<rect fill="{bg}" x="0" y="0" width="{width:g}" height="{height:g}"/>\n'
                       f'<g font-family="Fira Code, DejaVu Sans Mono, monospace" font-size="{CHAR_HEIGHT}" '
                       'xml:space="preserve">\n')
        try:
            self.body.seek(0)
            while chunk := self.body.read(1 << 20):
                self.out.write(chunk)
        except OSError as e:
            self.discard()
            raise ConvcalcError(f"cannot write {self.out.target}: {e.strerror or e}", FLAG) from None
        self.out.write("\n</g>\n</svg>\n")
        self.body.close()
        self.out.commit()

    def discard(self) -> None:
        self.body.close()
        self.out.discard()

