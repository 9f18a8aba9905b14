"""Random layer lists as plain data, their spec text, and the real PyTorch modules.

A network is a list of ``(kind, args, kwargs)``; ``spec_text`` writes it the way people do
and ``torch_layers`` builds ``getattr(torch.nn, kind)(*args, **kwargs)`` from the same data,
so the oracle never goes through convcalc's parser.
"""

from __future__ import annotations

import warnings
from typing import Any

from hypothesis import strategies as st

Net = list[tuple[str, tuple[Any, ...], dict[str, Any]]]


def spec_text(net: Net, prefix: str = "nn.", wrap: bool = False) -> str:
    parts = []
    for kind, args, kwargs in net:
        inner = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        parts.append(f"{prefix}{kind}({', '.join(inner)})")
    if wrap:
        return "nn.Sequential(\n" + "".join(f"    {p},  # layer\n" for p in parts) + ")\n"
    return "\n".join(parts) + "\n"


def torch_layers(net: Net) -> list[Any]:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [getattr(torch.nn, kind)(*args, **kwargs) for kind, args, kwargs in net]


def _axes(draw: st.DrawFn, ndim: int, lo: int, hi: int) -> Any:
    """One int, or a tuple with one int per axis (both are how people write settings)."""
    if ndim == 2 and draw(st.booleans()):
        return (draw(st.integers(lo, hi)), draw(st.integers(lo, hi)))
    return draw(st.integers(lo, hi))


@st.composite
def conv_layer(draw: st.DrawFn, ndim: int, channels: int, transposed_ok: bool = True) -> tuple[Any, int]:
    transposed = transposed_ok and draw(st.booleans())
    lazy = draw(st.booleans())
    groups = draw(st.sampled_from([1, 1, channels]))
    c_out = groups * draw(st.integers(1, 3))
    base = "ConvTranspose" if transposed else "Conv"
    kind = ("Lazy" if lazy else "") + f"{base}{ndim}d"
    args: tuple[Any, ...] = (c_out, _axes(draw, ndim, 1, 4)) if lazy else (channels, c_out, _axes(draw, ndim, 1, 4))
    kw: dict[str, Any] = {}
    stride = _axes(draw, ndim, 1, 3)
    if draw(st.booleans()):
        kw["stride"] = stride
    if draw(st.booleans()):
        kw["dilation"] = _axes(draw, ndim, 1, 2)
    if transposed:
        if draw(st.booleans()):
            kw["padding"] = _axes(draw, ndim, 0, 2)
        if draw(st.booleans()):
            kw["output_padding"] = draw(st.integers(0, 1))
    else:
        kw["padding"] = draw(st.one_of(st.integers(0, 2), st.sampled_from(["same", "valid"]))) if stride == 1 \
            else _axes(draw, ndim, 0, 2)
        kw["padding_mode"] = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    if groups > 1:
        kw["groups"] = groups
    if draw(st.booleans()):
        kw["bias"] = draw(st.booleans())
    return (kind, args, kw), c_out


@st.composite
def pool_layer(draw: st.DrawFn, ndim: int, avg_only: bool = False) -> Any:
    kind = draw(st.sampled_from(["Avg"] if avg_only else ["Max", "Avg"]))
    k = draw(st.integers(1, 3))
    kw: dict[str, Any] = {"stride": draw(st.one_of(st.none(), st.integers(1, 3))),
                          "padding": draw(st.integers(0, k // 2)), "ceil_mode": draw(st.booleans())}
    if kind == "Max" and kw["padding"] == 0 and draw(st.booleans()):
        kw["dilation"] = 2
    return (f"{kind}Pool{ndim}d", (k,), kw)


ELEMENTWISE = [("ReLU", (), {}), ("LeakyReLU", (0.1,), {}), ("Sigmoid", (), {}), ("GELU", (), {}),
               ("Tanh", (), {}), ("Dropout", (0.5,), {}), ("Identity", (), {}), ("SiLU", (), {"inplace": False})]


@st.composite
def network(draw: st.DrawFn, ndim: int, channels: int, head: bool = True) -> Net:
    """2-6 layers over (N, channels, *spatial), then maybe Flatten + Linear."""
    net: Net = []
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(st.sampled_from(["conv", "conv", "pool", "act", "bn", "adaptive"]))
        if choice == "conv":
            layer, channels = draw(conv_layer(ndim, channels))
            net.append(layer)
        elif choice == "pool":
            net.append(draw(pool_layer(ndim)))
        elif choice == "act":
            net.append(draw(st.sampled_from(ELEMENTWISE)))
        elif choice == "bn":
            net.append(draw(st.sampled_from([(f"BatchNorm{ndim}d", (channels,), {}), (f"LazyBatchNorm{ndim}d", (), {}),
                                             (f"BatchNorm{ndim}d", (channels,), {"affine": False})])))
        else:
            size = draw(st.integers(1, 4))
            net.append((f"AdaptiveAvgPool{ndim}d", ((size, None) if ndim == 2 and draw(st.booleans()) else size,), {}))
    if head and draw(st.booleans()):
        net += [("Flatten", (), {}), ("LazyLinear", (draw(st.integers(1, 5)),), {"bias": draw(st.booleans())})]
    return net
