"""Read a backprop expression with Python's ``ast`` and a strict allow-list; never run it.

The text is checked *before* ``ast.parse`` (length, characters, bracket nesting) so that a
hostile text cannot make the parser itself slow or deep; the tree is then checked node by
node (count and depth) and turned into :class:`Term`, a small syntax tree of our own that
the graph builder reads. Nothing the user typed is ever evaluated, compiled or sympified.
"""

from __future__ import annotations

import ast
import math
import string
import warnings
from collections.abc import Collection
from dataclasses import dataclass

from convcalc.errors import ConvcalcError
from convcalc.expr.layers import LAYERS, Params, check_setting

MAX_CHARS = 500
MAX_NODES = 200
MAX_DEPTH = 30
MAX_EXPONENT = 16

ELEMENTWISE = frozenset({"sum", "mean", "relu", "sigmoid", "tanh", "exp", "log", "square", "norm"})
FUNCTIONS = ELEMENTWISE | frozenset(LAYERS)
BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.MatMult: "matmul", ast.Pow: "pow"}

# Quotes, square brackets, colons and the like are never needed, so refusing them up front
# stops strings, subscripts, lambdas and walrus before the parser sees them. Commas and '='
# are for the layers' settings (conv2d(X, W, stride=2)); the reader allows them nowhere else.
_CHARS = frozenset(string.ascii_letters + string.digits + "_ \t.+-*/@(),=")
_WHERE = "expression"

# What a refused node is, in the words of the error message.
_DESCRIBE = {
    ast.Lambda: "a lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension", ast.Subscript: "indexing",
    ast.JoinedStr: "an f-string", ast.NamedExpr: "an assignment (:=)", ast.Compare: "a comparison",
    ast.BoolOp: "and/or", ast.IfExp: "if/else", ast.Tuple: "a tuple", ast.List: "a list",
    ast.Dict: "a dict", ast.Set: "a set", ast.Starred: "unpacking with *", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield",
}  # fmt: skip


@dataclass(frozen=True)
class Term:
    """One piece of a parsed expression.

    ``op`` is ``"var"``, ``"const"``, ``"neg"``, ``"T"``, a binary op (``add sub mul div
    matmul pow``) or a function name; ``number`` is a constant's value or pow's exponent.
    """

    op: str
    args: tuple[Term, ...] = ()
    name: str = ""
    number: float = 0.0
    text: str = ""  # the subexpression as written (spacing normalised by ast.unparse)
    params: Params = ()  # a layer's settings, e.g. (("stride", (2, 2)),)


def parse(text: str, variables: Collection[str]) -> Term:
    """Parse ``text`` into a :class:`Term`; only names in ``variables`` may appear as values."""
    source = text.strip()
    _check_text(source)
    try:
        with warnings.catch_warnings():  # "invalid decimal literal" and the like: the allow-list judges, silently
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        raise ConvcalcError(f"not a valid expression: {e.msg} (column {e.offset})", _WHERE) from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise ConvcalcError(f"not a valid expression ({type(e).__name__})", _WHERE) from None
    count = sum(1 for _ in ast.walk(tree))  # ast.walk is iterative: safe on any tree
    if count > MAX_NODES:
        raise ConvcalcError(f"has {count} syntax nodes; at most {MAX_NODES}", _WHERE)
    return _Reader(frozenset(variables)).read(tree.body, 1)


def _check_text(source: str) -> None:
    if not source:
        raise ConvcalcError("is empty", _WHERE)
    if len(source) > MAX_CHARS:
        raise ConvcalcError(f"has {len(source)} characters; at most {MAX_CHARS}", _WHERE)
    for col, ch in enumerate(source, 1):
        if ch not in _CHARS:
            raise ConvcalcError(f"character {ch!r} at column {col} is not allowed; write names, numbers, "
                                "+ - * / @ **, ( ), .T and the functions " + ", ".join(sorted(FUNCTIONS)), _WHERE)
    depth = 0
    for col, ch in enumerate(source, 1):
        depth += (ch == "(") - (ch == ")")
        if depth > MAX_DEPTH:
            raise ConvcalcError(f"brackets nest deeper than {MAX_DEPTH} (column {col})", _WHERE)


class _Reader:
    """Turns an allowed ``ast`` tree into Terms, refusing everything else."""

    def __init__(self, variables: frozenset[str]) -> None:
        self.variables = variables

    def read(self, node: ast.AST, depth: int) -> Term:
        if depth > MAX_DEPTH:
            raise ConvcalcError(f"nests deeper than {MAX_DEPTH} operations", _WHERE)
        text = ast.unparse(node)
        if isinstance(node, ast.Constant):
            return Term("const", number=_number(node.value, node), text=text)
        if isinstance(node, ast.Name):
            return Term("var", name=self._name(node), text=text)
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            op = BINARY[type(node.op)]
            if op == "pow":
                return Term("pow", (self.read(node.left, depth + 1),), number=_exponent(node.right), text=text)
            return Term(op, (self.read(node.left, depth + 1), self.read(node.right, depth + 1)), text=text)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = self.read(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return inner
            if inner.op == "const":  # a negative literal is a number, not an operation
                return Term("const", number=-inner.number, text=text)
            return Term("neg", (inner,), text=text)
        if isinstance(node, ast.Call):
            name = self._function(node)
            if name in LAYERS:
                return self._layer(node, name, depth, text)
            return Term(name, (self.read(node.args[0], depth + 1),), text=text)
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise ConvcalcError(f"attribute .{node.attr} is not allowed (only .T, the transpose){_col(node)}", _WHERE)
            return Term("T", (self.read(node.value, depth + 1),), text=text)
        raise ConvcalcError(f"{_describe(node)} is not allowed{_col(node)}", _WHERE)

    def _name(self, node: ast.Name) -> str:
        if node.id in self.variables:
            return node.id
        if node.id in FUNCTIONS:
            raise ConvcalcError(f"{node.id} is a function: write {node.id}(...){_col(node)}", _WHERE)
        raise ConvcalcError(f"unknown name {node.id!r}{_col(node)}; bind it with --var {node.id}=MATRIX", _WHERE)

    def _function(self, node: ast.Call) -> str:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = ast.unparse(node.func) if isinstance(node.func, ast.Name | ast.Attribute) else "this"
            raise ConvcalcError(f"calling {what} is not allowed{_col(node)}; the functions are "
                                + ", ".join(sorted(FUNCTIONS)), _WHERE)
        if node.func.id in LAYERS:
            return node.func.id
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise ConvcalcError(f"{node.func.id}(...) takes exactly one argument{_col(node)}", _WHERE)
        return node.func.id

    def _layer(self, node: ast.Call, name: str, depth: int, text: str) -> Term:
        """``conv2d(X, W, 1, padding=1)``: the arrays, then settings by position or by name."""
        spec = LAYERS[name]
        args = node.args
        if len(args) < spec.tensors or any(isinstance(a, ast.Starred) for a in args):
            what = "X and W" if spec.tensors == 2 else "X"
            raise ConvcalcError(f"{name}(...) needs {what} first{_col(node)}", _WHERE)
        if len(args) - spec.tensors > len(spec.positional):
            raise ConvcalcError(f"{name}(...) takes at most {spec.tensors + len(spec.positional)} arguments by "
                                f"position{_col(node)}; name the rest ({', '.join(spec.keywords)})", _WHERE)
        settings: dict[str, tuple[int, ...]] = {}
        named = [(spec.positional[i], a) for i, a in enumerate(args[spec.tensors:])]
        for kw in node.keywords:
            if kw.arg is None or kw.arg not in spec.keywords:
                allowed = ", ".join(spec.keywords) or "no settings"
                raise ConvcalcError(f"{name}(...) has no setting {kw.arg or '**'!r}{_col(kw)}; it takes {allowed}",
                                    _WHERE)
            named.append((kw.arg, kw.value))
        for key, value in named:
            if key in settings:
                raise ConvcalcError(f"{name}(...) got {key} twice{_col(node)}", _WHERE)
            settings[key] = _setting(value)
            check_setting(key, settings[key], _col(value))
        for key in spec.required:
            if key not in settings:
                raise ConvcalcError(f"{name}(...) needs {key}, e.g. {name}(X, 2){_col(node)}", _WHERE)
        tensors = tuple(self.read(a, depth + 1) for a in args[:spec.tensors])
        return Term(name, tensors, text=text, params=tuple(settings.items()))


def _number(value: object, node: ast.AST) -> float:
    # bool is an int subclass and complex a number: neither is a literal of this language
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConvcalcError(f"{type(value).__name__} literals are not allowed{_col(node)}", _WHERE)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ConvcalcError(f"the number{_col(node)} is too large", _WHERE)
    return number


def _exponent(node: ast.AST) -> float:
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if not isinstance(node, ast.Constant):
        raise ConvcalcError(f"the exponent of ** must be a number, not {ast.unparse(node)!r}{_col(node)}", _WHERE)
    p = sign * _number(node.value, node)
    if abs(p) > MAX_EXPONENT:
        raise ConvcalcError(f"exponent {p:g} is too large; |exponent| ≤ {MAX_EXPONENT}", _WHERE)
    return p


def _setting(node: ast.AST) -> tuple[int, int]:
    """A layer setting: an integer for both axes, or a pair (h, w) of integers."""
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    if len(items) not in (1, 2) or not all(isinstance(i, ast.Constant) and type(i.value) is int for i in items):
        raise ConvcalcError(f"a layer setting is an integer or a pair (h, w) of integers, not {ast.unparse(node)!r}"
                            f"{_col(node)}", _WHERE)
    values = [int(i.value) for i in items]  # type: ignore[attr-defined]
    return (values[0], values[-1])


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return f"the operator {type(node.op).__name__}"
    return _DESCRIBE.get(type(node), type(node).__name__)


def _col(node: ast.AST) -> str:
    col = getattr(node, "col_offset", None)
    return "" if col is None else f" (column {col + 1})"
