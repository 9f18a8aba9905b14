"""scan-mlp: the CNN it prints, with the converted weights, run by torch, equals a plain NumPy
scan of the MLP window by window; the §8.1 CNN is 29 neurons with 7 unique."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HANDOUT_MLP = "Flatten(), Linear(8 * 24, 8), ReLU(), Linear(8, 16), ReLU(), Linear(16, 4)"


def _json(cli, *argv: str) -> dict:
    res = cli(*argv, "--format", "json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def numpy_scan(x: np.ndarray, ws: list[np.ndarray], bs: list[np.ndarray], k: int, s: int) -> np.ndarray:
    """The handout's scan written out: each window (k steps of C) flattened step after step, through the MLP."""
    t = x.shape[2]
    out = []
    for start in range(0, t - k + 1, s):
        v = np.concatenate([x[:, :, start + step] for step in range(k)], axis=1)  # step 0's C values, then step 1's
        for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
            v = v @ w.T + b
            if i < len(ws) - 1:
                v = np.maximum(v, 0)
        out.append(v)
    return np.stack(out, axis=1)  # (N, positions, outputs)


def run_case(cli, tmp_path, n, c, t, k, s, widths, seed=0):
    rng = np.random.default_rng(seed)
    dims = [k * c, *widths]
    ws = [rng.normal(size=(dims[i + 1], dims[i])) for i in range(len(widths))]
    bs = [rng.normal(size=dims[i + 1]) for i in range(len(widths))]
    layers = ["Flatten()"]
    for i in range(len(widths)):
        layers += [f"Linear({dims[i]}, {dims[i + 1]})"] + (["ReLU()"] if i < len(widths) - 1 else [])
    mlp = ", ".join(layers)
    state = {f"{2 * i + 1}.weight": w for i, w in enumerate(ws)} | {f"{2 * i + 1}.bias": b for i, b in enumerate(bs)}
    np.savez(tmp_path / "mlp.npz", **state)
    x = rng.normal(size=(n, c, t))
    out = _json(cli, "scan-mlp", "--input-shape", f"{n}x{c}x{t}", "--mlp", mlp, "--window", str(k), "--stride", str(s),
                "--weights", str(tmp_path / "mlp.npz"), "--output", str(tmp_path / "conv.npz"),
                "--input", json.dumps(x.tolist()))
    assert out["agree"] is True
    conv = np.load(tmp_path / "conv.npz")
    z = torch.tensor(x)
    for i in range(len(widths)):
        z = F.conv1d(z, torch.tensor(conv[f"{2 * i}.weight"]), torch.tensor(conv[f"{2 * i}.bias"]),
                     stride=s if i == 0 else 1)
        if i < len(widths) - 1:
            z = F.relu(z)
    scanned = numpy_scan(x, ws, bs, k, s)
    np.testing.assert_allclose(z.numpy().transpose(0, 2, 1), scanned, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out["output"], z.reshape(n, -1).numpy(), rtol=1e-10, atol=1e-10)
    return out


def test_handout_6_1(cli, tmp_path):
    out = run_case(cli, tmp_path, 1, 24, 128, 8, 4, [8, 16, 4])
    assert out["cnn"] == "Conv1d(24, 8, 8, stride=4), ReLU(), Conv1d(8, 16, 1), ReLU(), Conv1d(16, 4, 1), Flatten()"
    assert out["output_shape"] == [31, 4] and out["flattened"] == 124
    assert out["weights"]["0.weight"] == [8, 24, 8]


def test_mcq7_is_option_b(cli, tmp_path):
    """W_MLP(in, out).reshape(kernel, in_ch, out_ch).transpose() is what scan-mlp writes."""
    run_case(cli, tmp_path, 1, 3, 10, 4, 2, [5])
    w_linear = np.load(tmp_path / "mlp.npz")["1.weight"]  # (out, in) as PyTorch stores it
    w_mlp = w_linear.T  # MCQ 7's W_MLP(input_size, output_size)
    np.testing.assert_array_equal(np.load(tmp_path / "conv.npz")["0.weight"], w_mlp.reshape(4, 3, 5).transpose())


@FAST
@given(c=st.integers(1, 3), t=st.integers(1, 14), k=st.integers(1, 5), s=st.integers(1, 4),
       widths=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=st.integers(0, 99))
def test_random_scans(cli, tmp_path, c, t, k, s, widths, seed):
    if k > t:
        k = t
    run_case(cli, tmp_path, 2, c, t, k, s, widths, seed)


def test_section_8_1(cli):
    out = _json(cli, "scan-mlp", "--cnn", "Conv1d(1, 2, 2, stride=2), Conv1d(2, 3, 3, stride=3), "
                                          "Conv1d(3, 2, 3, stride=3)")
    assert (out["window"], out["stride"], out["neurons"], out["unique_neurons"]) == (18, 18, 29, 7)


@FAST
@given(layers=st.lists(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)), min_size=1, max_size=3))
def test_cnn_window_is_what_one_output_reads(cli, layers):
    """Brute force: the input positions one top output depends on, and how far the next output moves."""
    spec, c = [], 1
    for f, k, s in layers:
        spec.append(f"Conv1d({c}, {f}, {k}, stride={s})")
        c = f
    out = _json(cli, "scan-mlp", "--cnn", ", ".join(spec))
    reach = {0}  # positions of the top layer, walked down to the input
    neurons = 0
    for (f, k, s) in reversed(layers):
        neurons += f * len(reach)
        reach = {p * s + t for p in reach for t in range(k)}
    assert out["window"] == max(reach) + 1  # the span, holes included
    assert out["stride"] == int(np.prod([s for _, _, s in layers]))
    assert out["neurons"] == neurons and out["unique_neurons"] == sum(f for f, _, _ in layers)


@pytest.mark.parametrize("argv, flag", [
    (["--input-shape", "1x24x128", "--mlp", "Flatten(), Linear(100, 8)", "--window", "8", "--stride", "4"],
     "Linear"),
    (["--input-shape", "1x24x128", "--mlp", "Linear(192, 8)", "--window", "8"], "--stride"),
    (["--input-shape", "1x24x4", "--mlp", "Linear(192, 8)", "--window", "8", "--stride", "4"], "--window"),
    (["--cnn", "Conv1d(1, 2, 2, padding=1)"], "padding"),
    (["--input-shape", "1x2x8", "--mlp", "Linear(4, 1), BatchNorm1d(1)", "--window", "2", "--stride", "1"], "MLP"),
])
def test_bad_input(cli, argv, flag):
    res = cli("scan-mlp", *argv)
    assert res.code == 2 and flag in res.err and res.err.count("\n") == 1, res.err


def test_answers(cli):
    cnn = "Conv1d(1, 2, 2, stride=2), Conv1d(2, 3, 3, stride=3), Conv1d(3, 2, 3, stride=3)"
    assert cli("scan-mlp", "--cnn", cnn, "--answer", "29,7").code == 0
    assert cli("scan-mlp", "--cnn", cnn, "--answer", "28").code == 1
    mlp = ["--input-shape", "1x24x128", "--mlp", HANDOUT_MLP, "--window", "8", "--stride", "4"]
    assert cli("scan-mlp", *mlp, "--answer", "124").code == 0
    assert cli("scan-mlp", *mlp, "--answer", "128").code == 1


def distributed_mlp(filters: list[np.ndarray], strides: list[int], window: int, c: int) -> list[np.ndarray]:
    """An MLP whose neurons share the given Conv1d filters (C_out, C_in, K), placed by hand:
    neuron (position p, filter o) reads positions p·s … p·s+K−1 of the layer below."""
    positions = [1]
    for f, s in zip(filters[:0:-1], strides[:0:-1], strict=True):
        positions.insert(0, (positions[0] - 1) * s + f.shape[2])
    mats, under, c_prev = [], window, c
    for f, s, p in zip(filters, strides, positions, strict=True):
        o_n, _, k = f.shape
        w = np.zeros((p * o_n, under * c_prev))
        for pos in range(p):
            for o in range(o_n):
                for dk in range(k):
                    for ch in range(c_prev):
                        w[pos * o_n + o, (pos * s + dk) * c_prev + ch] = f[o, ch, dk]
        mats.append(w)
        under, c_prev = p, o_n
    return mats


def test_distributed_6_2(cli, tmp_path):
    rng = np.random.default_rng(5)
    filters = [rng.normal(size=(2, 24, 2)), rng.normal(size=(8, 2, 2)), rng.normal(size=(4, 8, 2))]
    mats = distributed_mlp(filters, [2, 2, 1], 8, 24)
    assert [m.shape for m in mats] == [(8, 192), (16, 8), (4, 16)]
    np.savez(tmp_path / "mlp.npz", **{"1.weight": mats[0], "3.weight": mats[1], "5.weight": mats[2]})
    x = rng.normal(size=(1, 24, 128))
    mlp = "Flatten(), Linear(8 * 24, 8, bias=False), ReLU(), Linear(8, 16, bias=False), ReLU(), Linear(16, 4, bias=False)"
    out = _json(cli, "scan-mlp", "--input-shape", "1x24x128", "--mlp", mlp, "--window", "8", "--stride", "4",
                "--unique", "2,8,4", "--weights", str(tmp_path / "mlp.npz"), "--output", str(tmp_path / "conv.npz"),
                "--input", json.dumps(x.tolist()))
    assert out["cnn"] == ("Conv1d(24, 2, 2, stride=2, bias=False), ReLU(), Conv1d(2, 8, 2, stride=2, bias=False), "
                          "ReLU(), Conv1d(8, 4, 2, bias=False), Flatten()")
    assert out["agree"] is True
    conv = np.load(tmp_path / "conv.npz")
    for i, f in enumerate(filters):  # the filters come back out of the MLP's matrices
        np.testing.assert_array_equal(conv[f"{2 * i}.weight"], f)
    z = torch.tensor(x)
    for i, s in enumerate([2, 2, 1]):
        z = F.conv1d(z, torch.tensor(conv[f"{2 * i}.weight"]), stride=s)
        z = F.relu(z) if i < 2 else z
    scanned = numpy_scan(x, mats, [np.zeros(m.shape[0]) for m in mats], 8, 4)
    np.testing.assert_allclose(z.numpy().transpose(0, 2, 1), scanned, rtol=1e-10, atol=1e-10)


def test_distributed_counts_that_do_not_fit(cli):
    res = cli("scan-mlp", "--input-shape", "1x24x128", "--mlp", HANDOUT_MLP, "--window", "8", "--stride", "4",
              "--unique", "3,8,4")
    assert res.code == 2 and "--unique" in res.err


@FAST
@given(layers=st.lists(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(0, 2)), min_size=1, max_size=3),
       c=st.integers(1, 2))
def test_unique_finds_the_cnn_it_came_from(cli, layers, c):
    """Any CNN (kernels covering their strides) → its scanning MLP's widths, window and stride
    (counted by brute force) → scan-mlp --unique lists that CNN among the layouts that fit."""
    convs, ch = [], c
    for f, s, extra in layers:
        convs.append((ch, f, s + extra, s))  # in, filters, kernel ≥ stride, stride
        ch = f
    reach, widths = {0}, []
    for (_, f, k, s) in reversed(convs):
        widths.insert(0, f * len(reach))
        reach = {p * s + t for p in reach for t in range(k)}
    window, stride = max(reach) + 1, int(np.prod([s for *_, s in convs]))
    dims = [window * c, *widths]
    mlp = ", ".join(["Flatten()"] + [f"Linear({dims[i]}, {dims[i + 1]})" for i in range(len(widths))])
    out = _json(cli, "scan-mlp", "--input-shape", f"1x{c}x{window + 2 * stride}", "--mlp", mlp, "--window",
                str(window), "--stride", str(stride), "--unique", ",".join(str(f) for _, f, _, _ in convs))
    listed = [out["cnn"], *out["alternatives"]]
    # a layer met at one position per evaluation can move its stride to another such layer: compare
    # filters and kernels (they fix every other stride) and the strides' product
    want = [(f, k) for _, f, k, _ in convs]
    got = [[(int(a), int(b), int(st_)) for a, b, st_ in
            (_conv_settings(part) for part in spec.split("), ") if part.startswith("Conv1d"))] for spec in listed]
    assert any([x[:2] for x in g] == want and np.prod([x[2] for x in g]) == stride for g in got), (want, got)


def _conv_settings(part: str) -> tuple[str, str, str]:
    args = part.removeprefix("Conv1d(").rstrip(")").split(", ")
    stride = next((a.split("=")[1] for a in args if a.startswith("stride=")), "1")
    return args[1], args[2], stride
