"""Column matrices in blocks: a tiny budget (many blocks, rows split) gives the same results.

Oracles: the same call with the whole problem in one block (identical for exact numbers),
and torch's CPU kernels (float64 to 1e-9; small integers exactly).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from convcalc import functional as F
from convcalc.core import columns
from convcalc.core.backward import conv_nd_backward, conv_transpose_nd_backward
from convcalc.core.columns import blocks
from convcalc.core.conv import conv_nd
from convcalc.core.transposed import conv_transpose_nd

torch = pytest.importorskip("torch")
TF = torch.nn.functional
HUGE = 2**40  # one block for everything
TINY = 1      # one output row per block: every sample, and every row, on its own


def test_blocks_group_samples_then_split_rows() -> None:
    whole = [slice(0, 4)]
    assert list(blocks(5, [4, 3], 10, budget=80)) == [(slice(0, 2), whole), (slice(2, 4), whole),
                                                      (slice(4, 5), whole)]
    runs = [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert list(blocks(2, [5, 3], 10, budget=25)) == [(slice(0, 1), runs), (slice(1, 2), runs)]
    assert list(blocks(1, [3], 10, budget=1)) == [(slice(0, 1), [slice(r, r + 1) for r in range(3)])]


def _case(rng: np.random.Generator, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    x: np.ndarray = rng.integers(-4, 5, (3, 4, 7, 6)).astype(dtype)
    w: np.ndarray = rng.integers(-3, 4, (6, 2, 3, 2)).astype(dtype)  # groups=2
    return x, w


@pytest.mark.parametrize("stride,dilation", [((1, 1), (1, 1)), ((2, 1), (1, 2)), ((3, 2), (2, 1))])
def test_conv_blocks_match_one_block_and_torch(stride: tuple[int, int], dilation: tuple[int, int]) -> None:
    rng = np.random.default_rng(7)
    x, w = _case(rng, np.int64)
    pads = ((1, 1), (2, 2))
    tiny = conv_nd(x, w, None, stride, pads, dilation, 2, budget=TINY)
    whole = conv_nd(x, w, None, stride, pads, dilation, 2, budget=HUGE)
    assert tiny.dtype == np.int64 and np.array_equal(tiny, whole)
    ref = TF.conv2d(torch.from_numpy(x.astype(float)), torch.from_numpy(w.astype(float)), stride=stride,
                    padding=(1, 2), dilation=dilation, groups=2).numpy()
    assert np.array_equal(tiny, ref)
    xf, wf = x + 0.25, w * 0.5
    out = conv_nd(xf, wf, None, stride, pads, dilation, 2, budget=TINY)
    ref = TF.conv2d(torch.from_numpy(xf), torch.from_numpy(wf), stride=stride, padding=(1, 2),
                    dilation=dilation, groups=2).numpy()
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
def test_conv_backward_blocks_match_one_block_and_torch(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    x, w = _case(rng, np.int64)
    pads, stride, dilation = ((1, 1), (2, 2)), (2, 1), (1, 2)
    g = rng.integers(-3, 4, conv_nd(x, w, None, stride, pads, dilation, 2, mode).shape)
    monkeypatch.setattr(columns, "COLUMN_BUDGET_BYTES", HUGE)
    whole = conv_nd_backward(g, x, w, stride, pads, dilation, 2, mode)
    monkeypatch.setattr(columns, "COLUMN_BUDGET_BYTES", TINY)
    tiny = conv_nd_backward(g, x, w, stride, pads, dilation, 2, mode)
    for a, b in zip(tiny, whole, strict=True):
        assert a is not None and b is not None and a.dtype == np.int64 and np.array_equal(a, b)
    xt = torch.from_numpy(x.astype(float)).requires_grad_()
    wt = torch.from_numpy(w.astype(float)).requires_grad_()
    xin = TF.pad(xt, (2, 2, 1, 1), mode="constant" if mode == "zeros" else mode)
    TF.conv2d(xin, wt, stride=stride, dilation=dilation, groups=2).backward(torch.from_numpy(g.astype(float)))
    gi, gw = tiny[0], tiny[1]
    assert gi is not None and gw is not None and xt.grad is not None and wt.grad is not None
    assert np.array_equal(gi, xt.grad.numpy()) and np.array_equal(gw, wt.grad.numpy())


def test_conv_fractions_stay_exact_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.array([[[[Fraction(i * j + 1, 3) for j in range(5)] for i in range(4)]]], dtype=object)
    w = np.array([[[[Fraction(1, 2), 2], [-1, Fraction(3, 7)]]]], dtype=object)
    whole = conv_nd(x, w, None, (1, 1), ((1, 1), (0, 0)), (1, 1), budget=HUGE)
    tiny = conv_nd(x, w, None, (1, 1), ((1, 1), (0, 0)), (1, 1), budget=TINY)
    assert tiny.dtype == object and all(isinstance(v, Fraction | int) for v in tiny.flat)
    assert tiny.tolist() == whole.tolist()
    g = np.ones(tiny.shape, dtype=object)
    monkeypatch.setattr(columns, "COLUMN_BUDGET_BYTES", TINY)
    gi, gw, _ = conv_nd_backward(g, x, w, (1, 1), ((1, 1), (0, 0)), (1, 1))
    monkeypatch.setattr(columns, "COLUMN_BUDGET_BYTES", HUGE)
    gi2, gw2, _ = conv_nd_backward(g, x, w, (1, 1), ((1, 1), (0, 0)), (1, 1))
    assert gi is not None and gw is not None and gi2 is not None and gw2 is not None
    assert gi.tolist() == gi2.tolist() and gw.tolist() == gw2.tolist()


def test_transposed_blocks_match_one_block_and_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(-4, 5, (3, 4, 5, 4)).astype(np.int64)
    w = rng.integers(-3, 4, (4, 3, 3, 2)).astype(np.int64)  # (C_in, C_out/g, K), groups=2
    args = ((2, 1), (1, 0), (1, 0), (1, 2), 2)
    tiny = conv_transpose_nd(x, w, None, *args, budget=TINY)
    whole = conv_transpose_nd(x, w, None, *args, budget=HUGE)
    assert np.array_equal(tiny, whole)
    xt = torch.from_numpy(x.astype(float)).requires_grad_()
    wt = torch.from_numpy(w.astype(float)).requires_grad_()
    ref = TF.conv_transpose2d(xt, wt, stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2,
                              dilation=(1, 2))
    assert np.array_equal(tiny, ref.detach().numpy())
    g = rng.integers(-3, 4, ref.shape)
    ref.backward(torch.from_numpy(g.astype(float)))
    monkeypatch.setattr(columns, "COLUMN_BUDGET_BYTES", TINY)
    gi, gw, _ = conv_transpose_nd_backward(g, x, w, (2, 1), (1, 0), (1, 0), (1, 2), 2)
    assert gi is not None and gw is not None and xt.grad is not None and wt.grad is not None
    assert np.array_equal(gi, xt.grad.numpy()) and np.array_equal(gw, wt.grad.numpy())


def test_functional_float64_in_blocks_matches_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3))
    monkeypatch.setattr(columns, "COLUMN_BUDGET_BYTES", 3 * 9 * 8 * 8)  # a few rows per block
    out = F.conv2d(x, w, padding=1)
    g = rng.standard_normal(out.shape)
    gi, gw, gb = F.conv2d_backward(g, x, w, padding=1)
    xt, wt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
    ref = TF.conv2d(xt, wt, padding=1)
    ref.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(gi, xt.grad.numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), rtol=0, atol=1e-9)


def test_exact_pooling_in_batches_matches_one_batch_and_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    from convcalc import limits

    x = np.random.default_rng(2).integers(-9, 10, (5, 2, 7, 6))
    whole_max, whole_idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    whole_avg = F.avg_pool2d(x, 2, 1)
    monkeypatch.setattr(limits, "COLUMN_BUDGET_BYTES", TINY)  # one sample per piece
    values, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    avg = F.avg_pool2d(x, 2, 1)
    assert np.array_equal(values, whole_max) and np.array_equal(idx, whole_idx)
    assert avg.dtype == object and avg.tolist() == whole_avg.tolist()
    ref, ref_idx = TF.max_pool2d(torch.from_numpy(x.astype(float)), 3, 2, 1, return_indices=True)
    assert np.array_equal(values, ref.numpy()) and np.array_equal(idx, ref_idx.numpy())
    np.testing.assert_allclose(avg.astype(float), TF.avg_pool2d(torch.from_numpy(x.astype(float)), 2, 1).numpy(),
                               rtol=0, atol=1e-12)
