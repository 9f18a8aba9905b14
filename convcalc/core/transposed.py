"""Transposed convolution (PyTorch's conv_transpose{1,2,3}d), in two independent forms.

``conv_transpose_nd`` scatters: every input value stamps a scaled copy of the kernel onto
the output at ``i·s + t·d``, and the overlap is summed. ``conv_transpose_nd_gather``
gathers: it zero-stuffs (upsamples) the input, pads it and runs an ordinary convolution with the
flipped, channel-swapped kernel. They share nothing but the size formula, so tests can set
one against the other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from convcalc.core.columns import scatter
from convcalc.core.conv import conv_nd
from convcalc.core.resample import upsample
from convcalc.errors import ConvcalcError
from convcalc.formulas import effective_kernel, transposed_size
from convcalc.limits import check_cells, check_memory
from convcalc.numbers import Array


def check_transposed(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: Sequence[int], padding: Sequence[int],
    output_padding: Sequence[int], dilation: Sequence[int], groups: int,
) -> tuple[int, ...]:
    """PyTorch's rules for conv_transpose, as user-facing errors; returns the output size O.

    ``x_shape`` is (N, C_in, *S) and ``w_shape`` (C_in, C_out/groups, *K).
    """
    nsp = len(w_shape) - 2
    if len(x_shape) != nsp + 2:
        raise ConvcalcError(f"the input has {len(x_shape) - 2} spatial axes but the kernel has {nsp}", "--input")
    for name, flag, values, low in (("stride", "--stride", stride, 1), ("dilation", "--dilation", dilation, 1),
                                    ("padding", "--padding", padding, 0),
                                    ("output_padding", "--output-padding", output_padding, 0)):
        if len(values) != nsp or any(v < low for v in values):
            raise ConvcalcError(f"{name} must be {nsp} value(s) >= {low}, got {tuple(values)}", flag)
    if groups < 1:
        raise ConvcalcError(f"groups must be positive, got {groups}", "--groups")
    _check_channels(x_shape[1], w_shape, groups)
    for axis, (op, s, d) in enumerate(zip(output_padding, stride, dilation, strict=True)):
        if op >= s and op >= d:
            raise ConvcalcError(
                f"output padding must be smaller than either stride or dilation, but got output_padding={op}, "
                f"stride={s}, dilation={d} along spatial axis {axis}", "--output-padding")
    out = tuple(transposed_size(i, k, s, p, d, op) for i, k, s, p, d, op in
                zip(x_shape[2:], w_shape[2:], stride, padding, dilation, output_padding, strict=True))
    if any(o < 1 for o in out):
        raise ConvcalcError(
            f"input size {tuple(x_shape[2:])} gives output size {out}, which is too small "
            "(padding crops more than the transposed convolution produces)", "--padding")
    return out


def _check_channels(c_in: int, w_shape: tuple[int, ...], groups: int) -> None:
    if w_shape[0] % groups:
        raise ConvcalcError(
            f"groups={groups} does not divide the kernel's first axis ({w_shape[0]} = C_in)", "--groups")
    if w_shape[0] != c_in:
        raise ConvcalcError(
            f"the input has {c_in} channels but the transposed kernel {w_shape} expects {w_shape[0]} "
            "(layout C_in, C_out/groups, ...)", "--kernel")


def conv_transpose_nd(
    x: Array, w: Array, bias: Array | None, stride: Sequence[int], padding: Sequence[int],
    output_padding: Sequence[int], dilation: Sequence[int], groups: int = 1, budget: int | None = None,
) -> Array:
    """Transposed convolution by scatter: (N, C_in, *S) with (C_in, C_out/g, *K) → (N, C_out, *O).

    O = (S−1)·s − 2P + d(K−1) + output_padding + 1. Both arrays must share one number kind.
    One matrix product per block of samples gives every input pixel's stamp of every kernel
    tap; the stamps are then added onto the canvas one tap at a time (no loop over pixels).
    """
    out_size = check_transposed(x.shape, w.shape, stride, padding, output_padding, dilation, groups)
    nsp = w.ndim - 2
    n, c_in = x.shape[:2]
    cg, og = c_in // groups, w.shape[1]
    # The uncropped canvas: every stamp fits, plus output_padding at the end side, which
    # can reach past the last stamp (those cells stay zero, as in PyTorch).
    full = [(i - 1) * s + effective_kernel(k, d) + op
            for i, k, s, d, op in zip(x.shape[2:], w.shape[2:], stride, dilation, output_padding, strict=True)]
    # the canvas, its crop, and the worked solution's second (gather) form beside it
    check_cells(n * og * groups * math.prod(full), "this transposed convolution", arrays=3)
    check_memory(n * og * groups * math.prod(full) * 8, "this transposed convolution")
    wt = w.reshape(groups, cg, og * math.prod(w.shape[2:])).swapaxes(1, 2)  # (g, C_out/g·K, C_in/g)
    crop: tuple[Any, ...] = (slice(None), slice(None), *(slice(p, p + o) for p, o in zip(padding, out_size, strict=True)))
    out = scatter(x, wt, w.shape[2:], full, stride, dilation, lambda canvas: canvas[crop], budget)
    if bias is not None:
        b = bias.reshape((1, -1) + (1,) * nsp)
        if np.result_type(out, b) == out.dtype:
            out += b  # in place: no second output-sized array
        else:
            out = out + b
    return out


def pad_or_crop(x: Array, pads: Sequence[tuple[int, int]]) -> Array:
    """Zero-pad the trailing axes by (before, after); a negative amount crops instead."""
    nsp = len(pads)
    crop: tuple[Any, ...] = (Ellipsis, *(slice(max(-lo, 0), n - max(-hi, 0))
                                         for n, (lo, hi) in zip(x.shape[-nsp:], pads, strict=True)))
    x = x[crop]
    grow = [(0, 0)] * (x.ndim - nsp) + [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
    if x.dtype == object:
        out = np.zeros(tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, grow, strict=True)), dtype=object)
        out.fill(0)
        out[tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, grow, strict=True))] = x
        return out
    return np.pad(x, grow)


def gather_kernel(w: Array, groups: int) -> Array:
    """The ordinary-conv kernel equivalent to a transposed one: (C_in, C_out/g, *K) → (C_out, C_in/g, *K).

    Spatially flipped, and the two channel axes swapped within each group.
    """
    c_in, og = w.shape[:2]
    cg = c_in // groups
    wg = w.reshape(groups, cg, og, *w.shape[2:]).swapaxes(1, 2)
    flip: tuple[Any, ...] = (Ellipsis, *(slice(None, None, -1) for _ in w.shape[2:]))
    flipped = wg[flip]
    return flipped.reshape(groups * og, cg, *w.shape[2:])


def conv_transpose_nd_gather(
    x: Array, w: Array, bias: Array | None, stride: Sequence[int], padding: Sequence[int],
    output_padding: Sequence[int], dilation: Sequence[int], groups: int = 1,
) -> Array:
    """Transposed convolution by gather: the same result as :func:`conv_transpose_nd`.

    Zero-stuff the input, pad by d(K−1)−P each side (+output_padding at the end; a negative
    amount crops) and cross-correlate with :func:`gather_kernel` at stride 1.
    """
    check_transposed(x.shape, w.shape, stride, padding, output_padding, dilation, groups)
    pads = [(d * (k - 1) - p, d * (k - 1) - p + op)
            for k, p, d, op in zip(w.shape[2:], padding, dilation, output_padding, strict=True)]
    xs = pad_or_crop(upsample(x, stride), pads)
    nsp = w.ndim - 2
    return conv_nd(xs, gather_kernel(w, groups), bias, (1,) * nsp, ((0, 0),) * nsp, dilation, groups)


def transposed_terms(w_shape: tuple[int, ...], groups: int) -> int:
    """An upper bound on the products summed into one output cell (for overflow checks)."""
    return (w_shape[0] // max(groups, 1)) * math.prod(w_shape[2:]) + 1
