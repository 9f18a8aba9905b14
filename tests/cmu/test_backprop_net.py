"""backprop net against torch.autograd through the whole stack: every layer's output, every
layer's dL/d(input), every weight gradient; weights through .npz both ways."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.net import parse_network

torch = pytest.importorskip("torch")

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class Resample(torch.nn.Module):
    """The course's Upsample/Downsample written with torch indexing (autograd does the backward)."""

    def __init__(self, ndim: int, k: int, up: bool) -> None:
        super().__init__()
        self.ndim, self.k, self.up = ndim, k, up

    def forward(self, x):
        idx = (Ellipsis, *(slice(None, None, self.k),) * self.ndim)
        if not self.up:
            return x[idx]
        shape = (*x.shape[:2], *((n - 1) * self.k + 1 for n in x.shape[2:]))
        out = x.new_zeros(shape)
        out[idx] = x
        return out


def torch_stack(spec: str) -> torch.nn.Sequential:
    mods = []
    for layer in parse_network(spec):
        if layer.kind.startswith("MeanPool"):
            mods.append(getattr(torch.nn, f"AvgPool{layer.ndim}d")(layer.kernel, layer.stride))
            continue
        if layer.kind.startswith(("Upsample", "Downsample")):
            mods.append(Resample(layer.ndim, layer.factor[0], layer.up))
            continue
        kwargs = {k: v for k, v in layer.args if k not in ("device", "dtype")}
        mods.append(getattr(torch.nn, layer.kind)(**kwargs))
    return torch.nn.Sequential(*mods).double()


def check_against_torch(cli, spec: str, x: np.ndarray, tmp_path, grad: np.ndarray | None = None,
                        names: dict[str, str] | None = None) -> dict:
    model = torch_stack(spec)
    torch.manual_seed(0)
    for m in model.modules():  # a spread of values, biases included
        if hasattr(m, "weight") and m.weight is not None:
            torch.nn.init.uniform_(m.weight, -1, 1)
            if getattr(m, "bias", None) is not None:
                torch.nn.init.uniform_(m.bias, -1, 1)
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    if names:
        state = {names.get(k.split(".")[0], k.split(".")[0]) + "." + k.split(".")[1]: v for k, v in state.items()}
    wfile = tmp_path / "w.npz"
    np.savez(wfile, **state)
    argv = ["backprop", "net", "--net", spec, "--input", json.dumps(x.tolist()), "--weights", str(wfile),
            "--format", "json"]
    if grad is not None:
        argv += ["--grad-output", json.dumps(grad.tolist())]
    res = cli(*argv)
    assert res.code == 0, res.err
    out = json.loads(res.out)
    # torch: every layer's input kept with retain_grad
    a = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    acts = [a]
    for m in model:
        z = m(acts[-1])
        z.retain_grad()
        acts.append(z)
    g = torch.ones_like(acts[-1]) if grad is None else torch.tensor(grad, dtype=torch.float64)
    acts[-1].backward(g)
    for i, (row, m) in enumerate(zip(out["layers"], model, strict=True)):
        np.testing.assert_allclose(row["output"], acts[i + 1].detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(row["grad_input"], acts[i].grad.numpy(), rtol=1e-10, atol=1e-12)
        for kind in ("weight", "bias"):
            p = getattr(m, kind, None)
            if isinstance(p, torch.nn.Parameter):
                np.testing.assert_allclose(row[f"grad_{kind}"], p.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["grad_input"], a.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["output"], acts[-1].detach().numpy(), rtol=1e-10, atol=1e-12)
    return out


SPEC_1D = ("Conv1d(2, 3, 3, stride=2), ReLU(), MaxPool1d(2, stride=1), Upsample1d(2), ConvTranspose1d(3, 2, 3, "
           "stride=2, padding=1), Tanh(), Downsample1d(3), AvgPool1d(2), Flatten(), Linear(10, 4), Sigmoid()")
SPEC_2D = ("Conv2d(1, 2, 3), Sigmoid(), MeanPool2d(2, 1), ConvTranspose2d(2, 2, 2, stride=2), "
           "Downsample2d(3), MaxPool2d(2), Flatten(), Linear(8, 3), LeakyReLU(0.1)")


def test_1d_stack_matches_autograd(cli, tmp_path):
    x = np.random.default_rng(1).normal(size=(2, 2, 20))
    out = check_against_torch(cli, SPEC_1D, x, tmp_path)
    assert out["layers"][2]["output_shape"] == [2, 3, 8]


def test_2d_stack_matches_autograd_with_a_given_grad(cli, tmp_path):
    x = np.random.default_rng(2).normal(size=(1, 1, 9, 9))
    g = np.random.default_rng(3).normal(size=(1, 3))
    check_against_torch(cli, SPEC_2D, x, tmp_path, g)


def test_2d_groups_padding_dilation_and_upsampling(cli, tmp_path):
    spec = ("Conv2d(2, 4, 3, padding=1, dilation=2, groups=2, bias=False), Upsample2d(2), "
            "ConvTranspose2d(4, 2, 2, stride=2, output_padding=1, groups=2), MaxPool2d(3, stride=2, padding=1), "
            "Flatten()")
    x = np.random.default_rng(4).normal(size=(2, 2, 5, 5))
    check_against_torch(cli, spec, x, tmp_path)


def test_named_state_dict_keys_map_in_order(cli, tmp_path):
    spec = "Conv1d(1, 2, 2), ReLU(), Flatten(), Linear(6, 2)"
    out = check_against_torch(cli, spec, np.arange(4.0).reshape(1, 1, 4), tmp_path, names={"0": "conv1", "3": "fc"})
    assert out["layers"][0]["weight_name"] == "conv1.weight" and out["layers"][3]["bias_name"] == "fc.bias"


@FAST
@given(w=st.integers(4, 16), k=st.integers(1, 4), s=st.integers(1, 3), f=st.integers(1, 3), up=st.booleans(),
       seed=st.integers(0, 99))
def test_random_1d_stacks(cli, tmp_path, w, k, s, f, up, seed):
    resample = f"Upsample1d({f})" if up else f"Downsample1d({f})"
    spec = f"Conv1d(1, 2, {k}, stride={s}), Tanh(), {resample}, Conv1d(2, 1, 1)"
    x = np.random.default_rng(seed).normal(size=(1, 1, w))
    check_against_torch(cli, spec, x, tmp_path)


def test_seed_and_save_weights_round_trip(cli, tmp_path):
    spec = "Conv1d(1, 2, 3), ReLU(), Flatten(), Linear(8, 2)"
    saved = tmp_path / "saved.npz"
    a = cli("backprop", "net", "--net", spec, "--input", "1 2 3 4 5 6", "--seed", "7", "--save-weights", str(saved),
            "-f", "json")
    assert a.code == 0, a.err
    b = cli("backprop", "net", "--net", spec, "--input", "1 2 3 4 5 6", "--weights", str(saved), "-f", "json")
    assert json.loads(a.out)["grad_input"] == json.loads(b.out)["grad_input"]
    assert sorted(np.load(saved).files) == ["0.bias", "0.weight", "3.bias", "3.weight"]


def test_layer_k_shows_all_of_one_layer(cli):
    spec = "Conv1d(1, 3, 1), ReLU()"
    text = cli("backprop", "net", "--net", spec, "--input", "1 2 3", "--seed", "1", "--layer", "2").out
    assert "Layer 2: ReLU()" in text and "Layer 1: Conv1d" not in text


def test_pickled_weights_are_refused(cli, tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{"0.weight": np.array([object()], dtype=object)})
    res = cli("backprop", "net", "--net", "Linear(1, 1)", "--input", "1", "--weights", str(bad))
    assert res.code == 2 and "Traceback" not in res.err and res.err.count("\n") == 1


@pytest.mark.parametrize("argv, words", [
    (["--net", "Linear(2, 1)", "--input", "1 2"], "--weights"),
    (["--net", "Linear(2, 1)", "--input", "1 2", "--seed", "1", "-G", "1 2"], "shape"),
    (["--net", "BatchNorm1d(2)", "--input", "1 2", "--seed", "1"], "no backward"),
    (["--net", "Linear(2, 1)", "--input", "1 2", "--seed", "1", "--layer", "5"], "--layer"),
    (["--net", "Linear(3, 1)", "--input", "1 2", "--seed", "1"], "in_features"),
    (["--net", "Linear(2, 1000000000)", "--input", "1 2", "--seed", "1"], "at most"),
    (["--net", "Linear(2, 1)", "--input", "1 2", "--seed", "-1"], "--seed"),
])
def test_bad_input(cli, argv, words):
    res = cli("backprop", "net", *argv)
    assert res.code == 2 and words in res.err and res.err.count("\n") == 1, res.err


def test_wrong_shapes_in_the_file(cli, tmp_path):
    f = tmp_path / "w.npz"
    np.savez(f, **{"0.weight": np.zeros((3, 3)), "0.bias": np.zeros(1)})
    res = cli("backprop", "net", "--net", "Linear(2, 1)", "--input", "1 2", "--weights", str(f))
    assert res.code == 2 and "needs (1, 2)" in res.err


def test_answer_is_checked_against_autograd(cli, tmp_path):
    spec = "Conv1d(1, 2, 2), Tanh(), Flatten(), Linear(4, 1)"
    x = np.random.default_rng(8).normal(size=(1, 1, 3))
    out = check_against_torch(cli, spec, x, tmp_path)
    right = np.array(out["grad_input"])
    base = ["backprop", "net", "--net", spec, "--input", json.dumps(x.tolist()), "--weights", str(tmp_path / "w.npz")]
    assert cli(*base, "--answer", json.dumps(right.round(10).tolist())).code == 0
    wrong = right.copy()
    wrong[0, 0, 1] += 0.5
    res = cli(*base, "--answer", json.dumps(wrong.tolist()), "-f", "json")
    assert res.code == 1 and json.loads(res.out)["wrong_cells"] == [[1, 1, 2]]


MODEL_SOURCE = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(2, 3, 3, stride=2)
        self.act = nn.Tanh()
        self.fc = nn.Linear(9, 2)

    def forward(self, x):
        x = self.act(self.conv1(x))
        x = x.flatten(1)
        return self.fc(x)
'''


class Net(torch.nn.Module):
    """MODEL_SOURCE, written out for torch."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(2, 3, 3, stride=2)
        self.act = torch.nn.Tanh()
        self.fc = torch.nn.Linear(9, 2)

    def forward(self, x):
        x = self.act(self.conv1(x))
        x = x.flatten(1)
        return self.fc(x)


@pytest.mark.parametrize("flatten", ["x.flatten(1)", "x.view(x.size(0), -1)"])
def test_class_source_with_its_own_state_dict(cli, tmp_path, flatten):
    model = Net().double()
    (tmp_path / "model.py").write_text(MODEL_SOURCE.replace("x.flatten(1)", flatten))
    np.savez(tmp_path / "w.npz", **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    x = np.random.default_rng(9).normal(size=(2, 2, 7))
    res = cli("backprop", "net", "--net", str(tmp_path / "model.py"), "--input", json.dumps(x.tolist()), "--weights",
              str(tmp_path / "w.npz"), "-f", "json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    t = torch.tensor(x, requires_grad=True)
    model(t).sum().backward()
    np.testing.assert_allclose(out["grad_input"], t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["layers"][0]["grad_weight"], model.conv1.weight.grad.numpy(), rtol=1e-10)
    assert out["layers"][3]["bias_name"] == "fc.bias"


def test_a_branching_source_is_refused(cli, tmp_path):
    src = MODEL_SOURCE.replace("x = self.act(self.conv1(x))", "x = self.act(self.conv1(x)) + self.conv1(x)")
    (tmp_path / "model.py").write_text(src)
    res = cli("backprop", "net", "--net", str(tmp_path / "model.py"), "--input", json.dumps(np.zeros((1, 2, 7)).tolist()),
              "--seed", "0")
    assert res.code == 2 and "chain" in res.err, res.err
