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

from convcalc.core.backward import conv_nd_backward, conv_transpose_nd_backward
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
    xu, wu, b = unify([x, w, None if bias is None else np.asarray(bias)], terms)
    assert xu is not None and wu is not None
    out = conv_nd(xu, wu, b, s, pads, d, groups, padding_mode)
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


# Backward passes: torch.autograd's gradients of conv and conv_transpose, exactly.

def _backward_operands(nsp: int, name: str, grad_output: Array, input: Array,
                       weight: Array) -> tuple[Array, Array, Array, bool]:
    """Batch an unbatched (C, *S) call the way PyTorch does; check every rank."""
    g, x, w = np.asarray(grad_output), np.asarray(input), np.asarray(weight)
    unbatched = x.ndim == nsp + 1
    if unbatched:
        g, x = g[None], x[None]
    if x.ndim != nsp + 2 or w.ndim != nsp + 2 or g.ndim != nsp + 2:
        raise ConvcalcError(f"{name} expects grad_output and input (N, C, *{nsp} axes), or both unbatched, "
                            f"and a weight with {nsp} kernel axes; got {g.shape}, {x.shape}, {w.shape}")
    return g, x, w, unbatched


def _n_tuple(v: IntOrTuple, n: int, name: str) -> tuple[int, ...]:
    t = _tuple(v, n)
    if len(t) != n:
        raise ConvcalcError(f"{name} needs 1 or {n} values, got {len(t)}", f"--{name.replace('_', '-')}")
    return t


def _convnd_backward(nsp: int, grad_output: Array, input: Array, weight: Array, stride: IntOrTuple,
                     padding: str | IntOrTuple, dilation: IntOrTuple, groups: int,
                     padding_mode: str) -> tuple[Array, Array, Array]:
    g, x, w, unbatched = _backward_operands(nsp, f"conv{nsp}d_backward", grad_output, input, weight)
    s, d = _n_tuple(stride, nsp, "stride"), _n_tuple(dilation, nsp, "dilation")
    pads = _resolve_padding(padding, w.shape[2:], d, s)
    if len(pads) != nsp:
        raise ConvcalcError(f"padding needs 1 or {nsp} values, got {len(pads)}", "--padding")
    gi, gw, gb = conv_nd_backward(g, x, w, s, pads, d, groups, padding_mode)
    assert gi is not None and gw is not None and gb is not None
    return (gi[0] if unbatched else gi), gw, gb


def conv1d_backward(grad_output: Array, input: Array, weight: Array, stride: IntOrTuple = 1,
                    padding: str | IntOrTuple = 0, dilation: IntOrTuple = 1, groups: int = 1,
                    *, padding_mode: str = "zeros") -> tuple[Array, Array, Array]:
    """Gradients of :func:`conv1d` as torch.autograd gives them: (grad_input, grad_weight, grad_bias).

    grad_output (N, C_out, W_out), input (N, C_in, W), weight (C_out, C_in/g, K) →
    (N, C_in, W), (C_out, C_in/g, K), (C_out,). Integers give integers; Fractions stay exact.
    """
    return _convnd_backward(1, grad_output, input, weight, stride, padding, dilation, groups, padding_mode)


def conv2d_backward(grad_output: Array, input: Array, weight: Array, stride: IntOrTuple = 1,
                    padding: str | IntOrTuple = 0, dilation: IntOrTuple = 1, groups: int = 1,
                    *, padding_mode: str = "zeros") -> tuple[Array, Array, Array]:
    """Gradients of :func:`conv2d` as torch.autograd gives them: (grad_input, grad_weight, grad_bias).

    grad_output (N, C_out, H', W'), input (N, C_in, H, W), weight (C_out, C_in/g, kH, kW) →
    (N, C_in, H, W), (C_out, C_in/g, kH, kW), (C_out,).
    """
    return _convnd_backward(2, grad_output, input, weight, stride, padding, dilation, groups, padding_mode)


def _conv_transposend_backward(nsp: int, grad_output: Array, input: Array, weight: Array, stride: IntOrTuple,
                               padding: IntOrTuple, output_padding: IntOrTuple, groups: int,
                               dilation: IntOrTuple) -> tuple[Array, Array, Array]:
    name = f"conv_transpose{nsp}d_backward"
    g, x, w, unbatched = _backward_operands(nsp, name, grad_output, input, weight)
    s, p = _n_tuple(stride, nsp, "stride"), _n_tuple(padding, nsp, "padding")
    op, d = _n_tuple(output_padding, nsp, "output_padding"), _n_tuple(dilation, nsp, "dilation")
    gi, gw, gb = conv_transpose_nd_backward(g, x, w, s, p, op, d, groups)
    assert gi is not None and gw is not None and gb is not None
    return (gi[0] if unbatched else gi), gw, gb


def conv_transpose1d_backward(grad_output: Array, input: Array, weight: Array, stride: IntOrTuple = 1,
                              padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                              dilation: IntOrTuple = 1) -> tuple[Array, Array, Array]:
    """Gradients of ``torch.nn.functional.conv_transpose1d``: (grad_input, grad_weight, grad_bias).

    grad_output (N, C_out, W_out), input (N, C_in, W), weight (C_in, C_out/g, K) →
    (N, C_in, W), (C_in, C_out/g, K), (C_out,).
    """
    return _conv_transposend_backward(1, grad_output, input, weight, stride, padding, output_padding,
                                      groups, dilation)


def conv_transpose2d_backward(grad_output: Array, input: Array, weight: Array, stride: IntOrTuple = 1,
                              padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                              dilation: IntOrTuple = 1) -> tuple[Array, Array, Array]:
    """Gradients of ``torch.nn.functional.conv_transpose2d``: (grad_input, grad_weight, grad_bias).

    grad_output (N, C_out, H', W'), input (N, C_in, H, W), weight (C_in, C_out/g, kH, kW) →
    (N, C_in, H, W), (C_in, C_out/g, kH, kW), (C_out,).
    """
    return _conv_transposend_backward(2, grad_output, input, weight, stride, padding, output_padding,
                                      groups, dilation)


__all__ += ["conv1d_backward", "conv2d_backward", "conv_transpose1d_backward", "conv_transpose2d_backward"]


# --- Transposed convolution, pooling (appended; the core lives in convcalc.core) --------

from convcalc.core import pool as _pool  # noqa: E402
from convcalc.core.pool_float import (  # noqa: E402
    avg_pool_float,
    avg_pool_float_backward,
    is_float_array,
    max_pool_float,
    max_pool_float_backward,
)
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
    xu, wu, b = unify([x, w, None if bias is None else np.asarray(bias)], transposed_terms(w.shape, groups))
    assert xu is not None and wu is not None
    out = conv_transpose_nd(xu, wu, b, _tuple(stride, nsp), _tuple(padding, nsp), _tuple(output_padding, nsp),
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


def _pool_args(nsp: int, kernel_size: IntOrTuple, stride: IntOrTuple | None,
               *rest: IntOrTuple) -> tuple[tuple[int, ...], ...]:
    """Kernel, stride (None or empty means the kernel, as in torch) and further per-axis settings."""
    k = _tuple(kernel_size, nsp)
    s = k if stride is None or (not isinstance(stride, int | np.integer) and len(stride) == 0) else _tuple(stride, nsp)
    return (k, s, *(_tuple(v, nsp) for v in rest))


def _max_poolnd(nsp: int, input: Array, kernel_size: IntOrTuple, stride: IntOrTuple | None, padding: IntOrTuple,
                dilation: IntOrTuple, ceil_mode: bool, return_indices: bool) -> Array | tuple[Array, Array]:
    x, unbatched = _batched(input, nsp, f"max_pool{nsp}d")
    k, s, p, d = _pool_args(nsp, kernel_size, stride, padding, dilation)
    if is_float_array(x):
        values, maybe = max_pool_float(x, k, s, p, d, ceil_mode, with_indices=return_indices)
        indices = values if maybe is None else maybe
    else:
        parts = [_pool.max_pool_nd(xb, k, s, p, d, ceil_mode) for xb in _window_batches(x, k)]
        values, indices = (np.concatenate([part[i] for part in parts]) for i in (0, 1))
    if unbatched:
        values, indices = values[0], indices[0]
    return (values, indices) if return_indices else values


def max_pool1d(input: Array, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Array | tuple[Array, Array]:
    """``torch.nn.functional.max_pool1d``: (N, C, W) → (N, C, W_out), and indices into W if asked.

    Ties go to the first position in the window; ints stay ints.
    """
    return _max_poolnd(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Array, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Array | tuple[Array, Array]:
    """``torch.nn.functional.max_pool2d``: (N, C, H, W) → (N, C, H', W'); indices are flattened h·W + w."""
    return _max_poolnd(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_poolnd(nsp: int, input: Array, kernel_size: IntOrTuple, stride: IntOrTuple | None, padding: IntOrTuple,
                ceil_mode: bool, count_include_pad: bool, divisor_override: int | None) -> Array:
    x, unbatched = _batched(input, nsp, f"avg_pool{nsp}d")
    k, s, p = _pool_args(nsp, kernel_size, stride, padding)
    if is_float_array(x):
        out = avg_pool_float(x, k, s, p, ceil_mode, count_include_pad, divisor_override)
    else:
        out = np.concatenate([_pool.avg_pool_nd(xb, k, s, p, ceil_mode, count_include_pad, divisor_override)
                              for xb in _window_batches(x, k)])
    return out[0] if unbatched else out


def _window_batches(x: Array, kernel: Sequence[int]) -> list[Array]:
    """Exact pooling builds a window matrix (about input × taps); split the batch so that none
    exceeds COLUMN_BUDGET_BYTES (one sample is the smallest piece)."""
    from convcalc.core.columns import item_bytes
    from convcalc.limits import COLUMN_BUDGET_BYTES

    per_sample = max(1, math.prod(x.shape[1:]) * math.prod(kernel) * item_bytes(x.dtype))
    step = max(1, COLUMN_BUDGET_BYTES // per_sample)
    return [x[i:i + step] for i in range(0, max(1, x.shape[0]), step)]


def avg_pool1d(input: Array, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Array:
    """``torch.nn.functional.avg_pool1d``: (N, C, W) → (N, C, W_out).

    Unlike torch (which truncates integer averages), ints give exact ints/Fractions.
    """
    return _avg_poolnd(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: Array, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Array:
    """``torch.nn.functional.avg_pool2d``: (N, C, H, W) → (N, C, H', W'); exact on ints and Fractions."""
    return _avg_poolnd(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def _lp_poolnd(nsp: int, input: Array, norm_type: float, kernel_size: IntOrTuple, stride: IntOrTuple | None,
               ceil_mode: bool) -> Array:
    x, unbatched = _batched(input, nsp, f"lp_pool{nsp}d")
    k, s = _pool_args(nsp, kernel_size, stride)
    out = _pool.lp_pool_nd(x, norm_type, k, s, ceil_mode)
    return out[0] if unbatched else out


def lp_pool1d(input: Array, norm_type: float, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
              ceil_mode: bool = False) -> Array:
    """``torch.nn.functional.lp_pool1d``: (Σ x^p)^(1/p) per window, (N, C, W) → (N, C, W_out).

    As torch: in ceil_mode a clipped last window's sum is scaled by kernel/cells first.
    """
    return _lp_poolnd(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Array, norm_type: float, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
              ceil_mode: bool = False) -> Array:
    """``torch.nn.functional.lp_pool2d``: (N, C, H, W) → (N, C, H', W'); see :func:`lp_pool1d`."""
    return _lp_poolnd(2, input, norm_type, kernel_size, stride, ceil_mode)


def _adaptive_size(nsp: int, x: Array, output_size: int | Sequence[int | None] | None) -> tuple[int, ...]:
    """torch's output_size: an int, or a tuple where None keeps that axis's input size."""
    sizes = (output_size,) * nsp if output_size is None or isinstance(output_size, int | np.integer) \
        else tuple(output_size)
    if len(sizes) != nsp:
        raise ConvcalcError(f"output_size needs 1 or {nsp} values, got {len(sizes)}", "--output-size")
    return tuple(x.shape[2 + a] if o is None else int(o) for a, o in enumerate(sizes))


def _adaptive_poolnd(nsp: int, kind: str, input: Array, output_size: int | Sequence[int | None],
                     return_indices: bool = False) -> Array | tuple[Array, Array]:
    x, unbatched = _batched(input, nsp, f"adaptive_{kind}_pool{nsp}d")
    size = _adaptive_size(nsp, x, output_size)
    if kind == "avg":
        out = _pool.adaptive_avg_pool_nd(x, size)
        return out[0] if unbatched else out
    values, indices = _pool.adaptive_max_pool_nd(x, size)
    if unbatched:
        values, indices = values[0], indices[0]
    return (values, indices) if return_indices else values


def adaptive_avg_pool1d(input: Array, output_size: int | Sequence[int]) -> Array:
    """``torch.nn.functional.adaptive_avg_pool1d``: (N, C, W) → (N, C, output_size); exact on ints."""
    out = _adaptive_poolnd(1, "avg", input, output_size)
    assert not isinstance(out, tuple)
    return out


def adaptive_avg_pool2d(input: Array, output_size: int | Sequence[int | None]) -> Array:
    """``torch.nn.functional.adaptive_avg_pool2d``: (N, C, H, W) → (N, C, *output_size); None keeps an axis."""
    out = _adaptive_poolnd(2, "avg", input, output_size)
    assert not isinstance(out, tuple)
    return out


def adaptive_max_pool1d(input: Array, output_size: int | Sequence[int],
                        return_indices: bool = False) -> Array | tuple[Array, Array]:
    """``torch.nn.functional.adaptive_max_pool1d``: (N, C, W) → (N, C, output_size), indices into W."""
    return _adaptive_poolnd(1, "max", input, output_size, return_indices)


def adaptive_max_pool2d(input: Array, output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Array | tuple[Array, Array]:
    """``torch.nn.functional.adaptive_max_pool2d``: (N, C, H, W) → (N, C, *output_size), indices h·W + w."""
    return _adaptive_poolnd(2, "max", input, output_size, return_indices)


__all__ += ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
            "avg_pool1d", "avg_pool2d", "lp_pool1d", "lp_pool2d", "max_pool1d", "max_pool2d"]


# Pooling backward passes: torch.autograd's grad_input of max/avg pooling, exactly.
from convcalc.core import pool_backward as _pool_bw  # noqa: E402


def _pool_backward_operands(nsp: int, name: str, grad_output: Array, input: Array) -> tuple[Array, Array, bool]:
    """Batch an unbatched (C, *S) call (with its (C, *O) gradient) as PyTorch does."""
    x, unbatched = _batched(input, nsp, name)
    g = np.asarray(grad_output)
    return (g[None] if unbatched else g), x, unbatched


def _max_poolnd_backward(nsp: int, grad_output: Array, input: Array, kernel_size: IntOrTuple,
                         stride: IntOrTuple | None, padding: IntOrTuple, dilation: IntOrTuple,
                         ceil_mode: bool) -> Array:
    g, x, unbatched = _pool_backward_operands(nsp, f"max_pool{nsp}d_backward", grad_output, input)
    k, s, p, d = _pool_args(nsp, kernel_size, stride, padding, dilation)
    backward = max_pool_float_backward if is_float_array(x) else _pool_bw.max_pool_nd_backward
    gi = backward(g, x, k, s, p, d, ceil_mode)
    return gi[0] if unbatched else gi


def max_pool1d_backward(grad_output: Array, input: Array, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                        padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False) -> Array:
    """grad_input of :func:`max_pool1d`: each upstream value goes to its window's winner (first on ties)."""
    return _max_poolnd_backward(1, grad_output, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d_backward(grad_output: Array, input: Array, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                        padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False) -> Array:
    """grad_input of :func:`max_pool2d`: (N, C, H', W') upstream → (N, C, H, W); overlapping windows add."""
    return _max_poolnd_backward(2, grad_output, input, kernel_size, stride, padding, dilation, ceil_mode)


def _avg_poolnd_backward(nsp: int, grad_output: Array, input: Array, kernel_size: IntOrTuple,
                         stride: IntOrTuple | None, padding: IntOrTuple, ceil_mode: bool, count_include_pad: bool,
                         divisor_override: int | None) -> Array:
    g, x, unbatched = _pool_backward_operands(nsp, f"avg_pool{nsp}d_backward", grad_output, input)
    k, s, p = _pool_args(nsp, kernel_size, stride, padding)
    backward = avg_pool_float_backward if is_float_array(g) else _pool_bw.avg_pool_nd_backward
    gi = backward(g, x.shape, k, s, p, ceil_mode, count_include_pad, divisor_override)
    return gi[0] if unbatched else gi


def avg_pool1d_backward(grad_output: Array, input: Array, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                        padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Array:
    """grad_input of :func:`avg_pool1d`: g/divisor to every input cell of the window; exact on ints."""
    return _avg_poolnd_backward(1, grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                None)


def avg_pool2d_backward(grad_output: Array, input: Array, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                        padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                        divisor_override: int | None = None) -> Array:
    """grad_input of :func:`avg_pool2d`, with torch's divisor rules; exact on ints and Fractions."""
    return _avg_poolnd_backward(2, grad_output, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override)


__all__ += ["avg_pool1d_backward", "avg_pool2d_backward", "max_pool1d_backward", "max_pool2d_backward"]


from convcalc.core.norm_functional import (  # noqa: E402,F401  (torch.nn.functional's normalizations)
    batch_norm,
    batch_norm_backward,
    group_norm,
    group_norm_backward,
    instance_norm,
    instance_norm_backward,
    layer_norm,
    layer_norm_backward,
)
