"""Float results beyond the dtype's range, or undefined, are shown as PyTorch computes them.

Every command that computes in floats gives ±inf/nan where torch does (exit 0, strict JSON
with "inf"/"nan" strings) and says so in one warning; finite results get no warning.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

# Each window meets huge numbers of one sign only, so no sum depends on the order of
# summation (1e308 + 1 − 1e308 is 0 or 1 depending on it, in torch as anywhere).
BLOCKS = "1e308 1e308 1 1; 1e308 1e308 1 1; 1 1 -1e308 -1e308; 1 1 -1e308 -1e308"  # stride 2: ±inf
POSITIVE = "1e308 1e308 1e308 1e308; 1e308 1e308 1e308 1e308; 1 1 2 2; 1 1 2 2"
K = "1 1; 1 1"


def _decode(v: object) -> np.ndarray:
    return np.array(json.loads(json.dumps(v)), dtype=object).astype(float)  # "inf"/"nan" strings → floats


def _rows(text: str) -> list[list[float]]:
    return [[float(t) for t in row.split()] for row in text.split(";")]


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True), (got, want)


CASES = [
    (["conv", "--input", BLOCKS, "--kernel", K, "--stride", "2"], "output", lambda F, x, w: F.conv2d(x, w, stride=2)),
    (["dilated", "--input", POSITIVE, "--kernel", K, "--dilation", "2"], "output",
     lambda F, x, w: F.conv2d(x, w, dilation=2)),
    (["transposed-conv", "--input", POSITIVE, "--kernel", K], "output", lambda F, x, w: F.conv_transpose2d(x, w)),
    (["pool", "--input", BLOCKS, "--kernel-size", "2", "--mode", "avg"], "output",
     lambda F, x, w: F.avg_pool2d(x, 2)),
    (["pool", "--input", "-1 2 3; 4 -5 6; 7 8 9", "--kernel-size", "2", "--stride", "1", "--mode", "lp", "--p", "1.5"],
     "output", lambda F, x, w: F.lp_pool2d(x, 1.5, 2, 1)),
]


@pytest.mark.parametrize("argv,key,torch_call", CASES, ids=[" ".join(c[0][:1] + c[0][-2:]) for c in CASES])
def test_nonfinite_results_equal_torch_and_are_named(cli, argv: list[str], key: str, torch_call) -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = torch.tensor(_rows(argv[2]), dtype=torch.float64)[None, None]
    w = torch.tensor(_rows(K), dtype=torch.float64)[None, None]
    with torch.no_grad():
        want = torch_call(F, x, w)[0, 0].numpy()
    assert not np.isfinite(want).all(), "the case must overflow or be undefined in torch"

    res = cli(*argv, "--format", "json")
    assert res.code == 0, res.err
    payload = json.loads(res.out, parse_constant=lambda name: pytest.fail(f"non-standard JSON {name}"))
    _same(_decode(payload[key]), want)

    text = cli(*argv)
    assert text.code == 0, text.err
    assert "Not every number is finite" in text.out
    assert ("inf: beyond the float range" in text.out) == bool(np.isinf(want).any())
    assert ("nan: undefined" in text.out) == bool(np.isnan(want).any())


def test_backprop_conv_overflow_equals_autograd(cli) -> None:
    torch = pytest.importorskip("torch")
    x = torch.tensor(_rows(POSITIVE), dtype=torch.float64)[None, None].requires_grad_()
    w = torch.tensor(_rows(K), dtype=torch.float64)[None, None].requires_grad_()
    out = torch.nn.functional.conv2d(x, w)
    out.backward(torch.ones_like(out))
    res = cli("backprop", "conv", "--input", POSITIVE, "--kernel", K, "--format", "json")
    assert res.code == 0, res.err
    got = json.loads(res.out)
    _same(_decode(got["output"]), out[0, 0].detach().numpy())
    _same(_decode(got["grad_weight"]), w.grad[0, 0].numpy())
    _same(_decode(got["grad_input"]), x.grad[0, 0].numpy())
    assert "Not every number is finite" in cli("backprop", "conv", "--input", POSITIVE, "--kernel", K).out


def test_finite_results_get_no_warning(cli) -> None:
    res = cli("conv", "--input", "1e300 1; 1 1", "--kernel", "1 0; 0 1")
    assert res.code == 0
    assert "Not every number is finite" not in res.out


def test_a_wrong_answer_against_an_infinite_result_is_judged(cli) -> None:
    res = cli("conv", "--input", "1e308 1e308; 1 1", "--kernel", "1 1; 0 0", "--answer", "5")
    assert res.code == 1, res.err
    assert "✗" in res.out and "Traceback" not in res.err
