"""Printing a SymPy expression three ways: the course's notation (⌊ ⌋, ·, −, K²), LaTeX
(SymPy's LaTeX printer) and SymPy's own syntax (JSON: parseable back by SymPy)."""

from __future__ import annotations

import re
from typing import Any

from sympy import Add, Mod, true
from sympy import together as sp_together
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _course_order(terms: list[Any]) -> list[Any]:
    """A sum as a course writes it: added terms first, then subtracted ones, the constant last
    (H + 2P − D(K − 1) − 1, not −D(K − 1) + H + 2P − 1)."""
    const = [t for t in terms if t.is_Number]
    rest = [t for t in terms if not t.is_Number]
    plus = [t for t in rest if not t.could_extract_minus_sign()]
    def coefficient(t: Any) -> bool:  # 2P after W: W + 2P − K
        return t.as_coeff_Mul()[0] != 1

    return [t for t in plus if not coefficient(t)] + [t for t in plus if coefficient(t)] + \
        [t for t in rest if t.could_extract_minus_sign()] + const


class _Course(StrPrinter):  # type: ignore[misc]
    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Any]:
        return _course_order(super()._as_ordered_terms(expr, order))

    def _print_floor(self, e: Any) -> str:
        return "⌊" + self._print(together(e.args[0])) + "⌋"

    def _print_ceiling(self, e: Any) -> str:
        return "⌈" + self._print(together(e.args[0])) + "⌉"

    def _print_Mod(self, e: Any) -> str:
        a, b = (self.parenthesize(x, 50) for x in e.args)  # below a product's precedence: (x + 1) mod S
        return f"{a} mod {b}"

    def _print_Max(self, e: Any) -> str:
        return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Min(self, e: Any) -> str:
        return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Infinity(self, e: Any) -> str:
        return "∞"

    def _print_Relational(self, e: Any) -> str:
        ops = {"==": "=", "!=": "≠", "<=": "≤", ">=": "≥", "<": "<", ">": ">"}
        return f"{self._print(e.lhs)} {ops[e.rel_op]} {self._print(e.rhs)}"

    def _print_Piecewise(self, e: Any) -> str:
        parts = [self._print(v) if c is true else f"{self._print(v)} if {self._print(c)}" for v, c in e.args]
        return "(" + ", otherwise ".join(parts) + ")"

    def _print_Symbol(self, s: Any) -> str:
        return re.sub(r"prime", "′", s.name) if s.name.endswith("prime") and len(s.name) > 5 else s.name


def text(expr: Any) -> str:
    """``floor((H - K + 2*P)/S) + 1`` as a course writes it: ``⌊(H − K + 2P)/S⌋ + 1``."""
    s = _Course().doprint(expr)
    s = re.sub(r"\*\*(\d+)", lambda m: m.group(1).translate(_SUPERSCRIPT), s)
    s = s.replace("**", "^")
    s = re.sub(r"(?<![\w.])(\d+)\*(?=[A-Za-z(⌊⌈])", r"\1", s)  # 2*P -> 2P, 2*(K - 1) -> 2(K - 1)
    s = re.sub(r"(?<![\w′])([A-Za-z]′?)\*\(", r"\1(", s)  # D*(K - 1) -> D(K - 1), one-letter names only
    s = s.replace("*", "·").replace(" - ", " − ")
    return re.sub(r"(^|[(⌊⌈, ])-", r"\1−", s)


def together(e: Any) -> Any:
    """(H − 1)/2 rather than H/2 − 1/2 inside a floor, when that is no longer."""
    t = sp_together(e)
    return t if len(str(t)) <= len(str(e)) + 2 else e


class _Latex(LatexPrinter):  # type: ignore[misc]
    def _print_floor(self, e: Any, exp: Any = None) -> str:
        tex = rf"\left\lfloor{{{self._print(together(e.args[0]))}}}\right\rfloor"
        return f"{tex}^{{{exp}}}" if exp else tex

    def _print_ceiling(self, e: Any, exp: Any = None) -> str:
        tex = rf"\left\lceil{{{self._print(together(e.args[0]))}}}\right\rceil"
        return f"{tex}^{{{exp}}}" if exp else tex

    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Any]:
        return _course_order(super()._as_ordered_terms(expr, order))

    def _print_Mod(self, e: Any, exp: Any = None) -> str:
        a, b = (self._print(x) for x in e.args)
        a = rf"\left({a}\right)" if isinstance(e.args[0], Add) else a
        return rf"{a} \bmod {b}"


def latex(expr: Any) -> str:
    """SymPy's LaTeX of ``expr`` (H′ is ``{H}'``, floors ``\\left\\lfloor ... \\right\\rfloor``)."""
    return str(_Latex().doprint(expr))


def sympy_syntax(expr: Any) -> str:
    """``expr`` in SymPy's syntax (JSON): ``floor((H - K + 2*P)/S) + 1``."""
    return str(expr)


def is_mod(expr: Any) -> bool:
    return isinstance(expr, Mod)
