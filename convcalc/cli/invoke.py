"""Running a command line in-process for its Solution, and editing a command line's settings.

``solve``, ``check`` and slip diagnosis use these so a problem runs through exactly the code
the flags run through. A command line is read back into its parameters with the command's
own parser (the Typer app's Click objects), changed as data, and written out again.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from convcalc.cli import session
from convcalc.derive.records import Solution


@dataclass(frozen=True)
class Outcome:
    """What one in-process run gave: exit status, the Solution (None on an error), stderr."""

    status: int
    solution: Solution | None
    error: str


def solution_of(argv: list[str], diagnosing: bool = False) -> Outcome:
    """Run ``argv`` without rendering; the command's Solution is handed back by ``emit``."""
    from convcalc.cli import run

    box: list[Any] = []
    err = io.StringIO()
    with session.entered(capture=box, diagnosing=diagnosing or session.current().diagnosing, nested=True), \
            contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = run(argv)
    return Outcome(status, box[0] if box else None, err.getvalue().strip())


@dataclass(frozen=True)
class Parsed:
    """A command line read back: the command's path (``["backprop", "conv"]``) and its
    parameters by Python name, as the command received them."""

    path: tuple[str, ...]
    params: dict[str, Any]
    command: Any  # the Click command, to write the parameters out again


def parse(argv: list[str]) -> Parsed:
    """Read ``argv`` into its command and parameters (the command's own parser; no side effects)."""
    from convcalc.cli import root_command

    command = root_command()
    ctx = command.make_context("convcalc", [], resilient_parsing=True)
    path: list[str] = []
    args = list(argv)
    while hasattr(command, "get_command") and args:
        sub = command.get_command(ctx, args[0])
        if sub is None:
            break
        path.append(args.pop(0))
        command = sub
        ctx = command.make_context(path[-1], [] if hasattr(command, "get_command") else args, parent=ctx,
                                   resilient_parsing=True)
    return Parsed(tuple(path), dict(ctx.params), command)


def unparse(parsed: Parsed, changes: Mapping[str, Any]) -> list[str]:
    """The command line for ``parsed`` with ``changes`` applied (None drops an option)."""
    values = {**parsed.params, **changes}
    out: list[str] = list(parsed.path)
    arguments: list[str] = []
    for p in parsed.command.params:
        value = values.get(p.name)
        if getattr(p, "param_type_name", "") == "argument":
            arguments += [_text(v) for v in (value if isinstance(value, list | tuple) else [value]) if v is not None]
            continue
        if value is None or (value == p.default and not getattr(p, "multiple", False)):
            continue
        flag = p.opts[0]
        if getattr(p, "is_flag", False) and not getattr(p, "secondary_opts", None):
            if value:
                out.append(flag)
        elif getattr(p, "is_flag", False):
            out.append(flag if value else p.secondary_opts[0])
        elif getattr(p, "multiple", False):
            for v in value or ():
                out += [flag, _text(v)]
        else:
            out += [flag, _text(value)]
    return [*out, *(["--", *arguments] if arguments else [])]


def _text(value: Any) -> str:
    return str(value.value if isinstance(value, Enum) else value)
