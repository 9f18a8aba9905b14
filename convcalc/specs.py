"""Frozen, validated settings. Parsed once from what the user typed, then only read.

Names and meanings are PyTorch's: ``stride``, ``padding`` (an int, ``h,w``,
``same`` or ``valid``), ``dilation``, ``groups``, ``padding_mode``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from convcalc.errors import ConvcalcError
from convcalc.formulas import same_padding
from convcalc.numbers import ascii_int

PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
PADDING_MODES: tuple[str, ...] = ("zeros", "reflect", "replicate", "circular")
AXIS_NAMES = {1: ("W",), 2: ("H", "W"), 3: ("D", "H", "W")}
MAX_SETTING = 1_000_000  # no stride, padding, dilation or size of a real problem comes near this


def parse_ints(text: str | int | tuple[int, ...], dim: int, flag: str) -> tuple[int, ...]:
    """``"2"`` or ``"2,3"`` (or an int/tuple) as one int per spatial axis."""
    if isinstance(text, int):
        return (text,) * dim
    if isinstance(text, tuple):
        parts: list[str] = [str(t) for t in text]
    else:
        parts = [p.strip() for p in str(text).replace("x", ",").split(",")]
    try:
        values = tuple(ascii_int(p) for p in parts)
    except ValueError:
        raise ConvcalcError(f"expected an integer or {dim} integers 'a,b', got {text!r}", flag) from None
    if any(abs(v) > MAX_SETTING for v in values):
        raise ConvcalcError(f"{text!r} is out of range (at most {MAX_SETTING:,} in size)", flag)
    if len(values) == 1:
        return values * dim
    if len(values) != dim:
        raise ConvcalcError(f"expected 1 or {dim} values for a {dim}-D problem, got {len(values)}", flag)
    return values


def positive(values: tuple[int, ...], flag: str) -> tuple[int, ...]:
    if any(v <= 0 for v in values):
        raise ConvcalcError(f"must be positive, got {','.join(map(str, values))}", flag)
    return values


def non_negative(values: tuple[int, ...], flag: str) -> tuple[int, ...]:
    if any(v < 0 for v in values):
        raise ConvcalcError(f"must not be negative, got {','.join(map(str, values))}", flag)
    return values


@dataclass(frozen=True)
class ConvSpec:
    """A convolution's settings, resolved against its kernel's spatial size.

    ``padding`` holds (before, after) per spatial axis; ``padding_arg`` keeps what the user
    said (``same``/``valid``/numbers) for display.
    """

    dim: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    padding_arg: str
    dilation: tuple[int, ...]
    groups: int = 1
    padding_mode: str = "zeros"
    flip: bool = False

    @property
    def symmetric_padding(self) -> tuple[int, ...] | None:
        """One P per axis when both sides are equal (else None, e.g. 'same' with even k)."""
        if all(lo == hi for lo, hi in self.padding):
            return tuple(lo for lo, _ in self.padding)
        return None

    def settings(self) -> dict[str, object]:
        """Every setting used, defaults included, for JSON and the worked header."""
        one = (lambda t: t[0]) if self.dim == 1 else list
        return {
            "dim": self.dim,
            "kernel_size": one(self.kernel_size),
            "stride": one(self.stride),
            "padding": self.padding_arg if self.padding_arg in ("same", "valid")
            else [list(p) for p in self.padding] if self.symmetric_padding is None
            else one(self.symmetric_padding),
            "dilation": one(self.dilation),
            "groups": self.groups,
            "padding_mode": self.padding_mode,
            "flip": self.flip,
        }


def make_conv_spec(
    dim: int,
    kernel_size: tuple[int, ...],
    stride: str | int | tuple[int, ...] = 1,
    padding: str | int | tuple[int, ...] = 0,
    dilation: str | int | tuple[int, ...] = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    flip: bool = False,
) -> ConvSpec:
    """Validate settings once, the way PyTorch's Conv{1,2}d does, and freeze them."""
    if dim not in (1, 2):
        raise ConvcalcError(f"must be 1 or 2, got {dim}", "--dim")
    s = positive(parse_ints(stride, dim, "--stride"), "--stride")
    d = positive(parse_ints(dilation, dim, "--dilation"), "--dilation")
    if groups <= 0:
        raise ConvcalcError(f"must be positive, got {groups}", "--groups")
    if padding_mode not in PADDING_MODES:
        raise ConvcalcError(f"must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}", "--padding-mode")
    arg = str(padding).strip().lower() if isinstance(padding, str) else padding
    if arg == "valid":
        pads = tuple((0, 0) for _ in range(dim))
        shown = "valid"
    elif arg == "same":
        if any(v != 1 for v in s):
            raise ConvcalcError("padding='same' is not supported for strided convolutions (PyTorch's rule)", "--padding")
        pads = tuple(same_padding(k, dd) for k, dd in zip(kernel_size, d, strict=True))
        shown = "same"
    else:
        p = non_negative(parse_ints(arg, dim, "--padding"), "--padding")  # type: ignore[arg-type]
        pads = tuple((v, v) for v in p)
        shown = ",".join(map(str, p))
    return ConvSpec(dim, tuple(kernel_size), s, pads, shown, d, groups, padding_mode, flip)


def pool_window(
    kernel_size: str, stride: str | None, padding: str, dilation: str, dim: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A pooling window's (kernel, stride, padding, dilation); stride defaults to the kernel
    size, as in PyTorch (None or empty text means the default)."""
    k = positive(parse_ints(kernel_size, dim, "--kernel-size"), "--kernel-size")
    s = k if stride is None or not stride.strip() else positive(parse_ints(stride, dim, "--stride"), "--stride")
    p = non_negative(parse_ints(padding, dim, "--padding"), "--padding")
    d = positive(parse_ints(dilation, dim, "--dilation"), "--dilation")
    return k, s, p, d
