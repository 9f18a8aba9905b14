"""Shapes and counts of the layers beyond conv/pool/linear (``convcalc.net.parse_extra``).

PyTorch's conventions: interpolation, padding and pixel shuffles have no parameters and 0
MACs (torch's FlopCounterMode counts none for them); GroupNorm, LayerNorm and InstanceNorm
have one γ and one β per channel (LayerNorm: per normalized item) when affine, and their
scale-and-shift is not counted as multiply-accumulates (as BatchNorm here).
"""

from __future__ import annotations

import math

from convcalc.errors import ConvcalcError
from convcalc.net.layers import NormLayer, PadLayer, ResampleLayer
from convcalc.net.shapes import LayerShape, Shape, show_shape

_RANK_OF_MODE = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def _per_axis(values: tuple, n: int, what: str, layer: ResampleLayer) -> tuple:
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise ConvcalcError(f"{what} has {len(values)} values but the input has {n} spatial axes", layer.where)
    return values


def _upsample(layer: ResampleLayer, shape: Shape) -> LayerShape:
    rank = len(shape)
    need = _RANK_OF_MODE.get(layer.mode)
    if layer.ndim:
        need = layer.ndim + 2
    if rank not in (3, 4, 5) or (need is not None and rank != need):
        wanted = f"a rank-{need} input" if need else "an input of rank 3, 4 or 5 (N, C, then 1-3 spatial axes)"
        raise ConvcalcError(f"mode '{layer.mode}' expects {wanted}, got {show_shape(shape)}", layer.where)
    spatial = shape[2:]
    if layer.size is not None:
        out = _per_axis(layer.size, len(spatial), "size", layer)
    else:
        scales = _per_axis(layer.scale or (), len(spatial), "scale_factor", layer)
        out = tuple(math.floor(n * s) for n, s in zip(spatial, scales, strict=True))  # PyTorch floors in double
    if any(o < 1 for o in out):
        raise ConvcalcError(f"output size {show_shape(out)} has an axis below 1", layer.where)
    note = f"0 MACs: {layer.mode} interpolation is not counted as multiply-accumulates (as torch's FlopCounterMode)"
    return LayerShape(layer, shape, (*shape[:2], *out), notes=(note,))


def _shuffle(layer: ResampleLayer, shape: Shape) -> LayerShape:
    if len(shape) < 3:
        raise ConvcalcError(f"expects an input (N, C, H, W), got {show_shape(shape)}", layer.where)
    *lead, c, h, w = shape
    r = layer.factor
    if layer.mode == "shuffle":
        if c % (r * r):
            raise ConvcalcError(f"the channels {c} must be divisible by upscale_factor² = {r * r}", layer.where)
        out = (*lead, c // (r * r), h * r, w * r)
    else:
        if h % r or w % r:
            raise ConvcalcError(f"height {h} and width {w} must be divisible by downscale_factor {r}", layer.where)
        out = (*lead, c * r * r, h // r, w // r)
    return LayerShape(layer, shape, out, notes=("0 MACs: a rearrangement of values",))


def resample_shape(layer: ResampleLayer, shape: Shape) -> LayerShape:
    return _shuffle(layer, shape) if layer.mode in ("shuffle", "unshuffle") else _upsample(layer, shape)


def norm_shape(layer: NormLayer, shape: Shape) -> LayerShape:
    notes = ["0 MACs counted: the scale and shift are not counted as multiply-accumulates"]
    buffers = 0
    if layer.norm == "layer":
        k = len(layer.normalized_shape)
        if tuple(shape[-k:]) != layer.normalized_shape or len(shape) < k:
            raise ConvcalcError(f"normalized_shape={show_shape(layer.normalized_shape)} must equal the input's last "
                                f"{k} axes, got {show_shape(shape)}", layer.where)
        per = math.prod(layer.normalized_shape)
        notes.append(f"statistics over the last {k} axes of each sample")
    else:
        if layer.norm == "instance" and len(shape) != layer.ndim + 2:
            raise ConvcalcError(f"expects a rank-{layer.ndim + 2} input (N, C, ...), got {show_shape(shape)}",
                                layer.where)
        if len(shape) < 2:
            raise ConvcalcError(f"expects an input (N, C, ...), got {show_shape(shape)}", layer.where)
        c = shape[1]
        if c != layer.channels:
            name = "num_channels" if layer.norm == "group" else "num_features"
            if layer.norm == "group" or layer.weight or layer.track_running_stats:
                raise ConvcalcError(f"{name}={layer.channels} but the input {show_shape(shape)} has {c} channels",
                                    layer.where)
            notes.append(f"{name}={layer.channels} differs from the input's {c} channels; PyTorch only warns "
                         "(no affine parameters use it)")
        per = layer.channels
        if layer.track_running_stats:
            buffers = 2 * per + 1
        over = "each group of channels" if layer.norm == "group" else "each channel of each sample"
        notes.append(f"statistics over {over} and the whole plane")
    weights = per if layer.weight else 0
    biases = per if layer.bias else 0
    return LayerShape(layer, shape, shape, weights, biases, buffers, notes=tuple(notes))


def pad_shape(layer: PadLayer, shape: Shape) -> LayerShape:
    n = layer.ndim
    if len(shape) < n + 1 or (layer.mode != "zeros" and len(shape) not in (n + 1, n + 2)):
        raise ConvcalcError(f"expects an input with {n} spatial axes after (N, C), got {show_shape(shape)}",
                            layer.where)
    spatial = shape[-n:]
    out = []
    for size, (lo, hi) in zip(spatial, layer.pads, strict=True):
        if layer.mode == "reflect" and max(lo, hi) >= size:
            raise ConvcalcError(f"reflection padding {max(lo, hi)} must be less than the input size {size}",
                                layer.where)
        if layer.mode == "circular" and max(lo, hi) > size:
            raise ConvcalcError(f"circular padding {max(lo, hi)} must be at most the input size {size}", layer.where)
        if size + lo + hi < 1:
            raise ConvcalcError(f"cropping {-lo}+{-hi} leaves nothing of size {size}", layer.where)
        out.append(size + lo + hi)
    return LayerShape(layer, shape, (*shape[:-n], *out), notes=(f"0 MACs: {layer.mode} padding copies values",))
