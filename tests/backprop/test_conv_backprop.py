"""backprop conv through the CLI's JSON, against torch.autograd; the seed 000 §1.1(d) golden."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

A = "[[4,5,2,2,1],[3,3,2,2,4],[4,3,4,1,1],[5,1,4,1,2],[5,1,3,1,4]]"
B = "[[4,3,3],[5,5,5],[2,4,3]]"
GOLDEN = [[4, 7, 10, 6, 3], [9, 17, 25, 16, 8], [11, 23, 34, 23, 11], [7, 16, 24, 17, 8], [2, 6, 9, 7, 3]]


def _js(a: np.ndarray) -> str:
    return json.dumps(a.tolist())


def test_seed_000_grad_input(cli) -> None:
    r = cli("backprop", "conv", "--input", A, "--kernel", B, "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["command"] == "backprop conv"
    assert data["grad_input"] == GOLDEN
    assert data["grad_bias"] == [9]
    assert set(data) >= {"grad_input", "grad_weight", "grad_bias", "settings"}


def test_seed_000_chain_rule_cells(cli) -> None:
    r = cli("backprop", "conv", "--input", A, "--kernel", B, "--cell", "1,1", "--wrt", "input")
    assert r.code == 0, r.err
    assert "dA[1,1]" in r.out and "= 1·4 = 4" in r.out
    assert "read by the windows of 1 output cell(s): C[1,1]." in r.out
    r = cli("backprop", "conv", "--input", A, "--kernel", B, "--cell", "3,3", "--wrt", "input")
    line = next(ln for ln in r.out.splitlines() if ln.strip().startswith("= 1·"))
    assert line.count("·") == 9 and line.endswith("= 34")
    assert "9 output cell(s)" in r.out


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_every_format_renders(cli, fmt: str) -> None:
    r = cli("backprop", "conv", "--input", A, "--kernel", B, "--stride", "2", "--padding", "1", "--format", fmt)
    assert r.code == 0, r.err
    assert r.out.strip()


def test_answer_checks_grad_input(cli) -> None:
    ok = cli("backprop", "conv", "--input", A, "--kernel", B, "--answer", json.dumps(GOLDEN))
    assert ok.code == 0
    wrong = [row[:] for row in GOLDEN]
    wrong[4][4] = 4
    bad = cli("backprop", "conv", "--input", A, "--kernel", B, "--answer", json.dumps(wrong))
    assert bad.code == 1 and "dA[5,5]" in bad.out


def test_bad_grad_output_shape_one_line(cli) -> None:
    r = cli("backprop", "conv", "--input", A, "--kernel", B, "--grad-output", "1 2; 3 4")
    assert r.code == 2
    assert r.err.count("\n") == 1 and "(3, 3)" in r.err and "--grad-output" in r.err


def test_bad_cell_exit_2(cli) -> None:
    r = cli("backprop", "conv", "--input", A, "--kernel", B, "--cell", "9,9")
    assert r.code == 2 and r.err.count("\n") == 1


@st.composite
def conv_cases(draw):
    dim = draw(st.sampled_from([1, 2]))
    groups = draw(st.sampled_from([1, 2]))
    n = draw(st.integers(1, 2))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(dim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(dim))
    d = tuple(draw(st.integers(1, 2)) for _ in range(dim))
    p = tuple(draw(st.integers(0, 2)) for _ in range(dim))
    size = tuple(draw(st.integers(dd * (kk - 1) + 1, dd * (kk - 1) + 6)) for kk, dd in zip(k, d, strict=True))
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    if mode == "reflect":
        p = tuple(min(pp, ss - 1) for pp, ss in zip(p, size, strict=True))
    if mode == "circular":
        p = tuple(min(pp, ss) for pp, ss in zip(p, size, strict=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-4, 5, (n, cin, *size))
    w = rng.integers(-3, 4, (cout, cin // groups, *k))
    return dim, groups, s, d, p, mode, x, w, rng


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conv_cases())
def test_against_torch_autograd(cli, case) -> None:
    torch = pytest.importorskip("torch")
    dim, groups, s, d, p, mode, x, w, rng = case
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    conv = torch.nn.functional.conv1d if dim == 1 else torch.nn.functional.conv2d
    if mode == "zeros":
        y = conv(xt, wt, bt, s, p, d, groups)
    else:
        pads = [v for pp in reversed(p) for v in (pp, pp)]
        y = conv(torch.nn.functional.pad(xt, pads, mode=mode), wt, bt, s, 0, d, groups)
    g = rng.integers(-3, 4, tuple(y.shape))
    y.backward(torch.tensor(g, dtype=torch.float64))
    r = cli("backprop", "conv", "--input", _js(x), "--kernel", _js(w), "--grad-output", _js(g), "--dim", str(dim),
            "--stride", ",".join(map(str, s)), "--dilation", ",".join(map(str, d)),
            "--padding", ",".join(map(str, p)), "--padding-mode", mode, "--groups", str(groups), "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    np.testing.assert_array_equal(np.array(data["grad_input"]).reshape(x.shape), xt.grad.numpy())
    np.testing.assert_array_equal(np.array(data["grad_weight"]).reshape(w.shape), wt.grad.numpy())
    np.testing.assert_array_equal(np.array(data["grad_bias"]), bt.grad.numpy())


@pytest.mark.parametrize("command", ["conv", "transposed-conv"])
@pytest.mark.parametrize("wrt", ["input", "kernel", "bias"])
def test_output_writes_the_gradient_wrt_names(cli, tmp_path, command: str, wrt: str) -> None:
    torch = pytest.importorskip("torch")
    x = torch.tensor(json.loads(A), dtype=torch.float64)[None, None].requires_grad_()
    w = torch.tensor(json.loads(B), dtype=torch.float64)[None, None].requires_grad_()
    b = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    op = torch.nn.functional.conv2d if command == "conv" else torch.nn.functional.conv_transpose2d
    out = op(x, w, b, stride=2)
    out.backward(torch.ones_like(out))
    want = {"input": x.grad[0, 0], "kernel": w.grad[0, 0], "bias": b.grad}[wrt].numpy()
    target = tmp_path / "g.npy"
    r = cli("backprop", command, "--input", A, "--kernel", B, "--bias", "2", "--stride", "2", "--wrt", wrt,
            "--output", str(target))
    assert r.code == 0, r.err
    np.testing.assert_array_equal(np.load(target), want)
