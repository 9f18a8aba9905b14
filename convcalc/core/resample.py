"""Resampling by an integer factor over the trailing axes: zero-insertion upsampling,
every-k-th-sample downsampling, and their backward passes (each is the other's adjoint).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.formulas import downsample_size, upsample_size
from convcalc.limits import check_cells, check_memory
from convcalc.numbers import Array


def _factors(x: Array, factor: int | Sequence[int], ndim: int | None) -> tuple[int, ...]:
    """One factor per trailing axis; an int applies to ``ndim`` axes (default 1)."""
    ks = (int(factor),) * (ndim or 1) if isinstance(factor, int | np.integer) else tuple(int(k) for k in factor)
    if ndim is not None and len(ks) != ndim:
        raise ConvcalcError(f"factor needs {ndim} value(s), got {ks}", "--factor")
    if any(k < 1 for k in ks):
        raise ConvcalcError(f"factor must be a positive integer, got {ks}", "--factor")
    if len(ks) > x.ndim or any(n < 1 for n in x.shape[x.ndim - len(ks):]):
        raise ConvcalcError(f"cannot resample the last {len(ks)} axes of an array of shape {x.shape}", "--input")
    return ks


def _zeros(shape: tuple[int, ...], like: Array) -> Array:
    out = np.zeros(shape, dtype=like.dtype)
    if out.dtype == object:
        out.fill(0)  # exact zeros (Python ints), not None
    return out


def _every(ks: Sequence[int]) -> tuple[Any, ...]:
    return (Ellipsis, *(slice(None, None, k) for k in ks))


def upsample(x: Array, factor: int | Sequence[int], ndim: int | None = None) -> Array:
    """Insert k−1 zeros between neighbouring samples: (..., *W) → (..., *(W·k − (k−1)))."""
    ks = _factors(x, factor, ndim)
    lead = x.shape[:x.ndim - len(ks)]
    shape = lead + tuple(upsample_size(w, k) for w, k in zip(x.shape[len(lead):], ks, strict=True))
    check_cells(math.prod(shape), "this upsampling")
    check_memory(math.prod(shape) * max(x.dtype.itemsize, 8), "this upsampling")  # 3×3 by 10⁶ per axis: 29 TiB
    out = _zeros(shape, x)
    out[_every(ks)] = x
    return out


def downsample(x: Array, factor: int | Sequence[int], ndim: int | None = None) -> Array:
    """Keep samples 0, k, 2k, ...: (..., *W) → (..., *((W−1)//k + 1))."""
    ks = _factors(x, factor, ndim)
    return np.ascontiguousarray(x[_every(ks)])


def upsample_backward(grad: Array, factor: int | Sequence[int], ndim: int | None = None) -> Array:
    """Gradient through :func:`upsample`: (..., *(W·k−(k−1))) → (..., *W). It is a downsample."""
    return downsample(grad, factor, ndim)


def downsample_backward(grad: Array, factor: int | Sequence[int], input_size: Sequence[int]) -> Array:
    """Gradient through :func:`downsample` of an input with trailing size ``input_size``.

    (..., *((W−1)//k+1)) → (..., *W): an upsample, zero-filled up to W (the samples after
    the last kept one got no gradient).
    """
    ks = _factors(grad, factor, len(input_size))
    tail = grad.shape[grad.ndim - len(ks):]
    expected = tuple(downsample_size(w, k) for w, k in zip(input_size, ks, strict=True))
    if tail != expected:
        raise ConvcalcError(f"a gradient of trailing size {tail} does not fit downsampling {tuple(input_size)} "
                            f"by {ks} (expected {expected})", "--grad-output")
    out = _zeros(grad.shape[:grad.ndim - len(ks)] + tuple(input_size), grad)
    out[_every(ks)] = grad
    return out
