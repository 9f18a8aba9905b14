"""The worked steps as data. Derivations build these; renderers only read them.

A :class:`Solution` holds ``blocks``, an iterable of the records below, so a large
derivation can be a generator that renderers stream (nothing is built ahead of need).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from convcalc.errors import ExitStatus
from convcalc.formulas import SizeResult
from convcalc.numbers import Array, Scalar

Tone = Literal["info", "warn", "ok", "error"]


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Note:
    """A sentence of explanation; ``tone`` lets a renderer colour warnings and verdicts."""

    text: str
    tone: Tone = "info"


@dataclass(frozen=True)
class MatrixView:
    """A named matrix (1-D or 2-D values) shown whole.

    ``frame`` marks the border of padding (rows/cols before and after per axis) so a
    renderer can dim it; ``highlight`` holds indices to emphasise (a window, a winner).
    """

    symbol: str
    caption: str
    values: Array
    frame: tuple[tuple[int, int], ...] = ()
    highlight: frozenset[tuple[int, ...]] = frozenset()


@dataclass(frozen=True)
class SizeFormula:
    """An output-size formula along one axis, worked: symbols, numbers, value.

    ``kind`` picks the formula from ``convcalc.formulas`` ("conv", "pool", "transposed");
    ``values`` maps the formula's symbols (I, K, S, P, d, ...) to the numbers used.
    """

    axis: str
    kind: str
    values: dict[str, int]
    result: SizeResult


@dataclass(frozen=True)
class TermGroup:
    """One part of a cell's sum: the products a·b (kernel tap · input value) of one channel."""

    label: str
    terms: tuple[tuple[Scalar, Scalar], ...]
    subtotal: Scalar
    window: Array | None = None
    window_at: tuple[tuple[int, int], ...] = ()  # inclusive (first, last) index per axis
    count: int | None = None  # products in the sum, when ``terms`` keeps only the first of them

    @property
    def n_terms(self) -> int:
        """How many products the sum has (``terms`` may show only the first of them)."""
        return len(self.terms) if self.count is None else self.count


@dataclass(frozen=True)
class CellWork:
    """How one output cell comes out: its groups of products, the bias, and the total."""

    symbol: str
    index: tuple[int, ...]
    groups: tuple[TermGroup, ...]
    total: Scalar
    bias: Scalar | None = None
    source: str = ""  # e.g. "A_pad": what the windows are taken from


@dataclass(frozen=True)
class AnswerCheck:
    """A claimed answer against the computed one, cell by cell (``ok`` per cell)."""

    symbol: str
    claimed: Array
    computed: Array
    ok: Array
    shape_ok: bool = True
    how: Array | None = None  # per cell, how a rounded or tolerated claim was judged ("" when exactly)
    whose: str = "your answer"  # or "the claim" (a course's ``claimed``, in ``check``)


@dataclass(frozen=True)
class Elided:
    """Worked cells left out under the default cap, and how to see them."""

    shown: int
    total: int
    hint: str


@dataclass(frozen=True)
class MathCell:
    """A table cell that is math: plain text for the terminal, LaTeX for a write-up."""

    text: str
    tex: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Table:
    """Rows of values under named columns (per-layer tables, verdict lists)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    title: str = ""
    left: tuple[str, ...] = ()  # columns aligned left (text), the rest right (numbers)


@dataclass(frozen=True)
class Equation:
    """A line of math in plain text and in LaTeX (e.g. ``∂f/∂q = 2q``), so LaTeX output
    never carries Unicode math; ``values`` (1-D or 2-D), when given, is its right-hand side.
    """

    text: str
    tex: str
    values: Array | None = None


@dataclass(frozen=True)
class SideBySide:
    """Matrices shown next to each other, e.g. a claimed answer beside the computed one."""

    views: tuple[MatrixView, ...]


Block = Table | Heading | Note | MatrixView | SizeFormula | CellWork | AnswerCheck | Elided | Equation | SideBySide | Any


@dataclass(frozen=True)
class Solution:
    """A worked solution: what the command computed and the steps that lead to it.

    ``data`` holds the JSON payload (the command's required keys, JSON-ready except for
    arrays, which the JSON renderer converts); ``blocks`` the steps, possibly a generator.
    """

    command: str
    title: str
    settings: dict[str, Any]
    data: dict[str, Any]
    blocks: Iterable[Block]
    index_base: int = 1
    status: ExitStatus = ExitStatus.OK
    extra: dict[str, Any] = field(default_factory=dict)
