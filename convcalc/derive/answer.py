"""Comparing a claimed answer with the computed one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from convcalc.derive import grading
from convcalc.derive.records import AnswerCheck, Block, Elided, Heading, Note
from convcalc.numbers import Array, Kind

MAX_REWORKED = 25  # wrong cells re-worked after the verdict (as many as a command works by default)


def check_matrix(symbol: str, claimed: Array, computed: Array, kind: Kind) -> AnswerCheck:
    """Cell-by-cell verdicts, as a grader judges (:mod:`convcalc.derive.grading`).

    A claim whose shape differs can still match after squeezing unit axes (a 1×3 row typed
    for a length-3 result); otherwise every cell is wrong and ``shape_ok`` is False.
    """
    c = claimed
    if c.shape != computed.shape and c.size == computed.size and np.squeeze(c).shape == np.squeeze(computed).shape:
        c = c.reshape(computed.shape)
    if c.shape != computed.shape:
        return AnswerCheck(symbol, claimed, computed, np.zeros(computed.shape, dtype=bool), shape_ok=False,
                           whose=grading.whose())
    policy = grading.current()
    ok = None if policy.tolerance is not None else _equal_arrays(c, computed, computed.dtype.kind != "f",
                                                                 grading.FLOAT_NOISE)
    if ok is not None:
        return AnswerCheck(symbol, c, computed, ok, whose=grading.whose())
    ok = np.empty(computed.shape, dtype=bool)  # Python ints, Fractions, decimals as written: cell by cell
    how = np.full(computed.shape, "", dtype=object)
    for idx in np.ndindex(computed.shape):
        g = grading.grade(c[idx], computed[idx], policy)
        ok[idx], how[idx] = g.ok, g.how
    return AnswerCheck(symbol, c, computed, ok, how=how if any(how.flat) else None, whose=grading.whose())


def _equal_arrays(a: Array, b: Array, exact: bool, rel: float = 1e-6) -> Array | None:
    """``equal_numbers`` over whole int64/float64 arrays at NumPy's speed (a 10⁷-cell answer took
    half a minute cell by cell); None for object arrays."""
    if a.dtype == object or b.dtype == object:
        return None
    if exact:
        if a.dtype.kind not in "iub" or b.dtype.kind not in "iub":
            return None
        return np.asarray(a == b)
    x, y = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(x - y)
        bound = np.maximum(rel * np.maximum(np.abs(x), np.abs(y)), grading.FLOAT_ABS)  # math.isclose's test
        return np.asarray((x == y) | (np.isfinite(diff) & (diff <= bound)))


def wrong_cells(check: AnswerCheck) -> list[tuple[int, ...]]:
    """Indices (in the shown layout) of the cells that differ."""
    if not check.shape_ok:
        return []
    return [tuple(idx) for idx in np.argwhere(~check.ok).tolist()]  # tolist: Python ints at C speed


def wrong_cell_indices(check: AnswerCheck, base: int) -> list[list[int]]:
    """The wrong cells' indices counted from ``base``, for the JSON ``wrong_cells`` key (in C:
    a wholly wrong 10⁷-cell answer took 10 s number by number)."""
    return (np.argwhere(~check.ok) + base).tolist() if check.shape_ok else []


def verdict_steps(check: AnswerCheck, of: str, how: str,
                  rework: Callable[[tuple[int, ...]], Iterable[Block]]) -> Iterator[Block]:
    """The verdict, the ✓/✗ grid, and ``rework`` of each wrong cell (``of`` names the result,
    ``how`` says what the re-working shows: "here is how each of them comes out")."""
    yield Heading(f"Checking {check.whose}")
    yield check
    if not check.shape_ok:
        who = check.whose[0].upper() + check.whose[1:]
        yield Note(f"{who} has shape {check.claimed.shape}; {of} has shape {check.computed.shape}.", "error")
        return
    count = int(np.count_nonzero(~check.ok))
    if not count:
        yield Note(f"Every cell of {check.whose} is right.", "ok")
        return
    yield Note(f"{count} of {check.ok.size} cells differ; {how}.", "error")
    for idx in np.argwhere(~check.ok)[:MAX_REWORKED].tolist():
        yield from rework(tuple(idx))
    if count > MAX_REWORKED:  # a wholly wrong 300×300 answer re-worked 89 401 cells (13 s, 6 MB of text)
        yield Elided(MAX_REWORKED, count, "--cell i,j works any one cell")
