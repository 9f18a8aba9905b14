"""The report of ``convcalc check``: a verdict per problem, then, for each claim that
differs, the claim beside the computed value, the likely slip and the worked solution.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convcalc.derive.records import Block, Heading, MatrixView, Note, SideBySide, Solution, Table
from convcalc.errors import ExitStatus
from convcalc.problems import Problem

AGREES, DIFFERS, NO_CLAIM, ERROR = "agrees", "differs", "no-claim", "error"
_SHOWN = {AGREES: "agrees", DIFFERS: "DIFFERS", NO_CLAIM: "no claim", ERROR: "error"}


@dataclass(frozen=True)
class Verdict:
    """One problem checked. ``claimed``/``computed`` are the values compared (arrays or
    numbers); ``solution`` is the problem's own worked solution, answer check included."""

    problem: Problem
    verdict: str
    claimed: Any = None
    computed: Any = None
    slip: str | None = None
    solution: Solution | None = None
    error: str | None = None


def status(verdicts: Sequence[Verdict]) -> ExitStatus:
    if any(v.verdict == ERROR for v in verdicts):
        return ExitStatus.BAD_INPUT
    if any(v.verdict == DIFFERS for v in verdicts):
        return ExitStatus.WRONG_ANSWER
    return ExitStatus.OK


def report(verdicts: Sequence[Verdict], files: Sequence[str]) -> Solution:
    counts = {k: sum(1 for v in verdicts if v.verdict == k) for k in (AGREES, DIFFERS, NO_CLAIM, ERROR)}
    data: dict[str, Any] = {
        "problems": [_entry(v) for v in verdicts],
        "agree": counts[AGREES], "differ": counts[DIFFERS], "no_claim": counts[NO_CLAIM], "errors": counts[ERROR],
    }
    return Solution("check", f"Checking {len(verdicts)} problem{'s' * (len(verdicts) != 1)}",
                    {"files": list(files)}, data, _blocks(verdicts, counts), status=status(verdicts))


def _entry(v: Verdict) -> dict[str, Any]:
    return {"id": v.problem.id, "source": v.problem.source, "file": v.problem.file, "verdict": v.verdict,
            "claimed": v.claimed, "computed": v.computed, "slip": v.slip, "error": v.error}


def _blocks(verdicts: Sequence[Verdict], counts: dict[str, int]) -> Iterator[Block]:
    yield Heading("Verdicts")
    rows = tuple((v.problem.id, v.problem.source, _SHOWN[v.verdict], v.slip or v.error or "") for v in verdicts)
    yield Table(("problem", "source", "verdict", "likely slip / error"), rows, left=("problem", "source", "verdict",
                                                                                     "likely slip / error"))
    summary = f"{counts[AGREES]} agree, {counts[DIFFERS]} differ, {counts[NO_CLAIM]} without a claim"
    if counts[ERROR]:
        summary += f", {counts[ERROR]} could not be run"
    yield Note(summary + ".", "error" if counts[DIFFERS] or counts[ERROR] else "ok")
    for v in verdicts:
        if v.verdict == DIFFERS:
            yield from _differs(v)


def _differs(v: Verdict) -> Iterator[Block]:
    p = v.problem
    yield Heading(f"{p.id}: the claim DIFFERS")
    if p.source or p.asks:
        yield Note(f"{p.source}: {p.asks}" if p.source else p.asks)
    if v.slip:
        yield Note(v.slip[0].upper() + v.slip[1:] + ".", "warn")
    if isinstance(v.claimed, np.ndarray) and isinstance(v.computed, np.ndarray):
        if v.claimed.shape != v.computed.shape:
            yield Note(f"The claim has shape {v.claimed.shape}; the result has shape {v.computed.shape}.", "error")
        if v.claimed.ndim <= 2 and v.computed.ndim <= 2:
            yield SideBySide((MatrixView("claimed", "the answer the problem states", v.claimed),
                              MatrixView("computed", "what convcalc computes", v.computed)))
    else:
        yield Note(f"claimed {_plain(v.claimed)}, computed {_plain(v.computed)}", "error")
    if v.solution is not None:
        yield Heading(f"{p.id}: {v.solution.title}")
        yield Note("Settings: " + ", ".join(f"{k}={_plain(x)}" for k, x in v.solution.settings.items()))
        yield from v.solution.blocks


def _plain(x: Any) -> str:
    if isinstance(x, np.ndarray):  # a matrix beside a claim of several parts (norm's NAME=VALUE list)
        from convcalc.numbers import fmt

        return str(np.vectorize(fmt, otypes=[object])(x).tolist()).replace("'", "") if x.size else "[]"
    if isinstance(x, list | tuple):
        return ",".join(map(str, x))
    return str(x)
