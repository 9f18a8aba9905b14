"""backprop transposed-conv: --cell chain rules, grad_weight tap by tap and --answer, against torch.autograd."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.backprop.test_pool_transposed_backprop import transposed_cases

X = "1 2; 3 4"
W = "1 0 -1; 2 1 0; 0 1 1"
G = "1 2 3; 0 1 -1; 2 0 1"
BASE = ("backprop", "transposed-conv", "--input", X, "--kernel", W, "--stride", "2", "--padding", "1",
        "--grad-output", G)


def _torch_grads(torch, case):
    dim, groups, s, d, p, op, x, w, rng = case
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    f = torch.nn.functional.conv_transpose1d if dim == 1 else torch.nn.functional.conv_transpose2d
    y = f(xt, wt, None, s, p, op, groups, d)
    g = rng.integers(-3, 4, tuple(y.shape))
    y.backward(torch.tensor(g, dtype=torch.float64))
    return g, xt.grad.numpy().astype(int), wt.grad.numpy().astype(int)


def _args(case, g) -> list[str]:
    dim, groups, s, d, p, op, x, w, _ = case
    return ["backprop", "transposed-conv", "--input", json.dumps(x.tolist()), "--kernel", json.dumps(w.tolist()),
            "--grad-output", json.dumps(g.tolist()), "--dim", str(dim), "--stride", ",".join(map(str, s)),
            "--padding", ",".join(map(str, p)), "--output-padding", ",".join(map(str, op)),
            "--dilation", ",".join(map(str, d)), "--groups", str(groups)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(transposed_cases(), st.data())
def test_answer_for_input_and_kernel_against_torch(cli, case, data) -> None:
    torch = pytest.importorskip("torch")
    g, gi, gw = _torch_grads(torch, case)
    args = _args(case, g)
    for wrt, right in (("input", gi), ("kernel", gw)):
        ok = cli(*args, "--wrt", wrt, "--answer", json.dumps(right.tolist()), "--format", "json")
        assert ok.code == 0, ok.err
        assert json.loads(ok.out)["answer_correct"] is True
        cell = tuple(data.draw(st.integers(0, n - 1)) for n in right.shape)
        wrong = right.copy()
        wrong[cell] += 1
        bad = cli(*args, "--wrt", wrt, "--answer", json.dumps(wrong.tolist()), "--format", "json")
        assert bad.code == 1
        result = json.loads(bad.out)
        # a (1, 1, K...) kernel is shown (and its cells named) as just (K...)
        shown = cell[2:] if wrt == "kernel" and right.shape[:2] == (1, 1) else cell
        assert result["answer_correct"] is False and result["wrong_cells"] == [[i + 1 for i in shown]]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(transposed_cases())
def test_every_worked_tap_sums_to_torchs_grad_weight(cli, case) -> None:
    """Each tap's worked products, re-added here, give torch's grad_weight (taps in row-major order)."""
    torch = pytest.importorskip("torch")
    g, _, gw = _torch_grads(torch, case)
    r = cli(*_args(case, g), "--steps", "all", "--format", "markdown")
    assert r.code == 0, r.err
    section = r.out.split("Gradient w.r.t. the kernel", 1)[1].split("Gradient w.r.t. the bias", 1)[0]
    cells: list[list[str]] = []  # the lines of each worked tap (consecutive taps share one aligned block)
    for block in section.split("$$")[1::2]:
        for line in block.strip().splitlines():
            if line.startswith("dW_"):
                cells.append([])
            if cells and "\\cdot" in line:
                cells[-1].append(line)
    sums = [sum(int(a) * int(b) for line in lines
                for a, b in re.findall(r"\(?(-?\d+)\)? \\cdot \(?(-?\d+)\)?", line)) for lines in cells]
    assert sums == gw.reshape(-1).tolist()


def test_cell_input_lists_the_output_cells_it_was_scattered_to(cli) -> None:
    torch = pytest.importorskip("torch")
    x = torch.tensor([[1.0, 2], [3, 4]], dtype=torch.float64)
    w = torch.tensor([[1.0, 3, -1], [2, 1, 5], [4, 1, 1]], dtype=torch.float64)  # no zero tap

    def y_of(a):
        return torch.nn.functional.conv_transpose2d(a[None, None], w[None, None], stride=2, padding=1)[0, 0]

    jac = torch.autograd.functional.jacobian(y_of, x)[..., 1, 1]  # ∂Y/∂X[2,2]
    touched = [f"Y[{i + 1},{j + 1}]" for i, j in np.argwhere(jac.numpy() != 0)]
    r = cli("backprop", "transposed-conv", "--input", X, "--kernel", "1 3 -1; 2 1 5; 4 1 1", "--stride", "2",
            "--padding", "1", "--grad-output", G, "--cell", "2,2")
    assert r.code == 0, r.err
    assert f"to {len(touched)} output cell(s): {', '.join(touched)}." in r.out


def test_seeded_wrong_input_answer_exit_1_and_reworked(cli) -> None:
    """dX of the case above is [[2, 6], [1, 2]] (torch.autograd); a claim with dX[2,2] = 3 is re-worked."""
    r = cli(*BASE, "--answer", "2 6; 1 3")
    assert r.code == 1
    assert "✗ 3 (2)" in r.out and "1 of 4 cells differ" in r.out
    assert "The forward added X[2,2]·W[t] to 4 output cell(s): Y[2,2], Y[2,3], Y[3,2], Y[3,3]." in r.out
    assert "dX[2,2]  window dY[2..3,2..3]" in r.out and "= 1·1 + (-1)·0 + 0·2 + 1·1 = 2" in r.out


def test_seeded_wrong_kernel_answer_exit_1_and_reworked(cli) -> None:
    r = cli(*BASE, "--wrt", "kernel", "--answer", "4 -4 3; 4 17 2; 2 2 1")
    assert r.code == 1
    assert "✗ 2 (-2)" in r.out
    assert "dW[3,2]  window X[1..1,1..2]\n  = 0·1 + (-1)·2 = -2" in r.out


def test_bias_answer(cli) -> None:
    r = cli(*BASE, "--wrt", "bias", "--answer", "8", "--format", "json")
    assert r.code == 1 and json.loads(r.out)["answer_correct"] is False
    assert cli(*BASE, "--wrt", "bias", "--answer", "9").code == 0


@pytest.mark.parametrize("argv", [("--cell", "3,3"), ("--wrt", "bias", "--cell", "1,1"), ("--wrt", "weights"),
                                  ("--answer", "1 2 3")])
def test_bad_usage_one_line(cli, argv: tuple[str, ...]) -> None:
    r = cli(*BASE, *argv)
    if argv[0] == "--answer":  # a wrong shape is a wrong answer, not bad usage
        assert r.code == 1 and "has shape" in r.out
        return
    assert r.code == 2 and r.err.count("\n") == 1, r.err


def test_output_file_and_formats(cli, tmp_path) -> None:
    out = tmp_path / "dx.json"
    assert cli(*BASE, "--output", str(out)).code == 0
    assert json.loads(out.read_text()) == [[2, 6], [1, 2]]
    for fmt in ("markdown", "latex"):
        r = cli(*BASE, "--cell", "1,2", "--wrt", "kernel", "--answer", "2 6; 1 3", "--format", fmt)
        assert r.code == 1 and r.out.strip()


def test_channel_kernel_as_in_the_forward(cli) -> None:
    """A (C_in, K, K) kernel means C_out/groups = 1, as `transposed-conv` reads it."""
    x, w = "[[[1,2],[3,4]],[[0,1],[1,0]]]", "[[[1,0],[0,1]],[[2,1],[1,2]]]"
    fwd = json.loads(cli("transposed-conv", "--input", x, "--kernel", w, "--format", "json").out)
    back = json.loads(cli("backprop", "transposed-conv", "--input", x, "--kernel", w, "--format", "json").out)
    assert back["output"] == fwd["output"]
