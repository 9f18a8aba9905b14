"""Exact arithmetic: which number kind an array holds, and how numbers are written.

Three kinds, promoted in this order: integers (``int64``, or Python ints in an ``object``
array when a result could overflow 64 bits), rationals (``Fraction`` in an ``object``
array) and floats (``float64``). Integers in give integers out; ``1/3`` stays ``1/3``.
"""

from __future__ import annotations

import math
import re
from enum import IntEnum
from fractions import Fraction
from numbers import Rational
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
Scalar = int | Fraction | float


class Kind(IntEnum):
    """The number kind of an array; a larger kind absorbs a smaller one."""

    INT = 0
    RATIONAL = 1
    FLOAT = 2
    SYMBOLIC = 3  # SymPy expressions (letters in a matrix): convcalc.symbolic does their algebra


def is_symbolic(x: Any) -> bool:
    """A SymPy object, told by its class's module: no SymPy import on the numeric paths."""
    return type(x).__module__.startswith("sympy")


_INT64_SAFE = 2**62


def kind_of(a: Array) -> Kind:
    """The kind of an array made by this module (int64, object ints/Fractions, float64)."""
    if a.dtype.kind in "iub":
        return Kind.INT
    if a.dtype.kind == "f":
        return Kind.FLOAT
    if a.dtype == object:
        if a.size and is_symbolic(a.flat[0]):
            return Kind.SYMBOLIC
        if any(isinstance(x, Fraction) and x.denominator != 1 for x in a.flat):
            return Kind.RATIONAL
        if any(isinstance(x, float) for x in a.flat):
            return Kind.FLOAT
        if any(is_symbolic(x) for x in a.flat if type(x) is not int):  # letters among the int zeros of a canvas
            return Kind.SYMBOLIC
        return Kind.INT
    raise TypeError(f"unsupported dtype {a.dtype}")


def as_kind(a: Array, kind: Kind) -> Array:
    """Convert ``a`` to the representation of ``kind`` (never losing exactness upward)."""
    if kind is Kind.SYMBOLIC:
        from convcalc.symbolic.cells import to_symbolic_array

        return to_symbolic_array(a)
    if kind is Kind.FLOAT:
        return np.asarray(a, dtype=np.float64) if a.dtype != object else _object_to_float(a)
    if kind is Kind.RATIONAL:
        out = np.empty(a.shape, dtype=object)
        # Fraction(np.int64(3)) would keep a NumPy numerator; build from Python numbers
        out.flat[:] = [x if isinstance(x, Fraction) else Fraction(int(x) if isinstance(x, int | np.integer) else x)
                       for x in a.flat]
        return out
    if a.dtype == object:
        return a
    return a.astype(np.int64)


def _object_to_float(a: Array) -> Array:
    out = np.empty(a.shape, dtype=np.float64)
    out.flat[:] = [float(x) for x in a.flat]
    return out


def common_kind(*arrays: Array) -> Kind:
    return max((kind_of(a) for a in arrays), default=Kind.INT)


def max_abs(a: Array) -> int:
    """Largest magnitude of an integer array, as a Python int (0 for an empty one)."""
    if a.size == 0:
        return 0
    if a.dtype == object:
        return max(abs(int(x)) for x in a.flat)
    return int(np.max(np.abs(a.astype(object)))) if a.dtype.kind in "iu" else 0


def integer_product_fits(a: Array, b: Array, terms: int) -> bool:
    """Whether a sum of ``terms`` products of entries of ``a`` and ``b`` fits in int64."""
    return max_abs(a) * max_abs(b) * max(terms, 1) < _INT64_SAFE


def to_exact_object(a: Array) -> Array:
    """Integers as Python ints in an object array, so sums can grow without overflow."""
    out = np.empty(a.shape, dtype=object)
    out.flat[:] = [int(x) for x in a.flat]
    return out


def normalize(x: Any) -> Scalar:
    """A single number in its simplest exact form: Fraction(4, 1) -> 4, np.int64 -> int."""
    if isinstance(x, bool | np.bool_):
        return int(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, Fraction):
        return int(x.numerator) if x.denominator == 1 else x
    if isinstance(x, Rational):
        return normalize(Fraction(int(x.numerator), int(x.denominator)))
    if is_symbolic(x):
        from convcalc.symbolic.cells import normalize_symbolic

        return normalize_symbolic(x)
    return float(x)


def fmt(x: Any) -> str:
    """A number as a person writes it: ``109``, ``-2/5``, ``0.25``; never ``109.0``."""
    v = normalize(x)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Fraction):
        return f"{v.numerator}/{v.denominator}"
    if is_symbolic(v):
        from convcalc.symbolic.cells import text

        return text(v)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return format(v, ".10g")


def needs_brackets(x: Any) -> bool:
    """Whether a factor is bracketed in a written product: a negative number, or a sum of letters."""
    if is_symbolic(x):
        from convcalc.symbolic.cells import needs_parens

        return needs_parens(x)
    return bool(x < 0)


def fmt_with_decimal(x: Any) -> str:
    """``13/4 (3.25)`` for a non-integer rational, else the same as :func:`fmt`."""
    v = normalize(x)
    if isinstance(v, Fraction):
        return f"{fmt(v)} ({format(float(v), '.6g')})"
    return fmt(v)


def to_json_value(x: Any) -> int | float | str:
    """A JSON number: an integer when integral, else a float; ``"inf"``, ``"-inf"`` or
    ``"nan"`` as strings for the non-finite values JSON has no number for."""
    v = normalize(x)
    if isinstance(v, int):
        return v
    if is_symbolic(v):
        return str(v)  # SymPy's own syntax, which SymPy parses back
    f = float(v)
    return f if math.isfinite(f) else str(f)


def to_json_list(a: Array) -> Any:
    """An array as nested lists of JSON numbers."""
    if not isinstance(a, np.ndarray):
        return to_json_value(a)
    if a.ndim == 0:
        return to_json_value(a.item() if a.dtype != object else a[()])
    return [to_json_list(a[i]) for i in range(a.shape[0])]


def exact_strings(a: Array) -> Any:
    """Nested lists of ``"p/q"`` strings for rational arrays (None for integral cells)."""
    if not isinstance(a, np.ndarray) or a.ndim == 0:
        v = normalize(a if not isinstance(a, np.ndarray) else a[()])
        return fmt(v) if isinstance(v, Fraction) else None
    return [exact_strings(a[i]) for i in range(a.shape[0])]


def equal_numbers(x: Any, y: Any, exact: bool, rel: float = 1e-6) -> bool:
    """Numeric match for answer checking: exact for exact inputs, else relative ``rel``."""
    if is_symbolic(x) or is_symbolic(y):
        from convcalc.symbolic.cells import equivalent

        return equivalent(x, y)
    if exact:
        return Fraction(normalize(x)) == Fraction(normalize(y)) if _finite(x, y) else False
    fx, fy = float(x), float(y)
    return math.isclose(fx, fy, rel_tol=rel, abs_tol=rel * 1e-6)


def _finite(*xs: Any) -> bool:
    return all(not isinstance(v, float) or math.isfinite(v) for v in map(normalize, xs))


def unify(arrays: list[Array | None], terms: int) -> list[Array | None]:
    """Bring arrays to one kind for a sum of ``terms`` products each.

    Integers stay int64 while every such sum provably fits in 64 bits; otherwise they
    become Python ints (exact, never overflowing). Rationals become Fractions.
    """
    present = [a for a in arrays if a is not None]
    kind = common_kind(*present)
    if kind is Kind.INT:
        big = max((max_abs(a) for a in present), default=0)
        if big * big * max(terms, 1) + big >= _INT64_SAFE or any(a.dtype == object for a in present):
            return [None if a is None else to_exact_object(a) for a in arrays]
    if kind is Kind.FLOAT and all(a.dtype.kind == "f" for a in present):
        dtype = np.result_type(*present)  # float32 in, float32 out, as in PyTorch
        return [None if a is None else a.astype(dtype, copy=False) for a in arrays]
    return [None if a is None else as_kind(a, kind) for a in arrays]


_ASCII_INT = re.compile(r"[+-]?[0-9]+")


def ascii_int(text: str) -> int:
    """``int(text)`` for ASCII digits only (``int`` also reads "١٢" and "１２" as 12, and "1_0");
    ValueError otherwise, as ``int`` raises it."""
    t = text.strip()
    if not _ASCII_INT.fullmatch(t):
        raise ValueError(f"not a whole number in ASCII digits: {text!r}")
    return int(t)


def ascii_number(value: Any) -> int:
    """``int`` for a command-line integer option: ASCII digits only, as everywhere else."""
    return ascii_int(value) if isinstance(value, str) else int(value)
