"""What a call in a module source means: a layer, a container, a class, a helper function,
a builtin, a list method, or a tensor operation in ``forward``. Anything else is refused."""

from __future__ import annotations

import ast
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.net import tensor_ops
from convcalc.net.graph import T
from convcalc.net.modules import Container, Leaf
from convcalc.net.signatures import SIGNATURES

MAX_RANGE = 10_000
_NOOP = {"print", "super.__init__", "apply", "register_buffer", "_initialize_weights", "init_weights", "zero_",
         "fill_", "normal_", "uniform_"}


def _err(msg: str, node: ast.AST) -> ConvcalcError:
    return ConvcalcError(msg, f"line {getattr(node, 'lineno', '?')}")


def _module_list(interp: Any, root: Any) -> list[Any]:
    from convcalc.net.source import Instance

    out: list[Any] = []

    def walk(m: Any) -> None:
        if any(m is o for o in out):
            return
        out.append(m)
        kids = m.children if isinstance(m, Container) else \
            [(k, v) for k, v in m.attrs.items()] if isinstance(m, Instance) else []
        for _, c in kids:
            if isinstance(c, (Leaf, Container, Instance)):
                walk(c)
    walk(root)
    return out


def _isinstance(v: Any, kinds: Any) -> bool:
    from convcalc.net.source import Instance
    from convcalc.net.source_eval import NS

    options = kinds if isinstance(kinds, tuple) else (kinds,)
    for k in options:
        name = k.path.split(".")[-1] if isinstance(k, NS) else getattr(k, "name", None)
        if isinstance(v, Leaf) and v.layer.kind == name:
            return True
        if isinstance(v, Container) and v.kind == name:
            return True
        if isinstance(v, Instance) and (v.kind == name or name == "Module"):
            return True
        if name in ("int", "float", "tuple", "list") and type(v).__name__ == name:
            return True
    return False


def _builtin(name: str, args: list[Any], node: ast.AST) -> Any:
    if name == "range":
        r = range(*args)
        if len(r) > MAX_RANGE:
            raise _err(f"range of more than {MAX_RANGE} steps", node)
        return r
    simple = {"len": len, "int": int, "min": min, "max": max, "float": float, "abs": abs, "round": round,
              "bool": bool, "sum": sum}
    if name in simple:
        try:
            return simple[name](*args)
        except (TypeError, ValueError) as exc:
            raise _err(f"{name}(): {exc}", node) from None
    if name == "enumerate":
        return list(enumerate(args[0]))
    if name == "zip":
        return list(zip(*args, strict=False))
    if name in ("list", "tuple"):
        items = list(args[0]) if args else []
        return items if name == "list" else tuple(items)
    if name in ("OrderedDict", "dict"):
        return dict(args[0]) if args else {}
    raise _err(f"{name}() is not followed", node)


def _container(kind: str, args: list[Any], node: ast.Call) -> Container:
    if kind == "ModuleDict" or (len(args) == 1 and isinstance(args[0], dict)):
        items = list(args[0].items()) if args else []
    elif kind == "ModuleList":
        items = [(str(i), m) for i, m in enumerate(args[0] if args else [])]
    else:
        items = [(str(i), m) for i, m in enumerate(args)]
    for name, m in items:
        if not isinstance(m, (Leaf, Container)) and type(m).__name__ != "Instance":
            raise _err(f"{kind} item '{name}' is not a module", node)
    return Container(kind, node.lineno, [(str(n), m) for n, m in items])


def _namespace(interp: Any, path: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
    head, _, name = path.partition(".")
    if path in _NOOP or head == "init" or path.startswith("nn.init"):
        return None
    if head == "nn" and name in SIGNATURES:
        return interp.make_layer(name, args, kwargs, node)
    if head == "nn" and name in ("Sequential", "ModuleList", "ModuleDict"):
        return _container(name, args, node)
    if head == "nn" and name == "Parameter":
        raise _err("nn.Parameter outside a layer is not counted (use a layer)", node)
    if path == "isinstance":
        return _isinstance(args[0], args[1])
    if path == "super":
        from convcalc.net.source_eval import NS

        return NS("super")
    if head in ("F", "torch") and "." not in name:
        return tensor_ops.function(interp, head, name, args, kwargs, node)
    if "." not in path:
        return _builtin(path, args, node)
    raise _err(f"{path}() is not a call convcalc follows", node)


def _method(interp: Any, owner: Any, name: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
    from convcalc.net.source import Instance
    from convcalc.net.source_run import freeze

    if isinstance(owner, T):
        return tensor_ops.method(interp, owner, name, args, kwargs, node)
    if name in _NOOP:
        return None
    if name in ("parameters", "named_parameters") and isinstance(owner, (Leaf, Container, Instance)):
        return [owner]
    if name == "requires_grad_":
        if (args[0] if args else kwargs.get("requires_grad", True)) is False:
            freeze(owner)
        return owner
    if name in ("modules", "children") and isinstance(owner, (Container, Instance)):
        mods = _module_list(interp, owner)
        return mods if name == "modules" else mods[1:]
    if isinstance(owner, list) and name in ("append", "extend", "insert"):
        if name == "append":
            owner.append(args[0])
        elif name == "extend":
            owner.extend(args[0])
        else:
            owner.insert(args[0], args[1])
        if len(owner) > 10_000:
            raise _err("a list of more than 10000 items", node)
        return None
    if isinstance(owner, Container) and name in ("append", "extend", "add_module"):
        items = [(args[0], args[1])] if name == "add_module" else \
            [(str(len(owner.children)), args[0])] if name == "append" else \
            [(str(len(owner.children) + i), m) for i, m in enumerate(args[0])]
        owner.children.extend(items)
        return owner
    if isinstance(owner, dict) and name in ("items", "keys", "values"):
        return list(getattr(owner, name)())
    if isinstance(owner, Instance):
        if name == "add_module":
            owner.attrs[str(args[0])] = args[1]
            return None
        method = interp._method(owner.cls, name)
        if method is None:
            raise _err(f"{owner.kind} has no method '{name[:40]}'", node)
        return interp.run_function(method, [owner, *args], kwargs, node.lineno)
    raise _err(f".{name[:40]}() on a {type(owner).__name__} is not followed", node)


def _super_init(interp: Any, inst: Any, args: list[Any], node: ast.Call) -> None:
    """``super().__init__(*layers)`` in a subclass of nn.Sequential / nn.ModuleList: its children."""
    base = interp.container_base(inst.cls)
    if base is None:
        return None
    items = list(args[0].items()) if len(args) == 1 and isinstance(args[0], dict) else \
        [(str(i), m) for i, m in enumerate(args[0] if base == "ModuleList" and args else args)]
    for name, m in items:
        inst.attrs[str(name)] = m
    return None


def dispatch(interp: Any, func: Any, args: list[Any], kwargs: dict[str, Any], node: ast.Call,
             env: dict[str, Any]) -> Any:
    from convcalc.net.source import ClassInfo, Function, Instance
    from convcalc.net.source_eval import NS, Method

    if isinstance(func, NS):
        if func.path == "super.__init__" and isinstance(env.get("self"), Instance):
            return _super_init(interp, env["self"], args, node)
        return _namespace(interp, func.path, args, kwargs, node)
    if isinstance(func, ClassInfo):
        return interp.instantiate(func, args, kwargs, node.lineno)
    if isinstance(func, Function):
        return interp.run_function(func.node, args, kwargs, node.lineno)
    if isinstance(func, Method):
        return _method(interp, func.owner, func.name, args, kwargs, node)
    if isinstance(func, (Leaf, Container, Instance)):
        return interp.call_module(func, args, kwargs, "", node.lineno)
    raise _err(f"a {type(func).__name__} cannot be called", node)
