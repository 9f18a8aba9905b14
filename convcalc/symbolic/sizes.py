"""Output sizes in letters: the size along one axis, simplified only as far as it is true.

The formulas are ``convcalc.formulas``' own (each written once), applied to SymPy
expressions. A conv's or pool's size ⌊A/S⌋ + 1 (A = I + 2P − D(K − 1) − 1) keeps its floor
unless SymPy proves it exact under the letters' assumptions; otherwise the condition that
makes it exact ("S divides A") is part of the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from convcalc import formulas
from convcalc.errors import ConvcalcError
from convcalc.symbolic import printing


@dataclass(frozen=True)
class Axis:
    """One axis's settings as SymPy expressions (numbers are SymPy Integers)."""

    i: Any
    k: Any
    s: Any
    p: Any
    d: Any
    q: Any  # output padding (transposed only)


@dataclass(frozen=True)
class Condition:
    """Something that must hold, printed three ways (and kept as SymPy for substitution)."""

    text: str
    tex: str
    sympy: str
    expr: Any  # a SymPy relational, or Eq(Mod(a, b), 0) for "b divides a"


@dataclass(frozen=True)
class AxisSize:
    """``value``: PyTorch's size; ``exact``: the floor-free form; ``tiles``: True (the floor is
    provably exact), False (never), None (exactly when ``when`` holds)."""

    value: Any
    exact: Any
    tiles: bool | None
    when: Condition | None
    requires: tuple[Condition, ...]


def divides(divisor: Any, dividend: Any) -> Condition:
    """'S divides A', as the condition Mod(A, S) = 0."""
    shown = printing.together(dividend)
    return Condition(f"{printing.text(divisor)} divides {printing.text(shown)}",
                     rf"{printing.latex(divisor)} \mid {printing.latex(shown)}",
                     str(sp.Eq(sp.Mod(dividend, divisor), 0, evaluate=False)), sp.Eq(sp.Mod(dividend, divisor), 0))


def relation(rel: Any) -> Condition:
    return Condition(_rel_text(rel), printing.latex(rel), str(rel), rel)


def equal(a: Any, b: Any) -> Condition:
    return relation(sp.Eq(a, b, evaluate=False))


def _rel_text(rel: Any) -> str:
    ops = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
    return f"{printing.text(rel.lhs)} {ops[rel.rel_op]} {printing.text(rel.rhs)}"


def dividend(ax: Axis) -> Any:
    """A in ⌊A/S⌋ + 1: the padded input less the kernel's span."""
    return ax.i + 2 * ax.p - formulas.effective_kernel(ax.k, ax.d)


def axis_size(kind: str, ax: Axis) -> AxisSize:
    """The output size along one axis of a conv, pool, pool with ceil_mode or transposed conv."""
    if kind == "transposed":
        value = formulas.transposed_size(ax.i, ax.k, ax.s, ax.p, ax.d, ax.q)
        requires = _require(sp.Lt(ax.q, sp.Max(ax.s, ax.d)), "--output-padding",
                            "the output padding must be smaller than the stride or the dilation (PyTorch)")
        requires += _require(sp.Ge(value, 1), "--input-size", "the output would be empty")
        return AxisSize(value, value, True, None, requires)
    a = dividend(ax)
    exact = a / ax.s + 1
    value = rounded(sp.ceiling if kind == "pool_ceil" else sp.floor, a, ax.s) + 1
    requires = _require(sp.Ge(a, 0), "--kernel-size", "the kernel span D(K − 1) + 1 exceeds the padded input")
    if kind in ("pool", "pool_ceil"):
        requires += _require(sp.Le(2 * ax.p, ax.k), "--padding", "pooling padding must be at most half the kernel "
                             "size (PyTorch)")
    if kind == "pool_ceil":
        last = (value - 1) * ax.s
        requires += _require(sp.Lt(last, ax.i + ax.p), "--ceil-mode", "ceil_mode drops the last window here")
    remainder = sp.Mod(a, ax.s)
    tiles: bool | None = True if remainder == 0 or (a / ax.s).is_integer else (
        False if remainder.is_number or (a / ax.s).is_integer is False else None)
    if tiles and kind != "pool_ceil":
        value = min((exact, sp.expand(exact), sp.powsimp(sp.expand(exact))), key=sp.count_ops)
    return AxisSize(value, exact, tiles, divides(ax.s, a) if tiles is None else None, requires)


def rounded(fn: Any, a: Any, s: Any) -> Any:
    """``fn(a/s)`` (fn floor or ceiling), with a floor of a floor composed into one:
    ⌊(⌊u/m⌋ + c)/s⌋ = ⌊(u + c·m)/(m·s)⌋ for whole u and c and positive whole m and s (and
    the same for ceilings; ⌊u/m⌋ = ⌈(u − m + 1)/m⌉ turns one into the other). A chain of
    strided layers in letters then stays one floor deep instead of nesting a floor per layer,
    whose printing and simplifying grows with the depth (40 strided convs took minutes)."""
    inner = [t for t in sp.Add.make_args(a) if isinstance(t, sp.floor | sp.ceiling)]
    if len(inner) == 1 and s.is_Integer and s > 0:
        c = a - inner[0]
        u, m = inner[0].args[0].as_numer_denom()
        if c.is_Integer and m.is_Integer and m > 0 and u.is_integer:
            if isinstance(inner[0], sp.floor) and fn is sp.ceiling:
                u = u - m + 1
            elif isinstance(inner[0], sp.ceiling) and fn is sp.floor:
                u = u + m - 1
            return fn(sp.expand(u + c * m) / (m * s))
    return fn(a / s)


def _require(rel: Any, flag: str, message: str) -> tuple[Condition, ...]:
    """A requirement: refused when SymPy proves it false, stated when it cannot decide."""
    if rel is sp.true:
        return ()
    if rel is sp.false:
        raise ConvcalcError(message, flag)
    return (relation(rel),)


def settings_requirements(values: dict[str, Any], domains: dict[str, str]) -> tuple[Condition, ...]:
    """Each setting must be a whole number (≥ 1 for sizes, ≥ 0 for paddings): refused when it
    provably is not, stated as a condition when it depends on the letters."""
    out: list[Condition] = []
    for key, expr in values.items():
        flag = key[0] if isinstance(key, tuple) else key
        if expr.is_integer is False and not expr.free_symbols:
            raise ConvcalcError(f"must be a whole number, got {printing.text(expr)}", flag)
        if expr.is_integer is None:
            out.append(Condition(f"{printing.text(expr)} is a whole number", rf"{printing.latex(expr)} \in \mathbb{{Z}}",
                                 f"Eq(Mod({expr}, 1), 0)", sp.Eq(sp.Mod(expr, 1), 0)))
        low = 0 if domains[key] == "nonneg_int" else 1
        out += _require(sp.Ge(expr, low), flag, f"must be at least {low}, got {printing.text(expr)}")
    return tuple(out)
