"""The per-layer table engineers read (torchinfo's layout): hierarchy to ``--depth``, kernel and
output shape, parameters (trainable or frozen), MACs, and torchinfo's memory estimate."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from convcalc.net.graph import Graph, Group, Node, OpLayer
from convcalc.net.layers import ConvLayer, LinearLayer, PoolLayer

BYTES_PER_VALUE = 4  # float32, as torchinfo assumes


def human(n: int, unit: str = "") -> str:
    """``61.10M``: torchinfo's K/M/G/T totals (powers of 1000), the exact count kept beside it elsewhere."""
    for size, letter in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(n) >= size:
            return f"{n / size:.2f}{letter}{unit}"
    return f"{n}{unit and ' ' + unit}"


def grouped(n: int) -> str:
    return f"{n:,}"


def megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:,.2f}"


def kernel_of(node: Node) -> str:
    layer = node.layer
    if isinstance(layer, (ConvLayer, PoolLayer)):
        return "×".join(map(str, layer.kernel))
    return ""


@dataclass(frozen=True)
class Entry:
    """One printed row: a container (its subtree summed) or a layer/operation."""

    depth: int
    name: str
    kind: str
    kernel: str
    output: tuple[int, ...]
    params: int
    frozen: int  # parameters with requires_grad=False
    macs: int
    ops: int
    node: Node | None = None


def _root(graph: Graph) -> Group | None:
    return next((g for g in graph.groups if g.depth == 1 and g.first == 0 and g.last == len(graph.nodes) - 1), None)


def entries(graph: Graph, depth: int) -> list[Entry]:
    """Rows down to ``depth`` (the model itself is depth 0), in the order data meets them."""
    root = _root(graph)
    shift = 1 if root is not None or not graph.groups else 0  # a layer list's layers sit at depth 0
    items: list[tuple[int, int, Any]] = [(g.first, g.depth, g) for g in graph.groups]
    items += [(i, n.depth, n) for i, n in enumerate(graph.nodes)]
    items.sort(key=lambda t: (t[0], t[1], isinstance(t[2], Node)))
    out: list[Entry] = []
    for _, d, item in items:
        shown = d - shift
        if shown > depth:
            continue
        if isinstance(item, Group):
            nodes = graph.nodes[item.first : item.last + 1]
            out.append(Entry(shown, item.name or "(model)", item.kind, "", nodes[-1].row.output_shape,
                             sum(n.row.params for n in nodes), sum(n.row.params for n in nodes if not n.trainable),
                             sum(n.row.macs for n in nodes), sum(n.row.ops for n in nodes)))
        else:
            kind = item.layer.kind if item.module else f"{item.layer.kind} (in forward)"
            name = item.name if graph.groups else item.layer.text  # a layer list: each layer as written
            out.append(Entry(shown, name, kind, kernel_of(item), item.row.output_shape, item.row.params,
                             0 if item.trainable else item.row.params, item.row.macs, item.row.ops, item))
    return out


def exact_ops(node: Node) -> tuple[int, int] | None:
    """(multiplications, additions) of a conv, Linear or elementwise operation; None where not defined here."""
    layer, row = node.layer, node.row
    if isinstance(layer, ConvLayer) and not layer.transposed:
        taps = (row.input_shape[1] // layer.groups) * math.prod(layer.kernel)
        cells = math.prod(row.output_shape)
        return cells * taps, cells * (taps - 1 + int(layer.bias))
    if isinstance(layer, LinearLayer):
        cells, width = math.prod(row.output_shape), row.input_shape[-1]
        return cells * width, cells * (width - 1 + int(layer.bias))
    if isinstance(layer, OpLayer) and layer.op in ("add", "sub"):
        return 0, row.ops
    if isinstance(layer, OpLayer) and layer.op in ("mul", "div"):
        return row.ops, 0
    if row.macs == 0 and row.ops == 0:
        return 0, 0
    return None


@dataclass(frozen=True)
class Memory:
    """torchinfo's estimate, in bytes of float32 values."""

    input_bytes: int
    forward_backward_bytes: int
    params_bytes: int

    @property
    def total(self) -> int:
        return self.input_bytes + self.forward_backward_bytes + self.params_bytes


def memory(graph: Graph) -> Memory:
    """Input; every module output of a layer with parameters, twice (forward value and its
    gradient); the parameters. Operations outside modules and parameter-free layers are not
    counted, as torchinfo does not."""
    fb = sum(2 * BYTES_PER_VALUE * math.prod(n.row.output_shape) for n in graph.nodes if n.module and n.row.params)
    return Memory(BYTES_PER_VALUE * math.prod(graph.input_shape), fb, BYTES_PER_VALUE * graph.params)
