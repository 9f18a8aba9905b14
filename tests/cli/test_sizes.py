"""output-size, params and receptive-field: against torch, seed 001 and seed 004 numbers."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NET7 = ["Conv2d(3,32,5,stride=2,padding=2)", "ReLU()", "Conv2d(32,32,5,stride=2,padding=2,groups=32)", "ReLU()",
        "Conv2d(32,64,1)", "ReLU()", "ConvTranspose2d(64,32,3,stride=2)", "ReLU()", "AvgPool2d(2,2)", "Flatten()",
        "LazyLinear(10)"]


def _json(cli, *argv: str) -> dict:
    res = cli(*argv, "--format", "json")
    assert res.code == 0, res.err
    return json.loads(res.out)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(i=st.integers(10, 40), k=st.integers(1, 5), s=st.integers(1, 4), p=st.integers(0, 2), d=st.integers(1, 2))
def test_conv_output_size_matches_torch(cli, i: int, k: int, s: int, p: int, d: int) -> None:
    torch = pytest.importorskip("torch")
    out = torch.nn.Conv2d(1, 1, k, s, p, d)(torch.zeros(1, 1, i, i)).shape[-1]
    got = _json(cli, "output-size", "--input-size", str(i), "--kernel-size", str(k), "--stride", str(s),
                "--padding", str(p), "--dilation", str(d))
    assert got["output_size"] == out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(i=st.integers(2, 20), k=st.integers(1, 5), s=st.integers(1, 3), d=st.integers(1, 2), data=st.data())
def test_transposed_output_size_matches_torch(cli, i: int, k: int, s: int, d: int, data) -> None:
    torch = pytest.importorskip("torch")
    p = data.draw(st.integers(0, 1 if k >= 3 else 0))
    op = data.draw(st.integers(0, max(s, d) - 1))
    m = torch.nn.ConvTranspose2d(1, 1, k, s, p, op, dilation=d)
    want = m(torch.zeros(1, 1, i, i + 1)).shape[-2:]
    got = _json(cli, "output-size", "--input-size", f"{i},{i + 1}", "--kernel-size", str(k), "--stride", str(s),
                "--padding", str(p), "--dilation", str(d), "--output-padding", str(op), "--transposed")
    assert got["output_size"] == list(want)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(i=st.integers(4, 30), k=st.integers(2, 4), s=st.integers(1, 3), ceil=st.booleans(), data=st.data())
def test_pool_output_size_matches_torch(cli, i: int, k: int, s: int, ceil: bool, data) -> None:
    torch = pytest.importorskip("torch")
    p = data.draw(st.integers(0, k // 2))
    want = torch.nn.MaxPool2d(k, s, p, ceil_mode=ceil)(torch.zeros(1, 1, i, i)).shape[-1]
    argv = ["output-size", "--input-size", str(i), "--kernel-size", str(k), "--stride", str(s), "--padding", str(p),
            "--pool"] + (["--ceil-mode"] if ceil else [])
    assert _json(cli, *argv)["output_size"] == want


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(g=st.sampled_from([1, 2, 4]), ci=st.integers(1, 3), co=st.integers(1, 3), k=st.integers(1, 5),
       bias=st.booleans(), transposed=st.booleans())
def test_params_match_torch(cli, g: int, ci: int, co: int, k: int, bias: bool, transposed: bool) -> None:
    torch = pytest.importorskip("torch")
    cls = torch.nn.ConvTranspose2d if transposed else torch.nn.Conv2d
    m = cls(ci * g, co * g, k, groups=g, bias=bias)
    argv = ["params", "--in-channels", str(ci * g), "--out-channels", str(co * g), "--kernel-size", str(k),
            "--groups", str(g)] + ([] if bias else ["--no-bias"]) + (["--transposed"] if transposed else [])
    assert _json(cli, *argv)["total"] == sum(p.numel() for p in m.parameters())


def test_solve_padding_finds_every_padding_and_torch_agrees(cli) -> None:
    torch = pytest.importorskip("torch")
    got = _json(cli, "output-size", "--input-size", "32", "--kernel-size", "5", "--solve", "padding", "--target", "32")
    assert got["solutions"] == [2]
    for p in got["solutions"]:
        assert torch.nn.Conv2d(1, 1, 5, 1, p)(torch.zeros(1, 1, 32, 32)).shape[-1] == 32


def test_solve_padding_says_none(cli) -> None:
    res = cli("output-size", "--input-size", "32", "--kernel-size", "5", "--stride", "2", "--solve", "padding",
              "--target", "16")
    assert res.code == 0
    assert "no integer padding" in res.out
    assert json.loads(cli("output-size", "--input-size", "32", "--kernel-size", "5", "--stride", "2", "--solve",
                          "padding", "--target", "16", "-f", "json").out)["solutions"] == []


def test_seed_001_numbers(cli) -> None:
    base = ["output-size", "--input-size", "32", "--kernel-size", "5"]
    assert _json(cli, *base)["output_size"] == 28
    s2 = _json(cli, *base, "--stride", "2")
    assert (s2["output_size"], s2["exact"], s2["valid"]) == (14, "29/2", False)
    assert "invalid for an exact tiling (13.5 + 1 = 14.5); PyTorch floors it to 14" in cli(*base, "--stride", "2").out
    assert _json(cli, *base, "--stride", "3")["output_size"] == 10
    assert _json(cli, *base, "--stride", "3", "--padding", "3")["output_size"] == 12
    assert _json(cli, "output-size", "--input-size", "227", "--kernel-size", "11", "--stride", "4")["output_size"] == 55
    assert _json(cli, "params", "--in-channels", "3", "--out-channels", "96", "--kernel-size", "11")["total"] == 34944
    assert _json(cli, "params", "--in-channels", "5", "--out-channels", "25", "--kernel-size", "3")["total"] == 1150
    pool = ["output-size", "--input-size", "55", "--kernel-size", "3", "--stride", "2", "--pool"]
    assert _json(cli, *pool)["output_size"] == 27
    assert cli(*pool, "--answer", "27").code == 0
    assert cli(*pool, "--answer", "26").code == 1


def _net(*extra: str) -> list[str]:
    return [a for layer in NET7 for a in ("--layer", layer)] + list(extra)


def test_seed_004_network(cli) -> None:
    got = _json(cli, "params", *_net("--input-shape", "100x3x512x512"))
    assert got["total_params"] == 5266730
    rf = _json(cli, "receptive-field", *_net("--input-shape", "100x3x512x512"))
    assert rf["layers"][-1]["global"] is True
    assert not rf["layers"][0]["global"]
    assert "sees the whole input (512×512)" in cli("receptive-field", *_net("--input-shape", "1x3x512x512")).out


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_every_format_renders(cli, fmt: str) -> None:
    for argv in (["output-size", "--input-size", "32", "--kernel-size", "5", "--stride", "2", "--solve", "padding",
                  "--target", "16"],
                 ["params", "--in-channels", "4", "--out-channels", "8", "--kernel-size", "3", "--groups", "2",
                  "--input-size", "16", "--exact-ops", "--depthwise-separable"],
                 ["params", *_net("--input-shape", "1x3x64x64")],
                 ["receptive-field", *_net("--input-shape", "1x3x64x64")]):
        res = cli(*argv, "--format", fmt)
        assert res.code == 0, res.err
        assert res.out.strip()


@pytest.mark.parametrize("layer", ["__import__('os').system('x')", "Conv2d(3,8,3", "Conv2d(3,8,k=open('x'))"])
def test_hostile_layers_exit_2_with_one_line(cli, layer: str) -> None:
    for command in ("params", "receptive-field"):
        res = cli(command, "--layer", layer, "--input-shape", "1x3x32x32")
        assert res.code == 2
        assert res.err.count("\n") == 1 and "Traceback" not in res.err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(i=st.integers(4, 40), k=st.integers(1, 6), s=st.integers(1, 4), p=st.integers(0, 3), d=st.integers(1, 2),
       transposed=st.booleans(), target=st.integers(1, 50), data=st.data())
def test_solved_root_is_the_integer_torch_confirms(cli, i: int, k: int, s: int, p: int, d: int, transposed: bool,
                                                   target: int, data: st.DataObject) -> None:
    """The equation's root (exact, from the size formula) agrees with the brute-force search,
    and every value the search finds gives ``target`` in torch."""
    from fractions import Fraction

    torch = pytest.importorskip("torch")
    unknown = data.draw(st.sampled_from(["padding", "stride", "kernel-size"]
                                        + (["output-padding"] if transposed else [])))
    op = 0
    argv = ["output-size", "--input-size", str(i), "--kernel-size", str(k), "--stride", str(s), "--padding", str(p),
            "--dilation", str(d), "--solve", unknown, "--target", str(target)] + (["--transposed"] if transposed else [])
    res = cli(*argv)
    if res.code == 2:  # e.g. the given settings already make an empty output
        assert res.err.startswith("error:")
        return
    line = next(ln for ln in res.out.splitlines() if ": solve " in ln)
    answer = line.rsplit(": ", 1)[1]
    found = _json(cli, *argv)["solutions"]
    for v in found:
        args = {"padding": p, "stride": s, "kernel-size": k, "output-padding": op, unknown: v}
        cls = torch.nn.ConvTranspose1d if transposed else torch.nn.Conv1d
        extra = {"output_padding": args["output-padding"]} if transposed else {}
        if transposed and args["output-padding"] >= max(args["stride"], d):
            continue
        m = cls(1, 1, args["kernel-size"], args["stride"], args["padding"], dilation=d, **extra)
        assert m(torch.zeros(1, 1, i)).shape[-1] == target
    lo, hi = {"padding": (0, k), "stride": (1, i), "kernel-size": (1, i + 2 * p),
              "output-padding": (0, max(s, d) - 1)}[unknown]
    if answer == "no solution":
        assert found == []
    elif answer == "any value":
        assert found == list(range(lo, hi + 1))
    else:
        root = Fraction(answer.split(" = ")[1].replace("−", "-"))
        # the exact size is monotonic in each setting, so the search finds the root or nothing
        assert found == ([int(root)] if root.denominator == 1 and lo <= root <= hi else [])
