"""Builders for the layers beyond conv/pool/linear: upsampling, pixel shuffles, GroupNorm,
LayerNorm, InstanceNorm and the padding layers. Each binds PyTorch's own signature
(``convcalc.net.signatures``) and refuses what PyTorch refuses, naming the line."""

from __future__ import annotations

from convcalc.errors import ConvcalcError
from convcalc.net.layers import Layer, NormLayer, PadLayer, ResampleLayer, Value
from convcalc.net.safe_ast import Call

UPSAMPLE_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_PAD_MODES = {"Zero": "zeros", "Constant": "zeros", "Reflection": "reflect", "Replication": "replicate",
              "Circular": "circular"}


def _ndim(kind: str) -> int:
    for n in (1, 2, 3):
        if kind.endswith(f"{n}d"):
            return n
    return 0


def _where(call: Call) -> str:
    return f"line {call.line} ({call.name})"


def _int(v: Value) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _many(v: Value, what: str, call: Call, check: type | tuple[type, ...]) -> tuple | None:
    if v is None:
        return None
    values = v if isinstance(v, tuple) else (v,)
    if not values or not all(isinstance(x, check) and not isinstance(x, bool) and x > 0 for x in values):
        raise ConvcalcError(f"{what} must be a positive number or a tuple of them, got {v!r}", _where(call))
    return values


def upsample(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    kind = call.name
    if kind == "Upsample":
        mode, align = a["mode"], a["align_corners"]
        if mode not in UPSAMPLE_MODES:
            raise ConvcalcError(f"mode must be one of {', '.join(UPSAMPLE_MODES)}, got {mode!r}", _where(call))
        if align is not None and not isinstance(align, bool):
            raise ConvcalcError(f"align_corners must be True, False or None, got {align!r}", _where(call))
        if align is not None and mode not in ("linear", "bilinear", "bicubic", "trilinear"):
            raise ConvcalcError("align_corners can only be set with the interpolating modes linear, bilinear, "
                                "bicubic or trilinear (PyTorch's rule)", _where(call))
        ndim = 0
    else:
        mode, align, ndim = ("nearest", False, 2) if "Nearest" in kind else ("bilinear", True, 2)
    size = _many(a["size"], "size", call, int)
    scale = _many(a["scale_factor"], "scale_factor", call, (int, float))
    if (size is None) == (scale is None):
        raise ConvcalcError("give exactly one of size and scale_factor (PyTorch's rule)", _where(call))
    return ResampleLayer(*common, ndim=ndim, mode=str(mode), size=size,  # type: ignore[arg-type]
                         scale=None if scale is None else tuple(float(x) for x in scale), align_corners=bool(align))


def shuffle(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    up = call.name == "PixelShuffle"
    r = a["upscale_factor" if up else "downscale_factor"]
    if not (_int(r) and r >= 1):  # type: ignore[operator]
        raise ConvcalcError(f"the factor must be a positive integer, got {r!r}", _where(call))
    return ResampleLayer(*common, ndim=2, mode="shuffle" if up else "unshuffle", factor=r)  # type: ignore[arg-type]


def norm(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    kind, where = call.name, _where(call)
    if kind == "GroupNorm":
        g, c = a["num_groups"], a["num_channels"]
        if c % g:  # type: ignore[operator]
            raise ConvcalcError(f"num_channels={c} must be divisible by num_groups={g} (PyTorch's rule)", where)
        affine = bool(a["affine"])
        return NormLayer(*common, norm="group", ndim=0, channels=c, groups=g, weight=affine,  # type: ignore[arg-type]
                         bias=affine and bool(a["bias"]))
    if kind == "LayerNorm":
        shape = a["normalized_shape"]
        dims = shape if isinstance(shape, tuple) else (shape,)
        if not dims or not all(_int(d) and d >= 1 for d in dims):  # type: ignore[operator]
            raise ConvcalcError(f"normalized_shape must be a positive integer or a tuple of them, got {shape!r}",
                                where)
        affine = bool(a["elementwise_affine"])
        return NormLayer(*common, norm="layer", ndim=0, normalized_shape=dims, weight=affine,  # type: ignore[arg-type]
                         bias=affine and bool(a["bias"]))
    affine = bool(a["affine"])
    return NormLayer(*common, norm="instance", ndim=_ndim(kind), channels=a["num_features"],  # type: ignore[arg-type]
                     weight=affine, bias=affine and bool(a["bias"]), track_running_stats=bool(a["track_running_stats"]))


def pad(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    kind, ndim = call.name, _ndim(call.name)
    given = a["padding"]
    values = given if isinstance(given, tuple) else (given,) * (2 * ndim)
    if len(values) != 2 * ndim or not all(_int(v) for v in values):
        raise ConvcalcError(f"padding must be an integer or {2 * ndim} integers (left, right"
                            f"{', top, bottom' if ndim > 1 else ''}{', front, back' if ndim > 2 else ''}), "
                            f"got {given!r}", _where(call))
    mode = next(m for prefix, m in _PAD_MODES.items() if kind.startswith(prefix))
    if mode != "zeros" and any(v < 0 for v in values):  # type: ignore[operator]
        raise ConvcalcError("negative padding (cropping) is only allowed for ZeroPad and ConstantPad", _where(call))
    pairs = [(values[2 * i], values[2 * i + 1]) for i in range(ndim)]  # last axis first, as PyTorch lists them
    return PadLayer(*common, ndim=ndim, mode=mode, pads=tuple(reversed(pairs)))  # type: ignore[arg-type]
