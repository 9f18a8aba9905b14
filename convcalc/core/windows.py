"""Window views: every output position's input window, without copying."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convcalc.formulas import effective_kernel
from convcalc.numbers import Array


def window_view(
    xp: Array, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int]
) -> Array:
    """Windows of an already padded (N, C, *S) array: shape (N, C, *O, *K).

    Entry [n, c, *o, *t] is xp[n, c, *(o·s + t·d)], the input under tap t of output o.
    """
    nsp = len(kernel)
    axes = tuple(range(xp.ndim - nsp, xp.ndim))
    span = tuple(effective_kernel(k, d) for k, d in zip(kernel, dilation, strict=True))
    view = np.lib.stride_tricks.sliding_window_view(xp, span, axis=axes)
    out_slices = tuple(slice(None, None, s) for s in stride)
    tap_slices = tuple(slice(None, None, d) for d in dilation)
    return view[(slice(None), slice(None), *out_slices, *tap_slices)]
