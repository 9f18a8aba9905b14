"""What one run of the command line carries beside its own options.

``run`` sets a Session for the command it runs (and restores the outer one after), so a
command run inside another (``solve`` and ``check`` run each problem's command; slip
diagnosis re-runs a command with a setting changed) knows where it stands:

- ``argv``: the command line as given, so a wrong answer can be re-run with slips;
- ``step`` / ``export``: the options every command takes (``--step``, ``--export FILE``),
  taken out of the command line by ``run`` before the command parses the rest;
- ``capture``: when set, ``emit`` hands the Solution over instead of rendering it;
- ``diagnosing``: set while slips are tried, so a re-run never looks for slips itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
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


_OUTERMOST = Session()
_current: ContextVar[Session | None] = ContextVar("convcalc_session", default=None)


def current() -> Session:
    return _current.get() or _OUTERMOST


@contextmanager
def entered(**changes: Any) -> Iterator[Session]:
    """The current session with ``changes``, for the duration of the block."""
    session = replace(current(), **changes)
    token = _current.set(session)
    try:
        yield session
    finally:
        _current.reset(token)


GLOBAL_HELP = ("Every command also takes --step (reveal the worked steps one at a time: Enter for the next, "
               "a for all, q to stop) and --export FILE.svg|FILE.html (save the rendered output as a picture "
               "or page).")


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
        if a == "--step":
            step = True
        elif a == "--export" or a.startswith("--export="):
            if "=" in a:
                export = a.split("=", 1)[1]
            elif i + 1 < len(argv):
                i += 1
                export = argv[i]
            else:
                raise ConvcalcError("needs a file name ending in .svg or .html", "--export")
            if not export.lower().endswith((".svg", ".html", ".htm")):
                raise ConvcalcError(f"expected a file name ending in .svg or .html, got {export!r}", "--export")
        else:
            rest.append(a)
        i += 1
    return rest, step, export
