"""A NumPy mirror of ``torch.nn.functional``: same names, signatures and meaning.

Works on int64 and float64 arrays, and on object arrays of ints or ``Fraction`` for exact
arithmetic. Unbatched inputs (C, *S) are accepted as PyTorch accepts them.

    >>> import numpy as np
    >>> from convcalc import functional as F
    >>> F.conv2d(np.ones((1, 1, 3, 3), int), np.ones((1, 1, 2, 2), int)).tolist()
    [[[[4, 4], [4, 4]]]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from convcalc.core.conv import conv_nd
from convcalc.core.padding import pad_spatial
from convcalc.errors import ConvcalcError
from convcalc.formulas import same_padding
from convcalc.numbers import Array, unify

IntOrTuple = int | Sequence[int]


def _tuple(v: IntOrTuple, n: int) -> tuple[int, ...]:
    return (int(v),) * n if isinstance(v, int | np.integer) else tuple(int(x) for x in v)


def _resolve_padding(
    padding: str | IntOrTuple, kernel: Sequence[int], dilation: Sequence[int], stride: Sequence[int]
) -> tuple[tuple[int, int], ...]:
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ConvcalcError("padding='same' is not supported for strided convolutions")
            return tuple(same_padding(k, d) for k, d in zip(kernel, dilation, strict=True))
        raise ConvcalcError(f"invalid padding string {padding!r}")
    return tuple((p, p) for p in _tuple(padding, n))


def _convnd(
    nsp: int, input: Array, weight: Array, bias: Array | None, stride: IntOrTuple,
    padding: str | IntOrTuple, dilation: IntOrTuple, groups: int, padding_mode: str,
) -> Array:
    x, w = np.asarray(input), np.asarray(weight)
    unbatched = x.ndim == nsp + 1
    if unbatched:
        x = x[None]
    if x.ndim != nsp + 2 or w.ndim != nsp + 2:
        raise ConvcalcError(f"conv{nsp}d expects input (N, C, *{nsp} axes) and weight (C_out, C_in/g, *{nsp} axes)")
    s, d = _tuple(stride, nsp), _tuple(dilation, nsp)
    pads = _resolve_padding(padding, w.shape[2:], d, s)
    terms = (w.shape[1] * math.prod(w.shape[2:])) + 1
    x, w, b = unify([x, w, None if bias is None else np.asarray(bias)], terms)
    assert x is not None and w is not None
    out = conv_nd(x, w, b, s, pads, d, groups, padding_mode)
    return out[0] if unbatched else out


def conv1d(input: Array, weight: Array, bias: Array | None = None, stride: IntOrTuple = 1,
           padding: str | IntOrTuple = 0, dilation: IntOrTuple = 1, groups: int = 1,
           *, padding_mode: str = "zeros") -> Array:
    """``torch.nn.functional.conv1d``: (N, C_in, W) ⋆ (C_out, C_in/g, K) → (N, C_out, W_out).

    ``padding_mode`` (keyword-only) is ``nn.Conv1d``'s, added for convenience.
    """
    return _convnd(1, input, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv2d(input: Array, weight: Array, bias: Array | None = None, stride: IntOrTuple = 1,
           padding: str | IntOrTuple = 0, dilation: IntOrTuple = 1, groups: int = 1,
           *, padding_mode: str = "zeros") -> Array:
    """``torch.nn.functional.conv2d``: (N, C_in, H, W) ⋆ (C_out, C_in/g, kH, kW) → (N, C_out, H', W')."""
    return _convnd(2, input, weight, bias, stride, padding, dilation, groups, padding_mode)


def pad(input: Array, pad: Sequence[int], mode: str = "constant", value: Any = None) -> Array:
    """``torch.nn.functional.pad``: ``pad`` lists (left, right) from the last axis backwards."""
    if len(pad) % 2:
        raise ConvcalcError("pad must have an even number of entries")
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)][::-1]
    if mode == "constant":
        return pad_spatial(np.asarray(input), pairs, "zeros", 0 if value is None else value)
    return pad_spatial(np.asarray(input), pairs, mode)


__all__ = ["conv1d", "conv2d", "pad"]

# --- Transposed convolution, pooling (appended; the core lives in convcalc.core) --------

from convcalc.core.transposed import conv_transpose_nd, transposed_terms  # noqa: E402


def _batched(x: Array, nsp: int, name: str) -> tuple[Array, bool]:
    """(C, *S) or (N, C, *S) → (N, C, *S) and whether a batch axis was added."""
    x = np.asarray(x)
    if x.ndim == nsp + 1:
        return x[None], True
    if x.ndim != nsp + 2:
        raise ConvcalcError(f"{name} expects a {nsp + 1}-D (C, *S) or {nsp + 2}-D (N, C, *S) input, "
                            f"got shape {x.shape}")
    return x, False


def _conv_transposend(
    nsp: int, input: Array, weight: Array, bias: Array | None, stride: IntOrTuple, padding: IntOrTuple,
    output_padding: IntOrTuple, groups: int, dilation: IntOrTuple,
) -> Array:
    x, unbatched = _batched(input, nsp, f"conv_transpose{nsp}d")
    w = np.asarray(weight)
    if w.ndim != nsp + 2:
        raise ConvcalcError(f"conv_transpose{nsp}d expects a weight (C_in, C_out/g, *{nsp} axes), got shape {w.shape}")
    x, w, b = unify([x, w, None if bias is None else np.asarray(bias)], transposed_terms(w.shape, groups))
    assert x is not None and w is not None
    out = conv_transpose_nd(x, w, b, _tuple(stride, nsp), _tuple(padding, nsp), _tuple(output_padding, nsp),
                            _tuple(dilation, nsp), groups)
    return out[0] if unbatched else out


def conv_transpose1d(input: Array, weight: Array, bias: Array | None = None, stride: IntOrTuple = 1,
                     padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1) -> Array:
    """``torch.nn.functional.conv_transpose1d``: (N, C_in, W) with (C_in, C_out/g, K) → (N, C_out, W_out).

    Note PyTorch's argument order: ``groups`` comes before ``dilation``.
    """
    return _conv_transposend(1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input: Array, weight: Array, bias: Array | None = None, stride: IntOrTuple = 1,
                     padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1) -> Array:
    """``torch.nn.functional.conv_transpose2d``: (N, C_in, H, W) with (C_in, C_out/g, kH, kW) → (N, C_out, H', W')."""
    return _conv_transposend(2, input, weight, bias, stride, padding, output_padding, groups, dilation)


__all__ += ["conv_transpose1d", "conv_transpose2d"]
