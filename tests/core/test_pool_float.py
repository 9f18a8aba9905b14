"""The float pooling path (one pass per tap) against torch and against the exact window path.

Random settings over 1-D and 2-D: kernel, stride, padding, dilation, ceil_mode, ties
(small integers as floats), NaN and ±inf; values and PyTorch's indices must agree exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convcalc import functional as F
from convcalc.core.pool import avg_pool_nd, max_pool_nd
from convcalc.core.pool_float import (
    avg_pool_float,
    avg_pool_float_backward,
    max_pool_float,
    max_pool_float_backward,
)

torch = pytest.importorskip("torch")
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def pool_cases(draw: Any) -> dict[str, Any]:
    nsp = draw(st.sampled_from([1, 2]))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nsp))
    size = tuple(draw(st.integers(max(1, (k - 1) * d + 1 - 2 * p), 7))
                 for k, d, p in zip(kernel, dilation, padding, strict=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-3, 4, (2, 2, *size)).astype(draw(st.sampled_from([np.float64, np.float32])))
    special = draw(st.sampled_from(["none", "nan", "inf"]))
    if special != "none":
        mask = rng.random(x.shape) < 0.2
        x[mask] = {"nan": np.nan, "inf": -np.inf}[special]
    return {"x": x, "kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
            "ceil_mode": draw(st.booleans())}


def _torch_pool(kind: str, nsp: int) -> Any:
    return getattr(torch.nn.functional, f"{kind}_pool{nsp}d")


@SETTINGS
@given(pool_cases())
def test_max_pool_float_matches_torch_and_exact_path(case: dict[str, Any]) -> None:
    x, k, s, p, d, ceil = (case[key] for key in ("x", "kernel", "stride", "padding", "dilation", "ceil_mode"))
    values, indices = max_pool_float(x, k, s, p, d, ceil)
    only_values, none = max_pool_float(x, k, s, p, d, ceil, with_indices=False)
    ref, ref_idx = _torch_pool("max", len(k))(torch.from_numpy(x), k, s, p, d, ceil, return_indices=True)
    assert values.dtype == x.dtype and none is None
    np.testing.assert_array_equal(values, ref.numpy())
    np.testing.assert_array_equal(only_values, ref.numpy())
    np.testing.assert_array_equal(indices, ref_idx.numpy())
    slow_values, slow_indices = max_pool_nd(x.astype(np.float64), k, s, p, d, ceil)
    np.testing.assert_array_equal(values, slow_values.astype(x.dtype))
    np.testing.assert_array_equal(indices, slow_indices)


@SETTINGS
@given(pool_cases(), st.booleans(), st.sampled_from([None, 3, -2]))
def test_avg_pool_float_matches_torch_and_exact_path(case: dict[str, Any], include_pad: bool,
                                                     override: int | None) -> None:
    x, k, s, p, ceil = (case[key] for key in ("x", "kernel", "stride", "padding", "ceil_mode"))
    x = np.nan_to_num(x, nan=1.5, neginf=-2.5)
    if len(k) == 1:
        override = None  # torch's avg_pool1d has no divisor_override
    out = avg_pool_float(x, k, s, p, ceil, include_pad, override)
    args = (k, s, p, ceil, include_pad) + ((override,) if len(k) == 2 else ())
    ref = _torch_pool("avg", len(k))(torch.from_numpy(x), *args).numpy()
    assert out.dtype == x.dtype
    tol = 1e-12 if x.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)
    exact = avg_pool_nd(x.astype(np.int64) if np.all(x == np.round(x)) else x.astype(np.float64),
                        k, s, p, ceil, include_pad, override)
    np.testing.assert_allclose(out, exact.astype(np.float64), rtol=tol, atol=tol)


def test_functional_uses_float_path_and_keeps_dtype() -> None:
    x = np.arange(2 * 3 * 6 * 5, dtype=np.float32).reshape(2, 3, 6, 5)
    out, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    ref, ref_idx = torch.nn.functional.max_pool2d(torch.from_numpy(x), 3, 2, 1, return_indices=True)
    assert out.dtype == np.float32 and np.array_equal(out, ref.numpy()) and np.array_equal(idx, ref_idx.numpy())
    avg = F.avg_pool2d(x, 2, count_include_pad=False)
    assert avg.dtype == np.float32
    np.testing.assert_allclose(avg, torch.nn.functional.avg_pool2d(torch.from_numpy(x), 2).numpy(), rtol=1e-6)


@SETTINGS
@given(pool_cases(), st.integers(0, 2**32 - 1))
def test_max_pool_float_backward_matches_torch(case: dict[str, Any], seed: int) -> None:
    x, k, s, p, d, ceil = (case[key] for key in ("x", "kernel", "stride", "padding", "dilation", "ceil_mode"))
    xt = torch.from_numpy(x).requires_grad_()
    out, idx = _torch_pool("max", len(k))(xt, k, s, p, d, ceil, return_indices=True)
    # A window of padding only gets an index past the input; torch then writes into the next plane.
    assume(bool((idx < math.prod(x.shape[2:])).all()))
    g = np.random.default_rng(seed).integers(-3, 4, tuple(out.shape)).astype(x.dtype)
    out.backward(torch.from_numpy(g))
    assert xt.grad is not None
    gi = max_pool_float_backward(g, x, k, s, p, d, ceil)
    assert gi.dtype == x.dtype
    np.testing.assert_array_equal(gi, xt.grad.numpy())
    np.testing.assert_array_equal(F.max_pool2d_backward(g, x, k, s, p, d, ceil) if len(k) == 2
                                  else F.max_pool1d_backward(g, x, k, s, p, d, ceil), gi)


@SETTINGS
@given(pool_cases(), st.booleans(), st.integers(0, 2**32 - 1))
def test_avg_pool_float_backward_matches_torch(case: dict[str, Any], include_pad: bool, seed: int) -> None:
    x, k, s, p, ceil = (case[key] for key in ("x", "kernel", "stride", "padding", "ceil_mode"))
    xt = torch.from_numpy(np.nan_to_num(x, nan=0.5, neginf=-1.0)).requires_grad_()
    out = _torch_pool("avg", len(k))(xt, k, s, p, ceil, include_pad)
    g = np.random.default_rng(seed).standard_normal(tuple(out.shape)).astype(x.dtype)
    out.backward(torch.from_numpy(g))
    assert xt.grad is not None
    gi = avg_pool_float_backward(g, x.shape, k, s, p, ceil, include_pad)
    assert gi.dtype == x.dtype
    tol = 1e-12 if x.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(gi, xt.grad.numpy(), rtol=tol, atol=tol)
