"""The walker behind ``convcalc.net.source``: statements and expressions of ``__init__`` and
``forward`` on an allow-list, over numbers, module records and shape-only tensors.

Nothing is compiled or executed; names resolve only to what the source bound, to the
module records it built, or to the few namespaces it may use (``nn``, ``torch``, ``F``).
"""

from __future__ import annotations

import ast
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.net import arith, source_run, tensor_ops
from convcalc.net.graph import T, Tracer
from convcalc.net.modules import Container, Leaf
from convcalc.net.signatures import SIGNATURES

MAX_STEPS = 200_000
MAX_DEPTH = 40
MAX_LIST = 10_000
_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict"}
_BUILTINS = {"range", "len", "int", "min", "max", "enumerate", "zip", "list", "tuple", "super", "OrderedDict",
             "float", "abs", "isinstance", "print", "dict", "round", "bool", "sum"}
_NAMESPACES = {"nn": "nn", "torch": "torch", "F": "F", "functional": "F", "init": "init"}


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class NS:
    """A namespace or builtin name: ``nn``, ``torch.nn``, ``F``, ``range``..."""

    def __init__(self, path: str) -> None:
        self.path = path

    def attr(self, name: str) -> NS:
        path = f"{self.path}.{name}"
        return NS({"torch.nn": "nn", "torch.nn.functional": "F", "nn.functional": "F"}.get(path, path))


class Method:
    def __init__(self, owner: Any, name: str) -> None:
        self.owner, self.name = owner, name


def _err(msg: str, node: ast.AST | int) -> ConvcalcError:
    line = node if isinstance(node, int) else getattr(node, "lineno", None)
    return ConvcalcError(msg, f"line {line}" if line else "source")


class Interp:
    def __init__(self, prog: Any, tracer: Tracer) -> None:
        self.prog, self.tracer = prog, tracer
        self.steps = self.depth = 0
        self.paths: dict[int, str] = {}

    # -- bookkeeping -------------------------------------------------------------------
    def tick(self, node: ast.AST) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _err(f"the source takes more than {MAX_STEPS} steps to follow", node)

    def literal(self, node: ast.expr, env: dict[str, Any]) -> Any:
        value = self.eval(node, dict(env))
        if isinstance(value, T):
            raise _err("a tensor at module level", node)
        return value

    # -- expressions -------------------------------------------------------------------
    def eval(self, node: ast.expr, env: dict[str, Any]) -> Any:
        self.tick(node)
        if isinstance(node, ast.Constant):
            return arith.evaluate(node)
        if isinstance(node, ast.Name):
            return self.name(node, env)
        if isinstance(node, (ast.Tuple, ast.List)):
            items: list[Any] = []
            for e in node.elts:
                if isinstance(e, ast.Starred):
                    items.extend(self._iter(self.eval(e.value, env), e))
                else:
                    items.append(self.eval(e, env))
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.Dict):
            return {self.eval(k, env): self.eval(v, env) for k, v in zip(node.keys, node.values, strict=True)
                    if k is not None}
        if isinstance(node, ast.Attribute):
            return self.attribute(self.eval(node.value, env), node.attr, node)
        if isinstance(node, ast.Call):
            return self.call(node, env)
        if isinstance(node, ast.BinOp):
            return self.binop(node, self.eval(node.left, env), self.eval(node.right, env))
        if isinstance(node, ast.UnaryOp):
            v = self.eval(node.operand, env)
            if isinstance(node.op, ast.Not):
                return not v
            if isinstance(v, T):
                raise _err("a sign before a tensor is not followed", node)
            return arith.evaluate(ast.UnaryOp(node.op, ast.Constant(v)))
        if isinstance(node, ast.BoolOp):
            values = [self.eval(v, env) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare):
            return self.compare(node, env)
        if isinstance(node, ast.IfExp):
            return self.eval(node.body if self.truth(self.eval(node.test, env), node) else node.orelse, env)
        if isinstance(node, ast.Subscript):
            return self.subscript(self.eval(node.value, env), node.slice, env, node)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self.comprehension(node, env)
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.eval(p, env) for p in (node.lower, node.upper, node.step)]
            return slice(*parts)
        raise _err(f"{type(node).__name__} is not allowed in a module source", node)

    def name(self, node: ast.Name, env: dict[str, Any]) -> Any:
        n = node.id
        for scope in (env, self.prog.constants, self.prog.classes, self.prog.functions):
            if n in scope:
                return scope[n]
        if n in _NAMESPACES:
            return NS(_NAMESPACES[n])
        if n in _BUILTINS:
            return NS(n)
        if n in SIGNATURES or n in _CONTAINERS:  # from torch.nn import Conv2d
            return NS(f"nn.{n}")
        if n in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[n]
        raise _err(f"the name '{n[:40]}' is not bound here", node)

    def truth(self, v: Any, node: ast.AST) -> bool:
        if isinstance(v, T):
            raise _err("a condition on a tensor's values cannot be followed over shapes", node)
        return bool(v)

    def compare(self, node: ast.Compare, env: dict[str, Any]) -> bool:
        left = self.eval(node.left, env)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.eval(right_node, env)
            if isinstance(left, T) or isinstance(right, T):
                raise _err("a comparison of tensors cannot be followed over shapes", node)
            ops = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
                   ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
                   ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
                   ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
            try:
                if not ops[type(op)](left, right):
                    return False
            except TypeError:
                raise _err("cannot compare these values", node) from None
            left = right
        return True

    def binop(self, node: ast.BinOp, left: Any, right: Any) -> Any:
        if isinstance(left, T) or isinstance(right, T):
            return tensor_ops.binop(self.tracer, node, left, right, self.cur_path)
        if isinstance(left, list) and isinstance(right, list) and isinstance(node.op, ast.Add):
            return self._bounded([*left, *right], node)
        if isinstance(left, list) and isinstance(right, int) and isinstance(node.op, ast.Mult):
            return self._bounded(left * max(0, min(right, MAX_LIST + 1)), node)
        return arith.binop_values(node, left, right)

    def _bounded(self, items: list, node: ast.AST) -> list:
        if len(items) > MAX_LIST:
            raise _err(f"a list of more than {MAX_LIST} items", node)
        return items

    def attribute(self, owner: Any, name: str, node: ast.AST) -> Any:
        if name.startswith("__") and name != "__init__":
            raise _err(f"the attribute '{name[:40]}' is not allowed", node)
        from convcalc.net.source import ClassInfo, Instance

        if isinstance(owner, NS):
            return owner.attr(name)
        if isinstance(owner, ClassInfo):
            found, value = self.class_attr(owner, name)
            if found:
                return value
            raise _err(f"class {owner.name} has no attribute '{name[:40]}'", node)
        if isinstance(owner, Instance):
            if name in owner.attrs:
                return owner.attrs[name]
            if name == "training":
                return False
            if self._method(owner.cls, name) is not None:
                return Method(owner, name)
            found, value = self.class_attr(owner.cls, name)
            if found:
                return value
            if name in ("modules", "children", "parameters", "named_parameters", "requires_grad_", "add_module",
                        "apply", "register_buffer", "append", "extend"):
                return Method(owner, name)
            raise _err(f"{owner.kind} has no attribute '{name[:40]}' set in __init__", node)
        if isinstance(owner, T):
            if name == "shape":
                return owner.shape
            return Method(owner, name)
        if isinstance(owner, Leaf):
            args = dict(owner.layer.args)
            if name in args:
                return args[name]
            return Method(owner, name)
        if isinstance(owner, (Container, list, dict)):
            return Method(owner, name)
        raise _err(f"attribute '{name[:40]}' of a {type(owner).__name__} is not followed", node)

    def class_attr(self, cls: Any, name: str) -> tuple[bool, Any]:
        """A class-level ``name = value`` (``expansion = 4``), searched up the bases in the file."""
        for stmt in cls.node.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                return True, self.eval(stmt.value, {})
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name \
                    and stmt.value is not None:
                return True, self.eval(stmt.value, {})
        for base in cls.bases:
            if base in self.prog.classes:
                found, value = self.class_attr(self.prog.classes[base], name)
                if found:
                    return True, value
        return False, None

    def container_base(self, cls: Any) -> str | None:
        """``Sequential`` or ``ModuleList`` when the class derives from one (directly or through the file)."""
        for base in cls.bases:
            if base in _CONTAINERS:
                return base
            if base in self.prog.classes:
                found = self.container_base(self.prog.classes[base])
                if found:
                    return found
        return None

    def subscript(self, owner: Any, index_node: ast.expr, env: dict[str, Any], node: ast.AST) -> Any:
        index = self.eval(index_node, env)
        if isinstance(owner, T):
            raise _err("indexing a tensor is not followed (only its .shape / .size())", node)
        if isinstance(owner, Container):
            if isinstance(index, int):
                return owner.children[index][1]
            if isinstance(index, slice):
                return Container(owner.kind, owner.line, owner.children[index])
            return dict(owner.children)[index]
        try:
            return owner[index]
        except (IndexError, KeyError, TypeError):
            raise _err(f"index {index!r} is out of range", node) from None

    def comprehension(self, node: ast.ListComp | ast.GeneratorExp, env: dict[str, Any]) -> list:
        if len(node.generators) != 1 or node.generators[0].is_async:
            raise _err("only comprehensions with one 'for' are followed", node)
        gen = node.generators[0]
        out: list[Any] = []
        for item in self._iter(self.eval(gen.iter, env), node):
            local = dict(env)
            self.assign(gen.target, item, local)
            if all(self.truth(self.eval(c, local), c) for c in gen.ifs):
                out.append(self.eval(node.elt, local))
        return self._bounded(out, node)

    def _iter(self, v: Any, node: ast.AST) -> list:
        if isinstance(v, Container):
            return [c for _, c in v.children] if v.kind != "ModuleDict" else [n for n, _ in v.children]
        if isinstance(v, (list, tuple, range)):
            if len(v) > MAX_LIST:
                raise _err(f"a loop of more than {MAX_LIST} steps", node)
            return list(v)
        if isinstance(v, dict):
            return list(v)
        raise _err(f"cannot loop over a {type(v).__name__}", node)

    # -- statements --------------------------------------------------------------------
    def assign(self, target: ast.expr, value: Any, env: dict[str, Any]) -> None:
        from convcalc.net.source import Instance

        if isinstance(target, ast.Name):
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = list(value) if isinstance(value, (tuple, list)) else None
            if values is None or len(values) != len(target.elts):
                raise _err("cannot unpack this value", target)
            for t, v in zip(target.elts, values, strict=True):
                self.assign(t, v, env)
        elif isinstance(target, ast.Attribute):
            owner = self.eval(target.value, env)
            if isinstance(owner, Instance):
                owner.attrs[target.attr] = value
            elif target.attr == "requires_grad" and value is False:
                source_run.freeze(owner)
            else:
                raise _err(f"setting '{target.attr}' here is not followed", target)
        elif isinstance(target, ast.Subscript):
            owner = self.eval(target.value, env)
            if not isinstance(owner, (list, dict)):
                raise _err("item assignment is only followed on lists and dicts", target)
            owner[self.eval(target.slice, env)] = value
        else:
            raise _err(f"assigning to {type(target).__name__} is not followed", target)

    def exec_block(self, body: list[ast.stmt], env: dict[str, Any]) -> None:
        for stmt in body:
            self.tick(stmt)
            if isinstance(stmt, ast.Expr):
                if not isinstance(stmt.value, ast.Constant):
                    self.eval(stmt.value, env)
            elif isinstance(stmt, ast.Assign):
                value = self.eval(stmt.value, env)
                for target in stmt.targets:
                    self.assign(target, value, env)
            elif isinstance(stmt, ast.AnnAssign):
                if stmt.value is not None:
                    self.assign(stmt.target, self.eval(stmt.value, env), env)
            elif isinstance(stmt, ast.AugAssign):
                load = _as_load(stmt.target)
                value = self.binop(ast.BinOp(load, stmt.op, stmt.value, lineno=stmt.lineno),
                                   self.eval(load, env), self.eval(stmt.value, env))
                self.assign(stmt.target, value, env)
            elif isinstance(stmt, ast.Return):
                raise _Return(None if stmt.value is None else self.eval(stmt.value, env))
            elif isinstance(stmt, ast.If):
                self.exec_block(stmt.body if self.truth(self.eval(stmt.test, env), stmt) else stmt.orelse, env)
            elif isinstance(stmt, ast.For):
                for item in self._iter(self.eval(stmt.iter, env), stmt):
                    self.assign(stmt.target, item, env)
                    self.exec_block(stmt.body, env)
            elif isinstance(stmt, (ast.Pass, ast.Assert, ast.Import, ast.ImportFrom)):
                continue
            elif isinstance(stmt, ast.Raise):
                raise _err("the source raises an error here", stmt)
            else:
                raise _err(f"{type(stmt).__name__} is not followed in a module source", stmt)

    # -- calls -------------------------------------------------------------------------
    def args(self, node: ast.Call, env: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        args: list[Any] = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.extend(self._iter(self.eval(a.value, env), a))
            else:
                args.append(self.eval(a, env))
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                value = self.eval(kw.value, env)
                if not isinstance(value, dict):
                    raise _err("** needs a dict", node)
                kwargs.update(value)
            else:
                kwargs[kw.arg] = self.eval(kw.value, env)
        return args, kwargs

    @property
    def cur_path(self) -> str:
        return getattr(self, "_path", "")

    def call(self, node: ast.Call, env: dict[str, Any]) -> Any:
        from convcalc.net import source_calls

        func = self.eval(node.func, env)
        args, kwargs = self.args(node, env)
        return source_calls.dispatch(self, func, args, kwargs, node, env)

    def instantiate(self, cls: Any, args: list[Any], kwargs: dict[str, Any], line: int) -> Any:
        from convcalc.net.source import Instance

        inst = Instance(cls, line)
        init = self._method(cls, "__init__")
        if init is not None:
            self.run_function(init, [inst, *args], kwargs, line)
        return inst

    def _method(self, cls: Any, name: str) -> ast.FunctionDef | None:
        if name in cls.methods:
            return cls.methods[name]
        for base in cls.bases:
            if base in self.prog.classes:
                found = self._method(self.prog.classes[base], name)
                if found is not None:
                    return found
        return None

    def run_function(self, fn: ast.FunctionDef, args: list[Any], kwargs: dict[str, Any], line: int) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _err(f"calls nested more than {MAX_DEPTH} deep", line)
        try:
            env = self.bind(fn, args, kwargs, line)
            try:
                self.exec_block(fn.body, env)
            except _Return as r:
                return r.value
            return None
        finally:
            self.depth -= 1

    def bind(self, fn: ast.FunctionDef, args: list[Any], kwargs: dict[str, Any], line: int) -> dict[str, Any]:
        return source_run.bind(self, fn, args, kwargs, line)

    def call_module(self, mod: Any, args: list[Any], kwargs: dict[str, Any], path: str, line: int) -> Any:
        """A module called in forward (``convcalc.net.source_run.call_module``)."""
        return source_run.call_module(self, mod, args, kwargs, path, line)

    def set_path(self, path: str) -> None:
        self._path = path

    def make_layer(self, kind: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Leaf:
        return source_run.make_layer(self, kind, args, kwargs, node)


def _as_load(target: ast.expr) -> ast.expr:
    out = ast.parse(ast.unparse(target), mode="eval").body
    return ast.copy_location(out, target)


