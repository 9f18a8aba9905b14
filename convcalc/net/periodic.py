"""Exact receptive fields of interior units, per axis and per phase, on an unbounded input.

Away from the border every layer here is periodic: units ``period`` apart see the same
pattern of input pixels, ``shift`` pixels further on. So one axis of a tensor is described by
``period`` sets, one per phase, each a Python integer used as a bit set (bit b set: the unit
of that phase in block 0 sees input pixel ``lo + b``). A layer (``axis_maps.Gather``) maps
these sets to its output's in O(phases × taps) big-integer operations, whatever the input
size: exact spans, and the holes a dilated stack leaves (``seen`` < span: the gridding
effect), after strided transposed convs (units differ by phase) and through skips
(the union of the branches' sets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from convcalc.errors import ConvcalcError
from convcalc.net.axis_maps import Gather

MAX_PERIOD = 4096  # phases per axis; a deeper stack of strided transposed convs is refused here
MAX_BITS = 1 << 22  # a field wider than 4 million pixels is not a field anyone asks for
MAX_TOTAL_BITS = 1 << 28  # all phases' sets of one axis together (32 MB)


class PeriodTooLong(ConvcalcError):
    """Units repeat too rarely to follow phase by phase (the caller falls back to every unit)."""


@dataclass(frozen=True)
class Periodic:
    """Unit ``φ + m·period`` sees pixels ``{lo_φ + m·shift + b : bit b of mask_φ}``."""

    period: int
    shift: int
    sets: tuple[tuple[int, int], ...]  # (lo, mask) per phase; mask 0: the unit sees no pixel

    @staticmethod
    def identity() -> Periodic:
        return Periodic(1, 1, ((0, 1),))

    @property
    def jump(self) -> Fraction:
        return Fraction(self.shift, self.period)

    def spans(self) -> list[tuple[int, int]]:
        """(span, pixels seen) per phase; (0, 0) for a unit that sees nothing."""
        return [(mask.bit_length(), mask.bit_count()) if mask else (0, 0) for _, mask in self.sets]

    def start(self) -> Fraction:
        """Centre of unit 0's set (input pixel 0 is at 0), as the recurrence's start."""
        lo, mask = self.sets[0]
        return Fraction(2 * lo + mask.bit_length() - 1, 2) if mask else Fraction(lo)


def _union(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (lo1, m1), (lo2, m2) = a, b
    if not m1:
        return b
    if not m2:
        return a
    lo = min(lo1, lo2)
    if max(lo1 + m1.bit_length(), lo2 + m2.bit_length()) - lo > MAX_BITS:  # checked before the shift allocates it
        raise ConvcalcError(f"a receptive field wider than {MAX_BITS} pixels; the limit is {MAX_BITS}",
                            "receptive field")
    return lo, (m1 << (lo1 - lo)) | (m2 << (lo2 - lo))


def through(state: Periodic, g: Gather, where: str) -> Periodic:
    """The sets after one layer's gather."""
    p, j = state.period, state.shift
    blocks = p // math.gcd(p, g.step) if g.step else 1  # output periods until the inputs read repeat in phase
    period = g.period * blocks
    if period > MAX_PERIOD:
        raise PeriodTooLong(f"units repeat only every {period} positions (limit {MAX_PERIOD})", where)
    shift = (blocks * g.step // p) * j if g.step else 0
    sets = []
    total = 0
    for psi in range(period):
        phi, m = psi % g.period, psi // g.period
        acc = (0, 0)
        for t in g.taps[phi]:
            u = m * g.step + t
            lo, mask = state.sets[u % p]
            if mask:
                acc = _union(acc, (lo + (u // p) * j, mask))
        sets.append(acc)
        total += acc[1].bit_length()
        if total > MAX_TOTAL_BITS:
            raise ConvcalcError(f"the interior fields of {period} phases take more than {MAX_TOTAL_BITS} bits; "
                                "the limit is reached", where)
    return Periodic(period, shift, tuple(sets))


def union(states: list[Periodic], where: str) -> Periodic:
    """Units that see what any of the branches sees (a residual add, a channel concatenation)."""
    jumps = {s.jump for s in states}
    if len(jumps) > 1:
        raise ConvcalcError("branches with different jumps are combined; their units do not line up", where)
    period = math.lcm(*(s.period for s in states))
    if period > MAX_PERIOD:
        raise PeriodTooLong(f"units repeat only every {period} positions (limit {MAX_PERIOD})", where)
    out = []
    for psi in range(period):
        acc = (0, 0)
        for s in states:
            lo, mask = s.sets[psi % s.period]
            acc = _union(acc, (lo + (psi // s.period) * s.shift, mask))
        out.append(acc)
    shift = states[0].shift * (period // states[0].period)
    return Periodic(period, shift, tuple(out))
