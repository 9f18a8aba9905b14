"""backprop pool: LP pooling (p = ±inf too) against torch.autograd, --cell's routes against torch's
Jacobian, and --answer re-working every wrong cell."""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.backprop.test_pool_transposed_backprop import TIES, _exact

X = [[1, -3, 2, 0], [4, -5, 6, 1], [0, 2, -1, 3], [1, 1, 1, -7]]
INF = math.inf


@st.composite
def lp_cases(draw):
    dim = draw(st.sampled_from([1, 2]))
    k = tuple(draw(st.integers(1, 3)) for _ in range(dim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(dim))
    size = tuple(draw(st.integers(kk, kk + 4)) for kk in k)
    p = draw(st.sampled_from([1.0, 2.0, 3.0, 1.5, -1.0, INF, -INF]))
    ceil = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lo = 0 if p in (1.5, -1.0) else -3  # negative bases to a fractional power are nan in torch and here
    x = rng.integers(lo, 4, (1, 2, *size))  # zeros and ties are common
    return dim, k, s, p, ceil, x, rng


def _p(p: float) -> str:
    return "inf" if p == INF else "-inf" if p == -INF else str(p)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lp_cases())
def test_lp_forward_and_backward_against_torch(cli, case) -> None:
    torch = pytest.importorskip("torch")
    dim, k, s, p, ceil, x, rng = case
    F = torch.nn.functional
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = F.lp_pool1d(xt, p, k[0], s[0], ceil) if dim == 1 else F.lp_pool2d(xt, p, k, s, ceil)  # 1-D takes ints
    g = rng.integers(-3, 4, tuple(y.shape))
    y.backward(torch.tensor(g, dtype=torch.float64))
    common = ["--input", json.dumps(x.tolist()), "--dim", str(dim), "--kernel-size", ",".join(map(str, k)),
              "--stride", ",".join(map(str, s)), "--mode", "lp", "--format", "json"] + ["--ceil-mode"] * ceil
    fw = cli("pool", *common, "--p", _p(p))
    assert fw.code == 0, fw.err
    np.testing.assert_allclose(_exact(json.loads(fw.out), "output").reshape(y.shape), y.detach().numpy(),
                               rtol=1e-9, atol=1e-12, equal_nan=True)
    r = cli("backprop", "pool", *common, "--norm-type", _p(p), "--grad-output", json.dumps(g.tolist()))
    assert r.code == 0, r.err
    got = _exact(json.loads(r.out), "grad_input").reshape(x.shape)
    np.testing.assert_allclose(got, xt.grad.numpy(), rtol=1e-9, atol=1e-9, equal_nan=True)


def test_lp_inf_is_exact_on_integers_and_worked(cli) -> None:
    torch = pytest.importorskip("torch")
    xt = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.lp_pool2d(xt[None], INF, 2, 1).sum().backward()
    r = cli("backprop", "pool", "--input", json.dumps(X), "--kernel-size", "2", "--stride", "1", "--mode", "lp",
            "--norm-type", "inf", "--format", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["grad_input"] == xt.grad.numpy().astype(int).tolist()
    text = cli("backprop", "pool", "--input", json.dumps(X), "--kernel-size", "2", "--stride", "1", "--mode", "lp",
               "--norm-type", "inf").out
    assert "C[1,1]: the largest |x| is |-5| at A[2,2]; 1·sign(-5) = -1 → dA[2,2]" in text
    fw = cli("pool", "--input", json.dumps(X), "--kernel-size", "2", "--mode", "lp", "--p", "-inf").out
    assert "P[1,1] = min(|1|, |-3|, |4|, |-5|) = 1" in fw


@pytest.mark.parametrize("flag", ["--norm-type 0", "--norm-type nan"])
def test_lp_zero_or_nan_power_refused(cli, flag: str) -> None:
    name, value = flag.split()
    r = cli("backprop", "pool", "--input", json.dumps(X), "--mode", "lp", name, value)
    assert r.code == 2 and r.err.count("\n") == 1 and "--norm-type" in r.err


def _jacobian_column(torch, fn, x: list, cell: tuple[int, int]) -> np.ndarray:
    """∂C/∂A[cell] for every output cell C, by torch.autograd."""
    xt = torch.tensor(x, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda a: fn(a[None])[0], xt)  # (*O, *S)
    return jac[(..., *cell)].numpy()


def _cells_named(text: str) -> str:
    return text.split("lies in the window(s) of ", 1)[1].split(";", 1)[0]


def test_cell_max_names_the_windows_it_wins(cli) -> None:
    torch = pytest.importorskip("torch")
    col = _jacobian_column(torch, lambda a: torch.nn.functional.max_pool2d(a, 2, 1), TIES, (0, 1))
    winners = [f"C[{i + 1},{j + 1}]" for i, j in np.argwhere(col != 0)]
    r = cli("backprop", "pool", "--input", json.dumps(TIES), "--kernel-size", "2", "--stride", "1", "--cell", "1,2")
    assert r.code == 0, r.err
    assert f"it is the max of {', '.join(winners)} (∂C/∂A[1,2] = 1)" in r.out
    assert "dA[1,2]  window dC[1..1,1..2]" in r.out and "= 1·1 + 1·1 = 2" in r.out


def test_cell_avg_weights_are_torchs_jacobian(cli) -> None:
    torch = pytest.importorskip("torch")
    fn = lambda a: torch.nn.functional.avg_pool2d(a, 3, 1, 1, count_include_pad=False)  # noqa: E731
    col = _jacobian_column(torch, fn, TIES, (0, 0))
    expected = ", ".join(f"C[{i + 1},{j + 1}]: 1/{round(1 / col[i, j])}" for i, j in np.argwhere(col != 0))
    r = cli("backprop", "pool", "--input", json.dumps(TIES), "--kernel-size", "3", "--stride", "1", "--padding", "1",
            "--mode", "avg", "--no-count-include-pad", "--cell", "1,1")
    assert r.code == 0, r.err
    assert f"({expected})" in r.out
    total = sum(Fraction(1, round(1 / v)) for v in col[col != 0])
    assert f"= {total}\n" in r.out


def test_cell_lp_local_derivatives_match_torch(cli) -> None:
    torch = pytest.importorskip("torch")
    col = _jacobian_column(torch, lambda a: torch.nn.functional.lp_pool2d(a, 2, 2, 1), X, (1, 1))
    r = cli("backprop", "pool", "--input", json.dumps(X), "--kernel-size", "2", "--stride", "1", "--mode", "lp",
            "--norm-type", "2", "--cell", "2,2", "--format", "markdown")
    assert r.code == 0, r.err
    listed = r.out.split("a the window's mean of x^p", 1)[1].split("\n", 1)[0]
    # the markdown writes the cells as math, $C_{ij}$ (one-digit indices run together)
    named = {f"C[{i},{j}]": float(v)
             for i, j, v in re.findall(r"\$C_\{(\d)(\d)\}\$: (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)", listed)}
    want = {f"C[{i + 1},{j + 1}]": col[i, j] for i, j in np.argwhere(col != 0)}
    assert named.keys() == want.keys()
    for key, value in want.items():
        assert named[key] == pytest.approx(value, rel=1e-8)


def test_answer_reworks_every_wrong_cell_even_past_the_cap(cli) -> None:
    x = np.arange(64).reshape(8, 8) % 7
    args = ["backprop", "pool", "--input", json.dumps(x.tolist()), "--kernel-size", "2", "--steps", "1"]
    right = json.loads(cli(*args, "--format", "json").out)["grad_input"]
    wrong = [row[:] for row in right]
    wrong[7][7] += 1
    wrong[0][0] += 1
    r = cli(*args, "--answer", json.dumps(wrong))
    assert r.code == 1
    assert "2 of 64 cells differ; here is what flows into each of them." in r.out
    assert "A[8,8] lies in the window(s) of C[4,4]" in r.out and "A[1,1] lies in the window(s) of C[1,1]" in r.out
    data = json.loads(cli(*args, "--answer", json.dumps(wrong), "--format", "json").out)
    assert data["answer_correct"] is False and data["wrong_cells"] == [[1, 1], [8, 8]]
    ok = cli(*args, "--answer", json.dumps(right), "--format", "json")
    assert ok.code == 0 and json.loads(ok.out)["answer_correct"] is True


def test_bad_cell_one_line(cli) -> None:
    r = cli("backprop", "pool", "--input", json.dumps(TIES), "--cell", "5,1")
    assert r.code == 2 and r.err.count("\n") == 1 and "--cell" in r.err


def test_output_file(cli, tmp_path) -> None:
    out = tmp_path / "g.csv"
    r = cli("backprop", "pool", "--input", json.dumps(TIES), "--kernel-size", "2", "--output", str(out))
    assert r.code == 0, r.err
    # windows [[1,3],[2,0]], [[3,1],[3,2]] (a tie), [[1,1],[0,4]], [[1,5],[4,0]]: winners 3, the first 3, 4, 5
    assert np.loadtxt(out, delimiter=",").tolist() == [[0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0]]
