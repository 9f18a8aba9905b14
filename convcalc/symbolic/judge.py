"""Judging an answer given in letters: SymPy equivalence under the letters' assumptions.

A claim is right when it equals the computed formula for every value of the letters (that
meets the stated conditions). SymPy's ``simplify`` proves it when it can; otherwise the two
are compared at random whole-number values: one disagreement is a counterexample (shown), and
agreement at every one of them is said as what it is.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import sympy as sp

from convcalc.errors import ConvcalcError
from convcalc.symbolic import evaluate, printing
from convcalc.symbolic.parse import parse_expr, symbol
from convcalc.symbolic.settings import adopt, split_pair

Verdict = tuple[str, str]  # (sentence, tone: ok or error)

SAMPLES = 60
HIGH = 40  # letters range over 1..HIGH (0..HIGH for paddings)


def read_claim(text: str, known: Iterable[Any], where: str = "--answer") -> Any:
    """The claim as SymPy, its letters made the computed formula's own (same assumptions)."""
    known = list(known)
    names = {s.name.replace("prime", "'") for s in known}
    return adopt(parse_expr(text, domain="positive_int", where=where, letters=names, space_multiplies=True), known)


def _sample(symbols: Sequence[Any], rng: random.Random) -> dict[Any, Any]:
    env = {}
    high = rng.choice((3, 6, HIGH))  # small values find the edge cases (S = 1, D > S, ...)
    for s in symbols:
        if s.is_integer:
            env[s] = rng.randint(0 if s.is_positive is not True else 1, high)
        else:
            env[s] = Fraction(rng.randint(-60, 60), rng.randint(1, 6))
    return env


def holds(conditions: Iterable[Any], env: dict[Any, Any]) -> bool:
    try:
        return all(evaluate.value(c, env) is True for c in conditions)
    except (ZeroDivisionError, KeyError):
        return False


def _at(expr: Any, env: dict[Any, Any]) -> Any:
    try:
        return evaluate.value(expr, env)
    except (ZeroDivisionError, TypeError):
        return None


def equivalent(claim: Any, computed: Any, conditions: Iterable[Any] = ()) -> tuple[bool | None, dict[Any, Any]]:
    """(True, {}) proven equal; (False, counterexample); (None, {}) equal at every sample, unproven."""
    conditions = list(conditions)
    diff = sp.expand(claim - computed)
    if diff == 0:
        return True, {}
    if not diff.has(sp.floor, sp.ceiling, sp.Mod, sp.Max, sp.Min) and sp.count_ops(diff) < 80:
        try:
            if sp.simplify(diff) == 0:
                return True, {}
        except (TypeError, ValueError, RecursionError):
            pass
    symbols = sorted(claim.free_symbols | computed.free_symbols, key=lambda s: s.name)
    rng = random.Random(13)
    tried = 0
    for _ in range(SAMPLES * 5):
        env = _sample(symbols, rng)
        if not holds(conditions, env):
            continue
        a, b = _at(claim, env), _at(computed, env)
        if a is None or b is None:
            continue
        tried += 1
        if a != b:
            return False, env
        if tried >= SAMPLES:
            break
    if not tried and conditions:  # no sample met the conditions: compare without them
        return equivalent(claim, computed)
    return (None, {}) if tried else (False, {})


def _where(env: dict[Any, Any]) -> str:
    return ", ".join(f"{printing.text(s)} = {v}" for s, v in sorted(env.items(), key=lambda kv: kv[0].name))


def judge_size(answer: str, values: list[Any], exacts: list[Any], whens: list[Any], tiles: list[bool | None],
               requires: Sequence[Any]) -> tuple[bool, list[Verdict]]:
    """An output size claimed in letters (one formula, or ``h,w``), judged per axis."""
    if answer.strip().lower() == "invalid":
        ok = False in tiles
        return ok, [(f"claimed: invalid — {'right' if ok else 'wrong'}: the setting "
                     f"{'never tiles exactly' if ok else 'tiles exactly for some values of the letters'}",
                     "ok" if ok else "error")]
    parts = split_pair(answer)
    if len(parts) == 1:
        parts = parts * len(values)
    if len(values) == 1 and len(parts) > 1:
        values, exacts, whens, tiles = (x * len(parts) for x in (values, exacts, whens, tiles))
    if len(parts) != len(values):
        raise ConvcalcError(f"expected {len(values)} sizes, got {answer!r}", "--answer")
    conds = [c.expr for c in requires]
    lines: list[Verdict] = []
    all_ok = True
    for part, value, exact, when, tile in zip(parts, values, exacts, whens, tiles, strict=True):
        known = value.free_symbols | exact.free_symbols | {s for c in conds for s in c.free_symbols}
        claim = read_claim(part, known)
        ok, line = _judge_one(part.strip(), claim, value, exact, when, tile, conds)
        all_ok &= ok
        lines.append(line)
    return all_ok, lines


def _judge_one(typed: str, claim: Any, value: Any, exact: Any, when: Any, tile: bool | None,
               conds: list[Any]) -> tuple[bool, Verdict]:
    same, env = equivalent(claim, value, conds)
    if same is not False:
        how = "" if same else f" (they agree at {SAMPLES} random values of the letters; SymPy could not prove it)"
        return True, (f"right: your {typed} equals {printing.text(value)}{how}", "ok")
    if tile is None and when is not None:
        same_exact, _ = equivalent(claim, exact, [*conds, when.expr])
        if same_exact is not False:
            return True, (f"right: your {typed} equals the floor-free form {printing.text(exact)} when "
                              f"{when.text} (otherwise PyTorch floors it to {printing.text(value)})", "ok")
    elif tile is False and equivalent(claim, exact, conds)[0] is not False:
        return False, (f"wrong: your {typed} is the floor-free form, which is never a whole number here; "
                           f"PyTorch gives {printing.text(value)}", "error")
    where = f": at {_where(env)} yours is {_at(claim, env)}, the size is {_at(value, env)}" if env else ""
    return False, (f"wrong: your {typed} differs from {printing.text(value)}{where}", "error")


def symbols_named(names: Iterable[str], domain: str = "positive_int") -> list[Any]:
    return [symbol(n, domain) for n in names]
