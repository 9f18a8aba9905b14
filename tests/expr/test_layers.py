"""Layers inside backprop expressions: values and gradients against torch.autograd."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convcalc.derive.expr import solve


def _torch_grads(fn, values):
    torch = pytest.importorskip("torch")
    ts = {k: torch.tensor(np.asarray(v, dtype=float), requires_grad=True) for k, v in values.items()}
    out = fn(torch, ts)
    out.backward()
    return out.item(), {k: t.grad.numpy() for k, t in ts.items()}


def _check(text, fn, values):
    sol = solve(text, values)
    value, grads = _torch_grads(fn, values)
    assert float(sol.data["value"]) == pytest.approx(value, rel=1e-10)
    for name, want in grads.items():
        got = np.asarray(sol.data["gradients"][name], dtype=float)
        assert got.shape == want.shape, name
        assert np.allclose(got, want, rtol=1e-9, atol=1e-10), name


@pytest.mark.parametrize("seed", range(4))
def test_small_cnn_loss_gradients_match_torch(seed) -> None:
    rng = np.random.default_rng(seed)
    values = {"X": rng.normal(size=(2, 5, 5)), "W": rng.normal(size=(3, 2, 3, 3)), "A": rng.normal(size=(2, 12)),
              "t": rng.normal(size=(2, 1)), "b": rng.normal(size=(3, 1, 1))}
    text = "sum((A @ flatten(max_pool2d(relu(conv2d(X, W, stride=1, padding=1) + b), 2)) - t)**2)"

    def fn(torch, t):
        h = torch.nn.functional.conv2d(t["X"][None], t["W"], padding=1)[0] + t["b"]
        h = torch.nn.functional.max_pool2d(torch.relu(h), 2)
        return (((t["A"] @ h.reshape(-1, 1)) - t["t"]) ** 2).sum()

    _check(text, fn, values)


@pytest.mark.parametrize("seed", range(3))
def test_strided_dilated_conv_and_avg_pool_match_torch(seed) -> None:
    rng = np.random.default_rng(10 + seed)
    values = {"X": rng.normal(size=(7, 7)), "W": rng.normal(size=(3, 3))}
    text = "mean(tanh(avg_pool2d(conv2d(X, W, stride=2, padding=2, dilation=2), 2, stride=1)))"

    def fn(torch, t):
        h = torch.nn.functional.conv2d(t["X"][None, None], t["W"][None, None], stride=2, padding=2, dilation=2)
        return torch.tanh(torch.nn.functional.avg_pool2d(h, 2, stride=1)).mean()

    _check(text, fn, values)


@pytest.mark.parametrize("seed", range(3))
def test_conv_transpose_matches_torch(seed) -> None:
    rng = np.random.default_rng(20 + seed)
    values = {"Y": rng.normal(size=(2, 3, 3)), "K": rng.normal(size=(2, 1, 3, 3))}
    text = "sum(sigmoid(conv_transpose2d(Y, K, stride=2, padding=1, output_padding=1))**2)"

    def fn(torch, t):
        h = torch.nn.functional.conv_transpose2d(t["Y"][None], t["K"], stride=2, padding=1, output_padding=1)
        return (torch.sigmoid(h) ** 2).sum()

    _check(text, fn, values)


def test_integer_conv_stays_exact_and_matches_torch() -> None:
    values = {"X": np.array([[3, 1, 2, 6, 5], [6, 8, 1, 7, 9], [2, 7, 4, 2, 3], [8, 3, 5, 4, 1], [1, 5, 2, 7, 6]]),
              "W": np.array([[-1, 2, -3], [1, -2, 3], [3, 2, -1]])}
    sol = solve("sum(conv2d(X, W, stride=2, padding=2, dilation=2)**2)", values)
    assert sol.data["gradients"]["W"].dtype == object  # Fractions: exact
    torch = pytest.importorskip("torch")
    x = torch.tensor(values["X"][None, None], dtype=torch.float64, requires_grad=True)
    w = torch.tensor(values["W"][None, None], dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.conv2d(x, w, stride=2, padding=2, dilation=2)
    assert y[0, 0].tolist() == [[0, 25, 10], [8, -10, 24], [-4, 12, -8]]  # the seed's §4.1 Y
    (y**2).sum().backward()
    assert np.array_equal(np.asarray(sol.data["gradients"]["W"], dtype=float), w.grad[0, 0].numpy())
    assert np.array_equal(np.asarray(sol.data["gradients"]["X"], dtype=float), x.grad[0, 0].numpy())


@pytest.mark.parametrize("seed", range(5))
def test_max_pool_commutes_with_a_nondecreasing_function(cli, seed) -> None:
    x = np.random.default_rng(seed).integers(-9, 9, size=(4, 6))
    text = "; ".join(" ".join(str(v) for v in row) for row in x)
    for fn in ("sigmoid", "relu", "tanh", "exp"):
        res = cli("backprop", "expr", f"max_pool2d({fn}(X), 2) - {fn}(max_pool2d(X, 2))", "--var", f"X={text}",
                  "--format", "json")
        data = json.loads(res.out)
        assert res.code == 0 and data["all_zero"] is True and np.shape(data["value"]) == (2, 3)
    # and not for a decreasing one (a control: the check can fail)
    res = cli("backprop", "expr", "max_pool2d(-X, 2) - (-max_pool2d(X, 2))", "--var", f"X={text}", "--format", "json")
    assert json.loads(res.out)["all_zero"] is False


def test_value_answer_on_a_matrix(cli) -> None:
    argv = ["backprop", "expr", "max_pool2d(X, 2)", "--var", "X=1 2 0 0; 3 4 0 -1; 1 1 1 1; 1 1 1 2"]
    assert cli(*argv, "--answer", "f=4 0; 1 2").code == 0
    res = cli(*argv, "--answer", "f=4 0; 1 1")
    assert res.code == 1 and "1 of 4 entries of f differ" in res.out
    assert cli(*argv, "--answer", "X=1").code == 2


@pytest.mark.parametrize(("text", "message"), [
    ("sum(conv2d(X))", "needs X and W"),
    ("sum(conv2d(X, W, stride=0))", "out of range"),
    ("sum(conv2d(X, W, groups=2))", "no setting 'groups'"),
    ("sum(max_pool2d(X))", "needs kernel_size"),
    ("sum(max_pool2d(X, 2, 1, 0, 1, 7))", "at most"),
    ("sum(conv2d(X, W, stride=X))", "an integer or a pair"),
    ("sum(conv2d(X, W, stride=(1, 2, 3)))", "an integer or a pair"),
    ("sum(X, 2)", "exactly one argument"),
    ("sum(conv2d(X, W, stride=2, stride=2))", "stride twice"),
    ("sum(conv2d(X, W, 2, stride=2))", "stride twice"),
    ("sum(conv_transpose2d(X, W, stride=64, padding=0))", "past the limits"),
])
def test_layer_errors_are_one_line(cli, text, message) -> None:
    res = cli("backprop", "expr", text, "--var", "X=" + "; ".join(["1 2 3 4 5 6"] * 200), "--var", "W=1 0; 0 1")
    assert res.code == 2, res.out
    assert message in res.err and "Traceback" not in res.err and res.err.count("\n") == 1
