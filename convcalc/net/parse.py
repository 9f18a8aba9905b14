"""Parse a network spec (PyTorch layers as people write them) into frozen layer records.

    Conv2d(3, 32, 5, stride=2, padding=2)   # comments and blank lines are fine
    nn.ReLU()
    torch.nn.LazyLinear(10)

``nn.Sequential(...)`` around the layers is opened. Every argument is bound to the layer's
real PyTorch signature (positional order, keyword names, defaults) and checked the way
PyTorch checks it, so a spec convcalc accepts is one PyTorch accepts, with the same meaning.
"""

from __future__ import annotations

from collections.abc import Callable

from convcalc.errors import ConvcalcError
from convcalc.formulas import same_padding
from convcalc.net import parse_extra as extra
from convcalc.net.layers import (
    AdaptivePoolLayer,
    BatchNormLayer,
    ConvLayer,
    ElementwiseLayer,
    FlattenLayer,
    Layer,
    LinearLayer,
    PoolLayer,
    Value,
)
from convcalc.net.safe_ast import Call, read_calls
from convcalc.net.signatures import REQUIRED, SIGNATURES, Param

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ndim(kind: str) -> int:
    return next((n for n in (1, 2, 3) if kind.endswith(f"{n}d")), 0)


def _is_int(v: Value) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Value) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _axes(name: str, v: Value, ndim: int, least: int) -> tuple[int, ...]:
    """One int per spatial axis from an int or a tuple/list of ``ndim`` ints, each >= least."""
    values = v if isinstance(v, tuple) else (v,) * ndim
    if len(values) != ndim or not all(_is_int(x) for x in values):
        raise ValueError(f"{name} must be an integer or {ndim} integers, got {v!r}")
    if any(x < least for x in values):  # type: ignore[operator]
        raise ValueError(f"{name} must be at least {least}, got {v!r}")
    return tuple(values)  # type: ignore[arg-type]


def _check(p: Param, v: Value, ndim: int) -> Value:
    """Check one value against its parameter's rule; raise ValueError with the reason."""
    c = p.check
    if c in ("count", "int1") and not (_is_int(v) and v >= 1):  # type: ignore[operator]
        raise ValueError(f"{p.name} must be a positive integer, got {v!r}")
    if (c == "int" or (c == "int?" and v is not None)) and not _is_int(v):
        raise ValueError(f"{p.name} must be an integer, got {v!r}")
    if c == "bool" and not isinstance(v, bool):
        raise ValueError(f"{p.name} must be True or False, got {v!r}")
    if (c == "float" or (c == "float?" and v is not None)) and not _is_number(v):
        raise ValueError(f"{p.name} must be a number, got {v!r}")
    if c == "positive_float" and not (_is_number(v) and v > 0):  # type: ignore[operator]
        raise ValueError(f"{p.name} must be a positive number, got {v!r}")
    if c == "probability" and not (_is_number(v) and 0 <= v <= 1):  # type: ignore[operator]
        raise ValueError(f"{p.name} must be a probability between 0 and 1, got {v!r}")
    if c == "padding_mode" and v not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, got {v!r}")
    if c == "gelu" and v not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {v!r}")
    if c == "divisor" and v is not None and not (_is_int(v) and v != 0):
        raise ValueError(f"divisor_override must be a nonzero integer or None, got {v!r}")
    if c == "device" and not (v is None or isinstance(v, str)):
        raise ValueError(f"device must be a string or None, got {v!r}")
    if c == "dtype" and v is not None:
        raise ValueError("dtype must be None here (a torch dtype is not a literal)")
    if c in ("axes1", "axes0") or (c == "axes1?" and v is not None):
        _axes(p.name, v, ndim, 0 if c == "axes0" else 1)
    if c == "conv_padding" and not (isinstance(v, str) and v in ("same", "valid")):
        if isinstance(v, str):
            raise ValueError(f"padding must be 'same', 'valid' or integers, got {v!r}")
        _axes(p.name, v, ndim, 0)
    if c == "output_size":
        values = v if isinstance(v, tuple) else (v,) * ndim
        if len(values) != ndim or not all(x is None or (_is_int(x) and x >= 1) for x in values):  # type: ignore[operator]
            raise ValueError(f"output_size must be a positive integer, None, or {ndim} of those, got {v!r}")
    return v


def bind(call: Call) -> dict[str, Value]:
    """Bind a call's arguments to its PyTorch signature and check each value.

    Returns every parameter by name, defaults filled in, values as written.
    """
    where = f"line {call.line} ({call.name})"
    params = SIGNATURES[call.name]
    positional = [p for p in params if not p.kw_only]
    if len(call.args) > len(positional):
        names = ", ".join(p.name for p in positional) or "none"
        raise ConvcalcError(
            f"{call.name} takes at most {len(positional)} positional arguments ({names}), got {len(call.args)}", where
        )
    given: dict[str, Value] = {p.name: v for p, v in zip(positional, call.args, strict=False)}
    known = {p.name: p for p in params}
    for name, value in call.kwargs:
        if name not in known:
            names = ", ".join(known) or "none"
            raise ConvcalcError(f"{call.name} has no argument '{name}' (its arguments: {names})", where)
        if name in given:
            raise ConvcalcError(f"{call.name} got two values for '{name}'", where)
        given[name] = value
    out: dict[str, Value] = {}
    ndim = _ndim(call.name)
    for p in params:
        if p.name not in given:
            if p.default is REQUIRED:
                raise ConvcalcError(f"{call.name} is missing its required argument '{p.name}'", where)
            out[p.name] = p.default  # type: ignore[assignment]
            continue
        try:
            out[p.name] = _check(p, given[p.name], ndim)
        except ValueError as exc:
            raise ConvcalcError(str(exc), where) from None
    return out


def _conv(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    kind, ndim = call.name, _ndim(call.name)
    transposed, lazy = "Transpose" in kind, kind.startswith("Lazy")
    kernel = _axes("kernel_size", a["kernel_size"], ndim, 1)
    stride = _axes("stride", a["stride"], ndim, 1)
    dilation = _axes("dilation", a["dilation"], ndim, 1)
    groups, c_in, c_out = a["groups"], a.get("in_channels"), a["out_channels"]
    where = f"line {call.line} ({kind})"
    if c_in is not None and c_in % groups:  # type: ignore[operator]
        raise ConvcalcError(f"in_channels={c_in} must be divisible by groups={groups}", where)
    if c_out % groups:  # type: ignore[operator]
        raise ConvcalcError(f"out_channels={c_out} must be divisible by groups={groups}", where)
    pad_arg = a["padding"] if isinstance(a["padding"], str) else ""
    if pad_arg == "same":
        if any(s != 1 for s in stride):
            raise ConvcalcError("padding='same' is not supported for strided convolutions (PyTorch's rule)", where)
        pads = tuple(same_padding(k, d) for k, d in zip(kernel, dilation, strict=False))
    else:
        flat = (0,) * ndim if pad_arg == "valid" else _axes("padding", a["padding"], ndim, 0)
        pads = tuple((p, p) for p in flat)
    out_pad = (0,) * ndim
    if transposed:
        if a["padding_mode"] != "zeros":
            raise ConvcalcError(f"only padding_mode='zeros' is supported for {kind} (PyTorch's rule)", where)
        out_pad = _axes("output_padding", a["output_padding"], ndim, 0)
        for op, s, d in zip(out_pad, stride, dilation, strict=False):
            if op >= s and op >= d:
                raise ConvcalcError(
                    f"output_padding={op} must be smaller than either stride={s} or dilation={d} (PyTorch's rule)", where
                )
    return ConvLayer(
        *common, ndim=ndim, transposed=transposed, lazy=lazy, in_channels=c_in,  # type: ignore[arg-type]
        out_channels=c_out, kernel=kernel, stride=stride, padding=pads, dilation=dilation,  # type: ignore[arg-type]
        output_padding=out_pad, groups=groups, bias=a["bias"], padding_mode=a["padding_mode"],  # type: ignore[arg-type]
        padding_arg=pad_arg,  # type: ignore[arg-type]
    )


def _pool(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    kind, ndim = call.name, _ndim(call.name)
    where = f"line {call.line} ({kind})"
    kernel = _axes("kernel_size", a["kernel_size"], ndim, 1)
    stride = kernel if a["stride"] is None else _axes("stride", a["stride"], ndim, 1)
    padding = _axes("padding", a["padding"], ndim, 0)
    is_max = kind.startswith("Max")
    dilation = _axes("dilation", a["dilation"], ndim, 1) if is_max else (1,) * ndim
    if a.get("return_indices"):
        raise ConvcalcError("return_indices=True returns a tuple, which a layer list cannot pass on", where)
    for p, k, d in zip(padding, kernel, dilation, strict=False):
        span = d * (k - 1) + 1 if is_max else k  # PyTorch compares avg-pool padding with the plain kernel
        if 2 * p > span:
            raise ConvcalcError(f"padding={p} must be at most half of the kernel span {span} (PyTorch's rule)", where)
    return PoolLayer(
        *common, ndim=ndim, op="max" if is_max else "avg", kernel=kernel, stride=stride, padding=padding,
        dilation=dilation, ceil_mode=a["ceil_mode"], count_include_pad=a.get("count_include_pad", True),  # type: ignore[arg-type]
    )


def _adaptive(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    ndim = _ndim(call.name)
    if a.get("return_indices"):
        raise ConvcalcError("return_indices=True returns a tuple, which a layer list cannot pass on",
                            f"line {call.line} ({call.name})")
    size = a["output_size"]
    sizes = size if isinstance(size, tuple) else (size,) * ndim
    op = "max" if "Max" in call.name else "avg"
    return AdaptivePoolLayer(*common, ndim=ndim, op=op, output_size=sizes)  # type: ignore[arg-type]


def _batchnorm(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    affine = bool(a["affine"])
    return BatchNormLayer(
        *common, ndim=_ndim(call.name), lazy=call.name.startswith("Lazy"), num_features=a.get("num_features"),  # type: ignore[arg-type]
        weight=affine, bias=affine and bool(a["bias"]), track_running_stats=bool(a["track_running_stats"]),
    )


def _linear(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    return LinearLayer(
        *common, lazy=call.name == "LazyLinear", in_features=a.get("in_features"),  # type: ignore[arg-type]
        out_features=a["out_features"], bias=bool(a["bias"]),  # type: ignore[arg-type]
    )


def _flatten(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    return FlattenLayer(*common, start_dim=a["start_dim"], end_dim=a["end_dim"])  # type: ignore[arg-type]


def _elementwise(call: Call, a: dict[str, Value], common: tuple) -> Layer:
    role = "dropout" if "Dropout" in call.name else "identity" if call.name == "Identity" else "activation"
    return ElementwiseLayer(*common, role=role, num_parameters=int(a.get("num_parameters", 0)))  # type: ignore[arg-type]


def _builder(kind: str) -> Callable[[Call, dict[str, Value], tuple], Layer]:
    if kind.startswith("Upsampl"):
        return extra.upsample
    if kind.startswith("Pixel"):
        return extra.shuffle
    if kind in ("GroupNorm", "LayerNorm") or kind.startswith("InstanceNorm"):
        return extra.norm
    if "Pad" in kind:
        return extra.pad
    if "Conv" in kind:
        return _conv
    if kind.startswith("Adaptive"):
        return _adaptive
    if "Pool" in kind:
        return _pool
    if "BatchNorm" in kind:
        return _batchnorm
    if kind in ("Linear", "LazyLinear"):
        return _linear
    if kind == "Flatten":
        return _flatten
    return _elementwise


def parse_layer(call: Call) -> Layer:
    """One bound, checked layer record from one call."""
    args = bind(call)
    common = (call.line, call.text, call.name, tuple(args.items()))
    return _builder(call.name)(call, args, common)


def parse_network(text: str) -> tuple[Layer, ...]:
    """Parse a whole spec. Raises ConvcalcError naming the line of the first problem."""
    return tuple(parse_layer(call) for call in read_calls(text))
