"""Forward convolution (cross-correlation, as in PyTorch) over 1, 2 or 3 spatial axes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from convcalc.core.columns import correlate
from convcalc.core.padding import pad_spatial
from convcalc.errors import ConvcalcError
from convcalc.formulas import effective_kernel
from convcalc.limits import check_memory
from convcalc.numbers import Array


def check_conv_shapes(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], groups: int,
    padded: Sequence[int], dilation: Sequence[int],
) -> None:
    """PyTorch's shape rules for conv, as user-facing errors."""
    c_in, c_out, c_per_group = x_shape[1], w_shape[0], w_shape[1]
    if c_in % groups:
        raise ConvcalcError(f"groups={groups} does not divide the {c_in} input channels", "--groups")
    if c_out % groups:
        raise ConvcalcError(f"groups={groups} does not divide the {c_out} output channels (kernel's first axis)", "--groups")
    if c_per_group * groups != c_in:
        k = ",".join(map(str, w_shape[2:]))
        fix = (f"give a ({c_in},{k}) kernel (one slice per input channel, summed), or --groups {c_in} with a "
               f"({c_in},1,{k}) kernel (each channel filtered on its own)" if c_out == 1 and c_per_group == 1 else
               f"give a kernel of shape ({c_out},{c_in // groups},{k}) (C_out, C_in/groups, ...)"
               if c_in % groups == 0 else f"give --groups that divides {c_in}")
        raise ConvcalcError(
            f"the input has {c_in} channels but the kernel takes {c_per_group}×groups={c_per_group * groups} "
            f"(kernel shape {tuple(w_shape)}: C_out, C_in/groups, ...): {fix}", "--kernel")
    for axis, (size, k, d) in enumerate(zip(padded, w_shape[2:], dilation, strict=True)):
        if effective_kernel(k, d) > size:
            raise ConvcalcError(
                f"the kernel's span {effective_kernel(k, d)} along spatial axis {axis} "
                f"is larger than the padded input ({size})", "--kernel")


def conv_nd(
    x: Array,
    w: Array,
    bias: Array | None,
    stride: Sequence[int],
    padding: Sequence[tuple[int, int]],
    dilation: Sequence[int],
    groups: int = 1,
    padding_mode: str = "zeros",
    budget: int | None = None,
) -> Array:
    """Cross-correlate (N, C_in, *S) with (C_out, C_in/g, *K), PyTorch's conv{1,2,3}d.

    Both arrays must already share one number kind (see ``convcalc.numbers``). One matrix
    product per block of samples over a column matrix of at most ``budget`` bytes (default
    :data:`convcalc.limits.COLUMN_BUDGET_BYTES`): no Python loop over positions.
    Returns (N, C_out, *O).
    """
    padded = [n + lo + hi for n, (lo, hi) in zip(x.shape[2:], padding, strict=True)]
    check_conv_shapes(x.shape, w.shape, groups, padded, dilation)
    # the input is padded whole (block by block here, and once more by a worked solution): with a
    # stride as large as the padding the output and the work stay small, but not the padded input
    check_memory(x.shape[0] * x.shape[1] * math.prod(padded) * max(x.dtype.itemsize, 8), "this convolution's padded input")
    pad_spatial(x[:0], padding, padding_mode)  # the mode's own checks, before any work
    out_sizes = [(p - effective_kernel(k, d)) // s + 1
                 for p, k, s, d in zip(padded, w.shape[2:], stride, dilation, strict=True)]
    out = correlate(x, w, stride, dilation, groups, out_sizes,
                    lambda xb: pad_spatial(xb, padding, padding_mode), budget)
    if bias is not None:
        b = bias.reshape((1, -1) + (1,) * (w.ndim - 2))
        if np.result_type(out, b) == out.dtype:
            out += b  # in place: no second output-sized array
        else:
            out = out + b
    return out
