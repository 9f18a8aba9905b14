"""The report of ``convcalc check``: a verdict per problem, then, for each claim that
differs, the claim beside the computed value, the likely slip and the worked solution.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convcalc.derive.records import Block, CellWork, Heading, MatrixView, Note, SideBySide, Solution, Table
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
            yield SideBySide((MatrixView("answer" if v.problem.answer is not None else "claimed", _who(v), v.claimed),
                              MatrixView("computed", "what convcalc computes", v.computed)))
    else:
        yield Note(f"{_who(v)} {_plain(v.claimed)}, computed {_plain(v.computed)}", "error")
    if v.solution is not None:
        yield Heading(f"{p.id}: {v.solution.title}")
        yield Note("Settings: " + ", ".join(_setting_words(k, x) for k, x in v.solution.settings.items()) + ".")
        yield from worked_once(list(v.solution.blocks))


def _who(v: Verdict) -> str:
    return "your answer" if v.problem.answer is not None else "the claim"


def worked_once(blocks: list[Block]) -> list[Block]:
    """The blocks without the "Each output cell" section when the verdict works the wrong cells
    again: in a report, each wrong cell is worked once, under the verdict."""
    heads = [i for i, b in enumerate(blocks) if isinstance(b, Heading)]
    check = next((i for i in heads if blocks[i].text.startswith("Checking ")), None)
    each = next((i for i in heads if blocks[i].text == "Each output cell"), None)
    if check is None or each is None or not any(isinstance(b, CellWork) for b in blocks[check:]):
        return blocks
    end = next((i for i in heads if i > each), len(blocks))
    return [*blocks[:each], *blocks[end:]]


def _setting_words(key: str, value: Any) -> str:
    """``stride 2,2``, ``no flip``: a setting in words, not Python's ``flip=False``."""
    name = key.replace("_", " ")
    if value is True:
        return name
    return f"no {name}" if value is False or value is None else f"{name} {_plain(value)}"


def _plain(x: Any) -> str:
    if isinstance(x, np.ndarray):  # a matrix beside a claim of several parts (norm's NAME=VALUE list)
        from convcalc.numbers import fmt

        return str(np.vectorize(fmt, otypes=[object])(x).tolist()).replace("'", "") if x.size else "[]"
    if isinstance(x, list | tuple):
        return ",".join(map(str, x))
    return str(x)
