"""How each layer connects units along one spatial axis, as a periodic gather.

A ``Gather(period, step, taps, mode)`` says: output unit ``φ + m·period`` reads input units
``m·step + t`` for ``t`` in ``taps[φ]``. Every layer that slides, scatters or resamples
along an axis is one of these: a conv (period 1, step s, taps t·d − p), a transposed conv
(period s, step 1, taps by phase), pooling, adaptive pooling (period o/g, step n/g),
nearest/linear interpolation, pixel (un)shuffle and padding. ``mode`` says what the
positions outside the input hold at the border (zeros read nothing; reflect, replicate and
circular copy a real position).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from convcalc.errors import ConvcalcError
from convcalc.net.layers import AdaptivePoolLayer, ConvLayer, Layer, PadLayer, PoolLayer, ResampleLayer


@dataclass(frozen=True)
class Gather:
    period: int
    step: int
    taps: tuple[tuple[int, ...], ...]
    mode: str = "zeros"  # zeros, reflect, replicate, circular, clamp (interpolation clamps to the edge)
    approximate: str = ""  # why the interior field may not be exact here, if so


def _conv(layer: ConvLayer, i: int) -> Gather:
    k, s, d, p = layer.kernel[i], layer.stride[i], layer.dilation[i], layer.padding[i][0]
    if layer.transposed:
        taps = tuple(tuple((phi + p - t * d) // s for t in range(k) if (phi + p - t * d) % s == 0) for phi in range(s))
        return Gather(s, 1, taps)
    return Gather(1, s, (tuple(t * d - p for t in range(k)),), layer.padding_mode)


def _pool(layer: PoolLayer, i: int) -> Gather:
    k, s, d, p = layer.kernel[i], layer.stride[i], layer.dilation[i], layer.padding[i]
    return Gather(1, s, (tuple(t * d - p for t in range(k)),))


MAX_PERIOD = 2048  # phases one layer may introduce; beyond it the ratio is approximated


def _bounded_ratio(ratio: Fraction) -> tuple[Fraction, str]:
    if ratio.denominator <= MAX_PERIOD and ratio.numerator <= 10**6:
        return ratio, ""
    near = ratio.limit_denominator(MAX_PERIOD)
    return near, (f"the windows repeat only every {ratio.denominator} units; interior fields follow the nearest "
                  f"ratio {near} (approximate)")


def adaptive(n: int, o: int) -> Gather:
    ratio, note = _bounded_ratio(Fraction(n, o))
    taps = tuple(tuple(range(math.floor(phi * ratio), math.ceil((phi + 1) * ratio)))
                 for phi in range(ratio.denominator))
    return Gather(ratio.denominator, ratio.numerator, taps, "zeros", note)


def _ratio(layer: ResampleLayer, i: int, n: int, o: int) -> tuple[Fraction, str]:
    """Input units per output unit as PyTorch's interpolation uses it (1/scale_factor when given)."""
    if layer.scale is not None:
        s = layer.scale[i] if len(layer.scale) > 1 else layer.scale[0]
        exact = Fraction(s).limit_denominator(1000)
        note = "" if float(exact) == s and exact.denominator == 1 else \
            f"scale_factor {s} is not an integer: units near float rounding may differ"
        return 1 / exact, note
    return Fraction(n, o), ""


def _interp(layer: ResampleLayer, i: int, n: int, o: int) -> Gather:
    """Nearest, nearest-exact, (bi/tri)linear and bicubic interpolation along one axis."""
    if layer.mode == "area":
        return adaptive(n, o)
    if layer.align_corners and layer.mode in ("linear", "bilinear", "bicubic", "trilinear"):
        if o == 1:
            return Gather(1, 0, ((0,),), "clamp")
        ratio, note = Fraction(n - 1, o - 1), ""
        offset = Fraction(0)
    else:
        ratio, note = _ratio(layer, i, n, o)
        offset = Fraction(1, 2) if layer.mode != "nearest" else Fraction(0)
    ratio, bound_note = _bounded_ratio(ratio)
    note = note or bound_note
    period, step = ratio.denominator, ratio.numerator
    taps = []
    for phi in range(period):
        if layer.mode == "nearest":
            taps.append((math.floor(phi * ratio),))
            continue
        if layer.mode == "nearest-exact":
            taps.append((math.floor((phi + Fraction(1, 2)) * ratio),))
            continue
        src = (phi + offset) * ratio - offset
        low = math.floor(src)
        frac = src - low
        if layer.mode == "bicubic":
            taps.append((low,) if frac == 0 else (low - 1, low, low + 1, low + 2))
        else:
            taps.append((low,) if frac == 0 else (low, low + 1))
    return Gather(period, step, tuple(taps), "clamp", note)


MAX_TAPS = 1 << 22


def gather_of(layer: Layer, i: int, n: int, o: int) -> Gather | None:
    """The gather of ``layer`` along its i-th spatial axis (input n units, output o); None: one to one."""
    width = max(getattr(layer, "kernel", (1,) * (i + 1))[i], -(-n // o) + 1 if layer.family == "adaptive_pool" else 1)
    if width > MAX_TAPS:
        raise ConvcalcError(f"a window of {width} units; the limit for receptive fields is {MAX_TAPS}", layer.where)
    if isinstance(layer, ConvLayer):
        return _conv(layer, i)
    if isinstance(layer, PoolLayer):
        return _pool(layer, i)
    if isinstance(layer, AdaptivePoolLayer):
        return None if layer.output_size[i] is None else adaptive(n, o)
    if isinstance(layer, PadLayer):
        return Gather(1, 1, ((-layer.pads[i][0],),), layer.mode)
    if isinstance(layer, ResampleLayer):
        if layer.mode == "shuffle":
            return Gather(layer.factor, 1, ((0,),) * layer.factor)
        if layer.mode == "unshuffle":
            r = layer.factor
            return Gather(1, r, (tuple(range(r)),), "zeros",
                          "pixel unshuffle: each output channel sees one of the r pixels; the union over channels "
                          "is shown")
        return _interp(layer, i, n, o)
    return None
