"""A network as a graph of layer applications, built by one tracer whatever the input form.

A layer list, a ``print(model)`` printout and a class source all end here: the reader calls
``Tracer.apply`` for each module call and ``Tracer.op`` for each operation done outside
modules (``+``, ``*``, ``torch.cat``, ``view``, ``matmul``), and every call propagates the
shape at once (``convcalc.net.shapes``), so an error names the layer where PyTorch would
fail. Containers (``Sequential``, a residual block) are recorded as groups around their
children, for a torchinfo-like hierarchy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from convcalc.errors import ConvcalcError
from convcalc.net.layers import Layer
from convcalc.net.shapes import LayerShape, Shape, layer_shape, show_shape

MAX_NODES = 5000


@dataclass(frozen=True)
class OpLayer(Layer):
    """An operation in ``forward`` outside any module: add, sub, mul, div, cat, reshape, mean, matmul."""

    family = "op"

    op: str
    dim: int | None = None
    target: tuple[int, ...] = ()
    keepdim: bool = False


@dataclass(frozen=True)
class Node:
    """One layer or operation applied: where its inputs come from (-1: the network input)."""

    name: str
    row: LayerShape
    inputs: tuple[int, ...]
    depth: int
    module: bool = True
    trainable: bool = True

    @property
    def layer(self) -> Layer:
        return self.row.layer


@dataclass(frozen=True)
class Group:
    """A container around nodes ``first`` to ``last`` (inclusive): its name, class and depth."""

    name: str
    kind: str
    depth: int
    first: int
    last: int
    flow: str = ""  # how data flows through it, when that was assumed (a printout cannot say)


@dataclass(frozen=True)
class Graph:
    input_shape: Shape
    nodes: tuple[Node, ...]
    groups: tuple[Group, ...] = ()
    output: int = -1  # the node whose value is returned
    assumptions: tuple[str, ...] = ()

    @property
    def output_shape(self) -> Shape:
        return self.input_shape if self.output < 0 else self.nodes[self.output].row.output_shape

    @property
    def rows(self) -> tuple[LayerShape, ...]:
        return tuple(n.row for n in self.nodes)

    @property
    def params(self) -> int:
        return sum(n.row.params for n in self.nodes)

    @property
    def trainable_params(self) -> int:
        return sum(n.row.params for n in self.nodes if n.trainable)

    @property
    def macs(self) -> int:
        return sum(n.row.macs for n in self.nodes)


@dataclass(frozen=True)
class T:
    """A tensor while tracing: the node that made it and its shape."""

    node: int
    shape: Shape


@dataclass
class Tracer:
    input_shape: Shape
    nodes: list[Node] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    depth: int = 0
    _open: list[tuple[str, str, int, str]] = field(default_factory=list)

    def input(self) -> T:
        return T(-1, tuple(self.input_shape))

    def _add(self, node: Node) -> T:
        if len(self.nodes) >= MAX_NODES:
            raise ConvcalcError(f"more than {MAX_NODES} layers and operations", node.row.layer.where)
        self.nodes.append(node)
        return T(len(self.nodes) - 1, node.row.output_shape)

    def apply(self, layer: Layer, x: T, name: str, trainable: bool = True, module: bool = True) -> T:
        """A layer applied to one tensor: a module, or (``module=False``) its functional form in forward."""
        row = layer_shape(layer, x.shape)
        return self._add(Node(name, row, (x.node,), self.depth + 1, module, trainable))

    def op(self, layer: OpLayer, xs: list[T], name: str) -> T:
        """An operation on tensors done in forward, outside modules."""
        row = op_shape(layer, [x.shape for x in xs])
        return self._add(Node(name, row, tuple(x.node for x in xs), self.depth + 1, False))

    def enter(self, name: str, kind: str, flow: str = "") -> None:
        self._open.append((name, kind, len(self.nodes), flow))
        self.depth += 1

    def leave(self) -> None:
        name, kind, first, flow = self._open.pop()
        self.depth -= 1
        if len(self.nodes) > first:
            self.groups.append(Group(name, kind, self.depth + 1, first, len(self.nodes) - 1, flow))

    def graph(self, out: T) -> Graph:
        return Graph(tuple(self.input_shape), tuple(self.nodes),
                     tuple(sorted(self.groups, key=lambda g: (g.first, g.depth))), out.node,
                     _merged(self.assumptions))


def _merged(assumptions: list[str]) -> tuple[str, ...]:
    """``layer1.0 (BasicBlock): flow`` said once for all the blocks it holds for."""
    where: dict[str, list[str]] = {}
    for text in assumptions:
        head, sep, rest = text.partition(" (")
        key = sep + rest if sep and " " not in head else text
        where.setdefault(key, []).append(head if sep and " " not in head else "")
    return tuple((", ".join(p for p in heads if p) + key) if heads[0] else key for key, heads in where.items())


def chain(layers: tuple[Layer, ...], input_shape: Shape) -> Graph:
    """A plain layer list: each layer feeds the next."""
    tracer = Tracer(tuple(input_shape))
    x = tracer.input()
    for i, layer in enumerate(layers):
        x = tracer.apply(layer, x, str(i))
    return tracer.graph(x)


def broadcast(a: Shape, b: Shape, where: str) -> Shape:
    """PyTorch's broadcasting of two shapes, or the error it gives."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            raise ConvcalcError(f"shapes {show_shape(a)} and {show_shape(b)} do not match (size {x} against {y} "
                                f"on axis {-i}); a residual add needs equal shapes", where)
        out.append(max(x, y))
    return tuple(reversed(out))


def _dim(dim: int, rank: int, where: str) -> int:
    if not -rank <= dim < rank:
        raise ConvcalcError(f"dim={dim} is out of range for a rank-{rank} tensor", where)
    return dim % rank


def _reshape(target: tuple[int, ...], shape: Shape, where: str) -> Shape:
    total = math.prod(shape)
    if target.count(-1) > 1 or any(t < -1 or t == 0 for t in target):
        raise ConvcalcError(f"view/reshape to {show_shape(target)}: at most one -1 and no sizes below 1", where)
    known = math.prod(t for t in target if t != -1)
    if -1 in target:
        if total % known:
            raise ConvcalcError(f"cannot view {show_shape(shape)} ({total} values) as {show_shape(target)}", where)
        target = tuple(total // known if t == -1 else t for t in target)
    if math.prod(target) != total:
        raise ConvcalcError(f"cannot view {show_shape(shape)} ({total} values) as {show_shape(target)}", where)
    return target


def op_shape(layer: OpLayer, shapes: list[Shape]) -> LayerShape:
    """Output shape and counts of an operation outside modules.

    Elementwise add/sub/mul/div: 0 MACs and one arithmetic operation per output value (``ops``,
    counted in FLOPs); matmul: N·n·k·m MACs as torch's FlopCounterMode counts it; cat, view,
    reshape: nothing computed.
    """
    where, op = layer.where, layer.op
    if op in ("add", "sub", "mul", "div"):
        out = shapes[0]
        for s in shapes[1:]:
            out = broadcast(out, s, where)
        note = f"0 MACs: an elementwise {op}, {math.prod(out)} operations counted in FLOPs"
        return LayerShape(layer, shapes[0], out, ops=math.prod(out), notes=(note,))
    if op == "cat":
        first = shapes[0]
        d = _dim(layer.dim or 0, len(first), where)
        for s in shapes[1:]:
            if len(s) != len(first) or any(x != y for i, (x, y) in enumerate(zip(s, first, strict=True)) if i != d):
                raise ConvcalcError(f"torch.cat along dim {d}: shapes {show_shape(first)} and {show_shape(s)} differ "
                                    "outside that axis", where)
        out = (*first[:d], sum(s[d] for s in shapes), *first[d + 1 :])
        return LayerShape(layer, first, out, notes=(f"0 MACs: concatenation along dim {d}",))
    if op == "reshape":
        return LayerShape(layer, shapes[0], _reshape(layer.target, shapes[0], where), notes=("0 MACs: a reshape",))
    if op == "mean":
        dims = {_dim(d, len(shapes[0]), where) for d in layer.target}
        out = tuple(1 if i in dims else n for i, n in enumerate(shapes[0]) if layer.keepdim or i not in dims)
        return LayerShape(layer, shapes[0], out, ops=math.prod(shapes[0]), notes=("0 MACs: a mean (sums counted in "
                                                                                   "FLOPs)",))
    if op == "matmul":
        a, b = shapes
        if len(a) < 1 or len(b) < 2 or a[-1] != b[-2]:
            raise ConvcalcError(f"matmul of {show_shape(a)} and {show_shape(b)}: inner sizes differ", where)
        lead = broadcast(a[:-2], b[:-2], where)
        out = (*lead, *a[-2:-1], b[-1])
        return LayerShape(layer, a, out, macs=math.prod(out) * a[-1], notes=("MACs: one per output value and inner "
                                                                              "index",))
    raise ConvcalcError(f"unknown operation {op!r}", where)
