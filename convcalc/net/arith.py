"""Arithmetic on literals in a network spec (``nn.Linear(8 * 24, 8)``, ``ngf * 8``), bounded.

The expression is an ``ast`` node already parsed; it is walked here, never compiled or
evaluated by Python. Allowed: numbers, strings, True/False/None, tuples and lists of those,
``+ - * / // % **`` and signs, and names bound in ``env`` (values the source assigned).
Every intermediate integer is kept below ``MAX_ABS`` and an exponent below ``MAX_EXP``, so a
hostile ``9**9**9`` is refused before it is computed.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from convcalc.errors import ConvcalcError

MAX_ABS = 10**18  # any integer a layer setting could need is far below this
MAX_EXP = 64
MAX_STR = 100

_BINOPS: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow),
}


def _err(message: str, node: ast.AST) -> ConvcalcError:
    line = getattr(node, "lineno", None)
    return ConvcalcError(message, f"line {line}" if line else "network spec")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _bounded(v: Any, node: ast.AST) -> Any:
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_ABS:
        raise _err(f"an intermediate value has {len(str(abs(v)))} digits; the limit is 10^18", node)
    if isinstance(v, float) and not math.isfinite(v):
        raise _err("the arithmetic gives a number that is not finite", node)
    return v


def binop_values(node: ast.BinOp, left: Any, right: Any) -> Any:
    kind = type(node.op)
    if kind not in _BINOPS:
        raise _err(f"the operator {type(node.op).__name__} is not allowed (only + - * / // % **)", node)
    symbol, fn = _BINOPS[kind]
    if isinstance(left, tuple) and isinstance(right, tuple) and kind is ast.Add:
        return left + right
    if isinstance(left, str) or isinstance(right, str) or not (_number(left) and _number(right)):
        raise _err(f"'{symbol}' needs two numbers, got {type(left).__name__} and {type(right).__name__}", node)
    if kind in (ast.Div, ast.FloorDiv, ast.Mod) and right == 0:
        raise _err("division by zero", node)
    if kind is ast.Pow:
        if not isinstance(right, int) or right < 0 or right > MAX_EXP:
            raise _err(f"an exponent must be an integer from 0 to {MAX_EXP}", node)
        if abs(left) > 1 and right * math.log2(abs(left)) > 62:
            raise _err("the power is too large (limit 10^18)", node)
    return _bounded(fn(left, right), node)


def evaluate(node: ast.AST, env: Mapping[str, Any] | None = None) -> Any:
    """The value of a literal expression; names are looked up in ``env`` (nothing else is)."""
    env = env or {}
    if isinstance(node, ast.Constant):
        v = node.value
        if v is None or isinstance(v, (bool, int, float)):
            return _bounded(v, node)
        if isinstance(v, str):
            if len(v) > MAX_STR:
                raise _err(f"a string of {len(v)} characters is too long (limit {MAX_STR})", node)
            return v
        raise _err(f"a {type(v).__name__} constant is not allowed", node)
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(evaluate(e, env) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        v = evaluate(node.operand, env)
        if isinstance(node.op, (ast.USub, ast.UAdd)) and _number(v):
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node.op, ast.Not) and isinstance(v, bool):
            return not v
        raise _err("a sign is allowed only before a number", node)
    if isinstance(node, ast.BinOp):
        return binop_values(node, evaluate(node.left, env), evaluate(node.right, env))
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        raise _err(f"the name '{node.id[:40]}' is not bound to a number here", node)
    raise _err(f"{type(node).__name__} is not allowed in a layer argument", node)
