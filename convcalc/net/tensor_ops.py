"""Tensor operations in ``forward``, over shapes: arithmetic, torch.cat, flatten/view/reshape,
mean, matmul, torch.* and F.* functions, and tensor methods (x.view, x.size, x.relu, ...).

Functions that equal a module (``F.relu``, ``F.max_pool2d``, ``F.interpolate``, ``F.pad``)
become that layer's row, marked as outside modules; the rest become operation rows.
"""

from __future__ import annotations

import ast
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.net.functional import functional_layer, is_functional
from convcalc.net.graph import OpLayer, T
from convcalc.net.layers import FlattenLayer

_OPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.MatMult: "matmul"}
_PASS = {"contiguous", "clone", "detach", "float", "to", "cpu", "cuda", "requires_grad_"}
_TORCH_ACT = {"relu", "sigmoid", "tanh", "softmax", "log_softmax", "dropout", "relu_", "sigmoid_", "tanh_"}


def _err(msg: str, node: ast.AST) -> ConvcalcError:
    return ConvcalcError(msg, f"line {getattr(node, 'lineno', '?')}")


def _name(interp: Any, what: str) -> str:
    base = interp.cur_path
    return f"{base}.{what}" if base else what


def _op(interp: Any, op: str, xs: list[T], node: ast.AST, text: str, **kw: Any) -> T:
    layer = OpLayer(getattr(node, "lineno", 0), text, op, (), op=op, **kw)
    return interp.tracer.op(layer, xs, _name(interp, op))


def binop(tracer: Any, node: ast.BinOp, left: Any, right: Any, path: str) -> T:
    op = _OPS.get(type(node.op))
    if op is None:
        raise _err(f"{type(node.op).__name__} on tensors is not followed", node)
    xs = [v for v in (left, right) if isinstance(v, T)]
    for v in (left, right):
        if not isinstance(v, (T, int, float)) or isinstance(v, bool):
            raise _err(f"'{op}' of a tensor and a {type(v).__name__}", node)
    text = ast.unparse(node)
    layer = OpLayer(node.lineno, text, op, (), op=op)
    return tracer.op(layer, xs, f"{path}.{op}" if path else op)


def _apply_functional(interp: Any, name: str, x: T, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> T:
    from convcalc.net.source_run import layer_value

    layer = functional_layer(name, [layer_value(a, node) for a in args], {k: layer_value(v, node) for k, v in kwargs.items()},
                             node.lineno, ast.unparse(node))
    return interp.tracer.apply(layer, x, _name(interp, name), module=False)


def _flatten(interp: Any, x: T, start: int, end: int, node: ast.AST) -> T:
    layer = FlattenLayer(node.lineno, ast.unparse(node), "flatten", (("start_dim", start), ("end_dim", end)),
                         start, end)
    return interp.tracer.apply(layer, x, _name(interp, "flatten"), module=False)


def _dims(args: list[Any]) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = list(args[0])
    return tuple(int(a) for a in args)


def _tensor(v: Any, node: ast.AST) -> T:
    if not isinstance(v, T):
        raise _err(f"expected a tensor, got a {type(v).__name__}", node)
    return v


def function(interp: Any, head: str, name: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
    """``torch.<name>(...)`` or ``F.<name>(...)``."""
    if name in ("cat", "concat", "concatenate"):
        xs = [_tensor(t, node) for t in args[0]]
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        return _op(interp, "cat", xs, node, ast.unparse(node), dim=int(dim))
    if name == "flatten":
        x = _tensor(args[0], node)
        start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
        end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
        return _flatten(interp, x, int(start), int(end), node)
    if name in ("reshape", "mean", "matmul", "mm", "bmm", "add", "mul"):
        return method(interp, _tensor(args[0], node), {"mm": "matmul", "bmm": "matmul"}.get(name, name),
                      args[1:], kwargs, node)
    if head == "torch" and name in _TORCH_ACT:
        return _apply_functional(interp, name.rstrip("_"), _tensor(args[0], node), args[1:], kwargs, node)
    if head == "F" and is_functional(name.rstrip("_")):
        return _apply_functional(interp, name.rstrip("_"), _tensor(args[0], node), args[1:], kwargs, node)
    raise _err(f"{head}.{name}() is not an operation convcalc follows", node)


def method(interp: Any, x: T, name: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
    """``x.<name>(...)`` on a tensor."""
    if name == "size":
        return x.shape if not args else x.shape[int(args[0])]
    if name == "dim":
        return len(x.shape)
    if name in _PASS:
        return x
    if name in ("view", "reshape"):
        return _op(interp, "reshape", [x], node, ast.unparse(node), target=_dims(args))
    if name == "flatten":
        start = args[0] if args else kwargs.get("start_dim", 0)
        end = args[1] if len(args) > 1 else kwargs.get("end_dim", -1)
        return _flatten(interp, x, int(start), int(end), node)
    if name == "mean":
        dim = args[0] if args else kwargs.get("dim")
        dims = tuple(range(len(x.shape))) if dim is None else _dims([dim])
        return _op(interp, "mean", [x], node, ast.unparse(node), target=dims,
                   keepdim=bool(args[1] if len(args) > 1 else kwargs.get("keepdim", False)))
    if name in ("matmul", "add", "mul"):
        other = args[0]
        xs = [x, other] if isinstance(other, T) else [x]
        return _op(interp, name, xs, node, ast.unparse(node))
    if is_functional(name.rstrip("_")):
        return _apply_functional(interp, name.rstrip("_"), x, args, kwargs, node)
    raise _err(f"x.{name}() is not an operation convcalc follows", node)
