"""A stack of layers run forward and backward in float64, one layer at a time, with the
core's own functions (conv, transposed conv, pooling, resampling) and plain NumPy for the rest.

Each layer's backward takes dL/d(output) and returns dL/d(input) and its parameters'
gradients, as MyTorch's ``backward(dLdZ)`` does; the numbers match torch.autograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from convcalc.core.backward import conv_nd_backward, conv_transpose_nd_backward
from convcalc.core.conv import conv_nd
from convcalc.core.pool import avg_pool_nd, max_pool_nd
from convcalc.core.pool_backward import avg_pool_nd_backward, max_pool_nd_backward
from convcalc.core.resample import downsample, downsample_backward, upsample, upsample_backward
from convcalc.core.transposed import conv_transpose_nd
from convcalc.errors import ConvcalcError
from convcalc.limits import check_memory, check_work
from convcalc.net.graph import OpLayer
from convcalc.net.layers import ConvLayer, CourseResampleLayer, ElementwiseLayer, FlattenLayer, Layer, LinearLayer, PoolLayer
from convcalc.numbers import Array, Kind

Params = Mapping[str, Array]
ACTIVATIONS = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Identity")
SUPPORTED = "Conv1d/2d, ConvTranspose1d/2d, MaxPool/AvgPool1d/2d, Upsample/Downsample1d/2d, Flatten, view/reshape, Linear, " \
            + ", ".join(ACTIVATIONS)


@dataclass(frozen=True)
class Step:
    """One layer's forward output, and (after the backward pass) its gradients."""

    output: Array
    grad_input: Array | None = None
    grads: tuple[tuple[str, Array], ...] = ()


def param_shapes(layer: Layer, in_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """The learnable arrays a layer has ("weight", "bias") and their PyTorch shapes."""
    if isinstance(layer, ConvLayer):
        c_in = in_shape[1]
        w = (c_in, layer.out_channels // layer.groups) if layer.transposed else (layer.out_channels, c_in // layer.groups)
        return {"weight": (*w, *layer.kernel), **({"bias": (layer.out_channels,)} if layer.bias else {})}
    if isinstance(layer, LinearLayer):
        return {"weight": (layer.out_features, in_shape[-1]), **({"bias": (layer.out_features,)} if layer.bias else {})}
    return {}


def fan_in(layer: Layer, shapes: Mapping[str, tuple[int, ...]]) -> int:
    """PyTorch's fan_in for its default init: weight.shape[1] · ∏ kernel."""
    w = shapes["weight"]
    return w[1] * math.prod(w[2:]) if len(w) > 2 else w[1]


def check_supported(layer: Layer) -> None:
    ok = isinstance(layer, ConvLayer | LinearLayer | FlattenLayer | CourseResampleLayer) \
        or (isinstance(layer, OpLayer) and layer.op == "reshape") \
        or (isinstance(layer, PoolLayer) and layer.ndim in (1, 2)) \
        or (isinstance(layer, ElementwiseLayer) and (layer.kind in ACTIVATIONS or layer.role == "dropout"))
    if isinstance(layer, ConvLayer) and layer.padding_mode != "zeros" and layer.transposed:
        ok = False
    if not ok:
        raise ConvcalcError(f"{layer.kind} has no backward here (supported: {SUPPORTED}; Dropout as in eval mode)",
                            layer.where)


def forward(layer: Layer, x: Array, p: Params) -> Array:
    """One layer's output for x (N, ...)."""
    if isinstance(layer, ConvLayer):
        if layer.transposed:
            return conv_transpose_nd(x, p["weight"], p.get("bias"), layer.stride, [lo for lo, _ in layer.padding],
                                     layer.output_padding, layer.dilation, layer.groups)
        return conv_nd(x, p["weight"], p.get("bias"), layer.stride, layer.padding, layer.dilation, layer.groups,
                       layer.padding_mode)
    if isinstance(layer, PoolLayer):
        if layer.op == "max":
            return max_pool_nd(x, layer.kernel, layer.stride, layer.padding, layer.dilation, layer.ceil_mode)[0]
        return avg_pool_nd(x, layer.kernel, layer.stride, layer.padding, layer.ceil_mode, layer.count_include_pad,
                           _divisor(layer))
    if isinstance(layer, CourseResampleLayer):
        return upsample(x, layer.factor, layer.ndim) if layer.up else downsample(x, layer.factor, layer.ndim)
    if isinstance(layer, OpLayer):  # x.view(...) / x.reshape(...) in a class source's forward
        return x.reshape(layer.target)
    if isinstance(layer, FlattenLayer):
        from convcalc.net.shapes import flatten_dims

        start, end = flatten_dims(layer, x.ndim)
        return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])
    if isinstance(layer, LinearLayer):
        _linear_budget(layer, x, p["weight"])
        y = x @ p["weight"].T
        return y + p["bias"] if "bias" in p else y
    assert isinstance(layer, ElementwiseLayer)
    return _ACT.get(layer.kind, (lambda v, _l: v, None))[0](x, layer)


def backward(layer: Layer, x: Array, y: Array, p: Params, g: Array) -> tuple[Array, dict[str, Array]]:
    """dL/dx and the parameters' gradients from dL/dy (y: this layer's output for x)."""
    if isinstance(layer, ConvLayer):
        mask = (True, True, "bias" in p)
        if layer.transposed:
            gi, gw, gb = conv_transpose_nd_backward(g, x, p["weight"], layer.stride, [lo for lo, _ in layer.padding],
                                                    layer.output_padding, layer.dilation, layer.groups, mask)
        else:
            gi, gw, gb = conv_nd_backward(g, x, p["weight"], layer.stride, layer.padding, layer.dilation,
                                          layer.groups, layer.padding_mode, mask)
        assert gi is not None and gw is not None
        return gi, {"weight": gw, **({"bias": gb} if gb is not None else {})}
    if isinstance(layer, PoolLayer):
        if layer.op == "max":
            return max_pool_nd_backward(g, x, layer.kernel, layer.stride, layer.padding, layer.dilation,
                                        layer.ceil_mode), {}
        return avg_pool_nd_backward(g, x.shape, layer.kernel, layer.stride, layer.padding, layer.ceil_mode,
                                    layer.count_include_pad, _divisor(layer)), {}
    if isinstance(layer, CourseResampleLayer):
        if layer.up:
            return upsample_backward(g, layer.factor, layer.ndim), {}
        return downsample_backward(g, layer.factor, x.shape[x.ndim - layer.ndim:]), {}
    if isinstance(layer, FlattenLayer | OpLayer):
        return g.reshape(x.shape), {}
    if isinstance(layer, LinearLayer):
        g2, x2 = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        grads = {"weight": g2.T @ x2, **({"bias": g2.sum(axis=0)} if "bias" in p else {})}
        return g @ p["weight"], grads
    assert isinstance(layer, ElementwiseLayer)
    act = _ACT.get(layer.kind)
    return (g if act is None else g * act[1](x, y, layer)), {}


def _linear_budget(layer: Layer, x: Array, w: Array) -> None:
    """A Linear layer's forward (and, three times over, its backward) within the limits."""
    rows = x.size // max(x.shape[-1], 1)
    check_work(3 * rows * w.shape[0] * w.shape[1], Kind.FLOAT, f"{layer.text} and its gradients")
    check_memory(8 * (rows * w.shape[0] + w.size), f"{layer.text}'s output and gradients")


def _divisor(layer: PoolLayer) -> int | None:
    v = dict(layer.args).get("divisor_override")
    return v if isinstance(v, int) else None


def _slope(layer: Layer) -> float:
    return float(layer.arg("negative_slope"))  # type: ignore[arg-type]


_ACT: dict[str, tuple[Callable[..., Array], Callable[..., Array]]] = {
    "ReLU": (lambda x, _l: np.maximum(x, 0.0), lambda x, _y, _l: (x > 0).astype(np.float64)),
    "LeakyReLU": (lambda x, lay: np.where(x > 0, x, x * _slope(lay)),
                  lambda x, _y, lay: np.where(x > 0, 1.0, _slope(lay))),
    "Sigmoid": (lambda x, _l: 1 / (1 + np.exp(-x)), lambda _x, y, _l: y * (1 - y)),
    "Tanh": (lambda x, _l: np.tanh(x), lambda _x, y, _l: 1 - y * y),
}
