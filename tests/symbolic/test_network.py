"""Networks on an input in letters: shapes and MACs with numbers put in, against torch's own
modules and the numeric command; the 'every floor is exact' condition and the smallest input
against torch (a floor is exact at n exactly when the layer's output grows from n − 1 to n)."""

from __future__ import annotations

import functools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sympy = pytest.importorskip("sympy")
torch = pytest.importorskip("torch")

NET = ["Conv2d(3,8,3,stride=2,padding=1)", "ReLU()", "MaxPool2d(2)", "Conv2d(8,16,5,stride=2)",
       "BatchNorm2d(16)", "Conv2d(16,16,3,padding=1,groups=4)", "Flatten()", "LazyLinear(10)"]
MODULES = [lambda: torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.ReLU, lambda: torch.nn.MaxPool2d(2),
           lambda: torch.nn.Conv2d(8, 16, 5, stride=2), lambda: torch.nn.BatchNorm2d(16),
           lambda: torch.nn.Conv2d(16, 16, 3, padding=1, groups=4)]
@functools.cache
def built() -> list:
    return [make().eval() for make in MODULES]


SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run_json(*argv: str) -> tuple[int, dict]:
    import contextlib
    import io

    from convcalc.cli import run

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = run([*argv, "--format", "json"])
    return code, json.loads(buf.getvalue()) if buf.getvalue() else {}


@functools.cache
def read(text: str) -> object:
    return sympy.parse_expr(text, local_dict={n: sympy.Symbol(n) for n in "BHW"})


def at(v: object, **values: int) -> int:
    if isinstance(v, int):
        return v
    return int(read(v).subs({sympy.Symbol(k): x for k, x in values.items()}))


@pytest.fixture(scope="module")
def net() -> dict:
    argv = [a for layer in NET for a in ("--layer", layer)]
    code, got = run_json("params", *argv, "--input-shape", "Bx3xHxW")
    assert code == 0
    return got


@SLOW
@given(b=st.integers(1, 3), h=st.integers(20, 80), w=st.integers(20, 80))
def test_shapes_and_macs_match_torch_and_the_numeric_command(net, b: int, h: int, w: int) -> None:
    x = torch.zeros(b, 3, h, w)
    shapes = []
    for make in MODULES:
        x = make().eval()(x)
        shapes.append(list(x.shape))
    for row, want in zip(net["layers"], shapes, strict=False):
        assert [at(n, B=b, H=h, W=w) for n in row["output_shape"]] == want
    argv = [a for layer in NET for a in ("--layer", layer)]
    code, numeric = run_json("params", *argv, "--input-shape", f"{b}x3x{h}x{w}")
    assert code == 0
    assert at(net["total_macs"], B=b, H=h, W=w) == numeric["total_macs"]
    assert at(net["total_params"], B=b, H=h, W=w) == numeric["total_params"]
    for row, num in zip(net["layers"], numeric["layers"], strict=True):
        assert at(row["macs"], B=b, H=h, W=w) == num["macs"]


def floors_exact(n: int) -> bool:
    """Every windowed layer's floor exact at input n (one axis), judged by torch alone."""
    x = torch.zeros(1, 3, n, 40)
    for layer in built():
        y = layer(x)
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.MaxPool2d)) and (
                getattr(layer, "stride", (1,)) not in ((1, 1), 1)):
            try:
                smaller = layer(torch.zeros(1, x.shape[1], x.shape[2] - 1, x.shape[3]))
            except RuntimeError:
                smaller = torch.zeros(1, 1, 0, 1)
            if smaller.shape[2] == y.shape[2]:  # the size did not grow at n: pixels were dropped
                return False
        x = y
    return True


def test_smallest_input_and_the_condition_match_torch(net) -> None:
    small = net["smallest_input"]["H"]
    exact = [n for n in range(8, 64) if _runs(n) and floors_exact(n)]
    assert exact and exact[0] == small
    (cond,) = [c for c in net["exact_when_simple"] if "H" in c]
    assert [n for n in range(8, 64) if _runs(n) and bool(read(cond).subs(sympy.Symbol("H"), n))] == exact


def _runs(n: int) -> bool:
    try:
        x = torch.zeros(1, 3, n, 40)
        for layer in built():
            x = layer(x)
        return True
    except RuntimeError:
        return False


def test_receptive_field_in_letters_matches_the_numeric_command(cli) -> None:
    argv = [a for layer in NET[:4] for a in ("--layer", layer)]
    code, sym = run_json("receptive-field", *argv, "--input-shape", "1x3xHxW")
    assert code == 0 and sym["symbolic"] is True
    code, num = run_json("receptive-field", *argv, "--input-shape", "1x3x97x97")
    for s, n in zip(sym["layers"], num["layers"], strict=True):
        assert (s["receptive_field"], s["jump"], s["start"]) == (n["receptive_field"], n["jump"], n["start"])
        assert [at(x, H=97, W=97) for x in s["output_shape"]] == n["output_shape"]
    res = cli("receptive-field", *argv, "--input-shape", "1x3xHxW", "--format", "latex")
    assert res.code == 0 and r"\lfloor" in res.out


@pytest.mark.parametrize("shape", ["Bx3xH.__class__xW", "Bx3x2^2^2^99xW", "BxCxHxW", "Bx3x" + "(" * 40 + "H"])
def test_hostile_or_wrong_shapes_refused_in_one_line(cli, shape: str) -> None:
    res = cli("params", "--layer", "Conv2d(3,8,3)", "--input-shape", shape)
    assert res.code == 2 and res.err.count("\n") == 1 and "Traceback" not in res.err
