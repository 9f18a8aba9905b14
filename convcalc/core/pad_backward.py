"""The backward of :func:`convcalc.core.padding.pad_spatial`: fold a padded gradient back.

Padding copies input entries into the border, so each border cell's gradient belongs to the
input entry it was copied from; the fold adds it there. Zeros padding copies nothing, so its
border gradient is simply dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.numbers import Array

_MODES = ("zeros", "constant", "reflect", "replicate", "circular")


def pad_spatial_backward(grad_padded: Array, pads: Sequence[tuple[int, int]], mode: str = "zeros") -> Array:
    """Gradient w.r.t. the unpadded input, given the gradient w.r.t. the padded one.

    ``grad_padded`` is (..., *P) with P = S + lo + hi on each of the last ``len(pads)`` axes;
    returns (..., *S). Entries keep their number kind (int64, object ints/Fractions, float64).
    """
    if mode not in _MODES:
        raise ConvcalcError(f"unknown padding mode {mode!r}", "--padding-mode")
    out = grad_padded
    lead = grad_padded.ndim - len(pads)
    for i, (lo, hi) in enumerate(pads):
        if lo or hi:
            out = _fold_axis(out, lead + i, int(lo), int(hi), mode)
    return out


def _fold_axis(g: Array, axis: int, lo: int, hi: int, mode: str) -> Array:
    """Fold one padded axis of length lo + n + hi back to length n."""
    gm = np.moveaxis(g, axis, -1)
    n = gm.shape[-1] - lo - hi
    if n <= 0:
        raise ConvcalcError(f"padding ({lo}, {hi}) is larger than the padded axis {gm.shape[-1]}")
    left, right = gm[..., :lo], gm[..., lo + n:]
    # A copy, because the accumulations below must not write into the caller's array.
    out = gm[..., lo:lo + n].copy()
    if mode == "replicate":
        # Every left border cell repeats x[0], every right one x[n-1].
        out[..., 0] += left.sum(axis=-1)
        out[..., n - 1] += right.sum(axis=-1)
    elif mode == "reflect":
        # numpy/PyTorch "reflect" mirrors without repeating the edge: border j <- x[lo - j].
        _check(lo < n and hi < n, f"reflect padding ({lo}, {hi}) must be smaller than the input size {n}")
        out[..., 1:lo + 1] += left[..., ::-1]
        out[..., n - 1 - hi:n - 1] += right[..., ::-1]
    elif mode == "circular":
        # Border cells wrap around: the left border is the input's tail, the right its head.
        _check(lo <= n and hi <= n, f"circular padding ({lo}, {hi}) must not exceed the input size {n}")
        out[..., n - lo:] += left
        out[..., :hi] += right
    return np.moveaxis(out, -1, axis)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConvcalcError(message, "--padding")
