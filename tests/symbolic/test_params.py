"""params in letters (and the depthwise-separable pair, in numbers too): whole numbers put in
for the letters, compared with torch modules' parameter counts and with the numeric command;
MACs against a count of multiply-adds taken from torch's own output shapes."""

from __future__ import annotations

import functools
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sympy = pytest.importorskip("sympy")
torch = pytest.importorskip("torch")

SLOW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run_json(*argv: str) -> dict:
    import contextlib
    import io

    from convcalc.cli import run

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = run([*argv, "--format", "json"])
    assert code in (0, 1)
    return json.loads(buf.getvalue())


@functools.cache
def read(text: str) -> object:
    return sympy.parse_expr(text, local_dict={n: sympy.Symbol(n) for n in "BCHKMNPSW"})


def at(text: str | int, **values: int) -> int:
    if isinstance(text, int):
        return text
    v = read(text).subs({sympy.Symbol(k): x for k, x in values.items()})
    assert v.is_Integer, (text, values, v)
    return int(v)


def torch_params(*modules: torch.nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


@pytest.fixture(scope="module")
def letters() -> dict[str, dict]:
    common = ("--in-channels", "C", "--out-channels", "N", "--kernel-size", "K", "--input-size", "H,W",
              "--stride", "S", "--padding", "P", "--batch", "B", "--exact-ops")
    return {
        "grouped": run_json("params", *common, "--groups", "M"),
        "grouped_no_bias": run_json("params", *common, "--groups", "M", "--no-bias"),
        "separable": run_json("params", *common, "--depthwise-separable"),
        "separable_no_bias": run_json("params", *common, "--depthwise-separable", "--no-bias"),
        "transposed": run_json("params", "--in-channels", "C", "--out-channels", "N", "--kernel-size", "K",
                               "--groups", "M", "--transposed", "--input-size", "H,W", "--stride", "S",
                               "--padding", "P", "--batch", "B"),
    }


@SLOW
@given(b=st.integers(1, 3), m=st.integers(1, 3), cm=st.integers(1, 3), nm=st.integers(1, 3), k=st.integers(1, 4),
       h=st.integers(4, 12), w=st.integers(4, 12), s=st.integers(1, 3), p=st.integers(0, 1), bias=st.booleans())
def test_grouped_conv_counts_match_torch(letters, b, m, cm, nm, k, h, w, s, p, bias) -> None:
    c, n = cm * m, nm * m  # M divides C and N, the stated condition
    conv = torch.nn.Conv2d(c, n, k, s, p, groups=m, bias=bias)
    y = conv(torch.zeros(b, c, h, w))
    got = letters["grouped" if bias else "grouped_no_bias"]
    env = dict(B=b, C=c, N=n, K=k, H=h, W=w, S=s, P=p, M=m)
    assert at(got["total"], **env) == torch_params(conv)
    assert [at(o, **env) for o in got["output_size"]] == list(y.shape[-2:])
    # a multiply-add per output value per weight it meets: the output's size × the weights of one filter
    assert at(got["macs"], **env) == y.numel() * (c // m) * k * k == at(got["multiplications"], **env)
    numeric = run_json("params", "--in-channels", str(c), "--out-channels", str(n), "--kernel-size", str(k),
                       "--groups", str(m), "--input-size", f"{h},{w}", "--stride", str(s), "--padding", str(p),
                       "--batch", str(b), "--exact-ops", *([] if bias else ["--no-bias"]))
    for key in ("total", "macs", "flops", "exact_ops", "additions"):
        assert at(got[key], **env) == numeric[key], key


@SLOW
@given(b=st.integers(1, 2), c=st.integers(1, 6), n=st.integers(1, 6), k=st.integers(1, 5), h=st.integers(5, 12),
       s=st.integers(1, 2), p=st.integers(0, 2), bias=st.booleans())
def test_depthwise_separable_pair_matches_torch(letters, b, c, n, k, h, s, p, bias) -> None:
    depthwise = torch.nn.Conv2d(c, c, k, s, p, groups=c, bias=bias)
    pointwise = torch.nn.Conv2d(c, n, 1, bias=bias)
    mid = depthwise(torch.zeros(b, c, h, h + 1))
    y = pointwise(mid)
    env = dict(B=b, C=c, N=n, K=k, H=h, W=h + 1, S=s, P=p)
    got = letters["separable" if bias else "separable_no_bias"]
    numeric = run_json("params", "--in-channels", str(c), "--out-channels", str(n), "--kernel-size", str(k),
                       "--input-size", f"{h},{h + 1}", "--stride", str(s), "--padding", str(p), "--batch", str(b),
                       "--exact-ops", "--depthwise-separable", *([] if bias else ["--no-bias"]))
    want_macs = mid.numel() * k * k + y.numel() * c
    # exact ops: each output value is a dot product of its weights (n products, n − 1 sums) plus a bias add
    want_ops = mid.numel() * (2 * k * k - 1 + bias) + y.numel() * (2 * c - 1 + bias)
    for source in (numeric, {key: at(v, **env) for key, v in got.items() if key in ("total", "macs", "exact_ops")}):
        assert source["total"] == torch_params(depthwise, pointwise)
        assert source["macs"] == want_macs
        assert source["exact_ops"] == want_ops


@SLOW
@given(b=st.integers(1, 2), m=st.integers(1, 2), cm=st.integers(1, 3), nm=st.integers(1, 3), k=st.integers(1, 4),
       h=st.integers(1, 6), s=st.integers(1, 3), p=st.integers(0, 1))
def test_transposed_counts_match_torch(letters, b, m, cm, nm, k, h, s, p) -> None:
    c, n = cm * m, nm * m
    layer = torch.nn.ConvTranspose2d(c, n, k, s, p, groups=m)
    try:
        y = layer(torch.zeros(b, c, h, h))
    except RuntimeError:
        return
    env = dict(B=b, C=c, N=n, K=k, H=h, W=h, S=s, P=p, M=m)
    got = letters["transposed"]
    assert at(got["total"], **env) == torch_params(layer)
    assert [at(o, **env) for o in got["output_size"]] == list(y.shape[-2:])
    assert at(got["macs"], **env) == b * c * h * h * (n // m) * k * k  # each input value meets each tap once


def test_the_seed_claims_and_the_separable_answer(cli) -> None:
    """CPEN455 §5.1, §5.2, §6 and CS231n's K(F²C + 1), judged by equivalence; issue 13's 2848."""
    cases = [
        (("--in-channels", "C", "--out-channels", "N", "--kernel-size", "K", "--no-bias"), "CK^2N", 0),
        (("--in-channels", "C", "--out-channels", "N", "--kernel-size", "K", "--groups", "M", "--no-bias"),
         "CK^2N/M", 0),
        (("--in-channels", "C", "--out-channels", "N", "--kernel-size", "K", "--groups", "M", "--no-bias"),
         "CK^2N/M^2", 1),
        (("--in-channels", "C", "--out-channels", "N", "--kernel-size", "K", "--depthwise-separable", "--no-bias"),
         "C(K^2 + N)", 0),
        (("--in-channels", "C", "--out-channels", "K", "--kernel-size", "F"), "K(F^2 C + 1)", 0),
        (("--in-channels", "C", "--out-channels", "N", "--kernel-size", "K", "--no-bias", "--input-size", "H,W",
          "--padding", "(K-1)/2", "--batch", "B", "--exact-ops"), "BHWN(2CK^2 - 1) ops", 0),
        (("--in-channels", "32", "--out-channels", "64", "--kernel-size", "5", "--depthwise-separable", "--no-bias"),
         "2848", 0),
    ]
    for argv, claim, code in cases:
        res = cli("params", *argv, "--answer", claim)
        assert res.code == code, (argv, claim, res.out, res.err)
    got = json.loads(cli("params", "--in-channels", "32", "--out-channels", "64", "--kernel-size", "5",
                         "--depthwise-separable", "--no-bias", "--format", "json").out)
    assert got["total"] == 2848 == torch_params(torch.nn.Conv2d(32, 32, 5, groups=32, bias=False),
                                                torch.nn.Conv2d(32, 64, 1, bias=False))
    assert got["plain_total"] == 51200 and math.prod((64, 32, 5, 5)) == 51200


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_every_format(cli, fmt: str) -> None:
    res = cli("params", "--in-channels", "C", "--out-channels", "N", "--kernel-size", "K", "--groups", "M",
              "--input-size", "H", "--padding", "P", "--format", fmt)
    assert res.code == 0, res.err
    if fmt == "latex":
        assert "·" not in res.out.split("\\paragraph", 1)[1].split("assuming")[0] or "$\\cdot$" in res.out


@pytest.mark.parametrize(("flag", "payload"), [("--in-channels", "__import__('os')"), ("--groups", "0"),
                                                ("--kernel-size", "K.real"), ("--answer", "2^2^2^99"),
                                                ("--batch", "(" * 30 + "B"), ("--out-channels", "N b")])
def test_hostile_counts_refused_in_one_line(cli, flag: str, payload: str) -> None:
    argv = {"--in-channels": "C", "--out-channels": "N", "--kernel-size": "K", flag: payload}
    res = cli("params", *(x for kv in argv.items() for x in kv))
    assert res.code == 2 and res.out == "" and res.err.count("\n") == 1 and flag in res.err
