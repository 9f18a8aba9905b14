"""The float pooling path bit for bit against torch, over 1-D, 2-D and 3-D, in blocks and threads.

Values must match torch's exactly: the sign of a zero, where the NaNs are, the index of the
winner, and sums added in torch's order (float addition is not associative, so a different
order shows up in the last bits, which real-valued data and upstream gradients catch). The
results must not depend on how the planes are split into blocks or on the thread count.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from convcalc import limits
from convcalc.core import blocks
from convcalc.core.pool_float import (
    avg_pool_float,
    avg_pool_float_backward,
    max_pool_float,
    max_pool_float_backward,
)
from convcalc.errors import ConvcalcError

torch = pytest.importorskip("torch")
tf = torch.nn.functional
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_same_floats(ours: Any, theirs: Any) -> None:
    """Same dtype and shape, NaN in the same cells, the same value and sign everywhere else."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    nan = np.isnan(theirs)
    np.testing.assert_array_equal(np.isnan(ours), nan)
    np.testing.assert_array_equal(ours[~nan], theirs[~nan])
    np.testing.assert_array_equal(np.signbit(ours[~nan]), np.signbit(theirs[~nan]))


@st.composite
def cases(draw: Any, max_dims: int = 3) -> dict[str, Any]:
    nsp = draw(st.integers(1, max_dims))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nsp))
    size = tuple(draw(st.integers(max(1, (k - 1) * d + 1 - 2 * p), 8))
                 for k, d, p in zip(kernel, dilation, padding, strict=True))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((2, 3, *size))
    kind = draw(st.sampled_from(["real", "ties", "zeros", "specials"]))
    if kind == "ties":  # small integers, some of them −0
        x = rng.integers(-2, 3, x.shape) * np.where(rng.random(x.shape) < 0.5, -1.0, 1.0)
    elif kind == "zeros":
        x = np.where(rng.random(x.shape) < 0.5, -0.0, 0.0)
    elif kind == "specials":
        for value in (np.nan, -np.inf, np.inf, -0.0):
            x[rng.random(x.shape) < 0.15] = value
    return {"x": x.astype(dtype), "kernel": kernel, "stride": stride, "padding": padding,
            "dilation": dilation, "ceil_mode": draw(st.booleans()), "seed": draw(st.integers(0, 2**32 - 1))}


def _torch(kind: str, nsp: int) -> Any:
    return getattr(tf, f"{kind}_pool{nsp}d")


def _max_torch(case: dict[str, Any]) -> tuple[Any, Any]:
    x, k, s, p, d, ceil = (case[key] for key in ("x", "kernel", "stride", "padding", "dilation", "ceil_mode"))
    xt = torch.from_numpy(x).requires_grad_()
    return xt, _torch("max", len(k))(xt, k, s, p, d, ceil, return_indices=True)


@SETTINGS
@given(cases())
def test_max_pool_is_torchs_bit_for_bit(case: dict[str, Any]) -> None:
    x, k, s, p, d, ceil = (case[key] for key in ("x", "kernel", "stride", "padding", "dilation", "ceil_mode"))
    xt, (ref, ref_idx) = _max_torch(case)
    values, indices = max_pool_float(x, k, s, p, d, ceil)
    only_values, _ = max_pool_float(x, k, s, p, d, ceil, with_indices=False)
    assert_same_floats(values, ref.detach().numpy())
    assert_same_floats(only_values, ref.detach().numpy())
    np.testing.assert_array_equal(indices, ref_idx.numpy())
    # Backward, with real-valued upstream values: a cell that wins several windows adds them
    # in torch's order. (An index past the plane makes torch write into the next plane.)
    if bool((ref_idx < math.prod(x.shape[2:])).all()):
        g = np.random.default_rng(case["seed"]).standard_normal(tuple(ref.shape)).astype(x.dtype)
        ref.backward(torch.from_numpy(g))
        assert_same_floats(max_pool_float_backward(g, x, k, s, p, d, ceil), xt.grad.numpy())


@SETTINGS
@given(cases(), st.booleans(), st.sampled_from([None, 3, -2]))
def test_avg_pool_is_torchs_bit_for_bit(case: dict[str, Any], include_pad: bool, override: int | None) -> None:
    x, k, s, p, ceil = (case[key] for key in ("x", "kernel", "stride", "padding", "ceil_mode"))
    if len(k) == 1:
        override = None  # torch's avg_pool1d has no divisor_override
    args = (k, s, p, ceil, include_pad) + (() if len(k) == 1 else (override,))
    xt = torch.from_numpy(x).requires_grad_()
    try:
        ref = _torch("avg", len(k))(xt, *args)
    except RuntimeError:  # torch's 3-D check is stricter than its 1-D/2-D one (and ours)
        reject()
    assert_same_floats(avg_pool_float(x, k, s, p, ceil, include_pad, override), ref.detach().numpy())
    g = np.random.default_rng(case["seed"]).standard_normal(tuple(ref.shape)).astype(x.dtype)
    ref.backward(torch.from_numpy(g))
    assert_same_floats(avg_pool_float_backward(g, x.shape, k, s, p, ceil, include_pad, override), xt.grad.numpy())


def _all_four(x: Any, g_max: Any, g_avg: Any, k: tuple[int, ...], s: tuple[int, ...],
              p: tuple[int, ...]) -> list[Any]:
    values, indices = max_pool_float(x, k, s, p)
    return [values, indices, max_pool_float(x, k, s, p, with_indices=False)[0],
            max_pool_float_backward(g_max, x, k, s, p), avg_pool_float(x, k, s, p),
            avg_pool_float_backward(g_avg, x.shape, k, s, p)]


@pytest.mark.parametrize(("k", "s", "p"), [((3, 3), (2, 2), (1, 1)), ((2, 2), (2, 2), (0, 0)),
                                           ((3, 2), (1, 2), (1, 0))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocks_and_threads_do_not_change_a_bit(monkeypatch: pytest.MonkeyPatch, k: tuple[int, ...],
                                                s: tuple[int, ...], p: tuple[int, ...], dtype: type) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 7, 13, 12)).astype(dtype)
    x[rng.random(x.shape) < 0.05] = np.nan
    x[rng.random(x.shape) < 0.05] = -0.0
    x[0, 1] = -np.inf  # a plane with no winner anywhere
    out = max_pool_float(x, k, s, p)[0].shape
    g_max, g_avg = (rng.standard_normal(out).astype(dtype) for _ in range(2))
    monkeypatch.setenv("CONVCALC_THREADS", "1")
    whole = _all_four(x, g_max, g_avg, k, s, p)
    plane = x[0, 0].nbytes
    for block_bytes, threads in ((plane, "1"), (plane, "2"), (4 * plane, "2"), (5 * plane, "3")):
        # 21 planes in blocks of 1, 4 or 5: the last block is smaller than the others
        monkeypatch.setattr(blocks, "PLANE_BLOCK_BYTES", block_bytes)
        monkeypatch.setenv("CONVCALC_THREADS", threads)
        for ours, reference in zip(_all_four(x, g_max, g_avg, k, s, p), whole, strict=True):
            assert_same_floats(ours, reference) if ours.dtype.kind == "f" else np.testing.assert_array_equal(
                ours, reference)
    xt = torch.from_numpy(x).requires_grad_()
    ref, ref_idx = tf.max_pool2d(xt, k, s, p, return_indices=True)
    ref.backward(torch.from_numpy(g_max))
    assert_same_floats(whole[0], ref.detach().numpy())
    np.testing.assert_array_equal(whole[1], ref_idx.numpy())
    assert_same_floats(whole[3], xt.grad.numpy())
    assert_same_floats(whole[4], tf.avg_pool2d(torch.from_numpy(x), k, s, p).numpy())


def test_threads_really_used_and_one_thread_makes_no_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(0).standard_normal((2, 8, 9, 9))
    monkeypatch.setattr(blocks, "PLANE_BLOCK_BYTES", x[0, 0].nbytes)
    monkeypatch.setattr(blocks, "_pools", {})
    monkeypatch.setenv("CONVCALC_THREADS", "1")
    avg_pool_float(x, (3, 3), (2, 2), (1, 1))
    assert blocks._pools == {}
    monkeypatch.setenv("CONVCALC_THREADS", "2")
    avg_pool_float(x, (3, 3), (2, 2), (1, 1))
    assert list(blocks._pools) == [(os.getpid(), 1)]  # one helper beside the calling thread


def test_importing_the_float_path_starts_no_thread_machinery() -> None:
    code = "import sys, convcalc.functional; print('concurrent.futures' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_thread_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVCALC_THREADS", raising=False)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert limits.threads() == cpus
    monkeypatch.setenv("CONVCALC_THREADS", "3")
    assert limits.threads() == 3
    monkeypatch.setenv("CONVCALC_THREADS", "0")
    assert limits.threads() == 1
    monkeypatch.setenv("CONVCALC_THREADS", "many")
    with pytest.raises(ConvcalcError, match="CONVCALC_THREADS"):
        limits.threads()


# --- Cases written out, each against torch ----------------------------------------------


def _check_max(x: Any, k: int | tuple[int, ...], s: int | tuple[int, ...], p: int | tuple[int, ...],
               d: int | tuple[int, ...] = 1, ceil: bool = False, g: Any = None) -> None:
    x = np.asarray(x, dtype=np.float64)
    nsp = x.ndim - 2
    k, s, p, d = (v if isinstance(v, tuple) else (v,) * nsp for v in (k, s, p, d))
    xt = torch.from_numpy(x).requires_grad_()
    ref, ref_idx = _torch("max", nsp)(xt, k, s, p, d, ceil, return_indices=True)
    values, indices = max_pool_float(x, k, s, p, d, ceil)
    assert_same_floats(values, ref.detach().numpy())
    assert_same_floats(max_pool_float(x, k, s, p, d, ceil, with_indices=False)[0], ref.detach().numpy())
    np.testing.assert_array_equal(indices, ref_idx.numpy())
    if g is not None:
        g = np.asarray(g, dtype=np.float64)
        ref.backward(torch.from_numpy(g))
        assert_same_floats(max_pool_float_backward(g, x, k, s, p, d, ceil), xt.grad.numpy())


def test_a_zero_maximum_keeps_the_first_zeros_sign() -> None:
    # 2×2 stride 2 (read straight from the input) and 3×3 stride 2 padding 1 (split by phase)
    x = np.array([[[[-0.0, 0.0, 0.0, -0.0], [0.0, -0.0, -np.inf, -0.0], [-np.inf, 0.0, -0.0, -0.0],
                    [-0.0, -0.0, -0.0, -0.0]]]])
    _check_max(x, 2, 2, 0)
    _check_max(x, 3, 2, 1)
    _check_max(x, 3, 1, 1)


def test_windows_without_a_winner_and_the_last_nan() -> None:
    nan, inf = np.nan, np.inf
    x = np.array([[[-inf, -inf, -inf, 2.0, nan, 1.0, nan, 5.0, -inf, -inf]]])
    _check_max(x, 3, 2, 1, g=[[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    _check_max(x, 2, 1, 1, 2, True, g=np.arange(1.0, 11.0).reshape(1, 1, 10))


def test_a_window_of_padding_only_still_sends_its_gradient_where_torch_does() -> None:
    # Width 1 with dilation 2 and padding 1: the two taps of each window land at −1 and 1.
    x = np.arange(4.0).reshape(1, 1, 4, 1)
    _check_max(x, (3, 2), (1, 2), (1, 1), (1, 2), g=np.array([1.0, 10.0, 100.0, 1000.0]).reshape(1, 1, 4, 1))


def test_a_cell_that_wins_several_windows_adds_them_in_torchs_order() -> None:
    # 1 + 1e16 rounds to 1e16: in torch's order the three values sum to 0, in reverse to 1.
    _check_max([[[0.0, 0.0, 5.0, 0.0, 0.0]]], 3, 1, 0, g=[[[1.0, 1e16, -1e16]]])


def test_an_average_sums_in_torchs_order() -> None:
    # The same rounding: 0 + 1 + 1e16 − 1e16 is 0 in that order.
    x = np.array([[[1.0, 1e16, -1e16, 3.0]]])
    g = np.array([[[1.0, 1e16, -1e16, 3.0]]])
    xt = torch.from_numpy(x).requires_grad_()
    ref = tf.avg_pool1d(xt, 3, 1, 1)
    ref.backward(torch.from_numpy(g))
    assert_same_floats(avg_pool_float(x, (3,), (1,), (1,)), ref.detach().numpy())
    assert_same_floats(avg_pool_float_backward(g, x.shape, (3,), (1,), (1,)), xt.grad.numpy())


def test_inf_minus_inf_in_a_gradient_is_nan_without_a_warning() -> None:
    x = np.array([[[0.0, 0.0, 5.0, 0.0, 0.0]]])
    g = np.array([[[np.inf, -np.inf, 1.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_max(x, 3, 1, 0, g=g)  # the 5 wins all three windows
        xt = torch.from_numpy(x).requires_grad_()
        tf.avg_pool1d(xt, 3, 1, 0).backward(torch.from_numpy(g))
        assert_same_floats(avg_pool_float_backward(g, x.shape, (3,), (1,), (0,)), xt.grad.numpy())
        big = np.array([[[np.inf, 1.0, -np.inf, 2.0]]])
        assert_same_floats(avg_pool_float(big, (2,), (1,), (0,)), tf.avg_pool1d(torch.from_numpy(big), 2, 1).numpy())


def test_an_average_that_rounds_to_minus_zero_is_plus_zero_as_in_torch() -> None:
    # −5e−324 / 2 rounds to −0; torch adds the quotient to a zeroed output, which gives +0.
    x = np.array([[[[-5e-324, 0.0, -0.0, -0.0]]]])
    ref = tf.avg_pool2d(torch.from_numpy(x), (1, 2)).numpy()
    assert_same_floats(avg_pool_float(x, (1, 2)), ref)
    assert_same_floats(avg_pool_float(x, (1, 2), divisor_override=-2), tf.avg_pool2d(
        torch.from_numpy(x), (1, 2), divisor_override=-2).numpy())
