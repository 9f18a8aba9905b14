"""CNN layers inside expressions: conv2d, conv_transpose2d, max_pool2d, avg_pool2d, flatten.

Each is the core's own function (:mod:`convcalc.functional`, PyTorch's meaning) forward and
backward, so an expression like ``sum(relu(conv2d(X, W, padding=1)))`` has the same numbers
as ``convcalc conv`` and ``convcalc backprop conv``. Shapes: a 2-D X (H, W) is one channel
(and a 2-D kernel its only filter), a 3-D X is (C, H, W) with a 4-D kernel
(C_out, C_in, kH, kW), as PyTorch takes unbatched inputs; 4-D (N, C, H, W) works too.
``flatten(X)`` is X's entries in row-major order as a column vector (every vector here is a
column, as in the notes), so ``A @ flatten(X) + b`` is a linear layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.numbers import Array

Params = tuple[tuple[str, tuple[int, ...]], ...]


@dataclass(frozen=True)
class LayerSpec:
    tensors: int  # how many array arguments come first (X, or X and W)
    positional: tuple[str, ...]  # settings that may follow them by position
    keywords: tuple[str, ...]  # every setting it takes, by name
    required: tuple[str, ...] = ()


LAYERS: dict[str, LayerSpec] = {
    "conv2d": LayerSpec(2, ("stride", "padding", "dilation"), ("stride", "padding", "dilation")),
    "conv_transpose2d": LayerSpec(2, ("stride", "padding", "output_padding"),
                                  ("stride", "padding", "output_padding", "dilation")),
    "max_pool2d": LayerSpec(1, ("kernel_size", "stride", "padding", "dilation"),
                            ("kernel_size", "stride", "padding", "dilation"), ("kernel_size",)),
    "avg_pool2d": LayerSpec(1, ("kernel_size", "stride", "padding"), ("kernel_size", "stride", "padding"),
                            ("kernel_size",)),
    "flatten": LayerSpec(1, (), ()),
}
MAX_SETTING = 64
MAX_OUTPUT = 1_000_000  # entries of a layer's output, as graph.MAX_ENTRIES
MAX_WORK = 50_000_000  # multiply-adds of one layer, as graph.MAX_MATMUL_WORK


def _kw(params: Params) -> dict[str, tuple[int, ...]]:
    return dict(params)


def settings_text(params: Params) -> str:
    """``stride=2, padding=1`` as written back (one number when both axes agree)."""
    return ", ".join(f"{k}={v[0] if len(set(v)) == 1 else v}" for k, v in params)


def check_setting(name: str, value: tuple[int, ...], where: str) -> None:
    low = 1 if name in ("kernel_size", "stride", "dilation") else 0
    for v in value:
        if not low <= v <= MAX_SETTING:
            raise ConvcalcError(f"{name}={v} is out of range ({low} to {MAX_SETTING}){where}", "expression")


def _as_batched(x: Array, w: Array | None, op: str, text: str) -> tuple[Array, Array | None, int]:
    """X (and W) in PyTorch's unbatched (C, H, W) form; returns the rank X had."""
    if x.ndim not in (2, 3, 4):
        raise ConvcalcError(f"{text}: {op} takes X of shape H×W, C×H×W or N×C×H×W, got {x.ndim} axes", "expression")
    if w is not None and x.ndim == 2:
        if w.ndim != 2:
            raise ConvcalcError(f"{text}: with a one-channel H×W input the kernel is kH×kW, got {w.ndim} axes",
                                "expression")
        w = w[None, None]
    elif w is not None and w.ndim != 4:
        raise ConvcalcError(f"{text}: with C×H×W input the kernel is C_out×C_in×kH×kW, got {w.ndim} axes",
                            "expression")
    return (x[None] if x.ndim == 2 else x), w, x.ndim


def _check_work(op: str, x: Array, w: Array | None, kw: dict[str, tuple[int, ...]], text: str) -> None:
    """Refuse a layer whose output or work is past the limits, before computing it."""
    kernel = w.shape[2:] if w is not None else kw["kernel_size"]
    stride = kw.get("stride") or (kernel if w is None else (1, 1))
    pad, dil, extra = kw.get("padding", (0, 0)), kw.get("dilation", (1, 1)), kw.get("output_padding", (0, 0))
    sizes = []
    for i, n in enumerate(x.shape[-2:]):
        span = dil[i] * (kernel[i] - 1)
        sizes.append((n - 1) * stride[i] - 2 * pad[i] + span + extra[i] + 1 if op == "conv_transpose2d"
                     else (n + 2 * pad[i] - span - 1) // stride[i] + 1)
    planes = x.size // (x.shape[-1] * x.shape[-2]) if w is None else x.shape[0] * w.shape[0 if op == "conv2d" else 1]
    out = planes * max(sizes[0], 0) * max(sizes[1], 0)
    taps = kernel[0] * kernel[1] * (1 if w is None else x.shape[-3])
    if out > MAX_OUTPUT or out * taps > MAX_WORK:
        raise ConvcalcError(f"{text}: an output of {planes}×{sizes[0]}×{sizes[1]} with {taps} products per cell is "
                            f"past the limits ({MAX_OUTPUT} entries, {MAX_WORK} multiply-adds)", "expression")


def _unbatch(y: Array, rank: int) -> Array:
    return y[0] if rank == 2 else y


def forward(op: str, values: list[Array], params: Params, text: str) -> Array:
    """The layer's output, from the core's functions."""
    if op == "flatten":  # a column, as every vector here is (so A @ flatten(X) - t is a column too)
        return np.ascontiguousarray(values[0]).reshape(-1, 1)
    kw = _kw(params)
    x, w, rank = _as_batched(values[0], values[1] if len(values) > 1 else None, op, text)
    _check_work(op, x, w, kw, text)
    try:
        out = _FORWARD[op](x, w, kw)
    except ConvcalcError as e:
        raise ConvcalcError(f"{text}: {e.message}", "expression") from None
    return _unbatch(np.asarray(out), rank)


def vjp(op: str, values: list[Array], params: Params, g: Array, text: str) -> list[Array]:
    """∂f/∂(each array input) from g = ∂f/∂(the layer's output)."""
    if op == "flatten":
        return [np.asarray(g).reshape(values[0].shape)]
    kw = _kw(params)
    x, w, rank = _as_batched(values[0], values[1] if len(values) > 1 else None, op, text)
    gb = np.asarray(g)[None] if rank == 2 else np.asarray(g)
    from convcalc import functional as F

    grads = _backward(F)[op](gb, x, w, kw)
    out = [_unbatch(np.asarray(grads[0]), rank)]
    if len(values) > 1:
        out.append(np.asarray(grads[1]).reshape(values[1].shape))
    return out


def _conv(x: Array, w: Array | None, kw: dict[str, tuple[int, ...]]) -> Array:
    from convcalc import functional as F  # the core, only when an expression has a layer

    assert w is not None
    return F.conv2d(x, w, None, kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1))


def _conv_t(x: Array, w: Array | None, kw: dict[str, tuple[int, ...]]) -> Array:
    from convcalc import functional as F

    assert w is not None
    return F.conv_transpose2d(x, w, None, kw.get("stride", 1), kw.get("padding", 0), kw.get("output_padding", 0),
                              1, kw.get("dilation", 1))


def _max(x: Array, w: Array | None, kw: dict[str, tuple[int, ...]]) -> Array:
    from convcalc import functional as F

    out = F.max_pool2d(x, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0), kw.get("dilation", 1))
    assert not isinstance(out, tuple)  # no indices asked for
    return out


def _avg(x: Array, w: Array | None, kw: dict[str, tuple[int, ...]]) -> Array:
    from convcalc import functional as F

    return F.avg_pool2d(x, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0))


_FORWARD: dict[str, Callable[[Array, Array | None, dict[str, tuple[int, ...]]], Array]] = {
    "conv2d": _conv, "conv_transpose2d": _conv_t, "max_pool2d": _max, "avg_pool2d": _avg}

def _backward(F: Any) -> dict[str, Callable[..., tuple[Array, ...]]]:
    """Each layer's (grad_input[, grad_weight]) from the core's backward functions."""
    return {
        "conv2d": lambda g, x, w, kw: F.conv2d_backward(g, x, w, kw.get("stride", 1), kw.get("padding", 0),
                                                        kw.get("dilation", 1))[:2],
        "conv_transpose2d": lambda g, x, w, kw: F.conv_transpose2d_backward(
            g, x, w, kw.get("stride", 1), kw.get("padding", 0), kw.get("output_padding", 0), 1,
            kw.get("dilation", 1))[:2],
        "max_pool2d": lambda g, x, w, kw: (F.max_pool2d_backward(g, x, kw["kernel_size"], kw.get("stride"),
                                                                 kw.get("padding", 0), kw.get("dilation", 1)),),
        "avg_pool2d": lambda g, x, w, kw: (F.avg_pool2d_backward(g, x, kw["kernel_size"], kw.get("stride"),
                                                                 kw.get("padding", 0)),),
    }


# How each layer passes the gradient back, in words (text, tex) per input slot; $g is ∂f/∂(layer), $s its settings.
CHAIN: dict[tuple[str, int], tuple[str, str]] = {
    ("conv2d", 0): ("conv_transpose2d($g, $b$s): each output's gradient spread back over its window, times the taps",
                    r"\operatorname{conv\_transpose2d}\left($g, $b$s\right)"),
    ("conv2d", 1): ("Σ over output cells of $g[i,j] · (the window of $a at (i,j))",
                    r"\textstyle\sum_{i,j} ($g)_{ij}\, \text{window}_{ij}($a)"),
    ("conv_transpose2d", 0): ("conv2d($g, $b$s): each input cell gathers the gradient where it was stamped",
                              r"\operatorname{conv2d}\left($g, $b$s\right)"),
    ("conv_transpose2d", 1): ("Σ over input cells of $a[i,j] · (the window of $g it was stamped on)",
                              r"\textstyle\sum_{i,j} ($a)_{ij}\, \text{window}_{ij}($g)"),
    ("max_pool2d", 0): ("$g routed to each window's maximum (first on ties), 0 elsewhere",
                        r"$g \text{ routed to each window's maximum}"),
    ("avg_pool2d", 0): ("$g shared equally over each window's cells (÷ its divisor)",
                        r"$g \text{ shared equally over each window}"),
    ("flatten", 0): ("$g reshaped back to the shape of $a", r"$g \text{ reshaped to the shape of } $a"),
}
