"""``convcalc check``: every problem's claim (or the student's ``answer``) against the truth."""


import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from convcalc.cli import app, fail
from convcalc.cli.common import FormatOpt, emit
from convcalc.cli.solve import AllowPathsOpt, FilesArg, IdOpt, estimate, inside, selected
from convcalc.derive.records import Solution
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.io import parse_text
from convcalc.render import Format

if TYPE_CHECKING:
    from convcalc.derive.check import Verdict
    from convcalc.problems import Problem

_NUMBERS = re.compile(r"^\s*(\d{1,40}(?:,\d{1,40}){0,3})\s*(?:[A-Za-z]+)?\s*$", re.ASCII)
# The value an answer is compared with, by command (the first key present wins).
_RESULT = ("output", "grad_input", "output_size", "total", "value")


@app.command()
def check(files: FilesArg, id: IdOpt = None, fmt: FormatOpt = Format.text,
          allow_paths: AllowPathsOpt = False) -> None:
    """Check each problem's claimed answer (or your `answer`): agrees, DIFFERS or no claim, with the likely slip."""
    from convcalc.derive import check as derive

    problems, read_status = selected(files, id)
    estimate(problems, allow_paths, files)
    verdicts = []
    for p in problems:
        with inside(p, allow_paths):
            verdicts.append(judge(p))
    for v in verdicts:
        if v.verdict == derive.ERROR:
            fail(f"error: {v.problem.file}: problem {v.problem.id}: {v.error}")
    sol = derive.report(verdicts, files)
    if read_status == ExitStatus.BAD_INPUT:
        sol = replace(sol, status=ExitStatus.BAD_INPUT)
    emit(sol, fmt, document="convcalc check: " + ", ".join(files))


def judge(p: "Problem") -> "Verdict":
    """Run the problem with its claim as ``--answer``, through the command's own code."""
    from convcalc.cli.invoke import solution_of
    from convcalc.derive import check as derive

    claim = p.answer if p.answer is not None else p.claimed
    out = solution_of(p.argv("json", check=claim))
    sol = out.solution
    if sol is None or out.status == ExitStatus.BAD_INPUT:
        message = out.error.removeprefix("error: ") or f"the command exited with status {out.status}"
        return derive.Verdict(p, derive.ERROR, error=message)
    computed = _computed(sol)
    if claim is None:
        return derive.Verdict(p, derive.NO_CLAIM, computed=computed, solution=sol)
    verdict = derive.AGREES if sol.data.get("answer_correct") else derive.DIFFERS
    return derive.Verdict(p, verdict, _claimed(claim, sol), computed, sol.data.get("slip"), sol)


def _computed(sol: Solution) -> Any:
    key = sol.data.get("answer_of") or next((k for k in _RESULT if k in sol.data), None)
    return None if key is None else sol.data[key]


def _claimed(claim: Any, sol: Solution) -> Any:
    """The claim as a value: the matrix the command read, a whole number, or the text."""
    if isinstance(_computed(sol), np.ndarray) and isinstance(claim, str):
        try:
            return parse_text(claim, "claimed", exact=True)
        except ConvcalcError:
            return claim
    if isinstance(claim, str):
        m = _NUMBERS.match(claim)
        if m is not None:
            values = [int(t) for t in m.group(1).split(",")]
            return values[0] if len(values) == 1 else values
        return claim.strip()
    return claim
