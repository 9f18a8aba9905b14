"""The notation of normalization's worked steps: index letters, the equations in symbols,
and numbers written for text and for LaTeX (a std that is irrational stays √(…))."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcalc.core.norm import NormPlan
from convcalc.numbers import fmt, normalize

LAYOUTS = {2: ("N", "F"), 3: ("N", "C", "L"), 4: ("N", "C", "H", "W"), 5: ("N", "C", "D", "H", "W")}
ALIASES = {"B": "N"}  # the course writes B for the batch


@dataclass(frozen=True)
class Notation:
    """Letters for one plan: x's axes, the view's axes (group norm splits C into g and c ∈ g)."""

    plan: NormPlan
    names: tuple[str, ...]  # x's axis names, e.g. ("N", "C", "H", "W")

    @property
    def view_letters(self) -> tuple[str, ...]:
        low = tuple(n.lower() for n in self.names)
        return (low[0], "g", "c", *low[2:]) if self.plan.kind == "group" else low

    @property
    def view_sizes(self) -> tuple[str, ...]:
        return (self.names[0], "G", "(C/G)", *self.names[2:]) if self.plan.kind == "group" else self.names

    def stat_sub(self) -> str:
        """Subscript of a statistic: the letters of the axes kept (``c`` for BatchNorm2d)."""
        return ",".join(v for i, v in enumerate(self.view_letters) if i not in self.plan.axes)

    def param_sub(self) -> str:
        return ",".join(self.names[a].lower() for a in self.plan.param_axes)

    def running_sub(self) -> str:
        kept = [v for i, v in enumerate(self.view_letters) if i not in self.plan.axes]
        return ",".join(kept if self.plan.batch_reduced else kept[1:])

    def elem(self) -> str:
        return ",".join(n.lower() for n in self.names)

    def sum_sub(self, tex: bool) -> str:
        letters = [v for i, v in enumerate(self.view_letters) if i in self.plan.axes]
        inside = r" \in " if tex else "∈"
        return ",".join(f"c{inside}g" if self.plan.kind == "group" and v == "c" else v for v in letters)

    def reduced_x_axes(self) -> tuple[int, ...]:
        """The axes of x a statistic runs over (group norm: C, within the group, and *S)."""
        return tuple(range(1, len(self.names))) if self.plan.kind == "group" else self.plan.axes

    def elem_primed(self) -> str:
        """x's index with the summed letters primed: ``n',c,h',w'`` (the free n,h,w stay apart)."""
        red = self.reduced_x_axes()
        return ",".join(n.lower() + ("'" if i in red else "") for i, n in enumerate(self.names))

    def sum_primed(self, tex: bool) -> str:
        inside = r" \in " if tex else "∈"
        return ",".join(f"c'{inside}g" if self.plan.kind == "group" and i == 1 else self.names[i].lower() + "'"
                        for i in self.reduced_x_axes())

    def count_symbol(self) -> str:
        return "".join(s for i, s in enumerate(self.view_sizes) if i in self.plan.axes)

    def count_numbers(self) -> str:
        parts = [f"{self.plan.shape[1]}/{self.plan.groups}" if s == "(C/G)" else str(self.plan.view[i])
                 for i, s in enumerate(self.view_sizes) if i in self.plan.axes]
        return "·".join(parts)

    def over_text(self) -> str:
        """The reduced axes of x, e.g. ``N,H,W`` (group norm: ``C/G,H,W`` within a group)."""
        return ",".join(s.strip("()") for i, s in enumerate(self.view_sizes) if i in self.plan.axes)


def sub(symbol: str, s: str, tex: bool) -> str:
    if not s:
        return symbol
    return f"{symbol}_{{{s}}}" if tex else f"{symbol}_{s}" if len(s) == 1 else f"{symbol}_{{{s}}}"


def symbol_equations(nt: Notation, training: bool, affine: bool, running: bool) -> list[tuple[str, str]]:
    """(text, tex) of each equation in symbols, as the course writes them."""
    s, e, p = nt.stat_sub(), nt.elem(), nt.param_sub()
    m_x = nt.count_symbol()
    m_t = m_x if len(m_x) == 1 else f"({m_x})"
    sum_t, sum_x = nt.sum_sub(False), nt.sum_sub(True)
    x_t, x_x = sub("x", e, False), sub("x", e, True)
    mu_t, mu_x = sub("μ", s, False), sub(r"\mu", s, True)
    v_t, v_x = sub("σ²", s, False), sub(r"\sigma^2", s, True)
    out: list[tuple[str, str]] = []
    if training:
        out.append((f"{mu_t} = 1/{m_t} · Σ_{{{sum_t}}} {x_t}",
                    rf"{mu_x} = \frac{{1}}{{{m_x}}} \sum_{{{sum_x}}} {x_x}"))
        out.append((f"{v_t} = 1/{m_t} · Σ_{{{sum_t}}} ({x_t} − {mu_t})²",
                    rf"{v_x} = \frac{{1}}{{{m_x}}} \sum_{{{sum_x}}} \left({x_x} - {mu_x}\right)^2"))
        u_t, u_x = sub("s²", s, False), sub("s^2", s, True)
        out.append((f"{u_t} = 1/({m_x} − 1) · Σ_{{{sum_t}}} ({x_t} − {mu_t})²   (unbiased: the running estimate's)",
                    rf"{u_x} = \frac{{1}}{{{m_x} - 1}} \sum_{{{sum_x}}} \left({x_x} - {mu_x}\right)^2"
                    r" \quad \text{(unbiased)}"))
    else:
        r = nt.running_sub()
        mu_t, mu_x = sub("μ̂", r, False), sub(r"\hat{\mu}", r, True)
        v_t, v_x = sub("σ̂²", r, False), sub(r"\hat{\sigma}^2", r, True)
    xh_t, xh_x = sub("x̂", e, False), sub(r"\hat{x}", e, True)
    out.append((f"{xh_t} = ({x_t} − {mu_t}) / √({v_t} + ε)",
                rf"{xh_x} = \frac{{{x_x} - {mu_x}}}{{\sqrt{{{v_x} + \epsilon}}}}"))
    if affine:
        out.append((f"{sub('y', e, False)} = {sub('γ', p, False)} · {xh_t} + {sub('β', p, False)}",
                    rf"{sub('y', e, True)} = {sub(chr(92) + 'gamma', p, True)}\, {xh_x} + "
                    rf"{sub(chr(92) + 'beta', p, True)}"))
    if training and running:
        r = nt.running_sub()
        avg_t = "" if nt.plan.batch_reduced else "(1/N) Σ_n "
        avg_x = "" if nt.plan.batch_reduced else r"\frac{1}{N} \sum_{n} "
        u_t, u_x = sub("s²", s, False), sub("s^2", s, True)
        out.append((f"{sub('μ̂', r, False)} ← (1 − m) · {sub('μ̂', r, False)} + m · {avg_t}{mu_t}",
                    rf"{sub(chr(92) + 'hat{' + chr(92) + 'mu}', r, True)} \leftarrow (1 - m)\,"
                    rf"{sub(chr(92) + 'hat{' + chr(92) + 'mu}', r, True)} + m\, {avg_x}{mu_x}"))
        out.append((f"{sub('σ̂²', r, False)} ← (1 − m) · {sub('σ̂²', r, False)} + m · {avg_t}{u_t}",
                    rf"{sub(chr(92) + 'hat{' + chr(92) + 'sigma}^2', r, True)} \leftarrow (1 - m)\,"
                    rf"{sub(chr(92) + 'hat{' + chr(92) + 'sigma}^2', r, True)} + m\, {avg_x}{u_x}"))
    return out


def t(v: Any) -> str:
    """A number for text: exact as p/q, a float to 7 significant digits."""
    n = normalize(v)
    if isinstance(n, float):
        return fmt(n) if not math.isfinite(n) else format(n, ".7g")
    return fmt(n)


def td(v: Any) -> str:
    """A final value for text: p/q with its decimal beside it."""
    n = normalize(v)
    return f"{fmt(n)} ({format(float(n), '.7g')})" if isinstance(n, Fraction) else t(n)


def x(v: Any, wrap: bool = False) -> str:
    """A number for LaTeX: \\frac{p}{q}, or a float to 6 significant digits."""
    n = normalize(v)
    if isinstance(n, Fraction):
        s = ("-" if n < 0 else "") + rf"\frac{{{abs(n.numerator)}}}{{{n.denominator}}}"
    else:
        s = t(n)
        if "e" in s and math.isfinite(float(n)):
            mant, exp = s.split("e")
            s = rf"{mant} \times 10^{{{int(exp)}}}"
    return f"\\left({s}\\right)" if wrap and n < 0 else s


def tw(v: Any) -> str:
    """A number for text, in parentheses when negative."""
    s = t(v)
    return f"({s})" if s.startswith("-") else s


def index_text(idx: tuple[int, ...], base: int) -> str:
    return ",".join(str(i + base) for i in idx)
