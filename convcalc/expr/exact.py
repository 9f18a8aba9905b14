"""When an expression can be worked in exact arithmetic, and its values as Fractions.

Exact when every variable holds integers or fractions, every constant is an integer literal
and every operation is rational: + − * / @, ** with an integer exponent, unary minus, sum,
mean, square, .T. Otherwise the graph is float64, as before (exact in, exact out).
Growth is bounded: at most MAX_DIGITS digits in any numerator or denominator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.expr.layers import LAYERS
from convcalc.expr.parse import Term
from convcalc.numbers import Array, Kind, kind_of, normalize

RATIONAL_OPS = frozenset({"add", "sub", "mul", "div", "matmul", "pow", "neg", "T", "sum", "mean", "square",
                          *LAYERS})
MAX_DIGITS = 2000  # a 16th power of 16th powers stays far below this; beyond it is not homework


def is_exact(term: Term, env: Mapping[str, Array]) -> bool:
    """Whether ``term`` over ``env`` can be evaluated and differentiated exactly."""
    if term.op == "var":
        value = env[term.name]
        return value.size == 0 or kind_of(np.asarray(value)) is not Kind.FLOAT
    if term.op == "const":
        return re.fullmatch(r"-?\d+", term.text.replace(" ", "")) is not None
    if term.op not in RATIONAL_OPS or (term.op == "pow" and not float(term.number).is_integer()):
        return False
    return all(is_exact(arg, env) for arg in term.args)


def fractions(a: Array) -> Array:
    """The values as an object array of Fractions (so / stays exact)."""
    a = np.asarray(a)
    out = np.empty(a.shape, dtype=object)
    out.flat[:] = [Fraction(normalize(v)) for v in a.flat]  # Python ints inside, never np.int64
    return out


def const(term: Term) -> Array:
    return fractions(np.asarray(int(term.text.replace(" ", "")), dtype=object))


def check_size(value: Array, text: str) -> None:
    """Refuse a value whose numerators or denominators have grown past MAX_DIGITS digits."""
    for v in np.asarray(value).flat:
        if isinstance(v, Fraction) and max(abs(v.numerator), v.denominator).bit_length() > MAX_DIGITS * 3.33:
            raise ConvcalcError(f"{text}: exact values grow past {MAX_DIGITS} digits; write a decimal (e.g. 2.0) "
                                "somewhere to work in floating point", "expression")
