"""Calling what a module source builds: binding a function's arguments, running a module in
``forward`` (a layer, a Sequential, a class's forward), turning a layer call into its record,
and the module tree's paths and frozen parts. Split from ``convcalc.net.source_eval``."""

from __future__ import annotations

import ast
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.net.graph import T
from convcalc.net.modules import Container, Leaf
from convcalc.net.parse import parse_layer
from convcalc.net.safe_ast import Call


def _err(msg: str, node: ast.AST | int) -> ConvcalcError:
    line = node if isinstance(node, int) else getattr(node, "lineno", None)
    return ConvcalcError(msg, f"line {line}" if line else "source")


def bind(interp: Any, fn: ast.FunctionDef, args: list[Any], kwargs: dict[str, Any], line: int) -> dict[str, Any]:
    a = fn.args
    params = [p.arg for p in (*a.posonlyargs, *a.args)]
    defaults = dict(zip(params[len(params) - len(a.defaults):], a.defaults, strict=True))
    env: dict[str, Any] = {}
    if len(args) > len(params) and a.vararg is None:
        raise _err(f"{fn.name}() takes {len(params)} arguments, got {len(args)}", line)
    env.update(zip(params, args, strict=False))
    if a.vararg is not None:
        env[a.vararg.arg] = tuple(args[len(params):])
    extra = {}
    for k, v in kwargs.items():
        if k in params or k in [p.arg for p in a.kwonlyargs]:
            env[k] = v
        elif a.kwarg is not None:
            extra[k] = v
        else:
            raise _err(f"{fn.name}() has no argument '{k}'", line)
    if a.kwarg is not None:
        env[a.kwarg.arg] = extra
    for p in params:
        if p not in env:
            if p not in defaults:
                raise _err(f"{fn.name}() needs its argument '{p}' (give a default, or a module-level "
                           "model = Class(...) line)", line)
            env[p] = interp.eval(defaults[p], {})
    for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        if p.arg not in env:
            if d is None:
                raise _err(f"{fn.name}() needs its argument '{p.arg}'", line)
            env[p.arg] = interp.eval(d, {})
    return env


def call_module(interp: Any, mod: Any, args: list[Any], kwargs: dict[str, Any], path: str, line: int) -> Any:
    """A module called in forward: a layer, a Sequential, or an instance's forward."""
    from convcalc.net.source import Instance

    path = interp.paths.get(id(mod), path)
    if isinstance(mod, Leaf):
        if len(args) != 1 or not isinstance(args[0], T):
            raise _err(f"{mod.layer.kind} is called with one tensor", line)
        return interp.tracer.apply(mod.layer, args[0], path, mod.trainable)
    if isinstance(mod, Container):
        if mod.kind != "Sequential":
            raise _err(f"a {mod.kind} cannot be called; loop over it", line)
        interp.tracer.enter(path, "Sequential")
        try:
            x = args[0]
            for name, child in mod.children:
                x = interp.call_module(child, [x], {}, f"{path}.{name}" if path else name, line)
            return x
        finally:
            interp.tracer.leave()
    if isinstance(mod, Instance):
        if not path and not interp.paths:
            assign_paths(mod, "", interp.paths)
        forward = interp._method(mod.cls, "forward")
        if forward is None and interp.container_base(mod.cls) == "Sequential":
            children = [(k, v) for k, v in mod.attrs.items() if isinstance(v, (Leaf, Container, Instance))]
            interp.tracer.enter(path, mod.kind)
            try:
                x = args[0]
                for name, child in children:
                    x = interp.call_module(child, [x], {}, f"{path}.{name}" if path else name, line)
                return x
            finally:
                interp.tracer.leave()
        if forward is None:
            raise _err(f"{mod.kind} has no forward", mod.line)
        interp.tracer.enter(path, mod.kind)
        saved = interp.cur_path
        interp.set_path(path)
        try:
            return interp.run_function(forward, [mod, *args], kwargs, forward.lineno)
        finally:
            interp.set_path(saved)
            interp.tracer.leave()
    raise _err(f"a {type(mod).__name__} is not a module to call", line)


def make_layer(interp: Any, kind: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Leaf:
    values = tuple(layer_value(a, node) for a in args)
    kv = tuple((k, layer_value(v, node)) for k, v in kwargs.items())
    shown = ", ".join([*map(repr, values), *(f"{k}={v!r}" for k, v in kv)])
    return Leaf(parse_layer(Call(kind, values, kv, node.lineno, f"{kind}({shown})")))



def layer_value(v: Any, node: ast.AST) -> Any:
    if isinstance(v, list):
        v = tuple(v)
    if isinstance(v, tuple):
        return tuple(layer_value(x, node) for x in v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise _err(f"a layer argument must be a number, string or tuple, got a {type(v).__name__}", node)


def freeze(owner: Any) -> None:
    from convcalc.net.source import Instance

    if isinstance(owner, Leaf):
        owner.trainable = False
    elif isinstance(owner, Container):
        owner.trainable = False
        for _, c in owner.children:
            freeze(c)
    elif isinstance(owner, Instance):
        owner.trainable = False
        for v in owner.attrs.values():
            freeze(v)


def assign_paths(mod: Any, path: str, paths: dict[int, str]) -> None:
    from convcalc.net.source import Instance

    if id(mod) in paths:
        return
    paths[id(mod)] = path
    children: list[tuple[str, Any]] = []
    if isinstance(mod, Container):
        children = mod.children
    elif isinstance(mod, Instance):
        children = [(k, v) for k, v in mod.attrs.items() if isinstance(v, (Leaf, Container, Instance))]
    for name, child in children:
        assign_paths(child, f"{path}.{name}" if path else name, paths)
