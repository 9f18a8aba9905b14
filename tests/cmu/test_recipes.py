"""backprop resample, conv --as stride1-downsample and transposed-conv --as upsample-conv
against torch.autograd (the course's recipes must give PyTorch's numbers)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _inline(a: np.ndarray) -> str:
    return json.dumps(a.tolist())


def _json(cli, *argv: str) -> dict:
    res = cli(*argv, "--format", "json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def _torch_resample(x: np.ndarray, k: int, up: bool, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward and dL/dA with torch autograd: slicing for down, an index_put for up."""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    if up:
        z = torch.zeros(*x.shape[:-1], (x.shape[-1] - 1) * k + 1, dtype=torch.float64)
        z = z.index_put((torch.arange(0, z.shape[-1], k),), t)  # x is 1-D here
    else:
        z = t[..., ::k]
    z.backward(torch.tensor(g, dtype=torch.float64))
    return z.detach().numpy(), t.grad.numpy()


def test_handout_even_width_gives_six_values(cli):
    out = _json(cli, "backprop", "resample", "--input", "1 2 3 4 5 6", "--down", "2", "-G", "10 20 30")
    assert out["grad_input"] == [10, 0, 20, 0, 30, 0]  # 6 values, the last one a restored zero
    text = cli("backprop", "resample", "--input", "1 2 3 4 5 6", "--down", "2").out
    assert "1 trailing zero" in text


def test_resample_no_longer_claims_plain_upsampling(cli):
    text = cli("resample", "--input", "1 2 3 4 5 6", "--down", "2").out
    assert "input's own width" in text


@FAST
@given(w=st.integers(1, 11), k=st.integers(1, 5), up=st.booleans(), seed=st.integers(0, 99))
def test_backprop_resample_matches_autograd(cli, w, k, up, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-5, 6, size=w)
    z_len = (w - 1) * k + 1 if up else (w - 1) // k + 1
    g = rng.integers(-5, 6, size=z_len)
    z, gi = _torch_resample(x, k, up, g)
    out = _json(cli, "backprop", "resample", "--input", _inline(x), "--up" if up else "--down", str(k),
                "-G", _inline(g))
    assert np.array_equal(np.array(out["output"]).reshape(-1), z)
    assert np.array_equal(np.array(out["grad_input"]).reshape(-1), gi)
    assert len(out["grad_input"]) == w


@FAST
@given(h=st.integers(1, 7), w=st.integers(1, 7), kh=st.integers(1, 4), kw=st.integers(1, 4), seed=st.integers(0, 99))
def test_backprop_resample_2d_down(cli, h, w, kh, kw, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-5, 6, size=(2, h, w))
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    z = t[:, ::kh, ::kw]
    g = rng.integers(-5, 6, size=tuple(z.shape))
    z.backward(torch.tensor(g, dtype=torch.float64))
    out = _json(cli, "backprop", "resample", "--input", _inline(x), "--down", f"{kh},{kw}", "--dim", "2",
                "-G", _inline(g))
    assert np.array_equal(out["grad_input"], t.grad.numpy())


@st.composite
def strided_case(draw):
    dim = draw(st.sampled_from([1, 2]))
    cin, cout = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = draw(st.integers(1, 3))
    s = draw(st.integers(1, 4))
    p = draw(st.integers(0, 1))
    size = draw(st.integers(max(k - 2 * p, 1), 9))
    seed = draw(st.integers(0, 999))
    return dim, cin, cout, k, s, p, size, seed


@FAST
@given(case=strided_case())
def test_stride1_downsample_equals_torch_strided_conv(cli, case):
    dim, cin, cout, k, s, p, size, seed = case
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, size=(1, cin) + (size,) * dim)
    w = rng.integers(-3, 4, size=(cout, cin) + (k,) * dim)
    b = rng.integers(-3, 4, size=cout)
    conv = F.conv1d if dim == 1 else F.conv2d
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    z = conv(tx, tw, tb, stride=s, padding=p)
    g = rng.integers(-3, 4, size=tuple(z.shape))
    z.backward(torch.tensor(g, dtype=torch.float64))
    out = _json(cli, "conv", "--input", _inline(x), "--kernel", _inline(w), "--bias", _inline(b), "--stride", str(s),
                "--padding", str(p), "--dim", str(dim), "--as", "stride1-downsample", "-G", _inline(g))
    assert out["equals_strided"] is True
    assert np.array_equal(out["output"], z.detach().numpy())
    assert np.array_equal(out["grad_input"], tx.grad.numpy())
    assert np.array_equal(np.array(out["grad_weight"]).reshape(w.shape), tw.grad.numpy())
    assert np.array_equal(out["grad_bias"], tb.grad.numpy())
    # line 1 really is the stride-1 convolution
    z1 = conv(torch.tensor(x, dtype=torch.float64), torch.tensor(w, dtype=torch.float64),
              torch.tensor(b, dtype=torch.float64), padding=p)
    assert np.array_equal(out["stride1_output"], z1.numpy())


@st.composite
def upconv_case(draw):
    dim = draw(st.sampled_from([1, 2]))
    cin, cout = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    up = draw(st.integers(1, 4))
    k = draw(st.integers(1, 4))
    size = draw(st.integers(1, 5))
    if (size - 1) * up + 1 < k:
        size = -(-(k - 1) // up) + 1
    return dim, cin, cout, up, k, size, draw(st.integers(0, 999))


@FAST
@given(case=upconv_case())
def test_upsample_conv_is_the_handouts_and_pytorchs_flipped_convtranspose(cli, case):
    dim, cin, cout, up, k, size, seed = case
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, size=(1, cin) + (size,) * dim)
    w = rng.integers(-3, 4, size=(cout, cin) + (k,) * dim)  # the stride-1 conv's (C_out, C_in, K...)
    conv = F.conv1d if dim == 1 else F.conv2d
    convt = F.conv_transpose1d if dim == 1 else F.conv_transpose2d
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(w, dtype=torch.float64)
    # the handout's definition, built from torch pieces: zeros inserted, then a valid stride-1 conv
    idx = (slice(None), slice(None)) + (slice(None, None, up),) * dim
    a_up = torch.zeros((1, cin) + ((size - 1) * up + 1,) * dim, dtype=torch.float64)
    a_up[idx] = tx
    z = conv(a_up, tw)
    g = rng.integers(-3, 4, size=tuple(z.shape))
    z.backward(torch.tensor(g, dtype=torch.float64))
    out = _json(cli, "transposed-conv", "--input", _inline(x), "--kernel", _inline(w), "--stride", str(up),
                "--dim", str(dim), "--as", "upsample-conv", "-G", _inline(g))
    assert np.array_equal(out["output"], z.detach().numpy())
    assert np.array_equal(out["grad_input"], tx.grad.numpy())
    # the stated relation, checked by torch itself: ConvTranspose, stride k, padding K−1, weight flipped + swapped
    wt = torch.tensor(w, dtype=torch.float64).flip(list(range(2, 2 + dim))).transpose(0, 1)
    zt = convt(torch.tensor(x, dtype=torch.float64), wt, stride=up, padding=k - 1)
    assert np.array_equal(zt.numpy(), z.detach().numpy())
    assert np.array_equal(np.array(out["pytorch_weight"]).reshape(wt.shape), wt.numpy())
    assert out["pytorch_padding"] == [k - 1] * dim and out["equals_pytorch"] is True


def test_issue_example_three_values_not_seven(cli):
    out = _json(cli, "transposed-conv", "--input", "1 2 3", "--kernel", "1 2 3", "--stride", "2", "--dim", "1",
                "--as", "upsample-conv")
    plain = _json(cli, "transposed-conv", "--input", "1 2 3", "--kernel", "1 2 3", "--stride", "2", "--dim", "1")
    assert len(out["output"]) == 3 and len(plain["output"]) == 7


@pytest.mark.parametrize("argv", [
    ["transposed-conv", "--input", "1", "--kernel", "1 2 3", "--stride", "2", "--dim", "1", "--as", "upsample-conv"],
    ["transposed-conv", "--input", "1 2", "--kernel", "1 2", "--padding", "1", "--dim", "1", "--as", "upsample-conv"],
    ["conv", "--input", "1 2 3", "--kernel", "1 2", "--dim", "1", "-G", "1 1"],
    ["conv", "--input", "1 2 3", "--kernel", "1 2", "--dim", "1", "--as", "stride1-downsample", "-G", "1 1 1"],
    ["backprop", "resample", "--input", "1 2 3", "--down", "2", "-G", "1 1 1"],
    ["backprop", "resample", "--input", "1 2 3"],
])
def test_bad_input_is_one_line_exit_2(cli, argv):
    res = cli(*argv)
    assert res.code == 2 and res.err.count("\n") == 1 and "Traceback" not in res.err


def test_backprop_resample_answer(cli):
    ok = cli("backprop", "resample", "--input", "1 2 3 4 5 6", "--down", "2", "--answer", "1 0 1 0 1 0")
    short = cli("backprop", "resample", "--input", "1 2 3 4 5 6", "--down", "2", "--answer", "1 0 1 0 1")
    assert ok.code == 0 and short.code == 1 and "shape" in short.out


@FAST
@given(dim=st.sampled_from([1, 2]), size=st.integers(2, 9), k=st.integers(1, 3), s=st.integers(1, 4),
       mode=st.sampled_from(["max", "avg"]), seed=st.integers(0, 99))
def test_pool_as_stride1_downsample_equals_torch(cli, dim, size, k, s, mode, seed):
    k = min(k, size)
    rng = np.random.default_rng(seed)
    x = rng.integers(-9, 10, size=(2,) + (size,) * dim)  # ties too: the first largest wins, as in torch
    pool = {("max", 1): F.max_pool1d, ("max", 2): F.max_pool2d, ("avg", 1): F.avg_pool1d, ("avg", 2): F.avg_pool2d}
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    z = pool[mode, dim](t[None], k, s)[0]
    g = rng.integers(-3, 4, size=tuple(z.shape))
    z.backward(torch.tensor(g, dtype=torch.float64))
    out = _json(cli, "pool", "--input", _inline(x), "--kernel-size", str(k), "--stride", str(s), "--mode", mode,
                "--dim", str(dim), "--as", "stride1-downsample", "-G", _inline(g))
    assert out["equals_strided"] is True
    np.testing.assert_allclose(np.array(out["output"], dtype=float), z.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(np.array(out["grad_input"], dtype=float), t.grad.numpy(), rtol=1e-12, atol=1e-12)
