"""Naming the slip behind a wrong answer: re-run the command with each slip (convcalc.slips).

Runs on every command's ``--answer`` (from ``emit``) and on every problem ``check`` runs.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import numpy as np

from convcalc import slips
from convcalc.derive.records import Heading, Note, Solution

# Homework-sized results only: a search re-runs the command up to a few dozen times.
MAX_CELLS = 4096
# Options a re-run never needs: files written, cells picked, steps shown.
_QUIET = {"output": None, "cell": None, "steps": "0", "fmt": "json"}


def find_slip(argv: list[str], solution: Solution) -> list[slips.Slip] | None:
    """The slips that reproduce the claimed answer, or None."""
    from convcalc.cli.invoke import parse, solution_of, unparse

    if _cells(solution) > MAX_CELLS:
        return None
    try:
        parsed = parse(argv)
    except Exception:  # a command line that ran once parses again; be safe all the same
        return None
    claim = parsed.params.get("answer")
    if not isinstance(claim, str):
        return None  # no claim, or one of several parts (backprop expr): no settings to slip
    quiet = {k: v for k, v in _QUIET.items() if k in parsed.params}

    def attempt(changes: dict[str, Any], read: str) -> bool:
        outcome = solution_of(unparse(parsed, {**quiet, **changes, "answer": read}), diagnosing=True)
        return outcome.solution is not None and outcome.solution.data.get("answer_correct") is True

    return slips.find(parsed.path, parsed.params, claim, attempt)


def with_slip(solution: Solution, argv: list[str]) -> Solution:
    """``solution`` with ``data["slip"]`` set and, when one is found, a note saying which.

    ``data["slip_settings"]`` holds the settings the slip changed, as the command's options
    (``{"stride": "1"}``), and ``{}`` for a slip that only reads the claim differently.
    """
    combo = find_slip(argv, solution)
    if combo is None and solution.data.get("slip"):
        return solution  # the command named its slip itself (norm's several --answer parts)
    slip = slips.describe(combo) if combo else None
    changed = {k.replace("_", "-"): v for s in combo or () for k, v in s.changes.items()}
    data = {**solution.data, "slip": slip, "slip_settings": changed if combo else None}
    if slip is None:
        return replace(solution, data=data)
    note = [Heading("Likely slip"), Note(slip[0].upper() + slip[1:] + ".", "warn")]
    return replace(solution, data=data, blocks=itertools.chain(solution.blocks, note))


def _cells(solution: Solution) -> int:
    return max((v.size for v in solution.data.values() if isinstance(v, np.ndarray)), default=1)
