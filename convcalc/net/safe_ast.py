"""Read a network spec into plain layer calls with Python's ``ast`` and an allow-list.

Nothing is ever evaluated: the text is parsed, every node is checked against a short list
of harmless node types, and literal values are read off the tree. What is not on the list
(``__import__``, attribute chains, lambdas, arithmetic, subscripts, unpacking, ...) is
refused with the line number and what was found there. Limits are checked *before*
``ast.parse`` so a hostile text cannot make the parser itself slow or deep.
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from dataclasses import dataclass

from convcalc.errors import ConvcalcError
from convcalc.net.arith import evaluate
from convcalc.net.layers import Value
from convcalc.net.signatures import PREFIXES, SIGNATURES, WRAPPERS

MAX_LINE = 2000  # characters per line
MAX_TEXT = 200_000  # characters in the whole spec
MAX_DEPTH = 20  # nested brackets
MAX_INT = 10**9  # larger integers are never real layer settings
MAX_STR = 100  # characters in a string argument
MAX_LAYERS = 1000

# Everything else (Lambda, BinOp, Subscript, Starred, comprehensions, Import, ...) is refused.
_ALLOWED_NODES = (
    ast.Module, ast.Expr, ast.Call, ast.Name, ast.Attribute, ast.Load, ast.Constant,
    ast.Tuple, ast.List, ast.UnaryOp, ast.USub, ast.UAdd, ast.keyword,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
)  # fmt: skip

_DESCRIBE = {
    ast.Lambda: "a lambda",
    ast.Subscript: "indexing with [...]",
    ast.Starred: "argument unpacking with *",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.JoinedStr: "an f-string",
    ast.Assign: "an assignment (write the layers or nn.Sequential(...) only)",
    ast.Import: "an import",
    ast.ImportFrom: "an import",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean expression",
    ast.IfExp: "a conditional expression",
    ast.NamedExpr: "an assignment expression",
    ast.Await: "await",
    ast.Attribute: "an attribute access",
    ast.Name: "a bare name",
    ast.Constant: "a constant",
    ast.List: "a list",
    ast.UnaryOp: "a signed number",
}


@dataclass(frozen=True)
class Call:
    """One layer call, read off the tree: ``Conv2d(3, 8, kernel_size=3)``."""

    name: str
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    line: int
    text: str


def _err(message: str, line: int | None) -> ConvcalcError:
    return ConvcalcError(message, f"line {line}" if line else "network spec")


def check_limits(text: str) -> None:
    """Length and bracket depth, before the parser sees the text."""
    if len(text) > MAX_TEXT:
        raise _err(f"the spec has {len(text)} characters; the limit is {MAX_TEXT}", None)
    depth, quote = 0, ""
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_LINE:
            raise _err(f"line is {len(line)} characters long; the limit is {MAX_LINE}", number)
        for ch in line:
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "#":
                break
            elif ch in "([{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise _err(f"brackets nested more than {MAX_DEPTH} deep", number)
            elif ch in ")]}":
                depth -= 1
        quote = ""  # a string never spans lines in a spec; an unclosed one is a syntax error below


def _describe(node: ast.AST) -> str:
    for kind, words in _DESCRIBE.items():
        if isinstance(node, kind):
            return words
    return f"{type(node).__name__} syntax"


def _check_nodes(tree: ast.AST) -> None:
    """Refuse any node type not on the allow-list, naming the first one found."""
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise _err(f"{_describe(node)} is not allowed in a network spec", getattr(node, "lineno", None))


def _dotted(node: ast.expr) -> tuple[str, ...] | None:
    """``torch.nn.Conv2d`` as ('torch', 'nn', 'Conv2d'); None when it is not plain names."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return tuple(reversed(parts))


class _Source:
    """The spec's lines, split once, and the text behind a node (``ast.get_source_segment``
    splits the whole text again on every call: a thousand layers in a long spec took minutes)."""

    # Lines as Python's parser splits them: at \r\n, \r or \n only (not at form feeds).
    _LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

    def __init__(self, text: str) -> None:
        self.lines = self._LINE.findall(text)

    def segment(self, node: ast.AST) -> str | None:
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if first is None or last is None or start is None or end is None:
            return None
        if first == last:  # offsets count UTF-8 bytes, as in ast.get_source_segment
            return self.lines[first - 1].encode()[start:end].decode()
        head = self.lines[first - 1].encode()[start:].decode()
        tail = self.lines[last - 1].encode()[:end].decode()
        return "".join([head, *self.lines[first : last - 1], tail])


def _layer_name(call: ast.Call, source: _Source) -> str:
    """The layer's class name, if the call is ``[nn.|torch.nn.]<allowed name>(...)``."""
    dotted = _dotted(call.func)
    shown = source.segment(call.func) or "?"
    if dotted is None or (len(dotted) > 1 and dotted[:-1] not in PREFIXES):
        raise _err(f"'{shown[:60]}' is not allowed: only layer names, optionally after nn. or torch.nn.", call.lineno)
    name = dotted[-1]
    if name not in SIGNATURES and name not in WRAPPERS:
        raise _err(f"'{name[:60]}' is not a layer convcalc knows", call.lineno)
    return name


def _checked(value: Value, line: int) -> Value:
    """Integers within MAX_INT, floats finite, strings short, tuples of those."""
    if isinstance(value, tuple):
        return tuple(_checked(v, line) for v in value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise _err(f"the integer {str(value)[:20]}... is too large (limit {MAX_INT})", line)
    if isinstance(value, float) and not math.isfinite(value):
        raise _err("numbers must be finite", line)
    return value


def literal_value(node: ast.expr, line: int, env: dict[str, Value] | None = None) -> Value:
    """A constant, a tuple/list of those, or integer arithmetic on them (``8 * 24``).

    Evaluated by convcalc's own bounded walker (``convcalc.net.arith``), never by Python.
    """
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            raise _err("a call is not allowed as an argument", line)
        if isinstance(sub, ast.Name) and not (env and sub.id in env):
            raise _err(f"the name '{sub.id[:40]}' is not allowed as an argument (write a number, string, "
                       "True/False/None)", line)
        if not isinstance(sub, (ast.Constant, ast.Tuple, ast.List, ast.UnaryOp, ast.BinOp, ast.Name, ast.Load,
                                ast.unaryop, ast.operator)):
            raise _err(f"{_describe(sub)} is not allowed as an argument", line)
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > MAX_STR:
        raise _err(f"a string of {len(node.value)} characters is too long (limit {MAX_STR})", line)
    try:
        return _checked(evaluate(node, env), line)
    except ConvcalcError as exc:
        raise _err(exc.message, line) from None


def _read_call(call: ast.Call, source: _Source, out: list[Call]) -> None:
    name = _layer_name(call, source)
    if name in WRAPPERS:
        if call.keywords:
            raise _err(f"{name}(...) takes layers only, no keywords", call.lineno)
        for arg in call.args:
            if not isinstance(arg, ast.Call):
                raise _err(f"{name}(...) takes layers, got {_describe(arg)}", getattr(arg, "lineno", call.lineno))
            _read_call(arg, source, out)
        return
    kwargs: list[tuple[str, Value]] = []
    for kw in call.keywords:
        if kw.arg is None:
            raise _err("argument unpacking with ** is not allowed", call.lineno)
        kwargs.append((kw.arg, literal_value(kw.value, call.lineno)))
    args = tuple(literal_value(a, call.lineno) for a in call.args)
    text = source.segment(call) or name
    out.append(Call(name, args, tuple(kwargs), call.lineno, " ".join(text.split())))
    if len(out) > MAX_LAYERS:
        raise _err(f"more than {MAX_LAYERS} layers", call.lineno)


def read_calls(source: str) -> list[Call]:
    """All layer calls in the spec, in order, with ``Sequential`` wrappers opened.

    Raises ConvcalcError naming the line for anything that is not a plain layer call.
    """
    check_limits(source)
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" and the like: the allow-list judges, silently
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="exec")
    except SyntaxError as exc:
        raise _err(f"not a layer list: {exc.msg}", exc.lineno) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise _err(f"cannot be read: {type(exc).__name__}", None) from None
    _check_nodes(tree)
    lines = _Source(source)
    out: list[Call] = []
    for stmt in tree.body:
        value = stmt.value if isinstance(stmt, ast.Expr) else stmt
        items = value.elts if isinstance(value, ast.Tuple) else [value]  # a trailing comma makes a tuple
        for item in items:
            if not isinstance(item, ast.Call):
                raise _err(f"expected a layer like Conv2d(...), found {_describe(item)}",
                           getattr(item, "lineno", stmt.lineno))
            _read_call(item, lines, out)
    if not out:
        raise _err("no layers found", None)
    return out
