"""Receptive field, jump and start of every layer of a network graph, per spatial axis.

Three answers, each said for what it is:

* the default: exact for **interior** units (those whose window never reaches the border),
  per axis and per phase (``convcalc.net.periodic``): after a strided transposed conv the
  units differ by phase and this gives each phase's true field, through skips it is the
  union of the branches, and ``seen`` counts the pixels actually seen where a dilated stack
  leaves holes;
* ``exact=True``: every unit including the border, by passing index sets through every
  layer at the real input size (``convcalc.net.connectivity``): a border unit whose window
  lies partly in zero padding sees fewer pixels, as a gradient check with PyTorch shows;
* the textbook recurrence r_l = r_{l−1} + (k−1)·d·j_{l−1}, j_l = j_{l−1}·s (``recurrence``),
  kept beside them, marked ``approximate`` where it is known not to be the truth.

Layers that mix a whole axis make the field global (the input size): Linear over it,
Softmax along it, adaptive pooling to 1, a mean over it, GroupNorm/InstanceNorm/LayerNorm
(their statistics span the plane) and BatchNorm with ``track_running_stats=False`` (batch
statistics always: it also mixes the batch). Other BatchNorms are taken in inference form.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.formulas import jump_step, receptive_field_step, start_step, transposed_start_step, transposed_taps
from convcalc.limits import check_pairs
from convcalc.net import connectivity as conn
from convcalc.net import periodic
from convcalc.net.axis_maps import gather_of
from convcalc.net.graph import Graph, Node, OpLayer, chain
from convcalc.net.layers import (
    AdaptivePoolLayer,
    BatchNormLayer,
    ConvLayer,
    ElementwiseLayer,
    FlattenLayer,
    Layer,
    LinearLayer,
    NormLayer,
    PoolLayer,
)  # fmt: skip
from convcalc.net.shapes import AXES, NetworkShapes, Shape, flatten_dims

Number = int | Fraction


def _num(x: Fraction) -> Number:
    return int(x) if x.denominator == 1 else x


@dataclass(frozen=True)
class AxisField:
    """One layer's receptive field along one input axis ("D", "H" or "W").

    ``receptive_field`` / ``receptive_field_min``: the largest / smallest field over units —
    interior units by default, every unit when ``exact``. ``seen``: input pixels the widest
    interior unit actually depends on (less than its span where dilation leaves holes).
    ``recurrence`` / ``recurrence_min``: the textbook recurrence, kept for display. ``jump``
    and ``start`` in input pixels (fractions after a transposed conv). ``approximate``: the
    recurrence is known not to be exact here.
    """

    axis: str
    input_size: int
    receptive_field: Number
    receptive_field_min: Number
    jump: Number
    start: Number
    recurrence: Number
    recurrence_min: Number
    is_global: bool = False
    exact: bool = False
    approximate: bool = False
    seen: int = 0
    phases: int = 1


@dataclass(frozen=True)
class FieldRow:
    layer: Layer
    axes: tuple[AxisField, ...]
    notes: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class ReceptiveFields:
    input_shape: Shape
    rows: tuple[FieldRow, ...]
    exact: bool


@dataclass(frozen=True)
class _Axis:
    """One input axis's state in one tensor."""

    name: str
    n: int
    per: periodic.Periodic | None = field(default_factory=periodic.Periodic.identity)  # None: global
    sets: conn.Sets | None = None
    r: Fraction = Fraction(1)
    r_min: Fraction = Fraction(1)
    j: Fraction = Fraction(1)
    start: Fraction = Fraction(0)
    approximate: bool = False
    lost: bool = False  # --exact only: units repeat too rarely to follow phase by phase; ``sets`` tell

    def make_global(self, out: int) -> _Axis:
        sets = None if self.sets is None else conn.whole(self.sets, out)
        start = self.start if self.per is None or self.lost else self.per.start()
        return replace(self, per=None, sets=sets, r=Fraction(self.n), r_min=Fraction(self.n), start=start, lost=False)

    def result(self) -> AxisField:
        if self.per is None:
            big = small = seen = self.n
            phases = 1
        elif self.lost and self.sets is not None:
            big, small = conn.span_range(self.sets)
            seen, phases = big, 0
        else:
            spans = self.per.spans()
            big, seen = max(spans)
            small = min(s for s, _ in spans)
            phases = self.per.period
        if self.sets is not None:
            big, small = conn.span_range(self.sets)
        start = self.start if self.per is None or self.lost else self.per.start()
        return AxisField(self.name, self.n, big, small, _num(self.j), _num(start), _num(self.r), _num(self.r_min),
                         self.per is None, self.sets is not None, self.approximate, seen, phases)


State = tuple[list[tuple[str, ...]], dict[str, _Axis]]


def _recurrence(ax: _Axis, layer: Layer, i: int, notes: list[str]) -> _Axis:
    """The textbook recurrence through a conv, transposed conv or pool (display only)."""
    if isinstance(layer, ConvLayer) and layer.transposed:
        k, s, p, d = layer.kernel[i], layer.stride[i], layer.padding[i][0], layer.dilation[i]
        most, fewest, spacing = transposed_taps(k, s, d)
        r = receptive_field_step(ax.r, ax.j * spacing, most, 1) if most else Fraction(0)
        r_min = receptive_field_step(ax.r_min, ax.j * spacing, fewest, 1) if fewest else Fraction(0)
        if s > 1:
            notes.append(f"{ax.name}: each unit sees {fewest} to {most} units of the previous layer, by phase")
        return replace(ax, r=r, r_min=r_min, start=transposed_start_step(ax.start, ax.j, k, d, p, s),
                       j=jump_step(ax.j, Fraction(1, s)), approximate=ax.approximate or s > 1 or p > 0)
    if isinstance(layer, (ConvLayer, PoolLayer)):
        k, s, d = layer.kernel[i], layer.stride[i], layer.dilation[i]
        p = layer.padding[i][0] if isinstance(layer, ConvLayer) else layer.padding[i]
        circular = isinstance(layer, ConvLayer) and layer.padding_mode == "circular"
        return replace(ax, r=receptive_field_step(ax.r, ax.j, k, d), r_min=receptive_field_step(ax.r_min, ax.j, k, d),
                       start=start_step(ax.start, ax.j, k, d, p), j=jump_step(ax.j, s),
                       approximate=ax.approximate or circular)
    return replace(ax, approximate=True)


def _slide(node: Node, state: State, exact: bool, notes: list[str]) -> State:
    labels, axes = state
    row, layer = node.row, node.layer
    ndim = len(row.output_shape) - 2 if getattr(layer, "ndim", 0) == 0 else layer.ndim  # type: ignore[attr-defined]
    first = len(row.input_shape) - ndim
    axes = dict(axes)
    for i in range(ndim):
        label = labels[first + i]
        if len(label) != 1 or label[0] not in AXES[3]:
            raise ConvcalcError("receptive fields are per input axis, but this layer slides along an axis that "
                                f"Flatten merged ({'·'.join(label)})", layer.where)
        ax = axes[label[0]]
        n, o = row.input_shape[first + i], row.output_shape[first + i]
        g = gather_of(layer, i, n, o)
        if g is None:
            continue
        if g.approximate:
            notes.append(f"{ax.name}: {g.approximate}")
        if isinstance(layer, AdaptivePoolLayer) and o == 1:
            axes[ax.name] = ax.make_global(1)
            notes.append(f"{ax.name}: every unit sees the whole input along {ax.name} ({ax.n}): pooled to 1")
            continue
        lost = ax.lost
        per = ax.per
        if per is not None and not lost:
            try:
                per = periodic.through(per, g, layer.where)
            except periodic.PeriodTooLong:
                if ax.sets is None:
                    raise  # graph_fields falls back to every unit's fields
                lost = True
        if ax.sets is None:
            sets = None
        elif isinstance(layer, AdaptivePoolLayer):  # its true windows, not a bounded ratio
            sets = conn.through_adaptive(ax.sets, o, layer.where)
        else:
            sets = conn.through_gather(ax.sets, o, g.period, g.step, g.taps, g.mode, layer.where)
        new = replace(ax, per=per, sets=sets, lost=lost)
        if ax.per is not None:
            new = _recurrence(new, layer, i, notes)
        axes[ax.name] = new
    return labels, axes


def _global(state: State, dims: list[int], out: Shape, notes: list[str], why: str) -> State:
    labels, axes = state
    axes = dict(axes)
    for d in dims:
        for name in labels[d]:
            if name in axes and axes[name].per is not None:
                axes[name] = axes[name].make_global(out[d] if d < len(out) else 1)
                notes.append(f"{name}: every unit sees the whole input along {name} ({axes[name].n}): {why}")
    return labels, axes


def _reshape_labels(labels: list[tuple[str, ...]], src: Shape, dst: Shape, where: str) -> list[tuple[str, ...]]:
    """Labels of a view/reshape: output axes that are whole groups of input axes."""
    out: list[tuple[str, ...]] = []
    i = 0
    for size in dst:
        group: list[str] = []
        prod = 1
        while i < len(src) and (prod < size or (prod == size and src[i] == 1 and size == 1 and not group)):
            prod *= src[i]
            group.extend(labels[i])
            i += 1
        if prod != size:
            raise ConvcalcError("receptive fields cannot follow a reshape that splits an axis", where)
        out.append(tuple(group))
    return out


def _union(states: list[State], where: str) -> dict[str, _Axis]:
    axes = dict(states[0][1])
    for name in axes:
        parts = [s[1][name] for s in states]
        if any(p.per is None for p in parts):
            axes[name] = next(p for p in parts if p.per is None)
            continue
        lost = any(p.lost for p in parts)
        per = parts[0].per
        if not lost:
            try:
                per = periodic.union([p.per for p in parts], where)  # type: ignore[misc]
            except periodic.PeriodTooLong:
                if any(p.sets is None for p in parts):
                    raise
                lost = True
        sets = None
        if all(p.sets is not None for p in parts):
            sets = (np.minimum.reduce([p.sets[0] for p in parts]),  # type: ignore[index]
                    np.maximum.reduce([p.sets[1] for p in parts]))  # type: ignore[index]
        widest = max(parts, key=lambda p: p.r)
        axes[name] = replace(widest, per=per, sets=sets, approximate=any(p.approximate for p in parts), lost=lost)
    return axes


def _op(node: Node, states: list[State], notes: list[str]) -> State:
    layer: OpLayer = node.layer  # type: ignore[assignment]
    row, where = node.row, node.layer.where
    labels = states[0][0]
    if layer.op in ("add", "sub", "mul", "div"):
        rank = len(row.output_shape)
        widest = next(s[0] for s in states if len(s[0]) == rank)  # broadcasting keeps the larger operand's axes
        return widest, _union(states, where)
    if layer.op == "cat":
        d = (layer.dim or 0) % len(row.output_shape)
        if any(name in AXES[3] for name in labels[d]):
            raise ConvcalcError("receptive fields cannot follow a concatenation along a spatial axis", where)
        return labels, _union(states, where)
    if layer.op == "reshape":
        return _reshape_labels(labels, row.input_shape, row.output_shape, where), states[0][1]
    if layer.op == "mean":
        dims = sorted({d % len(labels) for d in layer.target})
        labels2, axes = _global(states[0], dims, row.output_shape, notes, "a mean over it")
        kept = [lab for i, lab in enumerate(labels2) if layer.keepdim or i not in dims]
        return kept, axes
    # matmul: every axis of either operand is mixed
    glob = [_global(s, list(range(len(s[0]))), row.output_shape, notes, "a matrix product")[1] for s in states]
    axes = dict(glob[0])
    for g in glob[1:]:
        axes.update(g)
    return [*labels[:-1], states[-1][0][-1]], axes


def _step(node: Node, states: list[State], exact: bool, notes: list[str]) -> State:
    layer, row = node.layer, node.row
    state = states[0]
    labels = list(state[0])
    if isinstance(layer, OpLayer):
        return _op(node, states, notes)
    if isinstance(layer, FlattenLayer):
        start, end = flatten_dims(layer, len(labels))
        labels[start : end + 1] = [tuple(x for lab in labels[start : end + 1] for x in lab)]
        return labels, state[1]
    if isinstance(layer, LinearLayer):
        return _global((labels, state[1]), [len(labels) - 1], row.output_shape, notes, "Linear mixes its last axis")
    if isinstance(layer, ElementwiseLayer) and layer.kind in ("Softmax", "LogSoftmax"):
        dim = layer.arg("dim")
        rank = len(labels)
        d = (0 if rank in (0, 1, 3) else 1) if dim is None else int(dim) % rank  # type: ignore[arg-type]
        return _global((labels, state[1]), [d], row.output_shape, notes, "Softmax normalizes along it")
    if isinstance(layer, BatchNormLayer) and not layer.track_running_stats:
        notes.append("track_running_stats=False: batch statistics always, so every output depends on every "
                      "sample of the batch and every position of the plane")
        return _global((labels, state[1]), list(range(2, len(labels))), row.output_shape, notes, "batch statistics")
    if isinstance(layer, NormLayer):
        if layer.norm == "layer":
            dims = list(range(len(labels) - len(layer.normalized_shape), len(labels)))
        else:
            dims = list(range(2, len(labels)))
        return _global((labels, state[1]), dims, row.output_shape, notes, f"{layer.kind} statistics")
    if gather_of_any(layer):
        return _slide(node, (labels, state[1]), exact, notes)
    return labels, state[1]


def gather_of_any(layer: Layer) -> bool:
    return layer.family in ("conv", "pool", "adaptive_pool", "pad", "resample")


def graph_fields(graph: Graph, exact: bool = False) -> ReceptiveFields:
    """Per node and input spatial axis: receptive field, jump and start (see the module docstring).

    Where units repeat too rarely to follow phase by phase (``periodic.MAX_PERIOD``), every
    unit's fields are given instead (``ReceptiveFields.exact`` is then True), and a note says why.
    """
    try:
        return _graph_fields(graph, exact)
    except periodic.PeriodTooLong as exc:
        if exact:
            raise
        result = _graph_fields(graph, True)
        note = (f"interior fields are not followed phase by phase here ({exc.where}: {exc.message}); "
                "the fields shown are every unit's, border included")
        first = result.rows[0] if result.rows else None
        rows = result.rows if first is None else (replace(first, notes=(note, *first.notes)), *result.rows[1:])
        return replace(result, rows=rows)


def exact_pairs(graph: Graph) -> int:
    """Unit/tap pairs the exact index-set propagation visits, over every layer and axis
    (an upper bound, known before any of it is done)."""
    total = sum(graph.input_shape[2:])
    for node in graph.nodes:
        layer, row = node.layer, node.row
        ins, outs = row.input_shape[2:], row.output_shape[2:]
        if isinstance(layer, ConvLayer | PoolLayer):
            for i, k in enumerate(layer.kernel):
                if i < len(outs):
                    total += max(ins[i] * k, outs[i]) if getattr(layer, "transposed", False) else outs[i] * k
        elif gather_of_any(layer):
            total += sum(2 * max(i, o, 1) for i, o in zip(ins, outs, strict=False))
    return total


def _graph_fields(graph: Graph, exact: bool) -> ReceptiveFields:
    shape = graph.input_shape
    if exact:
        check_pairs(exact_pairs(graph), "exact receptive fields")
    names = AXES.get(len(shape) - 2, ())
    axes = {name: _Axis(name, n, sets=conn.input_sets(n, "--input-shape") if exact else None)
            for name, n in zip(names, shape[2:], strict=True)}
    labels: list[tuple[str, ...]] = [("N",), ("C",), *((name,) for name in names)][: len(shape)]
    start: State = (labels, axes)
    states: list[State] = []
    rows: list[FieldRow] = []
    for node in graph.nodes:
        notes: list[str] = []
        inputs = [start if i < 0 else states[i] for i in node.inputs]
        state = _step(node, inputs, exact, notes)
        states.append(state)
        fields = tuple(ax.result() for ax in state[1].values())
        notes += [f"{f.axis}: the recurrence gives {f.recurrence}, the largest true field is {f.receptive_field}"
                  for f in fields if not f.is_global and f.recurrence != f.receptive_field]
        rows.append(FieldRow(node.layer, fields, tuple(notes), node.name))
    return ReceptiveFields(tuple(shape), tuple(rows), exact)


def receptive_fields(layers: tuple[Layer, ...], input_shape: Shape, exact: bool = False,
                     shapes: NetworkShapes | None = None) -> ReceptiveFields:
    """A plain layer list's fields (see ``graph_fields``)."""
    del shapes
    return graph_fields(chain(layers, input_shape), exact)
