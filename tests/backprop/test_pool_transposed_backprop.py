"""backprop pool and backprop transposed-conv through the CLI's JSON, against torch.autograd."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

TIES = [[1, 3, 3, 1], [2, 0, 3, 2], [1, 1, 1, 5], [0, 4, 4, 0]]


def _exact(data: dict, key: str) -> np.ndarray:
    """The JSON result with exact strings where given, as floats."""
    vals = np.array(data[key], dtype=float)
    if f"{key}_exact" in data:
        ex = np.array(data[f"{key}_exact"], dtype=object)
        for idx in np.ndindex(ex.shape):
            if ex[idx] is not None:
                vals[idx] = float(Fraction(ex[idx]))
    return vals


def test_max_pool_ties_first_wins_vs_torch(cli) -> None:
    torch = pytest.importorskip("torch")
    r = cli("backprop", "pool", "--input", json.dumps(TIES), "--kernel-size", "2", "--stride", "1", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["command"] == "backprop pool"
    xt = torch.tensor(TIES, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.max_pool2d(xt[None], 2, 1).sum().backward()
    assert data["grad_input"] == xt.grad.numpy().astype(int).tolist()
    text = cli("backprop", "pool", "--input", json.dumps(TIES), "--kernel-size", "2", "--stride", "1").out
    assert "1 → dA[1,2]" in text and "a tie: the first in row-major order wins" in text
    assert "dA[1,2] = 1 + 1 = 2" in text


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
@pytest.mark.parametrize("mode", ["max", "avg", "lp"])
def test_pool_every_format(cli, fmt: str, mode: str) -> None:
    r = cli("backprop", "pool", "--input", json.dumps(TIES), "--kernel-size", "2", "--mode", mode, "--format", fmt)
    assert r.code == 0, r.err
    assert r.out.strip()


def test_pool_bad_grad_output(cli) -> None:
    r = cli("backprop", "pool", "--input", json.dumps(TIES), "--kernel-size", "2", "--grad-output", "1 2 3")
    assert r.code == 2 and r.err.count("\n") == 1 and "(2, 2)" in r.err


@st.composite
def pool_cases(draw):
    dim = draw(st.sampled_from([1, 2]))
    k = tuple(draw(st.integers(1, 3)) for _ in range(dim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(dim))
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    size = tuple(draw(st.integers(kk, kk + 4)) for kk in k)
    mode = draw(st.sampled_from(["max", "avg"]))
    ceil = draw(st.booleans())
    cip = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(0, 3, (2, 2, *size))  # few values, so ties are common
    return dim, k, s, p, mode, ceil, cip, x, rng


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pool_cases())
def test_pool_against_torch(cli, case) -> None:
    torch = pytest.importorskip("torch")
    dim, k, s, p, mode, ceil, cip, x, rng = case
    F = torch.nn.functional
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    if mode == "max":
        y = (F.max_pool1d if dim == 1 else F.max_pool2d)(xt, k, s, p, 1, ceil)
    else:
        y = (F.avg_pool1d if dim == 1 else F.avg_pool2d)(xt, k, s, p, ceil, cip)
    g = rng.integers(-3, 4, tuple(y.shape))
    y.backward(torch.tensor(g, dtype=torch.float64))
    args = ["backprop", "pool", "--input", json.dumps(x.tolist()), "--grad-output", json.dumps(g.tolist()),
            "--dim", str(dim), "--kernel-size", ",".join(map(str, k)), "--stride", ",".join(map(str, s)),
            "--padding", ",".join(map(str, p)), "--mode", mode, "--format", "json"]
    args += ["--ceil-mode"] * ceil + ([] if cip else ["--no-count-include-pad"])
    r = cli(*args)
    assert r.code == 0, r.err
    # exact fractions vs torch float64: absolute 1e-9 too, since an exact 0 meets torch's 1e-16 residue
    np.testing.assert_allclose(_exact(json.loads(r.out), "grad_input").reshape(x.shape), xt.grad.numpy(), atol=1e-9)


@st.composite
def transposed_cases(draw):
    dim = draw(st.sampled_from([1, 2]))
    groups = draw(st.sampled_from([1, 2]))
    cin, og = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(dim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(dim))
    d = tuple(draw(st.integers(1, 2)) for _ in range(dim))
    p = tuple(draw(st.integers(0, 1)) for _ in range(dim))
    op = tuple(draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d, strict=True))
    size = tuple(draw(st.integers(2, 4)) for _ in range(dim))
    # torch refuses an empty output: (I−1)s − 2p + d(K−1) + op + 1 must be at least 1
    assume(all((i - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1 >= 1
               for i, ss, pp, dd, kk, oo in zip(size, s, p, d, k, op, strict=True)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return dim, groups, s, d, p, op, rng.integers(-3, 4, (2, cin, *size)), rng.integers(-3, 4, (cin, og, *k)), rng


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(transposed_cases())
def test_transposed_against_torch(cli, case) -> None:
    torch = pytest.importorskip("torch")
    dim, groups, s, d, p, op, x, w, rng = case
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.zeros(w.shape[1] * groups, dtype=torch.float64, requires_grad=True)
    f = torch.nn.functional.conv_transpose1d if dim == 1 else torch.nn.functional.conv_transpose2d
    y = f(xt, wt, bt, s, p, op, groups, d)
    g = rng.integers(-3, 4, tuple(y.shape))
    y.backward(torch.tensor(g, dtype=torch.float64))
    r = cli("backprop", "transposed-conv", "--input", json.dumps(x.tolist()), "--kernel", json.dumps(w.tolist()),
            "--grad-output", json.dumps(g.tolist()), "--dim", str(dim), "--stride", ",".join(map(str, s)),
            "--padding", ",".join(map(str, p)), "--output-padding", ",".join(map(str, op)),
            "--dilation", ",".join(map(str, d)), "--groups", str(groups), "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["command"] == "backprop transposed-conv"
    np.testing.assert_array_equal(np.array(data["grad_input"]).reshape(x.shape), xt.grad.numpy())
    np.testing.assert_array_equal(np.array(data["grad_weight"]).reshape(w.shape), wt.grad.numpy())
    np.testing.assert_array_equal(np.array(data["grad_bias"]), bt.grad.numpy())
