"""What one run of the command line carries beside its own options.

``run`` sets a Session for the command it runs (and restores the outer one after), so a
command run inside another (``solve`` and ``check`` run each problem's command; slip
diagnosis re-runs a command with a setting changed) knows where it stands:

- ``argv``: the command line as given, so a wrong answer can be re-run with slips;
- ``step`` / ``export``: the options every command takes (``--step``, ``--export FILE``),
  taken out of the command line by ``run`` before the command parses the rest;
- ``capture``: when set, ``emit`` hands the Solution over instead of rendering it;
- ``diagnosing``: set while slips are tried, so a re-run never looks for slips itself;
- ``recorder``: with ``--export``, the outermost run's recording of standard output, so every
  problem of ``solve``/``check`` (and every round of ``quiz``) ends up in the one file, which
  is written when the outermost run ends without an error.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

from convcalc.errors import ConvcalcError


@dataclass(frozen=True)
class Session:
    argv: tuple[str, ...] = ()
    step: bool = False
    export: str | None = None
    capture: list[Any] | None = None
    diagnosing: bool = False
    nested: bool = False
    depth: int = 0  # runs of the command line around this one, itself included: 2 or more inside solve/check
    recorder: Any = None  # convcalc.render.interactive.Recorder
    stopped: list[bool] = field(default_factory=list)  # one per run; q in --step appends: a run of many stops
    step_note: list[str] = field(default_factory=list)  # said (and emptied) before the first rendering


STEP_NOTE = "note: --reveal needs a terminal on standard input; showing every step at once"


_OUTERMOST = Session()
_current: ContextVar[Session | None] = ContextVar("convcalc_session", default=None)


def current() -> Session:
    return _current.get() or _OUTERMOST


@contextmanager
def entered(**changes: Any) -> Iterator[Session]:
    """The current session with ``changes``, for the duration of the block.

    The outermost run with ``--export`` records standard output for the whole block and
    saves the file at its end (not when an error ends it). Only there does ``--step`` with a
    standard input that is not a terminal say, once, that it shows everything at once.
    """
    outer = current()
    if changes.get("export") and outer.recorder is None and "recorder" not in changes:
        yield from _recording(changes)
        return
    if changes.get("step") and not outer.nested and not _isatty(sys.stdin):
        changes["step"] = False  # and say so once something is shown (an error is one line alone)
        changes["step_note"] = [STEP_NOTE]
    session = replace(current(), **changes)
    token = _current.set(session)
    try:
        yield session
    finally:
        _current.reset(token)


def _recording(changes: dict[str, Any]) -> Iterator[Session]:
    from convcalc.render.interactive import Recorder

    recorder = Recorder(changes["export"], sys.stdout)
    try:
        with contextlib.redirect_stdout(recorder.tee), entered(recorder=recorder, **changes) as now:
            yield now
    except BaseException:  # an error or Ctrl-C: no page, not even a truncated one
        recorder.discard()
        raise
    sys.stdout.flush()
    recorder.save()


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and bool(stream.isatty())
    except (ValueError, OSError, AttributeError):
        return False


GLOBAL_HELP = ("Every command also takes --reveal (show the worked steps one at a time: Enter for the next, "
               "a for all, q to stop; --step, its old name, still works but is deprecated, being too close to "
               "--steps) and --export FILE.svg|FILE.html (save the rendered output as a picture "
               "or page). With --answer, a decimal is right when it is the true value rounded or truncated "
               "to the decimals written; --tolerance 1e-3|0.1%|abs:0.005 judges within a bound instead, "
               "--exact-answers by the decimal's exact value.")


def split_grading_options(argv: list[str]) -> tuple[list[str], Any]:
    """Take ``--tolerance TOL`` and ``--exact-answers`` out of ``argv``: the grading policy."""
    from convcalc.derive import grading

    rest: list[str] = []
    tolerance = None
    exact = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest += argv[i:]
            break
        if a == "--exact-answers":
            exact = True
        elif a == "--tolerance" or a.startswith("--tolerance="):
            value, i = _flag_value(argv, i, "--tolerance", "needs a value such as 1e-3, 0.1% or abs:0.005")
            tolerance = grading.parse_tolerance(value)
        else:
            rest.append(a)
        i += 1
    if exact and tolerance is not None:
        raise ConvcalcError("judges by the exact value; --tolerance judges within a bound: give one", "--exact-answers")
    return rest, grading.Policy(tolerance, exact)


def _flag_value(argv: list[str], i: int, flag: str, missing: str) -> tuple[str, int]:
    """The value of ``--flag=VALUE`` or ``--flag VALUE`` at ``argv[i]``, and the index it ended at."""
    if "=" in argv[i]:
        return argv[i].split("=", 1)[1], i
    if i + 1 < len(argv):
        return argv[i + 1], i + 1
    raise ConvcalcError(missing, flag)


def split_global_options(argv: list[str]) -> tuple[list[str], bool, str | None]:
    """Take ``--step`` and ``--export FILE`` out of ``argv`` (not after a ``--``)."""
    rest: list[str] = []
    step = False
    export: str | None = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest += argv[i:]
            break
        if a in ("--reveal", "--step"):  # --step: the deprecated spelling (too close to --steps N)
            step = True
        elif a == "--export" or a.startswith("--export="):
            export, i = _flag_value(argv, i, "--export", "needs a file name ending in .svg or .html")
            if not export.lower().endswith((".svg", ".html", ".htm")):
                raise ConvcalcError(f"expected a file name ending in .svg or .html, got {export!r}", "--export")
        else:
            rest.append(a)
        i += 1
    fmt = format_of(rest)
    if export is not None and fmt not in ("text", None):
        raise ConvcalcError(f"saves the text rendering; it cannot be combined with --format {fmt}", "--export")
    if step and fmt == "json":
        raise ConvcalcError("reveals worked steps one at a time; --format json is one object", "--reveal")
    return rest, step, export


def format_of(argv: list[str]) -> str | None:
    """The value of ``--format``/``-f`` in ``argv`` as typed (the last one wins), if any."""
    fmt = None
    for i, a in enumerate(argv):
        if a == "--":
            break
        if a in ("--format", "-f") and i + 1 < len(argv):
            fmt = argv[i + 1]
        elif a.startswith("--format="):
            fmt = a.split("=", 1)[1]
        elif a.startswith("-f") and not a.startswith("--") and len(a) > 2:
            fmt = a[2:]
    return fmt
