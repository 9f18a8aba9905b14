"""Propagate an input shape through parsed layers: output shapes, parameters, MACs.

All counts are exact Python integers. Every size and count comes from ``convcalc.formulas``;
this module only decides which formula applies and checks what PyTorch would refuse
(channel mismatches, sizes below 1, Linear fed the wrong width), naming the layer's line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from convcalc.errors import ConvcalcError
from convcalc.formulas import (
    SizeResult,
    batchnorm_param_count,
    conv_macs,
    conv_output_size,
    conv_weight_count,
    linear_macs,
    pool_output_size,
    transposed_macs,
    transposed_size,
    transposed_weight_count,
)
from convcalc.net.layers import (
    AdaptivePoolLayer,
    BatchNormLayer,
    ConvLayer,
    ElementwiseLayer,
    FlattenLayer,
    Layer,
    LinearLayer,
    NormLayer,
    PadLayer,
    PoolLayer,
    ResampleLayer,
)

Shape = tuple[int, ...]
AXES = {1: ("W",), 2: ("H", "W"), 3: ("D", "H", "W")}
MAX_DIM = 10**9


@dataclass(frozen=True)
class LayerShape:
    """One layer's row: shapes in and out, learnable counts, MACs and what was inferred.

    ``sizes`` holds the exact output size per spatial axis for conv/transposed/pool layers
    (``SizeResult.exact`` unfloored, ``.value`` PyTorch's), so a renderer can show a floor.
    ``inferred`` names channels a Lazy layer took from its input, e.g. (("in_channels", 32),).
    ``buffers`` counts non-learnable state (BatchNorm running mean/var and its step counter).
    ``notes`` are plain sentences for the reader (why MACs are 0, floors, inferred values).
    """

    layer: Layer
    input_shape: Shape
    output_shape: Shape
    weights: int = 0
    biases: int = 0
    buffers: int = 0
    macs: int = 0
    sizes: tuple[SizeResult, ...] = ()
    inferred: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()
    ops: int = 0  # other arithmetic (an elementwise add's one add per value), counted in FLOPs only

    @property
    def params(self) -> int:
        """Learnable parameters: weights + biases (BatchNorm: γ + β)."""
        return self.weights + self.biases


@dataclass(frozen=True)
class NetworkShapes:
    """Every layer's row and the totals."""

    input_shape: Shape
    rows: tuple[LayerShape, ...]

    @property
    def output_shape(self) -> Shape:
        return self.rows[-1].output_shape if self.rows else self.input_shape

    @property
    def weights(self) -> int:
        return sum(r.weights for r in self.rows)

    @property
    def biases(self) -> int:
        return sum(r.biases for r in self.rows)

    @property
    def params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def buffers(self) -> int:
        return sum(r.buffers for r in self.rows)

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.rows)


def parse_shape(text: str, where: str = "--input-shape") -> Shape:
    """``"100x3x512x512"``, ``"1,3,32,32"``, ``"(1, 3, 32)"`` -> (N, C, [H,] W) or (N, F)."""
    body = text.strip().strip("()[]")
    parts = [p for p in re.split(r"[x×,\s]+", body) if p]
    shown = repr(text) if len(text) <= 60 else repr(text[:50]) + f"… ({len(text)} characters)"
    # ASCII digits only ("²".isdigit() is true, and int() refuses it), and no longer than MAX_DIM
    # before int() (which refuses more than 4300 digits)
    if not 2 <= len(parts) <= 5 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ConvcalcError(f"expected N,C,H,W, N,C,W or N,C,D,H,W (e.g. 100x3x512x512), got {shown}", where)
    dims = tuple(int(p) if len(p) <= len(str(MAX_DIM)) else MAX_DIM + 1 for p in parts)
    if any(d < 1 or d > MAX_DIM for d in dims):
        raise ConvcalcError(f"every size must be between 1 and {MAX_DIM}, got {shown}", where)
    return dims


def show_shape(shape: Shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


_show = show_shape


def _need_rank(layer: Layer, shape: Shape, ranks: tuple[int, ...], names: str) -> None:
    if len(shape) not in ranks:
        raise ConvcalcError(f"expects input {names}, got {_show(shape)}", layer.where)


def _channels(layer: Layer, shape: Shape, declared: int | None, name: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    """The input's channel count checked against the layer's (or inferred, for Lazy)."""
    c = shape[1]
    if declared is None:
        return c, ((name, c),)
    if declared != c:
        raise ConvcalcError(f"{name}={declared} but the input {_show(shape)} has {c} channels", layer.where)
    return c, ()


def _size_note(axis: str, size: SizeResult) -> str | None:
    if size.integral:
        return None
    return (f"{axis}: the size formula gives {size.exact} = {float(size.exact):g}; PyTorch floors it to "
            f"{size.value} (not an exact tiling)")


def _conv(layer: ConvLayer, shape: Shape) -> LayerShape:
    _need_rank(layer, shape, (layer.ndim + 2,), "(N, C, " + ", ".join(AXES[layer.ndim]) + ")")
    c_in, inferred = _channels(layer, shape, layer.in_channels, "in_channels")
    if c_in % layer.groups:
        raise ConvcalcError(f"in_channels={c_in} is not divisible by groups={layer.groups}", layer.where)
    spatial = shape[2:]
    sizes: list[SizeResult] = []
    notes: list[str] = []
    for axis, n, k, s, (lo, hi), d, op in zip(AXES[layer.ndim], spatial, layer.kernel, layer.stride, layer.padding,
                                                 layer.dilation, layer.output_padding, strict=True):
        if layer.padding_mode in ("reflect", "circular") and max(lo, hi) > n - (layer.padding_mode == "reflect"):
            limit = "less than" if layer.padding_mode == "reflect" else "at most"
            raise ConvcalcError(f"{axis}: padding_mode='{layer.padding_mode}' needs padding {limit} the input size "
                                f"{n}, got {max(lo, hi)}", layer.where)
        if layer.transposed:
            v = transposed_size(n, k, s, lo, d, op)
            size = SizeResult(Fraction(v), v, True)
        else:
            size = conv_output_size(n, k, s, lo + hi, d)
        if size.value < 1:
            raise ConvcalcError(f"{axis}: output size {size.exact} is less than 1 (input {n}, kernel {k}, "
                                f"dilation {d}, padding {lo}+{hi})", layer.where)
        sizes.append(size)
        notes += filter(None, [_size_note(axis, size)])
    out = tuple(s.value for s in sizes)
    if layer.transposed:
        weights = transposed_weight_count(c_in, layer.out_channels, layer.kernel, layer.groups)
        macs = transposed_macs(shape[0], c_in, layer.out_channels, spatial, layer.kernel, layer.groups)
        notes.append("MACs counted on the input grid: every input value meets every kernel tap once")
    else:
        weights = conv_weight_count(c_in, layer.out_channels, layer.kernel, layer.groups)
        macs = conv_macs(shape[0], c_in, layer.out_channels, out, layer.kernel, layer.groups)
    notes += [f"{name} = {value} inferred from the input" for name, value in inferred]
    return LayerShape(layer, shape, (shape[0], layer.out_channels, *out), weights,
                      layer.out_channels if layer.bias else 0, 0, macs, tuple(sizes), inferred, tuple(notes))


def _pool(layer: PoolLayer, shape: Shape) -> LayerShape:
    _need_rank(layer, shape, (layer.ndim + 2,), "(N, C, " + ", ".join(AXES[layer.ndim]) + ")")
    sizes: list[SizeResult] = []
    notes = [f"0 MACs: {layer.op} pooling has no weights to multiply by"]
    for axis, n, k, s, p, d in zip(AXES[layer.ndim], shape[2:], layer.kernel, layer.stride, layer.padding,
                                   layer.dilation, strict=True):
        size = pool_output_size(n, k, s, p, d, layer.ceil_mode)
        if size.value < 1:
            raise ConvcalcError(f"{axis}: output size {size.exact} is less than 1 (input {n}, kernel {k})", layer.where)
        sizes.append(size)
        if layer.ceil_mode and not size.integral:
            notes.append(f"{axis}: ceil_mode rounds {size.exact} up to {size.value}"
                         + (" (last window dropped: it would start in the padding)" if size.ceil_adjusted else ""))
        else:
            notes += filter(None, [_size_note(axis, size)])
    out = (*shape[:2], *(s.value for s in sizes))
    return LayerShape(layer, shape, out, sizes=tuple(sizes), notes=tuple(notes))


def _adaptive(layer: AdaptivePoolLayer, shape: Shape) -> LayerShape:
    _need_rank(layer, shape, (layer.ndim + 2,), "(N, C, " + ", ".join(AXES[layer.ndim]) + ")")
    out = tuple(n if o is None else o for n, o in zip(shape[2:], layer.output_size, strict=True))
    note = f"0 MACs: adaptive {layer.op} pooling has no weights to multiply by"
    return LayerShape(layer, shape, (*shape[:2], *out), notes=(note,))


def _batchnorm(layer: BatchNormLayer, shape: Shape) -> LayerShape:
    ranks = (2, 3) if layer.ndim == 1 else (layer.ndim + 2,)
    _need_rank(layer, shape, ranks, "(N, C) or (N, C, W)" if layer.ndim == 1 else
               "(N, C, " + ", ".join(AXES[layer.ndim]) + ")")
    c, inferred = _channels(layer, shape, layer.num_features, "num_features")
    weights = batchnorm_param_count(c, layer.weight, False)
    biases = batchnorm_param_count(c, False, layer.bias)
    buffers = 2 * c + 1 if layer.track_running_stats else 0  # running mean, running var, num_batches_tracked
    notes = ("0 MACs counted: the per-channel scale and shift are not counted as multiply-accumulates",
             "running mean and variance are buffers, not learnable parameters",
             *(f"{n} = {v} inferred from the input" for n, v in inferred))
    return LayerShape(layer, shape, shape, weights, biases, buffers, inferred=inferred, notes=notes)


def _linear(layer: LinearLayer, shape: Shape) -> LayerShape:
    width = shape[-1]
    inferred: tuple[tuple[str, int], ...] = ()
    if layer.in_features is None:
        inferred = (("in_features", width),)
    elif layer.in_features != width:
        hint = f"; flattened from dim 1 it would be {math.prod(shape[1:])}, add Flatten()?" if len(shape) > 2 else ""
        raise ConvcalcError(f"in_features={layer.in_features} but its input {_show(shape)} has last axis {width} "
                            f"(Linear acts on the last axis){hint}", layer.where)
    rows = math.prod(shape[:-1])
    notes = tuple(f"{n} = {v} inferred from the input" for n, v in inferred)
    return LayerShape(layer, shape, (*shape[:-1], layer.out_features), width * layer.out_features,
                      layer.out_features if layer.bias else 0, 0, linear_macs(rows, width, layer.out_features),
                      inferred=inferred, notes=notes)


def flatten_dims(layer: FlattenLayer, rank: int) -> tuple[int, int]:
    """Flatten's start and end as non-negative axes, checked as torch.flatten checks them."""
    start = layer.start_dim + rank if layer.start_dim < 0 else layer.start_dim
    end = layer.end_dim + rank if layer.end_dim < 0 else layer.end_dim
    if not (0 <= start < rank and 0 <= end < rank):
        raise ConvcalcError(f"dims ({layer.start_dim}, {layer.end_dim}) are out of range for a rank-{rank} input",
                            layer.where)
    if start > end:
        raise ConvcalcError(f"start_dim {layer.start_dim} comes after end_dim {layer.end_dim}", layer.where)
    return start, end


def _flatten(layer: FlattenLayer, shape: Shape) -> LayerShape:
    start, end = flatten_dims(layer, len(shape))
    out = (*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])
    return LayerShape(layer, shape, out, notes=("0 MACs: a reshape",))


def _elementwise(layer: ElementwiseLayer, shape: Shape) -> LayerShape:
    weights = 0
    if layer.num_parameters:  # PReLU: one shared slope, or one per channel (axis 1)
        c = shape[1] if len(shape) >= 2 else 1
        if layer.num_parameters not in (1, c):
            raise ConvcalcError(f"num_parameters={layer.num_parameters} must be 1 or the channel count {c}",
                                layer.where)
        weights = layer.num_parameters
    dim = layer.args and dict(layer.args).get("dim")
    if isinstance(dim, int) and not -len(shape) <= dim < len(shape):
        raise ConvcalcError(f"dim={dim} is out of range for a rank-{len(shape)} input", layer.where)
    return LayerShape(layer, shape, shape, weights, notes=(f"0 MACs: {layer.role}, applied element by element",))


_HANDLERS: dict = {
    ConvLayer: _conv,
    PoolLayer: _pool,
    AdaptivePoolLayer: _adaptive,
    BatchNormLayer: _batchnorm,
    LinearLayer: _linear,
    FlattenLayer: _flatten,
    ElementwiseLayer: _elementwise,
}


def layer_shape(layer: Layer, shape: Shape) -> LayerShape:
    """One layer applied to an input of ``shape``."""
    if not _HANDLERS.get(ResampleLayer):
        from convcalc.net import shapes_extra as extra

        _HANDLERS.update({ResampleLayer: extra.resample_shape, NormLayer: extra.norm_shape, PadLayer: extra.pad_shape})
    return _HANDLERS[type(layer)](layer, shape)  # type: ignore[operator]


def propagate(layers: tuple[Layer, ...], input_shape: Shape) -> NetworkShapes:
    """Every layer's row, in order. Raises ConvcalcError at the first layer PyTorch would refuse."""
    rows: list[LayerShape] = []
    shape = tuple(input_shape)
    for layer in layers:
        row = layer_shape(layer, shape)
        rows.append(row)
        shape = row.output_shape
    return NetworkShapes(tuple(input_shape), tuple(rows))
