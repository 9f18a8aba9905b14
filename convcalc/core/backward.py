"""Backward passes of convolution and transposed convolution, matching torch.autograd.

grad_input follows the CMU 11-785 recipe so that a derivation can show each stage: zero-stuff
the upstream gradient, pad it by d(K−1), cross-correlate it with the flipped kernel, put back
the rows/columns the forward stride never reached, then fold the forward padding back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convcalc.core.columns import correlate_weight, kernel_matrix, scatter
from convcalc.core.conv import check_conv_shapes, conv_nd
from convcalc.core.pad_backward import pad_spatial_backward
from convcalc.core.padding import pad_spatial
from convcalc.errors import ConvcalcError
from convcalc.formulas import conv_output_size, effective_kernel, transposed_size
from convcalc.numbers import Array, unify

Grads = tuple[Array | None, Array | None, Array | None]


@dataclass(frozen=True)
class GradInputSteps:
    """Each stage of the course's grad_input recipe (shapes per spatial axis in comments)."""

    stuffed: Array     # (N, C_out, (O−1)s+1): stride−1 zeros between upstream values
    padded: Array      # (N, C_out, (O−1)s+1+2d(K−1)): border so every kernel tap meets a value
    flipped: Array     # (C_in, C_out/g, K): kernel flipped in space, channels swapped per group
    correlated: Array  # (N, C_in, (O−1)s+d(K−1)+1): gradient at the padded positions reached
    restored: Array    # (N, C_in, P): the unreached trailing rows/columns back, as zeros
    folded: Array      # (N, C_in, S): the forward padding folded back onto the input


def zero_stuff(g: Array, stride: Sequence[int]) -> Array:
    """Insert stride−1 zeros between neighbouring values: (N, C, *O) → (N, C, *((O−1)s+1))."""
    nsp = len(stride)
    shape = g.shape[:-nsp] + tuple((o - 1) * s + 1 for o, s in zip(g.shape[-nsp:], stride, strict=True))
    out = np.zeros(shape, dtype=g.dtype)  # object zeros are Python int 0, exact with Fractions
    every_stride: tuple[Any, ...] = (..., *(slice(None, None, s) for s in stride))
    out[every_stride] = g
    return out


def flip_kernel(w: Array, groups: int) -> Array:
    """(C_out, C_in/g, *K) → (C_in, C_out/g, *K), flipped along every spatial axis.

    Within each group the in/out channel axes swap, because the gradient flows from the
    layer's outputs back to its inputs.
    """
    c_out, cg = w.shape[:2]
    og = c_out // groups
    flipped = w[(slice(None), slice(None), *(slice(None, None, -1),) * (w.ndim - 2))]
    per_group = flipped.reshape((groups, og, cg, *w.shape[2:])).swapaxes(1, 2)
    return np.ascontiguousarray(per_group.reshape((groups * cg, og, *w.shape[2:])))


def unreached(padded: Sequence[int], out: Sequence[int], kernel: Sequence[int],
              stride: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    """Trailing padded positions no window reads: P − ((O−1)s + d(K−1) + 1) per axis.

    Non-zero when (P − d(K−1) − 1) is not a multiple of the stride (PyTorch floors the size).
    """
    return tuple(p - ((o - 1) * s + effective_kernel(k, d))
                 for p, o, k, s, d in zip(padded, out, kernel, stride, dilation, strict=True))


def grad_input_steps(
    grad_output: Array, w: Array, input_shape: Sequence[int], stride: Sequence[int],
    padding: Sequence[tuple[int, int]], dilation: Sequence[int], groups: int = 1,
    padding_mode: str = "zeros",
) -> GradInputSteps:
    """grad_input of conv_nd, stage by stage; operands must already share one number kind.

    ``grad_output`` (N, C_out, *O), ``w`` (C_out, C_in/g, *K), ``input_shape`` (N, C_in, *S).
    """
    kernel = w.shape[2:]
    stuffed = zero_stuff(grad_output, stride)
    border = [(d * (k - 1),) * 2 for k, d in zip(kernel, dilation, strict=True)]
    padded = pad_spatial(stuffed, border, "zeros")
    flipped = flip_kernel(w, groups)
    ones = (1,) * len(kernel)
    correlated = conv_nd(padded, flipped, None, ones, [(0, 0)] * len(kernel), dilation, groups)
    sizes = [s + lo + hi for s, (lo, hi) in zip(input_shape[2:], padding, strict=True)]
    rest = unreached(sizes, grad_output.shape[2:], kernel, stride, dilation)
    restored = pad_spatial(correlated, [(0, r) for r in rest], "zeros")
    folded = pad_spatial_backward(restored, padding, padding_mode)
    return GradInputSteps(stuffed, padded, flipped, correlated, restored, np.ascontiguousarray(folded))


def conv_grad_weight(grad_output: Array, xp: Array, kernel: Sequence[int], stride: Sequence[int],
                     dilation: Sequence[int], groups: int, budget: int | None = None) -> Array:
    """∂L/∂w: the padded input (N, C_in, *P) correlated with grad_output (N, C_out, *O).

    gw[o, c, t] = Σ_n Σ_i xp[n, c, i·s + t·d] · g[n, o, i]; returns (C_out, C_in/g, *K).
    Trailing padded positions no window reaches are ignored.
    """
    return correlate_weight(grad_output, xp, kernel, stride, dilation, groups, budget=budget)


def conv_grad_input(grad_output: Array, w: Array, input_shape: Sequence[int], stride: Sequence[int],
                    padding: Sequence[tuple[int, int]], dilation: Sequence[int], groups: int = 1,
                    padding_mode: str = "zeros", budget: int | None = None) -> Array:
    """∂L/∂x in one pass: every g[n, o, i]·w[o, c, t] added at padded position i·s + t·d.

    The same sums as :func:`grad_input_steps` (which shows the course's stages), without
    zero-stuffing or a padded copy of the gradient. Returns (N, C_in, *S).
    """
    kernel = w.shape[2:]
    wt = kernel_matrix(w, groups).swapaxes(1, 2)  # (g, C_in/g·K, C_out/g)
    sizes = [s + lo + hi for s, (lo, hi) in zip(input_shape[2:], padding, strict=True)]
    return scatter(grad_output, wt, kernel, sizes, stride, dilation,
                   lambda canvas: pad_spatial_backward(canvas, padding, padding_mode), budget)


def grad_bias(grad_output: Array) -> Array:
    """∂L/∂b: grad_output (N, C, *O) summed over the batch and every spatial axis → (C,)."""
    return np.asarray(grad_output.sum(axis=(0, *range(2, grad_output.ndim))))


def _check_rank(x: Array, w: Array) -> None:
    if x.ndim < 3 or w.ndim != x.ndim:
        raise ConvcalcError(f"expected input (N, C, *S) and weight of the same rank, got {x.shape} and {w.shape}")


def _check_grad_shape(grad_output: Array, expected: tuple[int, ...]) -> None:
    if grad_output.shape != expected:
        raise ConvcalcError(f"grad_output has shape {grad_output.shape}, but the forward output is {expected}",
                            "--grad-output")


def conv_nd_backward(
    grad_output: Array, x: Array, w: Array, stride: Sequence[int], padding: Sequence[tuple[int, int]],
    dilation: Sequence[int], groups: int = 1, padding_mode: str = "zeros",
    output_mask: tuple[bool, bool, bool] = (True, True, True),
) -> Grads:
    """(grad_input, grad_weight, grad_bias) of :func:`convcalc.core.conv.conv_nd`.

    ``grad_output`` (N, C_out, *O), ``x`` (N, C_in, *S), ``w`` (C_out, C_in/g, *K) →
    (N, C_in, *S), (C_out, C_in/g, *K), (C_out,); an entry is None where ``output_mask`` is False.
    Integers give integers (Python ints when int64 could overflow), Fractions stay exact.
    """
    padded = [s + lo + hi for s, (lo, hi) in zip(x.shape[2:], padding, strict=True)]
    _check_rank(x, w)
    check_conv_shapes(x.shape, w.shape, groups, padded, dilation)
    _check_grad_shape(grad_output, _conv_out_shape(x.shape, w.shape, padded, stride, dilation))
    og, kernel = w.shape[0] // groups, w.shape[2:]
    # A grad_input entry sums og·K products per padded copy of it; a fold gathers ≤ lo+hi+1 copies.
    terms_in = og * math.prod(k * (lo + hi + 1) for k, (lo, hi) in zip(kernel, padding, strict=True))
    terms_w = grad_output.shape[0] * math.prod(grad_output.shape[2:])
    g, x, w = unify([grad_output, x, w], max(terms_in, terms_w))  # type: ignore[assignment]
    assert g is not None
    gi = gw = gb = None
    if output_mask[0]:
        gi = conv_grad_input(g, w, x.shape, stride, padding, dilation, groups, padding_mode)
    if output_mask[1]:
        gw = correlate_weight(g, x, kernel, stride, dilation, groups,
                              lambda xb: pad_spatial(xb, padding, padding_mode))
    if output_mask[2]:
        gb = grad_bias(g)
    return gi, gw, gb


def _conv_out_shape(x_shape: tuple[int, ...], w_shape: tuple[int, ...], padded: Sequence[int],
                    stride: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    sizes = [conv_output_size(p, k, s, 0, d).value
             for p, k, s, d in zip(padded, w_shape[2:], stride, dilation, strict=True)]
    return (x_shape[0], w_shape[0], *sizes)


def conv_transpose_nd_backward(
    grad_output: Array, x: Array, w: Array, stride: Sequence[int], padding: Sequence[int],
    output_padding: Sequence[int], dilation: Sequence[int], groups: int = 1,
    output_mask: tuple[bool, bool, bool] = (True, True, True),
) -> Grads:
    """(grad_input, grad_weight, grad_bias) of PyTorch's conv_transpose{1,2,3}d.

    ``grad_output`` (N, C_out, *Y), ``x`` (N, C_in, *I), ``w`` (C_in, C_out/g, *K) →
    (N, C_in, *I), (C_in, C_out/g, *K), (C_out,). The forward scatters x[i]·w[t] to output
    position i·s + t·d − p, so each gradient gathers from exactly those positions.
    """
    _check_transpose(grad_output, x, w, stride, padding, output_padding, dilation, groups)
    kernel, in_sizes = w.shape[2:], x.shape[2:]
    terms_in = (w.shape[1]) * math.prod(kernel)
    terms_w = x.shape[0] * math.prod(in_sizes)
    g, x, w = unify([grad_output, x, w], max(terms_in, terms_w))  # type: ignore[assignment]
    assert g is not None
    pads = [(p, p) for p in padding]
    keep_in = (slice(None), slice(None), *map(slice, in_sizes))
    gi = gw = gb = None
    if output_mask[0]:
        # A conv with the same settings gathers what the transposed conv scattered; its
        # output can be one longer than I when output_padding ≥ stride, so crop to I.
        gi = np.ascontiguousarray(conv_nd(g, w, None, stride, pads, dilation, groups)[keep_in])
    if output_mask[1]:
        gw = _transpose_grad_weight(g, x, kernel, stride, pads, dilation, groups)
    if output_mask[2]:
        gb = grad_bias(g)
    return gi, gw, gb


def _transpose_grad_weight(g: Array, x: Array, kernel: Sequence[int], stride: Sequence[int],
                           pads: Sequence[tuple[int, int]], dilation: Sequence[int], groups: int) -> Array:
    """gw[c, o, t] = Σ_n Σ_i x[n, c, i] · g[n, o, i·s + t·d − p]; returns (C_in, C_out/g, *K)."""
    return correlate_weight(x, g, kernel, stride, dilation, groups, lambda gb: pad_spatial(gb, pads, "zeros"))


def _check_transpose(g: Array, x: Array, w: Array, stride: Sequence[int], padding: Sequence[int],
                     output_padding: Sequence[int], dilation: Sequence[int], groups: int) -> None:
    """PyTorch's rules for conv_transpose, as user-facing errors."""
    _check_rank(x, w)
    if x.shape[1] != w.shape[0] or x.shape[1] % groups:
        raise ConvcalcError(f"the input has {x.shape[1]} channels; the transposed kernel {w.shape} "
                            f"(C_in, C_out/groups, ...) needs C_in = {w.shape[0]} divisible by groups={groups}",
                            "--kernel")
    for op, s, d in zip(output_padding, stride, dilation, strict=True):
        if op >= max(s, d):
            raise ConvcalcError(f"output_padding {op} must be smaller than either stride {s} or dilation {d}",
                                "--output-padding")
    sizes = tuple(transposed_size(i, k, s, p, d, op) for i, k, s, p, d, op
                  in zip(x.shape[2:], w.shape[2:], stride, padding, dilation, output_padding, strict=True))
    if any(y < 1 for y in sizes):
        raise ConvcalcError(f"the transposed output size {sizes} is not positive", "--padding")
    _check_grad_shape(g, (x.shape[0], w.shape[1] * groups, *sizes))
