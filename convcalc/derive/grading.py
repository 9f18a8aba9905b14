"""Judging one claimed number the way a grader does.

- An integer or a fraction is judged exactly (against a float result: up to float round-off).
- A decimal written with d decimals is right when it is the true value rounded, or cut
  (truncated), to d decimals: 0.7778 and 0.7777 for 7/9, not 0.7776. A number in scientific
  notation (``1.23e-4``) is judged at the last digit written the same way.
- ``--tolerance`` (or a problem's ``tolerance``) replaces both rules by a relative and/or
  absolute bound; ``--exact-answers`` judges a decimal by its exact value.

The policy of the current run lives in a context variable set by the command line, so each
command's derivation judges its answers the same way without carrying the setting around.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.numbers import Written, fmt, is_symbolic, normalize

FLOAT_NOISE = 1e-9  # relative: what float64 round-off may leave between a float result and its exact value
_NOISE = Fraction(FLOAT_NOISE)  # in Fractions: a float times a 1e-320 claim would overflow converting it
FLOAT_ABS = 1e-12  # absolute, for a result that cancels to about 0 (0.1 + 0.2 − 0.3 is 5.6e-17, not 0)


@dataclass(frozen=True)
class Tolerance:
    """A claim ``c`` of a true value ``t`` is right when |c − t| ≤ max(rel·|t|, abs)."""

    rel: float = 0.0
    abs: float = 0.0

    def describe(self) -> str:
        parts = ([f"relative {self.rel:g}"] if self.rel else []) + ([f"absolute {self.abs:g}"] if self.abs else [])
        return " or ".join(parts) or "0"


@dataclass(frozen=True)
class Policy:
    tolerance: Tolerance | None = None
    exact: bool = False  # --exact-answers: a decimal is the exact number it writes
    claim: bool = False  # judging a course's ``claimed`` (check): "the claim", not "your answer"


_policy: ContextVar[Policy | None] = ContextVar("convcalc_grading", default=None)
_DEFAULT = Policy()


def current() -> Policy:
    return _policy.get() or _DEFAULT


@contextmanager
def policy(p: Policy) -> Iterator[Policy]:
    token = _policy.set(p)
    try:
        yield p
    finally:
        _policy.reset(token)


def whose() -> str:
    """Whose answer is judged: "your answer" (``--answer``, a problem's ``answer``) or "the claim"."""
    return "the claim" if current().claim else "your answer"


def parse_tolerance(text: Any, where: str = "--tolerance") -> Tolerance:
    """``1e-3`` or ``rel:1e-3`` (relative), ``0.1%`` (relative), ``abs:0.005`` (absolute),
    or both separated by a comma (``rel:1e-3,abs:1e-6``)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return _checked(Tolerance(rel=float(text)), where)
    if not isinstance(text, str) or not text.strip():
        raise ConvcalcError(f"expected a tolerance such as 1e-3, 0.1%, abs:0.005 or rel:1e-3,abs:1e-6; got {text!r}",
                            where)
    rel = absolute = 0.0
    for part in text.replace(" ", "").lower().split(","):
        kind, _, value = part.rpartition(":") if ":" in part else ("rel", "", part)
        scale = 1.0
        if value.endswith("%"):
            value, scale = value[:-1], 0.01
        try:
            number = float(value) * scale
        except ValueError:
            number = math.nan
        if kind not in ("rel", "abs") or not math.isfinite(number) or number < 0:
            raise ConvcalcError(f"expected a tolerance such as 1e-3, 0.1%, abs:0.005 or rel:1e-3,abs:1e-6; "
                                f"got {text!r}", where)
        if kind == "rel":
            rel = number
        else:
            absolute = number
    return _checked(Tolerance(rel, absolute), where)


def _checked(t: Tolerance, where: str) -> Tolerance:
    if not (math.isfinite(t.rel) and t.rel >= 0):
        raise ConvcalcError(f"a relative tolerance must be a non-negative number, got {t.rel}", where)
    return t


@dataclass(frozen=True)
class Grade:
    """The verdict on one number: right or not, and how it was judged ("" when exactly)."""

    ok: bool
    how: str = ""


def grade(claim: Any, true: Any, p: Policy | None = None) -> Grade:
    """Judge ``claim`` (an int, Fraction, float, or a :class:`Written` decimal) against ``true``."""
    p = p or current()
    if is_symbolic(claim) or is_symbolic(true):  # letters: SymPy equivalence under their assumptions
        from convcalc.symbolic.cells import equivalent

        return Grade(bool(equivalent(claim, true)))
    t = normalize(true)
    c0 = normalize(claim) if not isinstance(claim, Written) else claim
    if (isinstance(t, float) and not math.isfinite(t)) or (isinstance(c0, float) and not math.isfinite(c0)):
        return Grade(bool(c0 == t))  # inf only for the same inf; nan is never right
    exact_t = Fraction(t)
    c = Fraction(c0)
    if c == exact_t:
        return Grade(True)
    floating = isinstance(t, float)
    if (floating or isinstance(c0, float)) and abs(c - exact_t) <= max(
            _NOISE * max(abs(c), abs(exact_t)), Fraction(FLOAT_ABS)):  # float round-off only
        return Grade(True)
    if p.tolerance is not None:
        tol = p.tolerance
        bound = max(Fraction(tol.rel) * abs(exact_t), Fraction(tol.abs))
        ok = abs(c - exact_t) <= bound
        return Grade(ok, f"{_true(t)} within {tol.describe()}" if ok else "")
    if not isinstance(claim, Written) or p.exact:
        return Grade(False)
    q = claim.quantum
    slack = Fraction(abs(t)) * _NOISE if floating else Fraction(0)
    if abs(c - exact_t) <= q / 2 + slack:
        return Grade(True, f"{_true(t)} {claim.rounded_phrase('rounded')}")
    cut = exact_t - c if exact_t >= 0 else c - exact_t  # truncation keeps c on the side of 0
    if -slack <= cut < q + slack:
        return Grade(True, f"{_true(t)} {claim.rounded_phrase('truncated')}")
    shown = claim.at_precision(exact_t)
    if abs(Fraction(Written(shown)) - exact_t) <= slack:  # written in full at that precision: nothing to add
        return Grade(False)
    return Grade(False, f"{_true(t)} is {shown} {claim.rounded_phrase('rounded')}")


def _true(t: int | Fraction | float) -> str:
    return fmt(t)
