"""The PyTorch signatures a network spec may use, as data.

Each entry lists the ``__init__`` parameters of ``torch.nn.<kind>`` in PyTorch's order with
PyTorch's defaults (checked against ``inspect.signature`` in tests/net/test_signatures.py),
and the name of the check its value must pass (see ``convcalc.net.parse``). Only names in
``SIGNATURES`` (and the ``Sequential`` wrapper) are ever accepted as layers.
"""

from __future__ import annotations

from dataclasses import dataclass

from convcalc.net.layers import Value


class _Required:
    """Marker for a parameter without a default."""

    def __repr__(self) -> str:
        return "<required>"


REQUIRED = _Required()


@dataclass(frozen=True)
class Param:
    """One parameter: its name, default (or REQUIRED), the check's name, keyword-only?"""

    name: str
    default: Value | _Required
    check: str
    kw_only: bool = False


def _p(name: str, default: Value | _Required, check: str, kw_only: bool = False) -> Param:
    return Param(name, default, check, kw_only)


_FACTORY = (_p("device", None, "device"), _p("dtype", None, "dtype"))
_CONV_TAIL = (
    _p("stride", 1, "axes1"),
    _p("padding", 0, "conv_padding"),
    _p("dilation", 1, "axes1"),
    _p("groups", 1, "int1"),
    _p("bias", True, "bool"),
    _p("padding_mode", "zeros", "padding_mode"),
    *_FACTORY,
)
_CONVT_TAIL = (
    _p("stride", 1, "axes1"),
    _p("padding", 0, "axes0"),
    _p("output_padding", 0, "axes0"),
    _p("groups", 1, "int1"),
    _p("bias", True, "bool"),
    _p("dilation", 1, "axes1"),
    _p("padding_mode", "zeros", "padding_mode"),
    *_FACTORY,
)
_CHANNELS = (_p("in_channels", REQUIRED, "count"), _p("out_channels", REQUIRED, "count"))
_KERNEL = (_p("kernel_size", REQUIRED, "axes1"),)
_MAXPOOL = (
    _p("kernel_size", REQUIRED, "axes1"),
    _p("stride", None, "axes1?"),
    _p("padding", 0, "axes0"),
    _p("dilation", 1, "axes1"),
    _p("return_indices", False, "bool"),
    _p("ceil_mode", False, "bool"),
)
_AVGPOOL1 = (
    _p("kernel_size", REQUIRED, "axes1"),
    _p("stride", None, "axes1?"),
    _p("padding", 0, "axes0"),
    _p("ceil_mode", False, "bool"),
    _p("count_include_pad", True, "bool"),
)
_BN_TAIL = (
    _p("eps", 1e-05, "positive_float"),
    _p("momentum", 0.1, "float?"),
    _p("affine", True, "bool"),
    _p("track_running_stats", True, "bool"),
    *_FACTORY,
    _p("bias", True, "bool", kw_only=True),
)
_INPLACE = (_p("inplace", False, "bool"),)
_DROPOUT = (_p("p", 0.5, "probability"), *_INPLACE)

SIGNATURES: dict[str, tuple[Param, ...]] = {}
for _n in (1, 2, 3):
    SIGNATURES[f"Conv{_n}d"] = (*_CHANNELS, *_KERNEL, *_CONV_TAIL)
    SIGNATURES[f"LazyConv{_n}d"] = (_CHANNELS[1], *_KERNEL, *_CONV_TAIL)
    SIGNATURES[f"ConvTranspose{_n}d"] = (*_CHANNELS, *_KERNEL, *_CONVT_TAIL)
    SIGNATURES[f"LazyConvTranspose{_n}d"] = (_CHANNELS[1], *_KERNEL, *_CONVT_TAIL)
    SIGNATURES[f"MaxPool{_n}d"] = _MAXPOOL
    SIGNATURES[f"AdaptiveAvgPool{_n}d"] = (_p("output_size", REQUIRED, "output_size"),)
    SIGNATURES[f"AdaptiveMaxPool{_n}d"] = (
        _p("output_size", REQUIRED, "output_size"),
        _p("return_indices", False, "bool"),
    )
    SIGNATURES[f"BatchNorm{_n}d"] = (_p("num_features", REQUIRED, "count"), *_BN_TAIL)
    SIGNATURES[f"LazyBatchNorm{_n}d"] = _BN_TAIL
    SIGNATURES[f"Dropout{_n}d"] = _DROPOUT
    SIGNATURES[f"InstanceNorm{_n}d"] = (
        _p("num_features", REQUIRED, "count"), _p("eps", 1e-05, "positive_float"), _p("momentum", 0.1, "float?"),
        _p("affine", False, "bool"), _p("track_running_stats", False, "bool"), *_FACTORY,
        _p("bias", True, "bool", kw_only=True),
    )
    for _pad in ("Zero", "Reflection", "Replication", "Circular"):
        SIGNATURES[f"{_pad}Pad{_n}d"] = (_p("padding", REQUIRED, "any"),)
    SIGNATURES[f"ConstantPad{_n}d"] = (_p("padding", REQUIRED, "any"), _p("value", REQUIRED, "float"))
SIGNATURES["AvgPool1d"] = _AVGPOOL1
SIGNATURES["AvgPool2d"] = (*_AVGPOOL1, _p("divisor_override", None, "divisor"))
SIGNATURES["AvgPool3d"] = SIGNATURES["AvgPool2d"]
_RESIZE = (_p("size", None, "any"), _p("scale_factor", None, "any"))
SIGNATURES.update(
    {
        "Upsample": (*_RESIZE, _p("mode", "nearest", "any"), _p("align_corners", None, "any"),
                     _p("recompute_scale_factor", None, "any")),
        "UpsamplingNearest2d": _RESIZE,
        "UpsamplingBilinear2d": _RESIZE,
        "PixelShuffle": (_p("upscale_factor", REQUIRED, "count"),),
        "PixelUnshuffle": (_p("downscale_factor", REQUIRED, "count"),),
        "GroupNorm": (_p("num_groups", REQUIRED, "count"), _p("num_channels", REQUIRED, "count"),
                      _p("eps", 1e-05, "positive_float"), _p("affine", True, "bool"), *_FACTORY,
                      _p("bias", True, "bool", kw_only=True)),
        "LayerNorm": (_p("normalized_shape", REQUIRED, "any"), _p("eps", 1e-05, "positive_float"),
                      _p("elementwise_affine", True, "bool"), _p("bias", True, "bool"), *_FACTORY),
    }
)
SIGNATURES.update(
    {
        "Linear": (
            _p("in_features", REQUIRED, "count"),
            _p("out_features", REQUIRED, "count"),
            _p("bias", True, "bool"),
            *_FACTORY,
        ),
        "LazyLinear": (_p("out_features", REQUIRED, "count"), _p("bias", True, "bool"), *_FACTORY),
        "Flatten": (_p("start_dim", 1, "int"), _p("end_dim", -1, "int")),
        "Dropout": _DROPOUT,
        "AlphaDropout": _DROPOUT,
        "Identity": (),  # PyTorch's Identity swallows any arguments; we accept none (less to get wrong)
        "ReLU": _INPLACE,
        "ReLU6": _INPLACE,
        "SELU": _INPLACE,
        "SiLU": _INPLACE,
        "Mish": _INPLACE,
        "Hardswish": _INPLACE,
        "Hardsigmoid": _INPLACE,
        "Sigmoid": (),
        "Tanh": (),
        "Softsign": (),
        "Tanhshrink": (),
        "LogSigmoid": (),
        "LeakyReLU": (_p("negative_slope", 0.01, "float"), *_INPLACE),
        "ELU": (_p("alpha", 1.0, "float"), *_INPLACE),
        "CELU": (_p("alpha", 1.0, "float"), *_INPLACE),
        "GELU": (_p("approximate", "none", "gelu"),),
        "Hardtanh": (
            _p("min_val", -1.0, "float"),
            _p("max_val", 1.0, "float"),
            *_INPLACE,
            _p("min_value", None, "float?"),
            _p("max_value", None, "float?"),
        ),
        "Softplus": (_p("beta", 1.0, "float"), _p("threshold", 20.0, "float")),
        "Hardshrink": (_p("lambd", 0.5, "float"),),
        "Softshrink": (_p("lambd", 0.5, "float"),),
        "Softmax": (_p("dim", None, "int?"),),
        "LogSoftmax": (_p("dim", None, "int?"),),
        "PReLU": (_p("num_parameters", 1, "count"), _p("init", 0.25, "float"), *_FACTORY),
    }
)

# The wrapper whose arguments are layers; it is not a layer itself.
WRAPPERS = frozenset({"Sequential"})
# Module prefixes people write before a layer name: ``nn.Conv2d``, ``torch.nn.Conv2d``.
PREFIXES = (("nn",), ("torch", "nn"))
