"""A SymPy expression evaluated at whole numbers with Python's exact arithmetic.

``subs`` rebuilds and re-simplifies the whole tree at every point (milliseconds each); judging
an answer compares it with the formula at dozens of points, so this walks the tree once per
point with ints and Fractions instead. Only what convcalc's expressions contain is known.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction
from typing import Any

import sympy as sp

Number = int | Fraction

_RELATIONS = {sp.Eq: operator.eq, sp.Ne: operator.ne, sp.Lt: operator.lt, sp.Le: operator.le,
              sp.Gt: operator.gt, sp.Ge: operator.ge}


def _exact(v: Number) -> Number:
    return v.numerator if isinstance(v, Fraction) and v.denominator == 1 else v


def value(expr: Any, env: dict[Any, Number]) -> Any:
    """``expr`` at ``env`` (letters -> ints or Fractions): a Fraction/int, or a bool for a
    condition. Raises ZeroDivisionError where the expression is undefined."""
    if expr.is_Symbol:
        return env[expr]
    if expr.is_Integer:
        return int(expr)
    if expr.is_Rational:
        return Fraction(int(expr.p), int(expr.q))
    args = [value(a, env) for a in expr.args]
    if expr.is_Add:
        return _exact(sum(args[1:], start=args[0]))
    if expr.is_Mul:
        return _exact(math.prod(args[1:], start=args[0]))
    if expr.is_Pow:
        base, exp = args
        return _exact(Fraction(base) ** exp) if exp < 0 else _exact(base**exp)
    if isinstance(expr, sp.floor):
        return math.floor(args[0])
    if isinstance(expr, sp.ceiling):
        return math.ceil(args[0])
    if isinstance(expr, sp.Mod):
        return _exact(args[0] % args[1])
    if isinstance(expr, sp.Max):
        return max(args)
    if isinstance(expr, sp.Min):
        return min(args)
    for kind, op in _RELATIONS.items():
        if isinstance(expr, kind):
            return op(*args)
    if isinstance(expr, sp.And):
        return all(args)
    if isinstance(expr, sp.Or):
        return any(args)
    if expr is sp.true or expr is sp.false:
        return bool(expr)
    raise TypeError(f"cannot evaluate {type(expr).__name__}")
