"""CLI tests for transposed-conv, pool and resample: JSON against PyTorch, views, worked text, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# cli reads what each call wrote, so sharing it across examples is safe
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SEED_Y = "9 8 7; 6 5 4; 3 2 1"
SEED_W = "-1 2 -3; 1 -2 3; 3 2 -1"


def _inline(a: np.ndarray) -> str:
    return json.dumps(a.tolist())


def _json(cli, *argv: str) -> dict:
    res = cli(*argv, "--format", "json")
    assert res.code == 0, res.err
    return json.loads(res.out)


@st.composite
def transposed_case(draw):
    dim = draw(st.sampled_from([1, 2]))
    groups = draw(st.sampled_from([1, 2]))
    cin = groups * draw(st.integers(1, 2))
    cout_g = draw(st.integers(1, 2))
    k = draw(st.integers(1, 3))
    s = draw(st.integers(1, 3))
    d = draw(st.integers(1, 2))
    op = draw(st.integers(0, max(s, d) - 1))
    size = draw(st.integers(1, 4))
    p = draw(st.integers(0, 2))
    out = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        p = 0
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.integers(-5, 6, (cin,) + (size,) * dim)
    w = rng.integers(-3, 4, (cin, cout_g) + (k,) * dim)
    return dim, groups, x, w, s, p, op, d


@FAST
@given(transposed_case(), st.sampled_from(["scatter", "gather"]))
def test_transposed_matches_torch(cli, case, view) -> None:
    torch = pytest.importorskip("torch")
    dim, groups, x, w, s, p, op, d = case
    data = _json(cli, "transposed-conv", "--input", _inline(x), "--kernel", _inline(w), "--stride", str(s),
                 "--padding", str(p), "--output-padding", str(op), "--dilation", str(d), "--groups", str(groups),
                 "--dim", str(dim), "--view", view)
    f = torch.nn.functional.conv_transpose1d if dim == 1 else torch.nn.functional.conv_transpose2d
    want = f(torch.tensor(x, dtype=torch.float64)[None], torch.tensor(w, dtype=torch.float64), stride=s,
             padding=p, output_padding=op, dilation=d, groups=groups)[0]
    got = np.array(data["output"])
    assert got.shape == tuple(data["shape"])
    assert np.array_equal(got.reshape(want.shape), want.numpy().round().astype(int))
    assert data["command"] == "transposed-conv"
    assert data["settings"]["output_padding"] == (op if dim == 1 else [op, op])


def test_scatter_and_gather_agree_and_seed_is_6x6(cli) -> None:
    base = ["transposed-conv", "--input", SEED_Y, "--kernel", SEED_W, "--stride", "2", "--padding", "1",
            "--output-padding", "1"]
    scatter = _json(cli, *base)
    gather = _json(cli, *base, "--view", "gather")
    assert scatter["output"] == gather["output"]
    assert scatter["shape"] == [6, 6]
    assert scatter["output"][0] == [-18, 35, -16, 31, -14, 21]


def test_scatter_text_shows_running_sums(cli) -> None:
    res = cli("transposed-conv", "--input", "4 3; 2 1", "--kernel", "-1 2; 3 -4")
    assert res.code == 0
    assert res.out.count("running sum after") == 4
    assert "running sum after Y[1,2] = 3" in res.out
    # after two stamps the first row is -4, 8-3, 6: the partial sum the seed shows
    assert "-4   5   6" in res.out or "-4  5  6" in res.out


def test_seed_claim_part2_is_wrong(cli) -> None:
    claimed = "-9 10 -18 -10 -21; 3 -3 6 3 9; 30 39 34 9 2; 21 23 22 7 -1; 9 12 4 0 -1"
    res = cli("transposed-conv", "--input", SEED_Y, "--kernel", SEED_W, "--stride", "2", "--padding", "1",
              "--output-padding", "1", "--answer", claimed)
    assert res.code == 1
    assert "shape (5, 5)" in res.out


@st.composite
def pool_case(draw):
    k = draw(st.integers(1, 3))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    size = draw(st.integers(max(k, 2), 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.integers(-4, 5, (draw(st.integers(1, 2)), size, size + draw(st.integers(0, 2))))
    return x, k, s, p, draw(st.booleans())


@FAST
@given(pool_case())
def test_max_pool_matches_torch(cli, case) -> None:
    torch = pytest.importorskip("torch")
    x, k, s, p, ceil = case
    args = ["pool", "--input", _inline(x), "--kernel-size", str(k), "--stride", str(s), "--padding", str(p)]
    data = _json(cli, *args, *(["--ceil-mode"] if ceil else []))
    v, i = torch.nn.functional.max_pool2d(torch.tensor(x, dtype=torch.float64), k, s, p, ceil_mode=ceil,
                                          return_indices=True)
    assert np.array_equal(np.array(data["output"]).reshape(v.shape), v.numpy())
    assert np.array_equal(np.array(data["argmax"]).reshape(i.shape), i.numpy())


@FAST
@given(pool_case(), st.booleans())
def test_avg_pool_matches_torch(cli, case, include) -> None:
    torch = pytest.importorskip("torch")
    x, k, s, p, ceil = case
    flag = "--count-include-pad" if include else "--no-count-include-pad"
    data = _json(cli, "pool", "--mode", "avg", "--input", _inline(x), "--kernel-size", str(k), "--stride", str(s),
                 "--padding", str(p), flag, *(["--ceil-mode"] if ceil else []))
    want = torch.nn.functional.avg_pool2d(torch.tensor(x, dtype=torch.float64), k, s, p, ceil_mode=ceil,
                                          count_include_pad=include)
    assert np.allclose(np.array(data["output"], dtype=float).reshape(want.shape), want.numpy())


@FAST
@given(pool_case(), st.sampled_from([1, 2, 3]))
def test_lp_pool_matches_torch(cli, case, norm) -> None:
    torch = pytest.importorskip("torch")
    x, k, s, _, _ = case
    x = np.abs(x)
    data = _json(cli, "pool", "--mode", "lp", "--p", str(norm), "--input", _inline(x), "--kernel-size", str(k),
                 "--stride", str(s))
    want = torch.nn.functional.lp_pool2d(torch.tensor(x, dtype=torch.float64), norm, k, s)
    assert np.allclose(np.array(data["output"], dtype=float).reshape(want.shape), want.numpy())


@FAST
@given(pool_case(), st.integers(1, 4), st.integers(1, 4))
def test_adaptive_pools_match_torch(cli, case, oh, ow) -> None:
    torch = pytest.importorskip("torch")
    x = case[0]
    t = torch.tensor(x, dtype=torch.float64)
    data = _json(cli, "pool", "--mode", "adaptive-max", "--input", _inline(x), "--output-size", f"{oh},{ow}")
    v, i = torch.nn.functional.adaptive_max_pool2d(t, (oh, ow), return_indices=True)
    assert np.array_equal(np.array(data["output"]).reshape(v.shape), v.numpy())
    assert np.array_equal(np.array(data["argmax"]).reshape(i.shape), i.numpy())
    data = _json(cli, "pool", "--mode", "adaptive-avg", "--input", _inline(x), "--output-size", f"{oh},{ow}")
    want = torch.nn.functional.adaptive_avg_pool2d(t, (oh, ow))
    assert np.allclose(np.array(data["output"], dtype=float).reshape(want.shape), want.numpy())


def test_pool_ties_go_to_first(cli) -> None:
    res = cli("pool", "--input", "5 5; 5 1", "--kernel-size", "2")
    assert "P[1,1] = max(5, 5, 5, 1) = 5 (at A[1,1]; ties go to the first in row-major order)" in res.out
    assert _json(cli, "pool", "--input", "1 5; 5 5", "--kernel-size", "2")["argmax"] == [[1]]


def test_pool_worked_cells(cli) -> None:
    res = cli("pool", "--input", "109 92 72; 108 85 74; 110 74 79", "--kernel-size", "2", "--stride", "1",
              "--names", "C,P")
    assert "P[1,1] = max(109, 92, 108, 85) = 109 (at C[1,1])" in res.out
    res = cli("pool", "--mode", "avg", "--input", "1 2; 3 4", "--kernel-size", "2", "--padding", "1",
              "--no-count-include-pad")
    assert "P[1,1] = (0 + 0 + 0 + 1)/1 = 1 (divisor 1: count_include_pad=False" in res.out


def test_as_conv_equals_pool(cli) -> None:
    res = cli("pool", "--mode", "avg", "--input", "1 2 3 4; 4 3 2 1; -1 0 1 2; 0 -2 4 0", "--kernel-size", "2",
              "--as-conv")
    assert res.code == 0
    assert "It equals the pooled output, cell for cell (checked)." in res.out
    assert "1/4" in res.out


@pytest.mark.parametrize(("argv", "shape"), [
    (["--input", "1 2 3 4", "--up", "3"], [10]),
    (["--input", "1 2 3 4 5", "--down", "2"], [3]),
    (["--input", "1 2 3; 4 5 6", "--up", "2", "--dim", "2"], [3, 5]),
    (["--input", "1 2 3; 4 5 6; 7 8 9", "--down", "2", "--dim", "2"], [2, 2]),
])
def test_resample_sizes(cli, argv, shape) -> None:
    data = _json(cli, "resample", *argv)
    assert data["shape"] == shape
    assert data["command"] == "resample"


def test_resample_values_and_notes(cli) -> None:
    assert _json(cli, "resample", "--input", "1 2 3", "--up", "2")["output"] == [1, 0, 2, 0, 3]
    assert _json(cli, "resample", "--input", "1 0 2 0 3", "--down", "2")["output"] == [1, 2, 3]
    res = cli("resample", "--input", "1 2 3 4", "--up", "3")
    assert "4·3 − (3−1) = 10" in res.out
    assert "backward pass is downsampling" in res.out


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
@pytest.mark.parametrize("argv", [
    ["transposed-conv", "--input", SEED_Y, "--kernel", SEED_W, "--stride", "2", "--padding", "1",
     "--output-padding", "1"],
    ["transposed-conv", "--input", SEED_Y, "--kernel", SEED_W, "--view", "gather"],
    ["pool", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel-size", "2", "--stride", "1", "--mode", "avg", "--as-conv"],
    ["pool", "--input", "1 2 3; 4 5 6; 7 8 9", "--mode", "adaptive-max", "--output-size", "2"],
    ["resample", "--input", "1 2; 3 4", "--up", "2", "--dim", "2"],
])
def test_every_format_renders(cli, argv, fmt) -> None:
    res = cli(*argv, "--format", fmt)
    assert res.code == 0, res.err
    assert res.out.strip()


@pytest.mark.parametrize("argv", [
    ["transposed-conv", "--input", "1 2", "--kernel", "1 2; 3 4", "--output-padding", "1"],
    ["transposed-conv", "--input", "1 2; 3 4", "--kernel", "1 2; 3 4", "--padding", "5"],
    ["transposed-conv", "--input", "1 x!", "--kernel", "1"],
    ["pool", "--input", "1 2; 3 4", "--kernel-size", "3"],
    ["pool", "--input", "1 2; 3 4", "--kernel-size", "2", "--padding", "2"],
    ["pool", "--input", "1 2; 3 4", "--mode", "adaptive-avg"],
    ["pool", "--input", "1 2; 3 4", "--mode", "max", "--as-conv"],
    ["resample", "--input", "1 2 3"],
    ["resample", "--input", "1 2 3", "--up", "0"],
])
def test_bad_input_exit_2_one_line(cli, argv) -> None:
    res = cli(*argv)
    assert res.code == 2
    assert res.err.count("\n") == 1 and res.err.startswith("error")
    assert "Traceback" not in res.err
