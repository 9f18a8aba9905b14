"""Functional calls in ``forward`` (``F.relu``, ``F.max_pool2d``, ``F.interpolate``, ``F.pad``, ...)
as the module layers they equal, with the functional signature's positional order."""

from __future__ import annotations

from convcalc.errors import ConvcalcError
from convcalc.net.layers import Layer, Value
from convcalc.net.parse import parse_layer
from convcalc.net.safe_ast import Call

_ACT = {"relu": "ReLU", "relu6": "ReLU6", "leaky_relu": "LeakyReLU", "gelu": "GELU", "silu": "SiLU",
        "sigmoid": "Sigmoid", "tanh": "Tanh", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid", "elu": "ELU",
        "selu": "SELU", "mish": "Mish", "softplus": "Softplus", "softmax": "Softmax", "log_softmax": "LogSoftmax",
        "dropout": "Dropout", "dropout1d": "Dropout1d", "dropout2d": "Dropout2d", "dropout3d": "Dropout3d",
        "hardtanh": "Hardtanh", "identity": "Identity"}
# functional positional order after the input, where it differs from the module's or drops arguments
_ORDER: dict[str, tuple[str, ...]] = {
    "leaky_relu": ("negative_slope", "inplace"), "elu": ("alpha", "inplace"), "softmax": ("dim",),
    "log_softmax": ("dim",), "dropout": ("p", "training", "inplace"), "dropout1d": ("p", "training", "inplace"),
    "dropout2d": ("p", "training", "inplace"), "dropout3d": ("p", "training", "inplace"),
    "relu": ("inplace",), "relu6": ("inplace",), "silu": ("inplace",), "hardswish": ("inplace",),
    "gelu": ("approximate",), "hardtanh": ("min_val", "max_val", "inplace"),
    "interpolate": ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
    "pad": ("pad", "mode", "value"),
}
_IGNORED = {"training", "antialias", "_stacklevel", "dtype"}
_PAD_KIND = {"constant": "ConstantPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad",
             "circular": "CircularPad"}


def _pool_order(name: str) -> tuple[str, ...]:
    if name.startswith("max_pool"):
        return ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
    if name.startswith("avg_pool"):
        return ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
    return ("output_size", "return_indices")


def is_functional(name: str) -> bool:
    return name in _ACT or name in ("interpolate", "pad", "upsample") or \
        any(name.startswith(p) for p in ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool"))


def _module(name: str) -> str:
    if name in _ACT:
        return _ACT[name]
    if name in ("interpolate", "upsample"):
        return "Upsample"
    base, nd = name[:-2], name[-2:]
    words = {"max_pool": "MaxPool", "avg_pool": "AvgPool", "adaptive_avg_pool": "AdaptiveAvgPool",
             "adaptive_max_pool": "AdaptiveMaxPool"}
    if base in words and nd in ("1d", "2d", "3d"):
        return words[base] + nd
    raise ConvcalcError(f"F.{name} is not a function convcalc knows", "forward")


def functional_layer(name: str, args: list[Value], kwargs: dict[str, Value], line: int, text: str) -> Layer:
    """The layer record of ``F.<name>(x, *args, **kwargs)``."""
    where = f"line {line}"
    order = _ORDER.get(name) or _pool_order(name)
    if len(args) > len(order):
        raise ConvcalcError(f"F.{name} takes at most {len(order)} arguments after the input", where)
    given = dict(zip(order, args, strict=False))
    for key, value in kwargs.items():
        if key in given:
            raise ConvcalcError(f"F.{name} got two values for '{key}'", where)
        given[key] = value
    for key in _IGNORED:
        given.pop(key, None)
    if name == "pad":
        pads = given.pop("pad", None)
        mode = given.pop("mode", "constant")
        value = given.pop("value", None)
        if not isinstance(pads, tuple) or len(pads) % 2 or not 2 <= len(pads) <= 6 or mode not in _PAD_KIND:
            raise ConvcalcError("F.pad needs a tuple of 2, 4 or 6 pads and a mode constant, reflect, replicate or "
                                "circular", where)
        kind = f"{_PAD_KIND[str(mode)]}{len(pads) // 2}d"
        given = {"padding": pads, **({"value": 0.0 if value is None else value} if mode == "constant" else {})}
    else:
        kind = _module(name)
    if kind == "Upsample" and "mode" not in given:
        given["mode"] = "nearest"
    return parse_layer(Call(kind, (), tuple(given.items()), line, text))
