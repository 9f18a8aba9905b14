"""Backward passes of max, average and power-average pooling, matching torch.autograd.

Each routes the upstream gradient (N, C, *O) back onto the input (N, C, *S): max to the one
position that won (PyTorch's index, so ties go to the first in row-major order), average
evenly over the window's counted cells, LP by the chain rule of (Σ x^p)^(1/p). Windows may
overlap, so contributions add up. Exact inputs stay exact (ints and Fractions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from convcalc.core.pool import (
    REAL,
    PoolGeometry,
    avg_divisors,
    exact_divide,
    flat_index,
    frame,
    max_pool_nd,
    pool_geometry,
    region_windows,
    tap_coordinates,
    windows,
)
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array, Kind, as_kind, kind_of, normalize


def _check_grad(g: Array, expected: tuple[int, ...]) -> None:
    if g.shape != expected:
        raise ConvcalcError(f"has shape {g.shape}, but the pooled output is {expected}", "--grad-output")


def _zeros_like_input(x_shape: Sequence[int], g: Array) -> Array:
    # object zeros are Python int 0, which stays exact when Fractions are added to it
    return np.zeros(tuple(x_shape), dtype=object if g.dtype == object else g.dtype)


def max_pool_nd_backward(
    grad_output: Array, x: Array, kernel: Sequence[int], stride: Sequence[int] | None = None,
    padding: Sequence[int] | None = None, dilation: Sequence[int] | None = None, ceil_mode: bool = False,
) -> Array:
    """∂L/∂x of :func:`max_pool_nd`: ``grad_output`` (N, C, *O) scattered to each window's winner."""
    values, indices = max_pool_nd(x, kernel, stride, padding, dilation, ceil_mode)
    _check_grad(grad_output, values.shape)
    n, c = x.shape[:2]
    size = math.prod(x.shape[2:])
    out = _zeros_like_input((n * c, size), grad_output)
    flat_idx = indices.reshape(n * c, -1)
    flat_g = grad_output.reshape(n * c, -1)
    rows = np.repeat(np.arange(n * c), flat_idx.shape[1])
    # a window of padding only has no winner inside the input; it sends nothing back
    keep = (flat_idx.reshape(-1) >= 0) & (flat_idx.reshape(-1) < size)
    np.add.at(out, (rows[keep], flat_idx.reshape(-1)[keep]), flat_g.reshape(-1)[keep])
    return out.reshape(x.shape)


def avg_shares(
    grad_output: Array, input_size: Sequence[int], kernel: Sequence[int], stride: Sequence[int] | None,
    padding: Sequence[int] | None, ceil_mode: bool, count_include_pad: bool, divisor_override: int | None,
) -> tuple[Array, Array]:
    """What each input cell of a window receives, g/divisor per output cell (N, C, *O), and the divisors (*O)."""
    geom = pool_geometry(input_size, kernel, stride, padding, None, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise ConvcalcError("divisor must be not zero", "--divisor-override")
    _check_grad(grad_output, grad_output.shape[:2] + geom.output_size)
    div = (np.full(geom.output_size, divisor_override, dtype=np.int64) if divisor_override is not None
           else avg_divisors(geom, count_include_pad))
    if kind_of(grad_output) is Kind.FLOAT:
        return as_kind(grad_output, Kind.FLOAT) / div, div
    return exact_divide(grad_output, np.broadcast_to(div, grad_output.shape)), div


def avg_pool_nd_backward(
    grad_output: Array, input_shape: Sequence[int], kernel: Sequence[int], stride: Sequence[int] | None = None,
    padding: Sequence[int] | None = None, ceil_mode: bool = False, count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Array:
    """∂L/∂x of :func:`avg_pool_nd`: each window's g/divisor added to every real input cell in it.

    ``input_shape`` is (N, C, *S). Padding cells take their share too but it goes nowhere.
    """
    shares, _ = avg_shares(grad_output, input_shape[2:], kernel, stride, padding, ceil_mode, count_include_pad,
                           divisor_override)
    return _spread(shares, input_shape, kernel, stride, padding, None, ceil_mode)


def _spread(per_window: Array, input_shape: Sequence[int], kernel: Sequence[int], stride: Sequence[int] | None,
            padding: Sequence[int] | None, dilation: Sequence[int] | None, ceil_mode: bool,
            per_tap: Array | None = None) -> Array:
    """Add ``per_window`` (N, C, *O) — times ``per_tap`` (N, C, *O, prod K) if given — onto each real tap."""
    geom = pool_geometry(input_shape[2:], kernel, stride, padding, dilation, ceil_mode)
    real = (region_windows(geom) == REAL).reshape(-1)
    coords = [c.reshape(-1)[real] for c in tap_coordinates(geom)]
    flat = np.ravel_multi_index(tuple(coords), tuple(input_shape[2:]))
    taps = math.prod(geom.kernel)
    n, c = input_shape[:2]
    values = np.repeat(per_window.reshape(n * c, -1), taps, axis=1)
    if per_tap is not None:
        values = values * per_tap.reshape(n * c, -1)
    values = values[:, real]
    out = _zeros_like_input((n * c, math.prod(input_shape[2:])), values)
    for row in range(n * c):
        np.add.at(out[row], flat, values[row])
    if out.dtype == object:  # sums of Fractions that came out whole print as integers
        out.flat[:] = [normalize(v) for v in out.flat]
    return out.reshape(tuple(input_shape))


def lp_pool_nd_backward(
    grad_output: Array, x: Array, norm_type: float, kernel: Sequence[int], stride: Sequence[int] | None = None,
    ceil_mode: bool = False,
) -> Array:
    """∂L/∂x of :func:`lp_pool_nd`, in torch.autograd's order (see :func:`lp_tap_derivatives`).

    Finite p: each window's g·(K/n)·(K·a)^(1/p − 1) is added onto its cells, then every cell is
    multiplied by x^(p−1) once — so a cell no window reads gets 0·x^(p−1), nan where torch has nan.
    """
    geom = _lp_geometry(x, norm_type, kernel, stride, ceil_mode)
    _check_grad(grad_output, x.shape[:2] + geom.output_size)
    if math.isinf(norm_type):
        local = _lp_inf_taps(x, norm_type, geom)
        return _spread(grad_output, x.shape, kernel, stride, None, None, ceil_mode, local)
    per_window, xpow = _lp_factors(x, norm_type, geom)
    if per_window.dtype == object:  # p = 1 on exact inputs: x^0 = 1
        return _spread(grad_output * per_window, x.shape, kernel, stride, None, None, ceil_mode)
    with np.errstate(all="ignore"):  # 0·inf is nan here exactly where torch's chain rule gives nan
        spread = _spread(as_kind(grad_output, Kind.FLOAT) * per_window, x.shape, kernel, stride, None, None,
                         ceil_mode)
        return spread * xpow


def lp_tap_derivatives(
    x: Array, norm_type: float, kernel: Sequence[int], stride: Sequence[int] | None = None, ceil_mode: bool = False,
) -> Array:
    """∂out/∂x for every tap of every window, (N, C, *O, prod K), as torch.autograd has it.

    Finite p: out = (K·a)^(1/p) with a = Σ x^p / n (n the window's input cells), so
    ∂out/∂x = (K/n) · (K·a)^(1/p − 1) · x^(p−1), but 0 for a window whose a is 0 (torch's
    ``sign(a)·relu(|a|)`` stops the gradient there). Exact for p = 1 on exact inputs.
    p = ±inf: out is the largest (smallest) |x| of the window, so sign(x) at the winning tap
    (the first in row-major order on ties) and 0 elsewhere.
    """
    geom = _lp_geometry(x, norm_type, kernel, stride, ceil_mode)
    if math.isinf(norm_type):
        return _lp_inf_taps(x, norm_type, geom)
    per_window, xpow = _lp_factors(x, norm_type, geom)
    taps = math.prod(kernel)
    if per_window.dtype == object:
        return np.repeat(per_window[..., None], taps, axis=-1)
    with np.errstate(all="ignore"):
        return per_window[..., None] * windows(frame(xpow, geom, 0.0), geom)


def _lp_geometry(x: Array, norm_type: float, kernel: Sequence[int], stride: Sequence[int] | None,
                 ceil_mode: bool) -> PoolGeometry:
    if norm_type == 0 or math.isnan(norm_type):
        raise ConvcalcError(f"norm_type must be a non-zero number, got {norm_type} (the result is a 1/p power)",
                            "--norm-type")
    return pool_geometry(x.shape[2:], kernel, stride, None, None, ceil_mode)


def _lp_factors(x: Array, norm_type: float, geom: PoolGeometry) -> tuple[Array, Array]:
    """(K/n)·(K·a)^(1/p − 1), 0 where a = 0, per window (N, C, *O); and x^(p−1) per cell (N, C, *S)."""
    scale = math.prod(geom.kernel)
    div = avg_divisors(geom, True)
    if norm_type == 1 and kind_of(x) is not Kind.FLOAT:
        sums = windows(frame(x, geom, 0), geom).sum(axis=-1)
        return exact_divide(np.where(sums == 0, 0, scale), np.broadcast_to(div, sums.shape)), np.ones(x.shape, int)
    p = float(norm_type)
    xf = as_kind(x, Kind.FLOAT)
    with np.errstate(all="ignore"):  # negative bases, zero sums: nan/inf exactly where torch has them
        a = windows(frame(np.power(xf, p), geom, 0.0), geom).sum(axis=-1) / div
        per_window = np.where(a == 0, 0.0, scale / div * np.power(scale * a, 1.0 / p - 1.0))
        return per_window, np.power(xf, p - 1.0)


def _lp_inf_taps(x: Array, norm_type: float, geom: PoolGeometry) -> Array:
    mags = np.abs(x) if norm_type > 0 else -np.abs(x)
    _, indices = max_pool_nd(mags, geom.kernel, geom.stride, None, None, geom.ceil_mode)
    won = flat_index(tap_coordinates(geom), geom.input_size) == indices[..., None]  # (N, C, *O, prod K)
    signs = np.sign(windows(frame(x, geom, 0), geom))
    if signs.dtype == object:
        signs = np.vectorize(lambda v: int(np.sign(v)), otypes=[object])(signs)
    return np.where(won, signs, 0)
