"""Forward convolution (cross-correlation, as in PyTorch) over 1, 2 or 3 spatial axes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convcalc.core.padding import pad_spatial
from convcalc.core.windows import window_view
from convcalc.errors import ConvcalcError
from convcalc.formulas import effective_kernel
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
        raise ConvcalcError(
            f"the input has {c_in} channels but the kernel expects {c_per_group}×groups={c_per_group * groups} "
            f"(kernel shape {w_shape}: C_out, C_in/groups, ...)", "--kernel")
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
) -> Array:
    """Cross-correlate (N, C_in, *S) with (C_out, C_in/g, *K), PyTorch's conv{1,2,3}d.

    Both arrays must already share one number kind (see ``convcalc.numbers``). One tensor
    contraction per group over a strided window view: no Python loop over positions.
    Returns (N, C_out, *O).
    """
    xp = pad_spatial(x, padding, padding_mode)
    check_conv_shapes(x.shape, w.shape, groups, xp.shape[2:], dilation)
    windows = window_view(xp, w.shape[2:], stride, dilation)  # (N, C, *O, *K)
    nsp = w.ndim - 2
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    contract_x = [1, *range(2 + nsp, 2 + 2 * nsp)]
    contract_w = list(range(1, w.ndim))
    parts = []
    for g in range(groups):
        xg = windows[:, g * cg:(g + 1) * cg]
        wg = w[g * og:(g + 1) * og]
        parts.append(np.tensordot(xg, wg, axes=(contract_x, contract_w)))  # (N, *O, og)
    out = np.concatenate(parts, axis=-1) if groups > 1 else parts[0]
    out = np.moveaxis(out, -1, 1)
    if bias is not None:
        out = out + bias.reshape((1, -1) + (1,) * nsp)
    return np.ascontiguousarray(out)
