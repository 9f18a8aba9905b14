"""``convcalc norm`` and ``convcalc backprop norm`` through the CLI: keys, formats, answers and
their slips, bad input, and agreement with torch and with ``params --net``."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

X = "[[[[1,2],[3,4]],[[0,0],[1,1]]],[[[5,6],[7,8]],[[2,2],[3,3]]]]"  # N=2, C=2, 2×2
FORWARD_KEYS = {"mean", "var", "var_unbiased", "std", "output", "running_mean", "running_var"}
BACKWARD_KEYS = {"grad_input", "grad_weight", "grad_bias"}


def _json(cli, *argv: str) -> dict:
    res = cli(*argv, "--format", "json")
    assert res.code in (0, 1), res.err
    return json.loads(res.out)


def test_batch_norm_json_keys_exact_statistics_and_running_update(cli) -> None:
    d = _json(cli, "norm", "--input", X, "--over", "N,H,W", "--eps", "0")
    assert d.keys() >= FORWARD_KEYS and d["command"] == "norm"
    assert d["mean"] == [4.5, 1.5] and d["mean_exact"] == ["9/2", "3/2"]
    assert d["var_exact"] == ["21/4", "5/4"] and d["var_unbiased_exact"] == [None, "10/7"]
    assert d["var_unbiased"][0] == 6  # an integer stays a JSON integer
    assert d["running_mean_exact"] == ["9/20", "3/20"] and d["running_var_exact"] == ["3/2", "73/70"]
    assert d["std_sqrt_of_exact"] == ["21/4", "5/4"]  # σ = √(21/4), shown as a root with its float
    assert d["param_count"] == 4 and d["buffer_count"] == 5
    assert d["settings"]["module"] == "BatchNorm2d"


def test_cli_output_matches_torch_batch_norm_with_affine_and_running_stats(cli) -> None:
    torch = pytest.importorskip("torch")
    d = _json(cli, "norm", "--input", X, "--kind", "batch", "--weight", "2 3", "--bias", "1 -1", "--momentum", "0.3",
              "--running-mean", "1 -1", "--running-var", "2 3")
    x = torch.tensor(np.array(json.loads(X), dtype=float))
    rm, rv = torch.tensor([1.0, -1.0], dtype=torch.float64), torch.tensor([2.0, 3.0], dtype=torch.float64)
    y = torch.nn.functional.batch_norm(x, rm, rv, torch.tensor([2.0, 3.0], dtype=torch.float64),
                                       torch.tensor([1.0, -1.0], dtype=torch.float64), True, 0.3, 1e-5)
    np.testing.assert_allclose(d["output"], y.numpy(), rtol=1e-12)
    np.testing.assert_allclose(d["running_mean"], rm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(d["running_var"], rv.numpy(), rtol=1e-12)


@pytest.mark.parametrize("over,shape", [("N,C,H,W", []), ("N,H,W", [2]), ("N,C", [2, 2]), ("N", [2, 2, 2]),
                                        ("B,C,H,W", [])])
def test_the_four_course_variants_have_their_statistics_shapes(cli, over: str, shape: list[int]) -> None:
    d = _json(cli, "norm", "--input", X, "--over", over)
    assert d["stats_shape"] == shape
    assert np.shape(d["mean"]) == tuple(shape)


def test_layer_instance_group_settings_and_parameter_shapes(cli) -> None:
    assert _json(cli, "norm", "--input", X, "--kind", "layer")["param_shape"] == [2, 2, 2]
    assert _json(cli, "norm", "--input", X, "--kind", "layer", "--normalized-shape", "2,2")["param_shape"] == [2, 2]
    d = _json(cli, "norm", "--input", X, "--kind", "instance")
    assert d["stats_shape"] == [2, 2] and "running_mean" not in d and d["buffer_count"] == 0
    d = _json(cli, "norm", "--input", X, "--kind", "group", "--groups", "2")
    assert d["stats_shape"] == [2, 2] and d["settings"]["module"] == "GroupNorm(2, 2)"
    d = _json(cli, "norm", "--input", "1 2; 3 5; 4 4", "--over", "N")  # (N, F): BatchNorm1d
    assert d["settings"]["module"] == "BatchNorm1d" and d["mean_exact"] == ["8/3", "11/3"]


def test_eval_mode_uses_the_running_statistics(cli) -> None:
    d = _json(cli, "norm", "--input", X, "--eval", "--running-mean", "1 2", "--running-var", "4 9", "--eps", "0")
    assert d["std"] == [2, 3] and d["output"][0][0][0] == [0, 0.5] and "var_unbiased" not in d


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
@pytest.mark.parametrize("argv", [
    ("norm", "--input", X, "--weight", "2 3", "--bias", "1 -1"),
    ("norm", "--input", X, "--kind", "group", "--groups", "1"),
    ("norm", "--input", X, "--over", "N,C", "--eps", "0"),
    ("norm", "--input", X, "--eval", "--running-var", "4 9"),
    ("backprop", "norm", "--input", X, "--grad-output", X, "--weight", "2 3"),
    ("backprop", "norm", "--input", X, "--kind", "layer"),
    ("backprop", "norm", "--input", X, "--eval", "--running-mean", "1 2"),
])
def test_every_format_renders(cli, argv: tuple[str, ...], fmt: str) -> None:
    res = cli(*argv, "--format", fmt)
    assert res.code == 0, res.err
    if fmt == "latex":
        assert res.out.isascii(), [ch for ch in res.out if not ch.isascii()][:5]
    assert "σ" in res.out or r"\sigma" in res.out


def test_symbols_first_then_numbers(cli) -> None:
    out = cli("norm", "--input", X, "--eps", "0").out
    assert "μ_c = 1/(NHW) · Σ_{n,h,w} x_{n,c,h,w}" in out
    assert "μ_1 = (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8)/8 = 36/8 = 9/2 (4.5)" in out
    assert "s²_2 = 10/7 (1.428571) (unbiased)" in out
    assert "σ_1 = √(σ²_1 + ε) = √(21/4 + 0) = √(21/4) ≈ 2.291288" in out
    assert "acts like a convolution" in out
    md = cli("norm", "--input", X, "--over", "N", "--format", "markdown").out
    assert "| N,H,W | one per channel | 2 | yes |  |" in md and "| N | one per channel and location (C,H,W) | 8 | no " \
        "| this one |" in md
    tex = cli("norm", "--input", X, "--eps", "0", "--format", "latex").out
    assert r"\mu_{c} = \frac{1}{NHW} \sum_{n,h,w} x_{n,c,h,w}" in tex and r"\sqrt{\frac{21}{4}}" in tex


def test_cells_are_capped_and_picked(cli) -> None:
    out = cli("norm", "--input", X, "--steps", "3").out
    assert "3 of 16 cells worked" in out
    out = cli("norm", "--input", X, "--cell", "2,2,1,2").out
    assert "x̂_{2,2,1,2}" in out and "x̂_{1,1,1,1}" not in out
    out = cli("norm", "--input", X, "--steps", "all").out
    assert "x̂_{2,2,2,2}" in out and "cells worked" not in out


@pytest.mark.parametrize("claims,ok,slip", [
    (["mean=9/2 3/2", "var=21/4 5/4"], True, None),
    (["mean=4.5 1.5", "std=2.2913 1.118"], True, None),  # decimals rounded to what was written
    (["var=6 10/7"], False, "unbiased variance"),
    (["mean=3"], False, "over N,C,H,W instead of over N,H,W"),
    (["var_unbiased=6 1.4285"], True, None),  # 10/7 = 1.42857…: cut to 4 decimals
    (["var_unbiased=6 1.4286"], True, None),  # rounded
    (["var_unbiased=6 1.4287"], False, None),
    (["var=21/4 1250001/1000000"], False, None),  # an exact result is judged exactly, not within 10⁻⁶
])
def test_answers_and_slips(cli, claims: list[str], ok: bool, slip: str | None) -> None:
    argv = ["norm", "--input", X]
    for c in claims:
        argv += ["--answer", c]
    res = cli(*argv, "--format", "json")
    assert res.code == (0 if ok else 1), res.err
    d = json.loads(res.out)
    assert d["answer_correct"] is ok
    assert (d["slip"] is None) if slip is None else slip in d["slip"]


def test_slips_eps_left_out_and_gamma_beta_swapped(cli) -> None:
    no_eps = _json(cli, "norm", "--input", X, "--eps", "0")["std"]
    d = _json(cli, "norm", "--input", X, "--answer", "std=" + " ".join(map(str, no_eps)))
    assert d["answer_correct"] is False and "ε left out" in d["slip"]
    swapped = _json(cli, "norm", "--input", X, "--weight", "1 -1", "--bias", "2 3")["output"]
    d = _json(cli, "norm", "--input", X, "--weight", "2 3", "--bias", "1 -1", "--answer", f"output={swapped}")
    assert "γ and β swapped" in d["slip"]
    text = cli("norm", "--input", X, "--weight", "2 3", "--bias", "1 -1", "--answer", f"output={swapped}").out
    assert "Likely slip: your output is what you get with γ and β swapped" in text


def test_backprop_norm_keys_exact_gradients_and_slips(cli) -> None:
    d = _json(cli, "backprop", "norm", "--input", X, "--over", "N,C,H,W", "--eps", "0", "--grad-output", X)
    assert d.keys() >= BACKWARD_KEYS and d["command"] == "backprop norm"
    assert np.allclose(np.sum(d["grad_input"]), 0)  # the mean term makes the gradient sum to zero
    g = _json(cli, "backprop", "norm", "--input", "0; 0; 2; 2", "--eps", "0", "--grad-output", "1; 0; 0; 2")
    assert g["grad_input_exact"] == [["1/2"], ["-1/2"], [None], [None]]  # σ = 1: exact (1/2, -1/2, -1, 1)
    torch = pytest.importorskip("torch")
    xt = torch.tensor([[0.0], [0.0], [2.0], [2.0]], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.batch_norm(xt, None, None, training=True, eps=1e-300).backward(
        torch.tensor([[1.0], [0.0], [0.0], [2.0]], dtype=torch.float64))
    np.testing.assert_allclose(g["grad_input"], xt.grad.numpy(), atol=1e-12)
    first = _json(cli, "backprop", "norm", "--input", "1 3; 3 1", "--eps", "0", "--grad-output", "1 0; 0 2",
                  "--eval", "--running-mean", "2 2", "--running-var", "1 1")["grad_input"]
    d = _json(cli, "backprop", "norm", "--input", "1 3; 3 1", "--eps", "0", "--grad-output", "1 0; 0 2",
              "--answer", "grad_input=" + "; ".join(" ".join(map(str, r)) for r in first))
    assert d["answer_correct"] is False and "only the first term" in d["slip"]
    d = _json(cli, "backprop", "norm", "--input", X, "--grad-output", X, "--answer",
              "grad_weight=" + " ".join(map(str, g_bias(cli))))
    assert "swapped" in d["slip"]


def g_bias(cli) -> list:
    return _json(cli, "backprop", "norm", "--input", X, "--grad-output", X)["grad_bias"]


def test_backprop_norm_matches_torch_autograd_for_group_norm(cli) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, g = rng.integers(-5, 6, (2, 4, 3)), rng.integers(-3, 4, (2, 4, 3))
    w = [1, 2, -1, 3]
    d = _json(cli, "backprop", "norm", "--input", json.dumps(x.tolist()), "--grad-output", json.dumps(g.tolist()),
              "--kind", "group", "--groups", "2", "--weight", " ".join(map(str, w)))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.group_norm(xt, 2, wt, None, 1e-5).backward(torch.tensor(g, dtype=torch.float64))
    np.testing.assert_allclose(d["grad_input"], xt.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(d["grad_weight"], wt.grad.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("argv,where", [
    (("--over", "N,Q"), "--over"),
    (("--over", "N,N"), "--over"),
    (("--kind", "group", "--groups", "3"), "--groups"),
    (("--kind", "group"), "--groups"),
    (("--kind", "layer", "--eval"), "--eval"),
    (("--kind", "layer", "--normalized-shape", "3"), "--normalized-shape"),
    (("--weight", "1 2 3"), "--weight"),
    (("--over", "N", "--kind", "batch"), "--over"),
    (("--eps", "-1"), "--eps"),
    (("--momentum", "2"), "--momentum"),
    (("--answer", "median=3"), "--answer"),
    (("--answer", "mean"), "--answer"),
    (("--cell", "3,1,1,1"), "--cell"),
    (("--running-mean", "1 2 3"), "--running-mean"),
])
def test_bad_input_is_one_line_and_exit_2(cli, argv: tuple[str, ...], where: str) -> None:
    res = cli("norm", "--input", X, *argv)
    assert res.code == 2
    assert where in res.err and res.err.count("\n") == 1 and "Traceback" not in res.err


def test_bad_grad_output_and_input_rank(cli) -> None:
    res = cli("backprop", "norm", "--input", X, "--grad-output", "1 2")
    assert res.code == 2 and "--grad-output" in res.err
    res = cli("norm", "--input", "1 2 3")
    assert res.code == 2 and "--input" in res.err


def test_params_net_counts_batchnorm2d_as_norm_does(cli, tmp_path) -> None:
    """``params --net`` and ``norm`` agree on BatchNorm2d's learnable parameters (buffers not counted)."""
    for c in (3, 16):
        (tmp_path / "net.txt").write_text(f"Conv2d({c}, {c}, 3, padding=1)\nBatchNorm2d({c})\n", encoding="utf-8")
        net = _json(cli, "params", "--net", str(tmp_path / "net.txt"), "--input-shape", f"2x{c}x4x4")
        assert net["layers"][1]["params"] == 2 * c
        net = _json(cli, "params", "--layer", f"BatchNorm2d({c})", "--input-shape", f"2x{c}x4x4")
        x = json.dumps(np.zeros((2, c, 2, 2), dtype=int).tolist())
        ours = _json(cli, "norm", "--input", x, "--kind", "batch", "--eps", "1")
        assert net["total_params"] == ours["param_count"] == 2 * c


def test_exact_fractions_in_and_out(cli) -> None:
    d = _json(cli, "norm", "--input", "1/2 1; 3/2 2", "--over", "N", "--eps", "0", "--momentum", "1/3")
    assert d["mean_exact"] == [None, "3/2"] and d["var_exact"] == ["1/4", "1/4"]
    assert d["std_exact"] == ["1/2", "1/2"]
    assert d["running_mean_exact"] == ["1/3", "1/2"] and Fraction(d["running_var_exact"][0]) == Fraction(2, 3) + \
        Fraction(1, 6)


def _bank():
    from convcalc.problems import load, problem_files
    from tests.conftest import ROOT

    return [p for f in problem_files([str(ROOT / "problems")]) for p in load(f) if p.command.endswith("norm")]


@pytest.mark.parametrize("problem", _bank(), ids=lambda p: p.id)
def test_bank_norm_problems_against_torch(problem, cli) -> None:
    """Each §2.5 problem's statistics against torch's mean/var over the same dims (the H×W and
    C×H×W variants have no torch module), and its output against torch's formula."""
    torch = pytest.importorskip("torch")
    from convcalc.cli.norm import axes_arg

    o = problem.options
    x = torch.tensor(np.array(json.loads(o["input"]), dtype=float), requires_grad=True)
    dims = axes_arg(o["over"], x.ndim)
    d = _json(cli, *problem.argv("json")[:-2])
    mean, var = x.mean(dim=dims, keepdim=True), x.var(dim=dims, unbiased=False, keepdim=True)
    np.testing.assert_allclose(np.reshape(d["mean"], -1), mean.reshape(-1).detach().numpy(), rtol=1e-12)
    if "var" in d:
        np.testing.assert_allclose(np.reshape(d["var"], -1), var.reshape(-1).detach().numpy(), rtol=1e-12)
    w = torch.tensor([float(v) for v in o.get("weight", "1 1").split()]).reshape(1, -1, 1, 1)
    b = torch.tensor([float(v) for v in o.get("bias", "0 0").split()]).reshape(1, -1, 1, 1)
    y = (x - mean) / torch.sqrt(var + float(o.get("eps", 1e-5))) * w.double() + b.double()
    np.testing.assert_allclose(d["output"], y.detach().numpy(), rtol=1e-12, atol=1e-12)
    if problem.command == "backprop norm":
        y.backward(torch.tensor(np.array(json.loads(o["grad_output"]), dtype=float)))
        np.testing.assert_allclose(d["grad_input"], x.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_receptive_field_keeps_batchnorm2d_pointwise_as_torch_and_backprop_norm_eval_do(cli) -> None:
    """In eval mode BatchNorm2d is a per-channel scale and shift at each location (it acts like a 1×1
    depthwise convolution): receptive-field leaves the field as it was, torch's autograd and
    backprop norm --eval both send a one-hot ∂L/∂y back to that one cell only."""
    torch = pytest.importorskip("torch")
    rf = _json(cli, "receptive-field", "--layer", "Conv2d(1, 2, 3)", "--layer", "BatchNorm2d(2)",
               "--input-shape", "1x1x7x7")
    assert rf["layers"][1]["receptive_field"] == rf["layers"][0]["receptive_field"] == 3
    bn = torch.nn.BatchNorm2d(2).double().eval()
    xt = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    bn(xt)[0, 1, 2, 0].backward()
    assert torch.count_nonzero(xt.grad).item() == 1
    one_hot = np.zeros((1, 2, 3, 3), dtype=int)
    one_hot[0, 1, 2, 0] = 1
    d = _json(cli, "backprop", "norm", "--input", json.dumps(xt.detach().numpy().tolist()), "--eval",
              "--grad-output", json.dumps(one_hot.tolist()))
    assert np.count_nonzero(d["grad_input"]) == 1 and np.asarray(d["grad_input"])[0, 1, 2, 0] != 0


@pytest.mark.parametrize("over", ["N", "C", "H", "W", "N,C", "N,H", "C,H,W", "H,W", "N,C,H,W", "N,W", "C,W"])
def test_any_axes_render_forward_and_backward_in_text_and_latex(cli, over: str) -> None:
    for fmt in ("text", "latex"):
        for cmd in (("norm",), ("backprop", "norm", "--grad-output", X)):
            res = cli(*cmd, "--input", X, "--over", over, "--steps", "2", "--format", fmt)
            assert res.code == 0, (over, fmt, cmd, res.err)


def test_a_float_claim_from_a_file_against_an_exact_mean(cli, tmp_path) -> None:
    np.save(tmp_path / "mean.npy", np.array([4.5, 1.5]))
    np.save(tmp_path / "bad.npy", np.array([4.5, 1.6]))
    assert cli("norm", "--input", X, "--answer", f"mean={tmp_path / 'mean.npy'}").code == 0
    assert cli("norm", "--input", X, "--answer", f"mean={tmp_path / 'bad.npy'}").code == 1


@pytest.mark.parametrize("seed", range(12))
def test_random_kinds_end_to_end_against_torch(cli, seed: int) -> None:
    """norm and backprop norm through the CLI (integer input: the exact path) against torch's modules
    and autograd, for a random kind, shape, γ, β, ε and momentum."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(2, 5))
    shape = (int(rng.integers(2, 4)), *(int(v) for v in rng.integers(1, 4, nd - 1)))
    kinds = ["batch", "layer"] + (["instance", "group"] if nd >= 3 and np.prod(shape[2:]) > 1 else [])
    kind = kinds[seed % len(kinds)]
    x, dy = rng.integers(-6, 7, shape), rng.integers(-3, 4, shape)
    groups = [g for g in range(1, shape[1] + 1) if shape[1] % g == 0][-1]
    pshape = shape[1:] if kind == "layer" else (shape[1],)
    w, b = rng.integers(-3, 4, pshape), rng.integers(-3, 4, pshape)
    eps, m = float(rng.choice([1e-5, 0.25])), float(rng.choice([0.1, 0.5]))
    argv = ["--input", json.dumps(x.tolist()), "--kind", kind, "--weight", json.dumps(w.tolist()), "--bias",
            json.dumps(b.tolist()), "--eps", repr(eps), "--momentum", repr(m)] + (["--groups", str(groups)]
                                                                                 if kind == "group" else [])
    d = _json(cli, "norm", *argv)
    gd = _json(cli, "backprop", "norm", *argv, "--grad-output", json.dumps(dy.tolist()))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    rm, rv = torch.zeros(shape[1], dtype=torch.float64), torch.ones(shape[1], dtype=torch.float64)
    tf = torch.nn.functional
    y = {"batch": lambda: tf.batch_norm(xt, rm, rv, wt, bt, True, m, eps),
         "layer": lambda: tf.layer_norm(xt, pshape, wt, bt, eps),
         "instance": lambda: tf.instance_norm(xt, None, None, wt, bt, True, m, eps),
         "group": lambda: tf.group_norm(xt, groups, wt, bt, eps)}[kind]()
    np.testing.assert_allclose(d["output"], y.detach().numpy(), rtol=1e-9, atol=1e-9)
    if kind == "batch":
        np.testing.assert_allclose(d["running_mean"], rm.numpy(), rtol=1e-12)
        np.testing.assert_allclose(d["running_var"], rv.numpy(), rtol=1e-12)
    y.backward(torch.tensor(dy, dtype=torch.float64))
    for key, t in (("grad_input", xt), ("grad_weight", wt), ("grad_bias", bt)):
        np.testing.assert_allclose(gd[key], t.grad.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("flag", ["--weight", "--bias", "--running-mean", "--grad-output"])
def test_letters_are_refused_in_one_line(cli, flag: str) -> None:
    res = cli("backprop", "norm", "--input", X, flag, "a b")
    assert res.code == 2 and flag in res.err and "letters" in res.err and res.err.count("\n") == 1


@pytest.mark.parametrize("layer,kind", [("LayerNorm([2, 2, 2])", ("--kind", "layer")),
                                        ("LayerNorm(2)", ("--kind", "layer", "--normalized-shape", "2")),
                                        ("GroupNorm(1, 2)", ("--kind", "group", "--groups", "1")),
                                        ("BatchNorm2d(2)", ("--kind", "batch"))])
def test_params_agrees_with_norm_on_layer_and_group_norm(cli, layer: str, kind: tuple[str, ...]) -> None:
    net = _json(cli, "params", "--layer", layer, "--input-shape", "2x2x2x2")
    assert net["total_params"] == _json(cli, "norm", "--input", X, *kind)["param_count"]


def test_receptive_field_says_group_norm_is_global_as_its_statistics_are(cli) -> None:
    """GroupNorm's statistics run over every location of a sample, in eval mode too: torch's autograd
    sends a one-hot gradient to every location, and receptive-field calls the field global."""
    torch = pytest.importorskip("torch")
    rf = _json(cli, "receptive-field", "--layer", "Conv2d(2, 2, 3, padding=1)", "--layer", "GroupNorm(1, 2)",
               "--input-shape", "1x2x6x6")
    assert rf["layers"][1]["global"] is True
    gn = torch.nn.GroupNorm(1, 2).double().eval()
    xt = torch.randn(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    gn(xt)[0, 0, 0, 0].backward()
    assert torch.count_nonzero(xt.grad).item() == xt.numel()
