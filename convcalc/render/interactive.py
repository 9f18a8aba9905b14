"""``--step`` (reveal a worked solution one step at a time) and ``--export`` (save the text
rendering as an SVG picture or an HTML page).

Export records what standard output shows: a :class:`Recorder` holds a recording Rich
Console, and a :class:`Tee` on standard output copies into it whatever else is written
there (``solve``'s headers, text a command captured and printed again). A worked solution
written straight to the Tee's stream is drawn into the recording console by the text
renderer itself, so its styles (the highlighted window of each worked cell) survive even
when standard output is a pipe. The file is written once, at the end, atomically.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from convcalc.derive.records import Heading, Solution
from convcalc.errors import ConvcalcError
from convcalc.render import Format, render
from convcalc.render.export import open_page

FLAG = "--export"
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x9d[^\x07\x9c]*[\x07\x9c]?")
KEYS = "Enter: next step · a: all the rest · q: stop"


class Recorder:
    """A recording console for one export file, and the Tee that feeds it.

    What the console records is taken out after each block and streamed into the page
    (convcalc.render.export), so memory stays flat however long the rendering is.
    """

    def __init__(self, path: str, stream: TextIO) -> None:
        self.path = _checked(path)
        width = Console(file=stream).width if _isatty(stream) else 100
        self.console = Console(file=_Discard(), record=True, width=width, force_terminal=True,
                               color_system="truecolor", highlight=False, soft_wrap=False, emoji=False,
                               markup=False)  # user text is never markup: no [link=javascript:…] in a page
        self.page = open_page(self.path, width)
        self.tee = Tee(stream, self)

    def drain(self) -> None:
        """Move what the console recorded into the page."""
        console = self.console
        with console._record_buffer_lock:  # Rich keeps the recording there; taking it keeps memory flat
            segments = console._record_buffer[:]
            del console._record_buffer[:]
        self.page.feed(segments)

    def save(self) -> None:
        """Finish the page and rename it over the target."""
        try:
            self.tee.settle()
            self.drain()
            self.page.finish()
        except BaseException:  # a full disk, Ctrl-C: no page, no temporary file
            self.page.discard()
            raise

    def discard(self) -> None:
        """An interrupted or failed run: no page is written."""
        self.page.discard()


class _Discard(io.TextIOBase):
    """The recording console's own output: only its recording is wanted."""

    def write(self, s: str) -> int:
        return len(s)

    def writable(self) -> bool:
        return True


class Tee(io.TextIOBase):
    """Standard output that also records what passes through it (as plain text, or with the
    colours of any ANSI codes in it), a line at a time."""

    def __init__(self, raw: TextIO, recorder: Recorder) -> None:
        self.raw = raw
        self.recorder = recorder
        self._pending = ""

    def write(self, s: str) -> int:
        self.raw.write(s)
        self._pending += s
        if "\n" in self._pending:
            done, _, self._pending = self._pending.rpartition("\n")
            self._record(done + "\n")
        return len(s)

    def settle(self) -> None:
        """Record a last unfinished line (before a styled rendering, and before saving)."""
        if self._pending:
            self._record(self._pending)
            self._pending = ""

    def _record(self, s: str) -> None:
        # colours of ANSI codes are kept; an OSC sequence (an OSC 8 hyperlink, a window title)
        # in user text is dropped, so a page carries no link convcalc did not make
        self.recorder.console.print(Text.from_ansi(_OSC.sub("", s), end=""), end="", soft_wrap=True)
        self.recorder.drain()

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return _isatty(self.raw)

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.raw, "encoding", "utf-8")

    @property
    def buffer(self) -> Any:  # bytes written here are not recorded (only data files use it)
        return self.raw.buffer  # type: ignore[attr-defined]


def present(solution: Solution, fmt: Format, out: TextIO, step: bool = False, export: str | None = None,
            recorder: Recorder | None = None) -> bool:
    """Render ``solution`` to ``out``, one step at a time when ``step`` (and standard input is a
    terminal), recording it for ``export``. True when the reader stopped it with q (a run of
    several solutions, ``solve``, then stops too).

    ``recorder`` is the run's shared one (``solve`` and ``check`` export every problem into one
    file); without it, ``present`` records this solution alone and saves ``export`` itself.
    """
    if export is not None and fmt is not Format.text:
        raise ConvcalcError(f"saves the text rendering; it cannot be combined with --format {fmt.value}", FLAG)
    if step and not _isatty(sys.stdin):
        sys.stderr.write("note: --step needs a terminal on standard input; showing every step at once\n")
        step = False
    if export is not None and recorder is None:
        own = Recorder(export, out)
        try:
            stopped = _present(solution, fmt, own.tee, step)  # type: ignore[arg-type]  # a Tee is a text stream
        except BaseException:
            own.discard()
            raise
        own.save()
        return stopped
    return _present(solution, fmt, out, step)


def _present(solution: Solution, fmt: Format, out: TextIO, step: bool) -> bool:
    blocks: Iterable[Any] = solution.blocks
    keys: list[str] = []

    def ask() -> str:
        keys.append(ask_key())
        return keys[-1]

    if step:
        blocks = paced(blocks, ask, out.flush)
    if fmt is not Format.text:
        render(replace(solution, blocks=blocks), fmt, out)
        return "q" in keys
    from convcalc.render.text import draw, make_console, render_text

    consoles = [make_console(out)]
    if isinstance(out, Tee):  # draw straight into the recording, with styles; the Tee passes it by
        out.settle()
        consoles = [make_console(out.raw), out.recorder.console]
    head = replace(solution, blocks=())
    for console in consoles:
        render_text(head, console)
    for block in blocks:
        for console in consoles:
            draw(block, console, solution.index_base)
        if isinstance(out, Tee):
            out.recorder.drain()
    return "q" in keys


def paced(blocks: Iterable[Any], ask: Callable[[], str], flush: Callable[[], None]) -> Iterator[Any]:
    """The blocks, waiting for a key before each one after the first: "" next, "a" all, "q" stop.

    A heading goes out with the block after it, so each step shows something worked.
    """
    previous: Any = None
    blocks = iter(blocks)  # "a" goes on where this left off
    for block in blocks:
        if previous is not None and not isinstance(previous, Heading):
            flush()
            key = ask()
            if key == "q":
                return
            if key == "a":
                yield block
                yield from blocks
                return
        yield block
        previous = block


def ask_key() -> str:
    """Read one key line from the terminal: "" (Enter), "a" or "q"; end of input is "q"."""
    sys.stderr.write(f"  ── {KEYS} ── ")
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:  # Ctrl-D: the terminal echoed no newline
        sys.stderr.write("\n")
        return "q"
    if _isatty(sys.stderr) and os.environ.get("TERM", "") != "dumb":
        sys.stderr.write("\x1b[F\x1b[2K")  # take the prompt line away again: the screen stays the document
    key = line.strip().lower()[:1]
    return key if key in ("a", "q") else ""


def _checked(path: str) -> str:
    """The export path, refused up front when it cannot be written (before any work is done)."""
    if not path.lower().endswith((".svg", ".html", ".htm")):
        raise ConvcalcError(f"expected a file name ending in .svg or .html, got {path!r}", FLAG)
    if "\x00" in path:
        raise ConvcalcError("the file name contains a NUL byte", FLAG)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ConvcalcError(f"{path} is a folder", FLAG)
    if not os.path.isdir(folder):
        raise ConvcalcError(f"no folder {folder} to write {os.path.basename(path)} in", FLAG)
    if not os.access(folder, os.W_OK):
        raise ConvcalcError(f"cannot write in {folder}", FLAG)
    return path


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and bool(stream.isatty())
    except (ValueError, OSError, AttributeError):
        return False
