"""Padding of the trailing spatial axes with PyTorch's four modes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.numbers import Array

_NP_MODE = {"zeros": "constant", "constant": "constant", "reflect": "reflect",
            "replicate": "edge", "circular": "wrap"}


def pad_spatial(
    x: Array, pads: Sequence[tuple[int, int]], mode: str = "zeros", value: Any = 0
) -> Array:
    """Pad the last ``len(pads)`` axes of ``x``; ``pads`` is (before, after) per axis.

    PyTorch's limits apply: reflect needs padding < size, circular padding <= size.
    """
    if mode not in _NP_MODE:
        raise ConvcalcError(f"unknown padding mode {mode!r}", "--padding-mode")
    lead = x.ndim - len(pads)
    spatial = x.shape[lead:]
    for size, (lo, hi) in zip(spatial, pads, strict=True):
        if mode == "reflect" and max(lo, hi) >= size:
            raise ConvcalcError(
                f"reflect padding {max(lo, hi)} must be smaller than the input size {size}", "--padding")
        if mode == "circular" and max(lo, hi) > size:
            raise ConvcalcError(
                f"circular padding {max(lo, hi)} must not exceed the input size {size}", "--padding")
    if not any(lo or hi for lo, hi in pads):
        return x
    width = [(0, 0)] * lead + [tuple(p) for p in pads]
    np_mode = _NP_MODE[mode]
    if np_mode == "constant":
        return _pad_constant(x, width, value)
    return np.pad(x, width, mode=np_mode)  # type: ignore[call-overload, no-any-return]


def _pad_constant(x: Array, width: list[Any], value: Any) -> Array:
    shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, width, strict=True))
    dtype = x.dtype
    if dtype.kind in "iu" and isinstance(value, float):
        dtype = np.dtype(np.float64)
    out = np.full(shape, value, dtype=dtype)
    inner = tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, width, strict=True))
    out[inner] = x
    return out
