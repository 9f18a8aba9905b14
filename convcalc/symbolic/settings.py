"""Several flags' expressions read together, so that a letter is one Symbol throughout.

Each flag has its domain (a size is a positive integer, a padding a non-negative one), and a
letter may appear under several flags (``--kernel-size K --padding (K-1)/2``). A letter is a
positive integer unless it stands alone where a padding goes (``--padding P``): then P ≥ 0.
"""

from __future__ import annotations

from typing import Any

from convcalc.symbolic.parse import parse_expr, symbol


def parse_settings(items: dict[Any, tuple[str, str, str]]) -> dict[Any, Any]:
    """``{key: (text, domain, where)}`` -> ``{key: expression}``, one Symbol per letter."""
    parsed = {key: parse_expr(text, domain=domain, where=where) for key, (text, domain, where) in items.items()}
    return unify(parsed, {key: domain for key, (_, domain, _) in items.items()})


def unify(parsed: dict[Any, Any], domains: dict[Any, str]) -> dict[Any, Any]:
    """Give each letter one domain: that of a flag it stands alone in, else positive_int."""
    chosen: dict[str, str] = {}
    for flag, expr in parsed.items():
        if expr.is_Symbol:
            base = domains.get(flag, "positive_int")
            if chosen.get(expr.name) != "positive_int":
                chosen[expr.name] = "positive_int" if base == "real" else base
    mapping = {}
    for expr in parsed.values():
        for s in expr.free_symbols:
            mapping[s] = symbol(s.name, chosen.get(s.name, "positive_int"))
    return {flag: expr.xreplace(mapping) for flag, expr in parsed.items()}


def letters(*exprs: Any) -> dict[str, Any]:
    """Every letter in ``exprs``, by name."""
    out: dict[str, Any] = {}
    for e in exprs:
        for s in getattr(e, "free_symbols", ()):
            out[s.name] = s
    return out


def split_pair(text: str) -> list[str]:
    """``"h,w"`` at the top level (``max(a, b)`` keeps its comma)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def adopt(expr: Any, known: Any) -> Any:
    """``expr`` with each letter replaced by the known Symbol of the same name (its assumptions)."""
    by_name = {s.name: s for s in known}
    return expr.xreplace({s: by_name[s.name] for s in expr.free_symbols if s.name in by_name})
