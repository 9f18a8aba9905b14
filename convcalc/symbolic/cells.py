"""Matrix cells that are SymPy expressions: conversion, simplification, printing, equivalence.

``convcalc.numbers`` hands a SymPy object here whenever it meets one (``normalize``, ``fmt``,
``equal_numbers``, ``as_kind``), so the numeric core, the derivations and the renderers work
on letters unchanged: the core multiplies and adds object arrays, and this module says how a
cell reads. A symbol ``X_1_1`` (an entry of ``X:4x4``) prints as X₁₁ in text, X_{1,1} in
LaTeX and ``X_1_1`` in JSON, which SymPy parses back.
"""

from __future__ import annotations

import random
import re
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from convcalc.numbers import Array

_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ"}
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_INDEXED = re.compile(r"^([A-Za-z][A-Za-z]*)((?:_\d+)+)$")


def to_sympy(x: Any) -> sympy.Expr:
    """A number or SymPy object as a SymPy object (exact: a Fraction becomes a Rational)."""
    if isinstance(x, sympy.Basic):
        return x
    if isinstance(x, bool | np.bool_):
        return sympy.Integer(int(x))
    if isinstance(x, int | np.integer):
        return sympy.Integer(int(x))
    if isinstance(x, Fraction):
        return sympy.Rational(x.numerator, x.denominator)
    f = float(x)
    return sympy.Integer(int(f)) if f.is_integer() and abs(f) < 2**53 else sympy.Float(f)  # 1·b, not 1.0·b


def to_symbolic_array(a: Array) -> Array:
    """Every entry as a SymPy object, in an object array of the same shape."""
    out = np.empty(a.shape, dtype=object)
    out.flat[:] = [to_sympy(x) for x in a.flat]
    return out


def simplify_cell(e: Any) -> Any:
    """A cell as a reader wants it: expanded, common factors pulled out ((a + b)/4, not a/4 + b/4)."""
    if not isinstance(e, sympy.Basic) or e.is_Number or e.is_Symbol:
        return e
    if e.has(sympy.Max, sympy.Min, sympy.Abs) or (e.has(sympy.Pow) and not e.is_polynomial()):
        return sympy.factor_terms(e)
    flat = e.is_Add and not any(f.is_Add or f.is_Pow for t in e.args for f in sympy.Mul.make_args(t))
    e = e if flat else sympy.expand(e)
    return sympy.factor_terms(e) if _has_common_factor(e) else e


def _has_common_factor(e: Any) -> bool:
    """Whether factor_terms (slow on long sums) has anything to pull out of a sum."""
    terms = sympy.Add.make_args(e)
    if len(terms) < 2:
        return True
    coeffs = [t.as_coeff_Mul()[0] for t in terms]
    if not all(c.is_Integer for c in coeffs) or sympy.igcd(*(int(c) for c in coeffs)) > 1:
        return True
    common = set(sympy.Mul.make_args(terms[0].as_coeff_Mul()[1]))
    for t in terms[1:]:
        common &= set(sympy.Mul.make_args(t.as_coeff_Mul()[1]))
        if not common:
            return False
    return True


@lru_cache(maxsize=8192)
def normalize_symbolic(x: Any) -> Any:
    """A SymPy number as a plain int/Fraction/float (so numbers print as numbers); else ``x``
    simplified (cached: a derivation normalizes the same cell for each format and step)."""
    x = simplify_cell(x)
    if x.is_Integer:
        return int(x)
    if x.is_Rational:
        return Fraction(int(x.p), int(x.q))
    if x.is_Float:
        return float(x)
    return x


def simplify_array(a: Array) -> Array:
    out = np.empty(a.shape, dtype=object)
    out.flat[:] = [simplify_cell(to_sympy(x)) for x in a.flat]
    return out


def _indexed(name: str) -> tuple[str, list[str]] | None:
    m = _INDEXED.match(name)
    return (m.group(1), m.group(2).split("_")[1:]) if m else None


class _TextPrinter(StrPrinter):
    """SymPy's str printer, with X_1_1 → X₁₁ and max/min in lower case."""

    printmethod = "_convcalc_text"  # not Indexed's own _sympystr: ours drops the spaces in X[i,j-1]

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        parts = _indexed(expr.name)
        if parts is None:
            return _GREEK.get(expr.name, expr.name)
        head, idx = parts
        return head + ",".join(i.translate(_SUB) for i in idx) if any(len(i) > 1 for i in idx) else \
            head + "".join(idx).translate(_SUB)

    def _print_Mul(self, expr: Any) -> str:
        """Number, then letters, then matrix entries: ``2·w·X₁₁`` as the products are written."""
        coeff, rest = expr.as_coeff_Mul()
        factors = sympy.Mul.make_args(rest)
        if any(f.is_Pow and f.exp.is_negative for f in factors) or not coeff.is_Integer:
            return str(super()._print_Mul(expr))
        ordered = sorted(factors, key=lambda f: (_entry_like(f), sympy.default_sort_key(f)))
        body = "*".join(self.parenthesize(f, precedence(expr)) for f in ordered)
        if coeff < 0:
            return "-" + (body if coeff == -1 else self._print(-coeff) + "*" + body)
        return body if coeff == 1 else self._print(coeff) + "*" + body

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        """Terms with a plus sign first: X[i,j] - X[i,j-1], not -X[i,j-1] + X[i,j]."""
        terms = sorted(_terms(expr, self._as_ordered_terms), key=lambda t: t.could_extract_minus_sign())
        prec = precedence(expr)
        out = []
        for term in terms:
            t = self._print(term)
            sign = "-" if t.startswith("-") else "+"
            t = t[1:] if sign == "-" else t
            out += [sign, f"({t})" if precedence(term) < prec or term.is_Add else t]
        return ("-" if out[0] == "-" else "") + " ".join(out[1:])

    def _print_Indexed(self, expr: Any) -> str:
        """X[i,j-1]: an entry of a matrix of unknown size (the general cell)."""
        return f"{expr.base.label}[{','.join(self._print(i).replace(' ', '') for i in expr.indices)}]"

    def _print_Sum(self, expr: Any) -> str:
        limits = " ".join(f"Σ_{{{self._print(v)}={self._print(a)}..{self._print(b)}}}" for v, a, b in expr.limits)
        return f"{limits} {self.parenthesize(expr.function, precedence(sympy.Mul(2, 3, evaluate=False)))}"

    def _print_KroneckerDelta(self, expr: Any) -> str:
        return f"δ({self._print(expr.args[0])},{self._print(expr.args[1])})"

    def _print_Max(self, expr: Any) -> str:
        return "max(" + ", ".join(self._print(a) for a in _ordered(expr.args)) + ")"

    def _print_Min(self, expr: Any) -> str:
        return "min(" + ", ".join(self._print(a) for a in _ordered(expr.args)) + ")"


def _terms(expr: Any, ordered: Any) -> list[Any]:
    """A formula in entries (X[i,j-1]) keeps its tap order; any other sum SymPy's order."""
    return list(expr.args) if any(t.has(sympy.Indexed) for t in expr.args) else list(ordered(expr, order=None))


class _TexPrinter(LatexPrinter):
    def _print_Add(self, expr: Any, order: Any = None) -> str:
        terms = sorted(_terms(expr, self._as_ordered_terms), key=lambda t: t.could_extract_minus_sign())
        return str(super()._print_Add(sympy.Add(*terms, evaluate=False), order="none"))

    def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str:
        parts = _indexed(expr.name)
        if parts is None:
            return super()._print_Symbol(expr)
        head, idx = parts
        return f"{head}_{{{','.join(idx)}}}"


def _entry_like(f: Any) -> int:
    """Where a factor goes in a product: letters (0), named entries like X₁₁ (1), X[i,j] (2)."""
    if f.has(sympy.Indexed):  # a tap W[2,1] before an entry X[i,j-1]
        return 2 if all(i.is_number for i in f.atoms(sympy.Indexed).pop().indices) else 3
    return int(bool(f.free_symbols) and all(_indexed(s.name) for s in f.free_symbols))


def _ordered(args: Any) -> list[Any]:
    return sorted(args, key=sympy.default_sort_key)


@lru_cache(maxsize=1)
def _printers() -> tuple[_TextPrinter, _TexPrinter]:
    return _TextPrinter(), _TexPrinter({"mul_symbol": "dot"})


def text(e: Any) -> str:
    """A cell in plain text: ``w₁₁·X₁₁ − X₁₂``-like, products as ·, powers as ^."""
    s = _printers()[0].doprint(e)
    return s.replace("**", "^").replace("*", "·")


def latex(e: Any) -> str:
    return _printers()[1].doprint(e)


def equation(lhs: Any, rhs: Any) -> tuple[str, str]:
    """``lhs = rhs`` in text and in LaTeX."""
    return f"{text(lhs)} = {text(rhs)}", f"{latex(lhs)} = {latex(rhs)}"


def sympy_str(e: Any) -> str:
    """SymPy's own syntax (JSON): ``sympy.sympify`` reads it back to the same expression."""
    return sympy.sstr(e)


def needs_parens(e: Any) -> bool:
    """Whether a factor must be bracketed in a product: a sum, or a leading minus sign."""
    return isinstance(e, sympy.Add) or (isinstance(e, sympy.Basic) and e.could_extract_minus_sign())


def equivalent(x: Any, y: Any, trials: int = 6) -> bool:
    """SymPy equivalence of two cells: their difference simplifies to 0.

    Max/min cannot always be simplified; then random substitutions decide (a difference that
    is 0 at several random points of a piecewise-polynomial is 0 for this use).
    """
    d = sympy.expand(to_sympy(x) - to_sympy(y))
    if d == 0:
        return True
    free = sorted(d.free_symbols, key=lambda s: s.name)
    if not d.has(sympy.Max, sympy.Min, sympy.Abs):
        return bool(sympy.simplify(d) == 0)
    rng = random.Random(0)
    for _ in range(trials):
        point = {s: sympy.Rational(rng.randint(-50, 50), rng.randint(1, 7)) for s in free}
        if d.subs(point) != 0:
            return False
    return True
