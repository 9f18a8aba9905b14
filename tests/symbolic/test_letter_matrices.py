"""Matrices of letters, checked by substitution: random integers for the letters, and every
cell of convcalc's symbolic answer (read back from its JSON with SymPy) against PyTorch run on
the same numbers. Every matrix command and its gradients."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # cli captures per call
FEW = settings(SETTINGS, max_examples=6)  # the gradients: three symbolic passes each


def run_json(cli, *argv: str) -> dict:
    r = cli(*argv, "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["symbolic"] is True
    return data


def values(name: str, shape: tuple[int, ...], rng: random.Random) -> dict[str, int]:
    """Random integers for the entries of ``name:HxW`` (symbols name_i_j)."""
    return {name + "".join(f"_{i + 1}" for i in idx): rng.randint(-9, 9) for idx in np.ndindex(shape)}


def tensor(name: str, shape: tuple[int, ...], numbers: dict[str, int]) -> torch.Tensor:
    flat = [numbers[name + "".join(f"_{i + 1}" for i in idx)] for idx in np.ndindex(shape)]
    return torch.tensor(flat, dtype=torch.float64).reshape(shape)


def substituted(cells, numbers: dict[str, int]) -> np.ndarray:
    """The JSON cells (SymPy-syntax strings or numbers) with the numbers put in."""
    subs = {sympy.Symbol(k, real=True): v for k, v in numbers.items()}
    def one(c):
        e = sympy.sympify(c) if isinstance(c, str) else sympy.Integer(c)
        e = e.subs({sympy.Symbol(s.name, real=True): s for s in e.free_symbols}).subs(
            {sympy.Symbol(k): v for k, v in numbers.items()})
        return float(e.subs(subs))
    return np.vectorize(one, otypes=[float])(np.array(cells, dtype=object))


def close(cells, expected: torch.Tensor, numbers: dict[str, int]) -> None:
    got = substituted(cells, numbers)
    np.testing.assert_allclose(got, expected.detach().numpy().reshape(got.shape), rtol=1e-9, atol=1e-9)


shapes = st.tuples(st.integers(3, 5), st.integers(3, 5))
kernels = st.tuples(st.integers(1, 3), st.integers(1, 3))


@SETTINGS
@given(shape=shapes, k=kernels, stride=st.integers(1, 2), pad=st.integers(0, 1), dil=st.integers(1, 2),
       seed=st.integers(0, 10**6))
def test_conv_of_letters_is_torchs_conv(cli, shape, k, stride, pad, dil, seed):
    if any((kk - 1) * dil + 1 > n + 2 * pad for kk, n in zip(k, shape, strict=True)):
        return
    rng = random.Random(seed)
    nums = values("X", shape, rng) | values("K", k, rng) | {"b": rng.randint(-5, 5)}
    out = run_json(cli, "conv", "--input", f"X:{shape[0]}x{shape[1]}", "--kernel", f"K:{k[0]}x{k[1]}",
                   "--bias", "b", "--stride", str(stride), "--padding", str(pad), "--dilation", str(dil))
    want = F.conv2d(tensor("X", shape, nums)[None, None], tensor("K", k, nums)[None, None],
                    torch.tensor([float(nums["b"])], dtype=torch.float64), stride=stride, padding=pad, dilation=dil)
    close(out["output"], want, nums)


@SETTINGS
@given(shape=shapes, k=kernels, stride=st.integers(1, 3), pad=st.integers(0, 1), seed=st.integers(0, 10**6))
def test_transposed_conv_of_letters_is_torchs(cli, shape, k, stride, pad, seed):
    rng = random.Random(seed)
    nums = values("Y", shape, rng) | values("W", k, rng)
    if any(pad >= (n - 1) * stride + kk for n, kk in zip(shape, k, strict=True)):
        return
    out = run_json(cli, "transposed-conv", "--input", f"Y:{shape[0]}x{shape[1]}", "--kernel", f"W:{k[0]}x{k[1]}",
                   "--stride", str(stride), "--padding", str(pad))
    want = F.conv_transpose2d(tensor("Y", shape, nums)[None, None], tensor("W", k, nums)[None, None],
                              stride=stride, padding=pad)
    close(out["output"], want, nums)


@SETTINGS
@given(shape=shapes, k=st.integers(1, 3), stride=st.integers(1, 2), seed=st.integers(0, 10**6),
       mode=st.sampled_from(["avg", "max", "lp"]))
def test_pooling_of_letters_is_torchs(cli, shape, k, stride, seed, mode):
    rng = random.Random(seed)
    nums = values("X", shape, rng)
    out = run_json(cli, "pool", "--input", f"X:{shape[0]}x{shape[1]}", "--kernel-size", str(k),
                   "--stride", str(stride), "--mode", mode, "--p", "2")
    x = tensor("X", shape, nums)[None, None]
    want = {"avg": lambda: F.avg_pool2d(x, k, stride), "max": lambda: F.max_pool2d(x, k, stride),
            "lp": lambda: F.lp_pool2d(x, 2, k, stride)}[mode]()
    close(out["output"], want, nums)


def test_max_of_letters_stays_a_max(cli):
    out = run_json(cli, "pool", "--input", "a b; c d", "--kernel-size", "2", "--mode", "max")
    assert sympy.sympify(out["output"][0][0]) == sympy.Max(*sympy.symbols("a b c d"))
    assert "argmax" not in out  # which entry wins depends on the letters


def test_max_of_numbers_and_letters_drops_the_smaller_numbers(cli):
    out = run_json(cli, "pool", "--input", "1 5; a 2", "--kernel-size", "2", "--mode", "max")
    assert sympy.sympify(out["output"][0][0]) == sympy.Max(5, sympy.Symbol("a"))


@FEW
@given(shape=shapes, k=kernels, stride=st.integers(1, 2), pad=st.integers(0, 1), seed=st.integers(0, 10**6))
def test_backprop_conv_of_letters_is_torch_autograd(cli, shape, k, stride, pad, seed):
    rng = random.Random(seed)
    x_shape = shape
    out_shape = tuple((n + 2 * pad - kk) // stride + 1 for n, kk in zip(shape, k, strict=True))
    if min(out_shape) < 1:
        return
    nums = values("A", x_shape, rng) | values("B", k, rng) | values("G", out_shape, rng)
    out = run_json(cli, "backprop", "conv", "--input", f"A:{shape[0]}x{shape[1]}", "--kernel", f"B:{k[0]}x{k[1]}",
                   "--grad-output", f"G:{out_shape[0]}x{out_shape[1]}", "--stride", str(stride),
                   "--padding", str(pad), "--bias", "0")
    a = tensor("A", x_shape, nums)[None, None].requires_grad_()
    b = tensor("B", k, nums)[None, None].requires_grad_()
    bias = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(a, b, bias, stride=stride, padding=pad)
    y.backward(tensor("G", out_shape, nums)[None, None])
    close(out["output"], y, nums)
    close(out["grad_input"], a.grad, nums)
    close(out["grad_weight"], b.grad, nums)
    close(out["grad_bias"], bias.grad, nums)


@FEW
@given(shape=st.tuples(st.integers(2, 3), st.integers(2, 3)), k=kernels, stride=st.integers(1, 2),
       seed=st.integers(0, 10**6))
def test_backprop_transposed_conv_of_letters_is_torch_autograd(cli, shape, k, stride, seed):
    rng = random.Random(seed)
    out_shape = tuple((n - 1) * stride + kk for n, kk in zip(shape, k, strict=True))
    nums = values("Y", shape, rng) | values("W", k, rng) | values("G", out_shape, rng)
    out = run_json(cli, "backprop", "transposed-conv", "--input", f"Y:{shape[0]}x{shape[1]}",
                   "--kernel", f"W:{k[0]}x{k[1]}", "--grad-output", f"G:{out_shape[0]}x{out_shape[1]}",
                   "--stride", str(stride))
    y = tensor("Y", shape, nums)[None, None].requires_grad_()
    w = tensor("W", k, nums)[None, None].requires_grad_()
    x = F.conv_transpose2d(y, w, stride=stride)
    x.backward(tensor("G", out_shape, nums)[None, None])
    close(out["grad_input"], y.grad, nums)
    close(out["grad_weight"], w.grad, nums)


@SETTINGS
@given(shape=st.tuples(st.integers(2, 4), st.integers(2, 4)), k=st.integers(1, 2), seed=st.integers(0, 10**6),
       mode=st.sampled_from(["avg", "max"]))
def test_backprop_pool_with_letters_is_torch_autograd(cli, shape, k, seed, mode):
    """avg: letters in the input and the upstream gradient; max: numbers in, letters upstream
    (the winner of a window of letters is not known)."""
    rng = random.Random(seed)
    out_shape = tuple(n // k for n in shape)
    nums = values("A", shape, rng) | values("G", out_shape, rng)
    a_text = f"A:{shape[0]}x{shape[1]}"
    if mode == "max":
        a_text = "; ".join(" ".join(str(nums[f"A_{i + 1}_{j + 1}"] * 10 + i * shape[1] + j)  # no ties
                                    for j in range(shape[1])) for i in range(shape[0]))
        nums |= {f"A_{i + 1}_{j + 1}": nums[f"A_{i + 1}_{j + 1}"] * 10 + i * shape[1] + j
                 for i in range(shape[0]) for j in range(shape[1])}
    out = run_json(cli, "backprop", "pool", "--input", a_text, "--kernel-size", str(k), "--mode", mode,
                   "--grad-output", f"G:{out_shape[0]}x{out_shape[1]}")
    a = tensor("A", shape, nums)[None, None].requires_grad_()
    y = F.avg_pool2d(a, k) if mode == "avg" else F.max_pool2d(a, k)
    y.backward(tensor("G", out_shape, nums)[None, None])
    close(out["grad_input"], a.grad, nums)


@SETTINGS
@given(n=st.integers(2, 6), up=st.integers(2, 3), seed=st.integers(0, 10**6))
def test_resample_of_letters_inserts_zeros(cli, n, up, seed):
    """Zero insertion is a transposed conv with a one-tap kernel and stride ``up`` (torch's)."""
    rng = random.Random(seed)
    nums = values("x", (n,), rng)
    out = run_json(cli, "resample", "--input", f"x:{n}", "--up", str(up))
    x = torch.tensor([float(nums[f"x_{i + 1}"]) for i in range(n)], dtype=torch.float64)[None, None]
    want = F.conv_transpose1d(x, torch.ones(1, 1, 1, dtype=torch.float64), stride=up)
    close(out["output"], want, nums)


def test_bad_letter_entries_exit_2_in_one_line(cli):
    for argv in (["conv", "--input", "a b; c", "--kernel", "1"], ["conv", "--input", "a b!", "--kernel", "1"],
                 ["conv", "--input", "X:40x40", "--kernel", "1"], ["conv", "--input", "X:0x2", "--kernel", "1"],
                 ["conv", "--input", "X:2", "--kernel", "K:3x3"]):
        r = cli(*argv)
        assert r.code == 2 and r.err.startswith("error: --") and r.err.count("\n") == 1, (argv, r.err)


@SETTINGS
@given(shape=shapes, out=st.tuples(st.integers(1, 3), st.integers(1, 3)), seed=st.integers(0, 10**6),
       mode=st.sampled_from(["adaptive-avg", "adaptive-max"]))
def test_adaptive_pooling_of_letters_is_torchs(cli, shape, out, seed, mode):
    rng = random.Random(seed)
    nums = values("X", shape, rng)
    res = run_json(cli, "pool", "--input", f"X:{shape[0]}x{shape[1]}", "--mode", mode,
                   "--output-size", f"{out[0]},{out[1]}")
    x = tensor("X", shape, nums)[None, None]
    want = F.adaptive_avg_pool2d(x, out) if mode == "adaptive-avg" else F.adaptive_max_pool2d(x, out)
    close(res["output"], want, nums)


@SETTINGS
@given(n=st.integers(3, 8), k=st.integers(1, 3), stride=st.integers(1, 2), pad=st.integers(0, 1),
       seed=st.integers(0, 10**6))
def test_1d_conv_of_letters_is_torchs(cli, n, k, stride, pad, seed):
    rng = random.Random(seed)
    nums = values("x", (n,), rng) | values("w", (k,), rng)
    res = run_json(cli, "conv", "--dim", "1", "--input", f"x:{n}", "--kernel", f"w:{k}", "--stride", str(stride),
                   "--padding", str(pad))
    want = F.conv1d(tensor("x", (n,), nums)[None, None], tensor("w", (k,), nums)[None, None], stride=stride,
                    padding=pad)
    close(res["output"], want, nums)


def test_nan_and_inf_are_not_letters(cli):
    for text in ("a nan", "a -Inf", "b infinity"):
        r = cli("conv", "--input", text, "--kernel", "1")
        assert r.code == 2 and "not allowed" in r.err, r.err


def test_symbolic_work_past_the_limit_is_refused_up_front(cli):
    r = cli("conv", "--input", "X:32x32", "--kernel", "K:8x8")
    assert r.code == 2 and "limit" in r.err and r.err.count("\n") == 1
    r = cli("conv", "--input", "a b; c d", "--kernel", "1", "--output", "out.npy")
    assert r.code == 2 and ".npy file holds numbers" in r.err
