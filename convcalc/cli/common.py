"""What every command's CLI shares: option types, reading matrices, rendering, exit."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from enum import Enum
from typing import Annotated, Any

import typer

from convcalc.derive.records import CellWork, Solution
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.io import parse_text, read_tensor
from convcalc.numbers import Array, ascii_int
from convcalc.render import Format, render


class PaddingMode(str, Enum):
    zeros = "zeros"
    reflect = "reflect"
    replicate = "replicate"
    circular = "circular"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="text, markdown, latex or json.")]
IndexOpt = Annotated[int, typer.Option("--index", help="1 for 1-based cell names (C[1,1]), 0 for 0-based.")]
CellOpt = Annotated[list[str] | None, typer.Option("--cell", help="Work only this cell, e.g. 2,3 (repeatable).")]
StepsOpt = Annotated[str, typer.Option("--steps", help="How many cells to work: a number or 'all'.")]
DimOpt = Annotated[int, typer.Option("--dim", help="1 for 1-D signals (W), 2 for images (H,W).")]
InputOpt = Annotated[
    str | None, typer.Option("--input", "-i", help="Input: file (.csv .txt .npy .json), '-' or inline '1 2; 3 4'.")]
AnswerOpt = Annotated[str | None, typer.Option("--answer", help="Your answer to check (file, '-' or inline).")]


FigureOpt = Annotated[str | None, typer.Option(
    "--figure", help="Also draw the worked cells as an SVG (FILE.svg): the window on the input, the output cell, "
                     "the sum; one frame per worked cell, animated.")]
FramesOpt = Annotated[str | None, typer.Option(
    "--frames", help="Also write one still SVG per worked cell into the folder DIR (frame_001.svg, ...).")]


def write_figures(build: Callable[[], Any], figure: str | None, frames: str | None) -> None:
    """Draw the figure (``build`` makes it) to --figure and/or --frames, before the text is printed.

    Nothing is written inside ``solve``/``check`` or a slip search (a problem file's ``figure``
    key, or a re-run with other settings, never writes a file), as ``emit`` saves no --output there.
    """
    from convcalc.cli import session

    now = session.current()
    if figure is None and frames is None:
        return
    if now.depth > 1 or now.capture is not None or now.diagnosing:
        if not now.diagnosing:
            sys.stderr.write("note: --figure and --frames are ignored in a problem file (one never writes files)\n")
        return
    from pathlib import Path

    from convcalc.output import write_text
    from convcalc.render.figure import frame_svgs, render_svg

    if figure is not None and not figure.lower().endswith(".svg"):
        raise ConvcalcError(f"must end in .svg, got {_short(figure)!r}", "--figure")
    if frames is not None:
        try:
            is_dir = Path(frames).is_dir()
        except (OSError, ValueError):  # a name too long, a NUL byte
            is_dir = False
        if not is_dir:
            raise ConvcalcError(f"no such folder: {_short(frames)!r}", "--frames")
    fig = build()
    if figure is not None:
        write_text(figure, render_svg(fig), "--figure")
    if frames is not None:
        for k, svg in enumerate(frame_svgs(fig), 1):
            write_text(str(Path(frames) / f"frame_{k:03d}.svg"), svg, "--frames")


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:60] + f"… ({len(text)} characters)"


def matrix_arg(value: str | None, flag: str, name: str, exact: bool = False) -> Array:
    """A required matrix: from the flag, or typed at the terminal when it is missing."""
    if value is not None:
        return read_tensor(value, flag, exact)
    if sys.stdin is not None and sys.stdin.isatty():
        return prompt_matrix(name, flag, exact)
    raise ConvcalcError(f"missing: give {flag} FILE, {flag} - (stdin) or {flag} '1 2; 3 4'", flag)


def optional_matrix(value: str | None, flag: str, exact: bool = False) -> Array | None:
    return None if value is None else read_tensor(value, flag, exact)


def prompt_matrix(name: str, flag: str, exact: bool = False) -> Array:
    """Ask for a matrix row by row at the terminal; an empty line finishes it."""
    sys.stderr.write(f"{name} ({flag}): type it row by row, entries separated by spaces; an empty line ends it.\n")
    rows: list[str] = []
    while True:
        sys.stderr.write(f"  row {len(rows) + 1}: ")
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not line or not line.strip():
            break
        rows.append(line.strip())
    if not rows:
        raise ConvcalcError("nothing was typed", flag)
    return parse_text("\n".join(rows), flag, exact)


def cells_arg(values: list[str] | None) -> list[tuple[int, ...]]:
    out = []
    for v in values or []:
        try:
            out.append(tuple(ascii_int(p) for p in v.replace(" ", "").split(",")))
        except ValueError:
            raise ConvcalcError(f"expected indices like 2,3, got {v!r}", "--cell") from None
    return out


def steps_arg(value: str, default_cap: int) -> int | None:
    """``--steps all`` -> no cap; ``--steps N`` -> N cells; default -> the default cap."""
    if value == "all":
        return None
    if value == "":
        return default_cap
    try:
        n = ascii_int(value)
    except ValueError:
        raise ConvcalcError(f"expected a number or 'all', got {value!r}", "--steps") from None
    if n < 0:
        raise ConvcalcError(f"must not be negative, got {n}", "--steps")
    return min(n, sys.maxsize)  # more than there are cells is simply all of them


def index_arg(value: int) -> int:
    if value not in (0, 1):
        raise ConvcalcError(f"must be 0 or 1, got {value}", "--index")
    return value


def with_nonfinite_note(solution: Solution) -> Solution:
    """The solution with a warning first when a float result overflowed or is undefined (as in torch)."""
    from convcalc.derive.nonfinite import nonfinite_note

    note = nonfinite_note(solution.data)
    if note is None:
        return solution
    from itertools import chain

    return replace(solution, blocks=chain([note], solution.blocks))


OutputOpt = Annotated[str | None, typer.Option(
    "--output", "-o",
    help="Also write the result to FILE.npy|.csv|.txt|.json (CSV: floats any tool reads; JSON: exact fractions too).")]


def emit(solution: Solution, fmt: Format, output: str | None = None, key: str = "output",
         document: str | None = None) -> None:
    """Save the result if asked, render to stdout, and leave with the solution's exit status.

    ``document`` (a title) makes markdown and LaTeX output a whole document (``solve``, ``check``).

    A wrong answer is diagnosed first (which slip reproduces it); inside ``solve``/``check``
    or a diagnosis the Solution is handed to the caller instead of being rendered.
    """
    from convcalc.cli import session

    now = session.current()
    if solution.status == ExitStatus.WRONG_ANSWER and not now.diagnosing:
        from convcalc.cli.diagnose import with_slip

        solution = with_slip(solution, list(now.argv))
    solution = with_nonfinite_note(solution)
    if now.capture is not None:
        now.capture.append(solution)
        raise typer.Exit(int(solution.status))
    if output is not None:
        from convcalc.output import save

        save(solution.data[key], output)
    while now.step_note:
        sys.stderr.write(now.step_note.pop() + "\n")
    result = solution.data.get(key)
    shown = replace(solution, blocks=with_progress(solution.blocks, total=getattr(result, "size", None)))
    if now.export is not None or now.step:
        from contextlib import nullcontext

        from convcalc.render.document import whole_document
        from convcalc.render.interactive import present

        with whole_document(fmt, sys.stdout, document) if document is not None else nullcontext():
            if present(shown, fmt, sys.stdout, step=now.step, export=now.export, recorder=now.recorder):
                now.stopped.append(True)
    elif document is not None:
        from convcalc.render.document import whole_document

        with whole_document(fmt, sys.stdout, document):
            render(shown, fmt, sys.stdout)
    else:
        render(shown, fmt, sys.stdout)
    sys.stdout.flush()
    raise typer.Exit(int(solution.status))


def with_progress(blocks: Iterable[Any], after: float = 1.0, total: int | None = None) -> Iterator[Any]:
    """Pass blocks through; once rendering has taken ``after`` seconds, show "worked N of M cells"
    with a bar and the time left (Rich's progress, on stderr, only on a terminal, so logs and pipes
    stay clean). ``total`` is the number of cells expected (the result's size), raised if exceeded."""
    start = time.monotonic()
    cells = 0
    live = sys.stderr is not None and _isatty(sys.stderr)
    with contextlib.suppress(ValueError):  # CONVCALC_PROGRESS_AFTER: seconds before it shows (tests: 0)
        after = float(os.environ.get("CONVCALC_PROGRESS_AFTER", after))
    bar: Any = None
    task: Any = None
    try:
        for block in blocks:
            if isinstance(block, CellWork):
                cells += 1
                if live and cells % 50 == 0 and time.monotonic() - start > after:
                    if bar is None:
                        bar, task = _progress_bar(total)
                    expected = max(total or 0, cells)
                    said = f"worked {cells:,} of {expected:,} cells".replace(",", "\u202f")
                    if task is None:  # a dumb terminal: no bar, the count on one line
                        sys.stderr.write(f"\r  {said} …")
                        sys.stderr.flush()
                    else:
                        bar.update(task, completed=cells, total=expected, description=said)
                        bar.refresh()
            yield block
    finally:
        if task is not None:
            bar.stop()
        elif bar is not None:
            sys.stderr.write("\n")


def _progress_bar(total: int | None) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=sys.stderr)
    if console.is_dumb_terminal or not console.is_terminal:
        return True, None
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                   console=console, transient=True, redirect_stdout=False, redirect_stderr=False)
    bar.start()
    return bar, bar.add_task("worked", total=total)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (ValueError, OSError, AttributeError):
        return False
