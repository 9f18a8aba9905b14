"""Frozen records of parsed layers, one class per family of PyTorch layer.

Every record keeps where it came from (``line``, ``text``), the PyTorch class name
(``kind``) and every argument of that class's signature resolved by name (``args``, defaults
filled in) so a renderer can show "Conv2d(in_channels=3, ..., padding_mode='zeros')" and a test
can rebuild the real module. The family classes add the settings the arithmetic needs, one
entry per spatial axis (``(h, w)`` for 2-D layers, ``(w,)`` for 1-D).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

# What an argument can be after parsing: literals and tuples of literals, nothing callable.
Value: TypeAlias = int | float | bool | str | tuple["Value", ...] | None


@dataclass(frozen=True)
class Layer:
    """What every layer shares. ``line`` is 1-based in the spec text."""

    family: ClassVar[str] = "layer"

    line: int
    text: str
    kind: str
    args: tuple[tuple[str, Value], ...]

    @property
    def where(self) -> str:
        """The location used in error messages, e.g. ``line 3 (Conv2d)``."""
        return f"line {self.line} ({self.kind})"

    def arg(self, name: str) -> Value:
        """One resolved argument by its PyTorch name."""
        return dict(self.args)[name]


@dataclass(frozen=True)
class ConvLayer(Layer):
    """Conv{1,2}d, ConvTranspose{1,2}d and their Lazy forms.

    ``padding`` is (before, after) per axis because ``padding='same'`` with an even
    dilated kernel pads one more pixel after (PyTorch's split). ``in_channels`` is None for
    Lazy layers until the shape pass infers it. ``output_padding`` is all zeros unless
    ``transposed``.
    """

    family: ClassVar[str] = "conv"

    ndim: int
    transposed: bool
    lazy: bool
    in_channels: int | None
    out_channels: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    output_padding: tuple[int, ...]
    groups: int
    bias: bool
    padding_mode: str
    padding_arg: str  # "same", "valid" or "" (numbers): how the user said it, for display


@dataclass(frozen=True)
class PoolLayer(Layer):
    """MaxPool{1,2}d and AvgPool{1,2}d; ``stride`` already defaults to the kernel size."""

    family: ClassVar[str] = "pool"

    ndim: int
    op: str  # "max" or "avg"
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]  # always 1s for average pooling (PyTorch has no such setting)
    ceil_mode: bool
    count_include_pad: bool


@dataclass(frozen=True)
class AdaptivePoolLayer(Layer):
    """Adaptive{Avg,Max}Pool{1,2}d; an output size of None keeps that axis's input size."""

    family: ClassVar[str] = "adaptive_pool"

    ndim: int
    op: str
    output_size: tuple[int | None, ...]


@dataclass(frozen=True)
class BatchNormLayer(Layer):
    """BatchNorm{1,2}d and Lazy forms. ``weight``/``bias`` say which learnable vectors exist."""

    family: ClassVar[str] = "batchnorm"

    ndim: int
    lazy: bool
    num_features: int | None
    weight: bool  # gamma: present when affine=True
    bias: bool  # beta: present when affine=True and bias=True
    track_running_stats: bool


@dataclass(frozen=True)
class LinearLayer(Layer):
    """Linear and LazyLinear: acts on the last axis, as PyTorch's does."""

    family: ClassVar[str] = "linear"

    lazy: bool
    in_features: int | None
    out_features: int
    bias: bool


@dataclass(frozen=True)
class FlattenLayer(Layer):
    """Flatten(start_dim, end_dim) as given (negative dims count from the end)."""

    family: ClassVar[str] = "flatten"

    start_dim: int
    end_dim: int


@dataclass(frozen=True)
class ElementwiseLayer(Layer):
    """Shape-preserving layers: activations, dropout, Identity.

    ``role`` is "activation", "dropout" or "identity". Only PReLU has parameters
    (``num_parameters``: 1 shared slope or one per channel).
    """

    family: ClassVar[str] = "elementwise"

    role: str
    num_parameters: int = 0


@dataclass(frozen=True)
class ResampleLayer(Layer):
    """Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, PixelShuffle and PixelUnshuffle.

    ``ndim`` is 0 for Upsample (its rank comes from the input). For the upsamplers ``size``
    or ``scale`` is set (one per axis, or one for all); ``mode`` is PyTorch's. For the pixel
    shuffles ``factor`` is the upscale (shuffle) or downscale (unshuffle) factor r.
    """

    family: ClassVar[str] = "resample"

    ndim: int
    mode: str  # nearest, linear, bilinear, bicubic, trilinear, area, nearest-exact, shuffle, unshuffle
    size: tuple[int, ...] | None = None
    scale: tuple[float, ...] | None = None
    align_corners: bool = False
    factor: int = 1


@dataclass(frozen=True)
class NormLayer(Layer):
    """GroupNorm, LayerNorm and InstanceNorm{1,2,3}d.

    ``channels`` is GroupNorm's num_channels or InstanceNorm's num_features; ``groups`` is
    GroupNorm's num_groups; ``normalized_shape`` LayerNorm's trailing shape. ``weight`` and
    ``bias`` say which learnable tensors exist (one entry per channel, or per normalized item).
    """

    family: ClassVar[str] = "norm"

    norm: str  # "group", "layer" or "instance"
    ndim: int
    channels: int = 0
    groups: int = 0
    normalized_shape: tuple[int, ...] = ()
    weight: bool = True
    bias: bool = True
    track_running_stats: bool = False


@dataclass(frozen=True)
class PadLayer(Layer):
    """ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad ({1,2,3}d).

    ``pads`` is (before, after) per spatial axis in the tensor's order (D, H, W), already
    turned round from PyTorch's last-axis-first (left, right, top, bottom, front, back).
    Negative pads crop, as in PyTorch.
    """

    family: ClassVar[str] = "pad"

    ndim: int
    mode: str  # "zeros" (Zero/Constant), "reflect", "replicate", "circular"
    pads: tuple[tuple[int, int], ...]
