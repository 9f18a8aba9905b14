"""Receptive field, jump and start of every layer, per spatial axis.

The textbook recurrence (``convcalc.formulas``): r_l = r_{l−1} + (k−1)·d·j_{l−1},
j_l = j_{l−1}·s, start_l = start_{l−1} + ((k−1)·d/2 − p)·j_{l−1}, with r, j, start in input
pixels (start: the centre of the first unit). Where that recurrence is not the truth:

* a transposed conv divides the jump by its stride, and its units see ⌈k/s⌉ or fewer units
  of the layer before depending on their phase, so units differ: the recurrence carries a
  largest and a smallest field, and every later row is marked ``approximate``;
* Linear over an axis, Softmax along it, or adaptive pooling to 1 mixes the whole axis: the
  row is ``is_global`` and its field is the input size;
* ``exact=True`` replaces both fields with the true largest and smallest span over all units,
  found by passing index sets through every layer (``convcalc.net.connectivity``). Those are
  clipped to the input: a border unit whose window lies partly in zero padding sees fewer
  pixels, exactly what a gradient check with PyTorch shows.

BatchNorm is taken in inference form (per-channel scale and shift); in training mode its
batch statistics would make every output depend on every input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from convcalc.errors import ConvcalcError
from convcalc.formulas import (
    adaptive_widths,
    jump_step,
    receptive_field_step,
    start_step,
    transposed_start_step,
    transposed_taps,
)
from convcalc.limits import check_pairs
from convcalc.net import connectivity as conn
from convcalc.net.layers import (
    AdaptivePoolLayer,
    ConvLayer,
    ElementwiseLayer,
    FlattenLayer,
    Layer,
    LinearLayer,
    PoolLayer,
)
from convcalc.net.shapes import AXES, LayerShape, NetworkShapes, Shape, flatten_dims, propagate

Number = int | Fraction


def _num(x: Fraction) -> Number:
    """Integers stay integers (printed 13, never 13/1)."""
    return int(x) if x.denominator == 1 else x


@dataclass(frozen=True)
class AxisField:
    """One layer's receptive field along one input axis ("H" or "W").

    ``receptive_field`` / ``receptive_field_min``: the largest / smallest field over units
    (exact spans when ``exact``, else the recurrence, or ``input_size`` when ``is_global``).
    ``recurrence`` / ``recurrence_min``: what the recurrence says, unclipped, always kept so a
    renderer can show the textbook value beside the truth. ``jump`` and ``start`` are in input
    pixels and may be fractions after a transposed conv. ``approximate``: the recurrence is
    known not to be exact here (after a transposed conv with stride > 1, uneven adaptive
    pooling or circular padding).
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


@dataclass(frozen=True)
class FieldRow:
    """The receptive fields after one layer, one entry per input spatial axis."""

    layer: Layer
    axes: tuple[AxisField, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReceptiveFields:
    input_shape: Shape
    rows: tuple[FieldRow, ...]
    exact: bool


@dataclass
class _Axis:
    """Running state of one input axis while walking the layers."""

    name: str
    n: int
    r: Fraction = Fraction(1)
    r_min: Fraction = Fraction(1)
    j: Fraction = Fraction(1)
    start: Fraction = Fraction(0)
    is_global: bool = False
    approximate: bool = False
    sets: conn.Sets | None = None
    notes: list[str] = field(default_factory=list)

    def make_global(self, out: int) -> None:
        self.is_global = True
        self.r = self.r_min = Fraction(self.n)
        if self.sets is not None:
            self.sets = conn.whole(self.sets, out)
        self.notes.append(f"{self.name}: every unit sees the whole input along {self.name} ({self.n})")

    def result(self) -> AxisField:
        big, small = (self.r, self.r_min) if self.sets is None else map(Fraction, conn.span_range(self.sets))
        if self.is_global and self.sets is None:
            big = small = Fraction(self.n)
        return AxisField(self.name, self.n, _num(big), _num(small), _num(self.j), _num(self.start), _num(self.r),
                         _num(self.r_min), self.is_global, self.sets is not None, self.approximate)


def _window_axis(ax: _Axis, k: int, s: int, pad: int, d: int, out: int, mode: str, where: str) -> None:
    if ax.is_global:  # every unit already sees everything; only the exact sets can still shrink (all-padding windows)
        if ax.sets is not None:
            ax.sets = conn.through_window(ax.sets, out, k, s, pad, d, mode, where)
        return
    ax.r, ax.r_min = receptive_field_step(ax.r, ax.j, k, d), receptive_field_step(ax.r_min, ax.j, k, d)
    ax.start, ax.j = start_step(ax.start, ax.j, k, d, pad), jump_step(ax.j, s)
    if mode == "circular":
        ax.approximate = True
        ax.notes.append(f"{ax.name}: circular padding lets border units see the far edge")
    if ax.sets is not None:
        ax.sets = conn.through_window(ax.sets, out, k, s, pad, d, mode, where)


def _transposed_axis(ax: _Axis, k: int, s: int, p: int, d: int, out: int, where: str) -> None:
    if ax.is_global:
        if ax.sets is not None:
            ax.sets = conn.through_transposed(ax.sets, out, k, s, p, d, where)
        return
    most, fewest, spacing = transposed_taps(k, s, d)
    ax.r = receptive_field_step(ax.r, ax.j * spacing, most, 1) if most else Fraction(0)
    ax.r_min = receptive_field_step(ax.r_min, ax.j * spacing, fewest, 1) if fewest else Fraction(0)
    ax.start = transposed_start_step(ax.start, ax.j, k, d, p, s)
    ax.j = jump_step(ax.j, Fraction(1, s))
    if s > 1:  # units now differ by phase; later windows mix phases, which the recurrence cannot follow
        ax.approximate = True
        ax.notes.append(f"{ax.name}: each unit sees {fewest} to {most} units of the previous layer, by phase")
    if p > 0:  # a later window that reaches past the cropped edge reads padding, not the input pixels beyond it
        ax.approximate = True
        ax.notes.append(f"{ax.name}: padding {p} crops the transposed conv's border, so a later window reaching past "
                        f"the edge reads zeros where the recurrence places input pixels")
    if ax.sets is not None:
        ax.sets = conn.through_transposed(ax.sets, out, k, s, p, d, where)


def _adaptive_axis(ax: _Axis, n: int, out: int, where: str) -> None:
    if ax.is_global:
        if ax.sets is not None:
            ax.sets = conn.through_adaptive(ax.sets, out, where)
        return
    if out == 1:
        ax.make_global(1)
        return
    narrowest, widest = adaptive_widths(n, out)  # the first window is a narrowest one
    ax.r = receptive_field_step(ax.r, ax.j, widest, 1)
    ax.r_min = receptive_field_step(ax.r_min, ax.j, narrowest, 1)
    ax.start += Fraction(narrowest - 1, 2) * ax.j
    ax.j = jump_step(ax.j, Fraction(n, out))
    if n % out:
        ax.approximate = True
        ax.notes.append(f"{ax.name}: adaptive windows of {narrowest} to {widest} at uneven steps")
    if ax.sets is not None:
        ax.sets = conn.through_adaptive(ax.sets, out, where)


def _spatial(labels: list[tuple[str, ...]], layer: Layer, ndim: int) -> list[str]:
    """The input axis behind each of a layer's spatial dims; refuse merged ones."""
    names = []
    for label in labels[2 : 2 + ndim]:
        if len(label) != 1 or label[0] not in ("H", "W"):
            raise ConvcalcError("receptive fields are per input axis, but this layer slides along an axis that "
                                f"Flatten merged ({'·'.join(label)})", layer.where)
        names.append(label[0])
    return names


def _softmax_dim(layer: ElementwiseLayer, rank: int) -> int | None:
    if layer.kind not in ("Softmax", "LogSoftmax"):
        return None
    dim = layer.arg("dim")
    if dim is None:  # PyTorch's legacy choice when dim is not given
        return 0 if rank in (0, 1, 3) else 1
    return int(dim) % rank  # type: ignore[arg-type]


def _step(layer: Layer, row: LayerShape, axes: dict[str, _Axis], labels: list[tuple[str, ...]]) -> None:
    """Advance every axis's state through one layer, and the tensor's axis labels."""
    out = row.output_shape
    if isinstance(layer, ConvLayer):
        for i, name in enumerate(_spatial(labels, layer, layer.ndim)):
            o = out[2 + i]
            if layer.transposed:
                _transposed_axis(axes[name], layer.kernel[i], layer.stride[i], layer.padding[i][0],
                                 layer.dilation[i], o, layer.where)
            else:
                _window_axis(axes[name], layer.kernel[i], layer.stride[i], layer.padding[i][0], layer.dilation[i],
                             o, layer.padding_mode, layer.where)
    elif isinstance(layer, PoolLayer):
        for i, name in enumerate(_spatial(labels, layer, layer.ndim)):
            _window_axis(axes[name], layer.kernel[i], layer.stride[i], layer.padding[i], layer.dilation[i],
                         out[2 + i], "zeros", layer.where)
    elif isinstance(layer, AdaptivePoolLayer):
        for i, name in enumerate(_spatial(labels, layer, layer.ndim)):
            if layer.output_size[i] is not None:
                _adaptive_axis(axes[name], row.input_shape[2 + i], out[2 + i], layer.where)
    elif isinstance(layer, FlattenLayer):
        start, end = flatten_dims(layer, len(labels))
        labels[start : end + 1] = [tuple(x for lab in labels[start : end + 1] for x in lab)]
    elif isinstance(layer, (LinearLayer, ElementwiseLayer)):
        dim = len(labels) - 1 if isinstance(layer, LinearLayer) else _softmax_dim(layer, len(labels))
        if dim is not None:
            for name in labels[dim]:
                if name in axes and not axes[name].is_global:
                    axes[name].make_global(out[dim])


def exact_pairs(layers: tuple[Layer, ...], shapes: NetworkShapes) -> int:
    """Unit/tap pairs the exact index-set propagation visits, over every layer and axis
    (an upper bound, known before any of it is done)."""
    total = sum(shapes.input_shape[2:])
    for layer, row in zip(layers, shapes.rows, strict=True):
        ins, outs = row.input_shape[2:], row.output_shape[2:]
        if isinstance(layer, ConvLayer | PoolLayer):
            for i, k in enumerate(layer.kernel):
                if i < len(outs):
                    total += max(ins[i] * k, outs[i]) if getattr(layer, "transposed", False) else outs[i] * k
        elif isinstance(layer, AdaptivePoolLayer):
            total += sum(max(i, 1) * 2 for i in ins)
    return total


def receptive_fields(layers: tuple[Layer, ...], input_shape: Shape, exact: bool = False,
                     shapes: NetworkShapes | None = None) -> ReceptiveFields:
    """Per layer and input axis: receptive field (largest, smallest), jump and start.

    ``input_shape`` is (N, C, H, W) or (N, C, W); shapes are propagated (and checked) first
    unless given. With ``exact=True`` every row is verified by index-set propagation.
    """
    shapes = shapes or propagate(layers, input_shape)
    names = AXES.get(len(input_shape) - 2, ())
    axes = {name: _Axis(name, n) for name, n in zip(names, input_shape[2:], strict=True)}
    if exact:
        check_pairs(exact_pairs(layers, shapes), "exact receptive fields")
        for ax in axes.values():
            ax.sets = conn.input_sets(ax.n, "--input-shape")
    labels: list[tuple[str, ...]] = [("N",), ("C",), *((name,) for name in names)][: len(input_shape)]
    rows: list[FieldRow] = []
    for layer, row in zip(layers, shapes.rows, strict=True):
        for ax in axes.values():
            ax.notes.clear()
        _step(layer, row, axes, labels)
        fields = tuple(ax.result() for ax in axes.values())
        notes = [note for ax in axes.values() for note in ax.notes]
        notes += [f"{f.axis}: the recurrence gives {f.recurrence}, the largest true field is {f.receptive_field}"
                  for f in fields if f.exact and not f.is_global and f.recurrence != f.receptive_field]
        rows.append(FieldRow(layer, fields, tuple(notes)))
    return ReceptiveFields(tuple(input_shape), tuple(rows), exact)


