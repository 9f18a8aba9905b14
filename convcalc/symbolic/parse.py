"""Read what a user typed (``2n+1``, ``(K-1)/2``, ``2^k``, ``w11``) into SymPy objects, safely.

Nothing the user typed is evaluated, compiled or sympified. The text is checked *before*
any parser sees it (length, characters, bracket depth, number sizes), tokenized by convcalc,
with every name and number replaced by a placeholder, then parsed by Python's ``ast`` and
checked node by node against an allow-list; the SymPy expression is built from the checked
tree, one node at a time, with every power bounded so that nothing can make SymPy hang.

Implicit multiplication: ``2n``, ``2(K-1)``, ``(a+1)(b+1)``, ``n(K-1)`` multiply; a space
never does (``a b`` is two matrix entries, not a product), so it is refused here.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcalc.errors import ConvcalcError

if TYPE_CHECKING:
    import sympy

MAX_CHARS = 400
MAX_TOKENS = 200
MAX_DEPTH = 20  # nested brackets
MAX_DIGITS = 30  # in one number
MAX_NAME = 30  # characters in one letter's name
MAX_EXPONENT = 16  # a power of a letter: n^16 at most
MAX_POWER_BITS = 512  # a power of a number: at most this many bits (2^512)
# Powers of powers multiply: ((H^9 + K)^9 + S)^9 is 15 characters but degree 729, and SymPy
# expands it inside Mod/gcd (minutes). Bounds on the degree and on the terms it expands to:
MAX_DEGREE = 32
MAX_TERMS = 500

DOMAINS = ("positive_int", "nonneg_int", "real")
FUNCTIONS = {"floor": "floor", "ceil": "ceiling", "ceiling": "ceiling", "min": "Min", "max": "Max"}

# Course notation typed or pasted: minus sign, centred dots, floor/ceiling brackets, primes.
_UNICODE = str.maketrans({
    "−": "-", "–": "-", "·": "*", "⋅": "*", "×": "*", "∗": "*", "÷": "/",
    "⌊": " floor(", "⌋": ")", "⌈": " ceil(", "⌉": ")", "′": "'", "’": "'",
    "²": "^2", "³": "^3", "⁴": "^4",
})  # fmt: skip
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d]\w*'*)
  | (?P<op>\*\*|//|[-+*/%^(),])
""", re.VERBOSE)
_OPERAND_END = ("num", "name", ")")
_OPERAND_START = ("num", "name", "(")


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "func", or the operator itself
    text: str
    spaced: bool  # whitespace came before it


def _fail(message: str, where: str) -> ConvcalcError:
    return ConvcalcError(message, where or "expression")


def _tokens(text: str, where: str) -> list[_Token]:
    out: list[_Token] = []
    pos, spaced = 0, False
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _fail(f"{text[pos]!r} is not allowed in an expression (at character {pos + 1}); "
                        "use numbers, letters, + - * / // % ^ and parentheses", where)
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "space":
            spaced = True
            continue
        word = m.group()
        if kind == "op":
            kind = word
        elif kind == "name" and word.lower() in FUNCTIONS:
            kind = "func"
        out.append(_Token(kind, word, spaced))
        spaced = False
    if len(out) > MAX_TOKENS:
        raise _fail(f"too long: {len(out)} tokens (the limit is {MAX_TOKENS})", where)
    return out


def _split(tokens: list[_Token], letters: Collection[str]) -> list[_Token]:
    """``CK`` as ``C K`` (a product) when C and K are known one-letter names and CK is not a name."""
    out = []
    for tok in tokens:
        parts = re.findall(r"[^\W\d_]'*", tok.text) if tok.kind == "name" and tok.text not in letters else []
        if len(parts) > 1 and "".join(parts) == tok.text and all(p in letters for p in parts):
            out += [_Token("name", p, tok.spaced and i == 0) for i, p in enumerate(parts)]
        else:
            out.append(tok)
    return out


def _python_text(tokens: list[_Token], where: str, space_multiplies: bool = False) -> tuple[str, dict[str, str]]:
    """The tokens as a Python expression of placeholders, implicit products made explicit."""
    parts: list[str] = []
    slots: dict[str, str] = {}
    depth = 0
    prev: _Token | None = None
    for tok in tokens:
        if prev is not None and prev.kind in _OPERAND_END and tok.kind in (*_OPERAND_START, "func"):
            if tok.spaced and not space_multiplies:
                raise _fail(f"a space does not multiply: write {prev.text}*{tok.text} for a product", where)
            if prev.kind == "num" and tok.kind == "num":
                raise _fail(f"cannot read the number {prev.text}{tok.text}", where)
            parts.append("*")
        if prev is not None and prev.kind == "func" and tok.kind != "(":
            raise _fail(f"{prev.text} needs parentheses: {prev.text}(...)", where)
        if tok.kind == "name" and (tok.text.startswith("_") or len(tok.text) > MAX_NAME):
            raise _fail(f"a letter's name starts with a letter and has at most {MAX_NAME} characters, "
                        f"got {tok.text[:40]!r}", where)
        if tok.kind in ("num", "name"):
            slot = f"_{'n' if tok.kind == 'num' else 'v'}{len(slots)}"
            slots[slot] = tok.text
            parts.append(slot)
        elif tok.kind == "func":
            parts.append(f"_f_{FUNCTIONS[tok.text.lower()]}")
        else:
            depth += tok.kind == "("
            depth -= tok.kind == ")"
            if depth > MAX_DEPTH:
                raise _fail(f"brackets nested deeper than {MAX_DEPTH}", where)
            parts.append("**" if tok.kind == "^" else tok.kind)
        prev = tok
    if prev is not None and prev.kind == "func":
        raise _fail(f"{prev.text} needs parentheses: {prev.text}(...)", where)
    return " ".join(parts), slots


@functools.cache
def symbol(name: str, domain: str = "positive_int") -> sympy.Symbol:
    """The one SymPy Symbol for ``name`` in ``domain`` (``H'`` is named ``Hprime``: SymPy
    prints it H′ and {H}' and reads the name back)."""
    import sympy

    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}")
    base = name.rstrip("'")
    name = base + "prime" * (len(name) - len(base))
    if domain == "positive_int":
        return sympy.Symbol(name, integer=True, positive=True)
    if domain == "nonneg_int":
        return sympy.Symbol(name, integer=True, nonnegative=True)
    return sympy.Symbol(name, real=True)


def _number(text: str, where: str) -> Any:
    import sympy

    mantissa, _, exponent = text.lower().partition("e")
    if len(mantissa.replace(".", "")) > MAX_DIGITS or (exponent and abs(int(exponent)) > MAX_DIGITS):
        raise _fail(f"the number {text[:40]} is too large (at most {MAX_DIGITS} digits)", where)
    return sympy.Rational(text)  # exact: 0.1 is 1/10


class _Builder:
    """Turns the checked tree into SymPy, node by node."""

    def __init__(self, slots: dict[str, str], domain: str, where: str) -> None:
        self.slots, self.domain, self.where = slots, domain, where

    def build(self, node: ast.AST) -> Any:
        import sympy

        if isinstance(node, ast.Name) and node.id in self.slots:
            text = self.slots[node.id]
            return _number(text, self.where) if node.id.startswith("_n") else symbol(text, self.domain)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.build(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return self._binary(node.op, self.build(node.left), self.build(node.right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("_f_"):
            name = node.func.id[3:]
            if node.keywords or not node.args or (name in ("floor", "ceiling") and len(node.args) != 1):
                raise _fail(f"{name} takes one argument" if name in ("floor", "ceiling")
                            else f"{name.lower()} takes one or more arguments", self.where)
            return getattr(sympy, name)(*(self.build(a) for a in node.args))
        raise _fail(f"{_describe(node)} is not allowed in an expression", self.where)

    def _binary(self, op: ast.operator, a: Any, b: Any) -> Any:
        import sympy

        if isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)) and b == 0:
            raise _fail("division by zero", self.where)
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            return a / b
        if isinstance(op, ast.FloorDiv):
            return sympy.floor(a / b)
        if isinstance(op, ast.Mod):
            return sympy.Mod(a, b)
        if isinstance(op, ast.Pow):
            return self._power(a, b)
        raise _fail(f"the operator {_describe(op)} is not allowed", self.where)

    def _power(self, base: Any, exponent: Any) -> Any:
        import sympy

        if exponent.is_Number:
            if not exponent.is_Integer:
                raise _fail(f"only whole-number powers are allowed, got ^{exponent}", self.where)
            if base.is_Number:
                size = max(abs(base.p).bit_length(), base.q.bit_length(), 1)
                bits = abs(int(exponent)) * size
                if bits > MAX_POWER_BITS:
                    raise _fail(f"the power {_short(base)}^{_short(exponent)} is too large "
                                f"(at most 2^{MAX_POWER_BITS})", self.where)
                if base == 0 and exponent < 0:
                    raise _fail("division by zero", self.where)
            elif abs(int(exponent)) > MAX_EXPONENT:
                raise _fail(f"the exponent {exponent} is too large (at most {MAX_EXPONENT})", self.where)
        elif any(p.exp.free_symbols for p in exponent.atoms(sympy.Pow)):
            raise _fail("a power of a power of a letter is too large to work with", self.where)
        return sympy.Pow(base, exponent)


def _short(number: Any) -> str:
    text = str(number)
    return text if len(text) <= 20 else f"{text[:8]}…({len(text)} digits)"


def _describe(node: ast.AST) -> str:
    names = {ast.Attribute: "attribute access (.)", ast.Subscript: "indexing", ast.Tuple: "a tuple (a comma)",
             ast.Call: "a function call", ast.Compare: "a comparison", ast.BitXor: "^",
             ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&"}
    return names.get(type(node), type(node).__name__)


def parse_expr(text: str, *, domain: str = "positive_int", where: str = "",
               letters: Collection[str] = (), space_multiplies: bool = False) -> sympy.Expr:
    """``text`` as a SymPy expression; its letters are Symbols of ``domain``:
    ``"positive_int"`` (sizes, strides, kernel sizes), ``"nonneg_int"`` (padding, output
    padding) or ``"real"`` (matrix entries). Raises ConvcalcError (with ``where``) for
    anything that is not numbers, letters, + - * / // % ^ ** ( ), floor/ceil/min/max.

    ``letters``: known one-letter names; a name made only of them (``CK``, ``BHWN``) and not
    itself among them is read as their product, the way a course writes CK² for C·K².
    ``space_multiplies``: ``F^2 C`` is F²·C (for a whole formula typed as an answer; never for
    matrix entries, where a space separates cells)."""
    import sympy

    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}")
    if len(text) > MAX_CHARS:
        raise _fail(f"too long: {len(text)} characters (the limit is {MAX_CHARS})", where)
    source = text.translate(_UNICODE)
    if not source.strip():
        raise _fail("empty expression", where)
    code, slots = _python_text(_split(_tokens(source, where), letters), where, space_multiplies)
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        raise _fail(f"cannot read {text.strip()[:60]!r} as an expression", where) from None
    try:
        value = _Builder(slots, domain, where).build(tree.body)
    except (TypeError, ValueError, RecursionError, ZeroDivisionError, OverflowError) as exc:
        if isinstance(exc, ConvcalcError):
            raise
        raise _fail(f"cannot work with {text.strip()[:60]!r}: {type(exc).__name__}", where) from None
    if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise _fail("division by zero", where)
    degree, terms = expanded_size(value)
    if degree > MAX_DEGREE or terms > MAX_TERMS:
        raise _fail(f"too large to work with: expanded, it has degree {degree:,} and about {terms:,} terms "
                    f"(the limits are {MAX_DEGREE} and {MAX_TERMS:,})", where)
    return value


def expanded_size(expr: Any) -> tuple[int, int]:
    """A bound on the degree in the letters and the number of terms of ``expr`` expanded
    (floors, mods, min and max counted by what is inside them), without expanding it."""
    import sympy

    cap = 10**9
    if expr.is_Atom:
        return (1 if expr.is_Symbol else 0), 1
    parts = [expanded_size(a) for a in expr.args]
    if isinstance(expr, sympy.Add):
        return max(d for d, _ in parts), min(cap, sum(t for _, t in parts))
    if isinstance(expr, sympy.Mul):
        return min(cap, sum(d for d, _ in parts)), min(cap, math.prod(t for _, t in parts))
    if isinstance(expr, sympy.Pow) and expr.exp.is_Integer:
        (d, t), n = parts[0], abs(int(expr.exp))
        return min(cap, d * n), min(cap, math.comb(t + n - 1, n) if t > 1 else 1)
    return max(d for d, _ in parts), min(cap, sum(t for _, t in parts))
