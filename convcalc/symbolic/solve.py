"""Solving a size formula for a setting, in letters, with the side conditions PyTorch imposes.

The equation is the one size formula (``convcalc.formulas``) set equal to the target; SymPy
solves it for the exact-tiling value. Because PyTorch floors a conv's or pool's size, a whole
range of values gives the target: T − 1 ≤ A/S < T, i.e. (T − 1)S ≤ A ≤ TS − 1 with A the
padded input less the kernel span. A is affine in P and K, so the range is read off its
coefficient; for the stride it is (A + 1)/T ≤ S ≤ A/(T − 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from convcalc import formulas
from convcalc.errors import ConvcalcError
from convcalc.symbolic.parse import symbol
from convcalc.symbolic.sizes import Axis, Condition, dividend, relation

UNKNOWNS = {"padding": ("p", "P", "nonneg_int"), "stride": ("s", "S", "positive_int"),
            "kernel-size": ("k", "K", "positive_int"), "output-padding": ("q", "P'", "nonneg_int")}


@dataclass(frozen=True)
class Solved:
    """``x`` solved from ``equation``: the exact-tiling value, PyTorch's whole range (conv and
    pool: every value in [low, high] floors to the target), and what must hold besides."""

    x: Any
    equation: Any  # Eq(size(x), target)
    exact: Any | None  # None: no solution
    low: Any | None
    high: Any | None
    conditions: tuple[Condition, ...]
    shown: tuple[str, str] | None = None  # the solution as worked: T − (rest) for an output padding
    closed_form: Any | None = None  # output padding: (T + 2P − D(K − 1) − 1) mod S
    undoes: Any | None = None  # ... valid when the input is this conv output of the target


def unknown_symbol(unknown: str, taken: set[str]) -> Any:
    _, name, domain = UNKNOWNS[unknown]
    while name.replace("'", "prime") in taken:
        name += "'"
    return symbol(name, domain)


def solve_axis(kind: str, ax: Axis, unknown: str, target: Any) -> Solved:
    """Solve the size of ``kind`` along ``ax`` = ``target`` for the setting ``unknown``."""
    if unknown not in UNKNOWNS:
        raise ConvcalcError(f"expected one of {', '.join(UNKNOWNS)}, got {unknown!r}", "--solve")
    if unknown == "output-padding" and kind != "transposed":
        raise ConvcalcError("output-padding exists only with --transposed", "--solve")
    field, _, _ = UNKNOWNS[unknown]
    taken = {s.name for v in (ax.i, ax.k, ax.s, ax.p, ax.d, ax.q, target) for s in v.free_symbols}
    x = unknown_symbol(unknown, taken)
    ax = Axis(**{**ax.__dict__, field: x})
    if kind == "transposed":
        size = formulas.transposed_size(ax.i, ax.k, ax.s, ax.p, ax.d, ax.q)
    else:
        size = dividend(ax) / ax.s + 1
    equation = sp.Eq(size, target, evaluate=False)
    roots = _roots(size, target, x)
    exact = _shortest(roots[0]) if roots else None
    conditions = list(_side(kind, ax, x, unknown))
    low = high = None
    if kind in ("conv", "pool"):
        low, high = _floor_range(ax, x, unknown, target)
        low = sp.Max(low, 0 if unknown == "padding" else 1)
        if kind == "pool" and unknown == "padding":
            high = sp.Min(high, sp.floor(ax.k / 2))
        if kind == "pool" and unknown == "kernel-size":
            low = sp.Max(low, 2 * ax.p)
    if exact is not None:
        den = sp.fraction(sp.together(roots[0]))[1]
        if den.is_zero is None:  # e.g. a transposed conv's stride with one input pixel: any S
            conditions.append(relation(sp.Ne(den, 0)))
    if exact is not None and exact.is_integer is None:
        conditions.append(Condition(f"{_t(exact)} is a whole number", rf"{_l(exact)} \in \mathbb{{Z}}",
                                    f"Eq(Mod({exact}, 1), 0)", sp.Eq(sp.Mod(exact, 1), 0)))
    closed = undoes = None
    shown = None
    if unknown == "output-padding":
        a = target + 2 * ax.p - formulas.effective_kernel(ax.k, ax.d)  # the conv's own A on the target
        closed, undoes = sp.Mod(a, ax.s, evaluate=False), sp.floor(a / ax.s) + 1
        rest = size.subs(x, 0)  # size = rest + P′
        shown = (f"{_t(target)} − ({_t(rest)})", rf"{_l(target)} - \left({_l(rest)}\right)")
    return Solved(x, equation, exact, low, high, tuple(c for c in conditions if c.expr is not sp.true),
                  shown if unknown == "output-padding" else None, closed, undoes)


def _shortest(root: Any) -> Any:
    """The root in its shortest of a few equal forms (ties: the first, closest to the formula)."""
    flat = sp.together(sp.expand(root))
    return min((sp.factor_terms(root), flat, sp.factor_terms(flat)), key=sp.count_ops)


def _roots(size: Any, target: Any, x: Any) -> list[Any]:
    """The size is affine in every setting but a conv's stride, where it is A/S + 1: solved by
    hand (SymPy's ``solve`` takes half a second to find the same)."""
    slope = sp.diff(size, x)
    if slope.is_zero:
        return []
    if not sp.diff(slope, x).is_zero:  # A/x + 1 = T
        a = sp.cancel((size - 1) * x)
        return [] if a.has(x) else [a / (target - 1)]
    return [(target - size.subs(x, 0)) / slope]


def _side(kind: str, ax: Axis, x: Any, unknown: str) -> list[Condition]:
    """PyTorch's own limits on the unknown (the others were checked when read)."""
    out = [sp.Ge(x, 0 if unknown in ("padding", "output-padding") else 1, evaluate=False)]
    if kind == "transposed" and sp.Lt(ax.q, sp.Max(ax.s, ax.d)) is not sp.true:
        out.append(sp.Lt(ax.q, sp.Max(ax.s, ax.d), evaluate=False))
    if kind.startswith("pool") and sp.Le(2 * ax.p, ax.k) is not sp.true:
        out.append(sp.Le(2 * ax.p, ax.k, evaluate=False))
    if kind != "transposed" and unknown == "stride" and sp.Ge(dividend(ax), 0) is not sp.true:
        out.append(sp.Ge(dividend(ax), 0))  # the kernel must fit, whatever the stride
    return [relation(r) for r in out]


def _floor_range(ax: Axis, x: Any, unknown: str, target: Any) -> tuple[Any, Any]:
    """Every whole x with ⌊A/S⌋ + 1 = T lies in [low, high]: (T − 1)S ≤ A ≤ TS − 1."""
    a = dividend(ax)
    if unknown == "stride":
        if target == 1:
            return sp.ceiling((a + 1) / target), sp.oo
        high = sp.floor(a / (target - 1))
        if (target - 1).is_zero is not False:  # a target of 1 takes every stride past the span
            high = sp.Piecewise((sp.oo, sp.Eq(target, 1)), (high, True))
        return sp.ceiling((a + 1) / target), high
    alpha, beta = sp.diff(a, x), a.subs(x, 0)
    lo, hi = ((target - 1) * ax.s - beta) / alpha, (target * ax.s - 1 - beta) / alpha
    if alpha.is_negative:
        lo, hi = hi, lo
    elif not alpha.is_positive:
        raise ConvcalcError("cannot tell the sign of the coefficient of the unknown", "--solve")
    return sp.ceiling(lo), sp.floor(hi)


def _t(e: Any) -> str:
    from convcalc.symbolic.printing import text

    return text(e)


def _l(e: Any) -> str:
    from convcalc.symbolic.printing import latex

    return latex(e)
