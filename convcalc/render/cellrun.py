"""Consecutive worked cells (and lines of math) drawn as one aligned block in LaTeX and
Markdown: nine one-line cells in nine display blocks took half a page."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from convcalc.derive.records import CellWork, Equation

MAX_RUN = 40  # lines of one aligned block
LONG = 110  # characters of TeX beyond which a line's closing remark goes on a line of its own


def equation_lines(tex: str) -> list[str]:
    """A line of an aligned block (``&`` at its start); a long one with its remark on the next line,
    so that nothing runs off the page."""
    math, sep, remark = tex.partition(r"\quad \text{(")
    if not sep or len(tex) <= LONG:
        return ["&" + tex]
    return ["&" + math, r"&\qquad \text{(" + remark]


@dataclass(frozen=True)
class CellRun:
    cells: tuple[CellWork, ...]


@dataclass(frozen=True)
class EquationRun:
    equations: tuple[Equation, ...]


def merged_cells(blocks: Iterable[Any]) -> Iterator[Any]:
    """The blocks with each run of consecutive CellWork blocks as one CellRun, and each run of
    consecutive one-line Equations as one EquationRun (a lone one stays as it is)."""
    run: list[Any] = []
    for block in blocks:
        if run and (_kind(block) != _kind(run[0]) or len(run) >= MAX_RUN):
            yield _closed(run)
            run = []
        if _kind(block):
            run.append(block)
        else:
            yield block
    if run:
        yield _closed(run)


def _kind(block: Any) -> str:
    if isinstance(block, CellWork):
        return "cell"
    if isinstance(block, Equation) and block.values is None:
        return "equation"
    return ""


def _closed(run: list[Any]) -> Any:
    if len(run) == 1:
        return run[0]
    return CellRun(tuple(run)) if _kind(run[0]) == "cell" else EquationRun(tuple(run))
