"""Answers judged as a grader does (issue 14 §1): a decimal is right when it is the true value
rounded or truncated to the decimals written; fractions and integers exactly; --tolerance,
--exact-answers and a problem's ``tolerance`` override. Oracles: Python's ``decimal`` module
(quantize with ROUND_HALF_UP / ROUND_DOWN) for rounding, torch for gradients."""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.derive import grading
from convcalc.numbers import Written
from tests.cli.clirunner import invoke

POOL = ("pool", "-i", "1 2 0; 0 0 1; 1 1 1", "--mode", "avg", "-k", "3")  # 7/9
EXPR = ("backprop", "expr", "sum(W @ x) / 3", "--var", "W=1 2; 3 4", "--var", "x=1; 2")  # f = 16/3


def _decimal(value: Fraction, d: int, mode: str) -> str:
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return str(exact.quantize(Decimal(1).scaleb(-d), rounding=mode))


@settings(max_examples=60, deadline=None)
@given(st.fractions(min_value=-50, max_value=50, max_denominator=997), st.integers(1, 6))
def test_rounded_and_truncated_decimals_are_right_and_a_neighbour_is_wrong(value: Fraction, d: int) -> None:
    right = {_decimal(value, d, m) for m in (ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN)}
    for text in right:
        assert grading.grade(Written(text), value).ok, (text, value)
    step = Fraction(1, 10**d)
    for text in right:
        for off in (-2 * step, 2 * step):
            other = Fraction(text) + off
            if all(abs(other - Fraction(r)) >= step for r in right) and abs(other - value) > step:
                assert not grading.grade(Written(_decimal(other, d, ROUND_HALF_UP)), value).ok


@pytest.mark.parametrize(("claim", "code", "says"), [
    ("0.7778", 0, "✓ 0.7778 (7/9 rounded to 4 decimals)"),
    ("0.7777", 0, "✓ 0.7777 (7/9 truncated to 4 decimals)"),
    ("0.7776", 1, "✗ 0.7776 (7/9 is 0.7778 rounded to 4 decimals)"),
    ("7/9", 0, "✓ 7/9"),
    ("7/10", 1, "✗ 7/10 (7/9)"),
])
def test_pool_average_judged_as_written(claim: str, code: int, says: str) -> None:
    r = invoke(*POOL, "--answer", claim)
    assert r.exit_code == code and says in r.stdout
    assert "3889/5000" not in r.stdout  # the student's decimal is never shown back as a fraction


def test_expr_value_rounded_is_right_and_said_so() -> None:
    r = invoke(*EXPR, "--answer", "f=5.333333")
    assert r.exit_code == 0 and "your 5.333333 is right (16/3 rounded to 6 decimals)" in r.stdout
    r = invoke(*EXPR, "--answer", "f=5.3334")
    assert r.exit_code == 1 and "16/3 is 5.3333 rounded to 4 decimals" in r.stdout


def test_tolerance_and_exact_answers_override() -> None:
    assert invoke(*POOL, "--answer", "0.78", "--exact-answers").exit_code == 1
    assert invoke(*POOL, "--answer", "0.7", "--tolerance", "0.1").exit_code == 0  # relative 10%
    r = invoke(*POOL, "--answer", "0.77", "--tolerance", "abs:0.01")
    assert r.exit_code == 0 and "7/9 within absolute 0.01" in r.stdout
    assert invoke(*POOL, "--answer", "0.77", "--tolerance", "abs:0.001").exit_code == 1
    bad = invoke(*POOL, "--answer", "0.7", "--tolerance", "loose")
    assert bad.exit_code == 2 and "--tolerance" in bad.stderr and "Traceback" not in bad.stderr


def test_sigmoid_gradients_to_four_decimals_every_cell_right() -> None:
    torch = pytest.importorskip("torch")
    W = torch.tensor([[0.1, 0.5], [-0.3, 0.8]], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([[0.2], [0.4]], dtype=torch.float64)
    torch.sigmoid(W @ x).sum().backward()
    rounded = "; ".join(" ".join(f"{v:.4f}" for v in row) for row in W.grad.tolist())
    r = invoke("backprop", "expr", "sum(sigmoid(W @ x))", "--var", "W=0.1 0.5; -0.3 0.8", "--var", "x=0.2; 0.4",
               "--answer", f"W={rounded}")
    assert r.exit_code == 0, r.stdout
    assert "rounded to 4 decimals" in r.stdout


def test_backprop_conv_answer_judges_what_wrt_names() -> None:
    torch = pytest.importorskip("torch")
    x = torch.tensor([[[1.0, 2, 3, 4]]], requires_grad=True)
    w = torch.tensor([[[1.0, -1]]], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    torch.nn.functional.conv1d(x, w, b).sum().backward()
    kernel = " ".join(str(int(v)) for v in w.grad.flatten().tolist())  # 6 9
    base = ("backprop", "conv", "--input", "1 2 3 4", "--kernel", "1 -1", "--dim", "1")
    assert invoke(*base, "--wrt", "kernel", "--answer", kernel).exit_code == 0
    wrong = invoke(*base, "--wrt", "kernel", "--answer", "6 8")
    assert wrong.exit_code == 1 and "✗ 8 (9)" in wrong.stdout
    assert invoke(*base, "--wrt", "bias", "--answer", str(int(b.grad[0]))).exit_code == 0
    assert invoke(*base, "--wrt", "bias", "--answer", "4").exit_code == 1


def test_float_gradient_written_as_decimals_or_as_printed() -> None:
    base = ("backprop", "conv", "--input", "1 1", "--kernel", "3", "--dim", "1", "--grad-output", "0.1 0.2")
    assert invoke(*base, "--answer", "0.3 0.6").exit_code == 0
    assert invoke(*base, "--answer", "0.30000000000000004 0.6000000000000001").exit_code == 0
    assert invoke(*base, "--answer", "0.3 0.7").exit_code == 1


@pytest.mark.parametrize(("claim", "code"), [
    ("61099493", 0), ("61,099,493", 0), ("61_099_493 params", 0), ("61.1M params", 0), ("61.2M", 1),
    ("61100840", 1), ("61.099 M", 0),
])
def test_params_answer_forms(claim: str, code: int) -> None:
    assert 9216 * 6629 + 6629 == 61_099_493  # weights and biases of Linear(9216, 6629), counted by hand
    r = invoke("params", "--layer", "Linear(9216, 6629)", "--input-shape", "1x9216", "--answer", claim)
    assert r.exit_code == code, (claim, r.stdout, r.stderr)


def test_params_answer_macs_and_flops_with_prefixes() -> None:
    conv = ("params", "--in-channels", "3", "--out-channels", "64", "--kernel-size", "3", "--input-size", "224")
    data = json.loads(invoke(*conv, "--format", "json").stdout)
    macs, flops = data["macs"], data["flops"]
    assert invoke(*conv, "--answer", f"{macs} MACs").exit_code == 0
    assert invoke(*conv, "--answer", f"{macs:,} MACs").exit_code == 0
    assert invoke(*conv, "--answer", f"{round(macs / 1e6)} MMACs").exit_code == 0
    assert invoke(*conv, "--answer", f"{flops / 1e9:.1f} GFLOPs").exit_code == 0
    assert invoke(*conv, "--answer", f"{flops / 1e9 + 0.2:.1f} GFLOPs").exit_code == 1
    bad = invoke(*conv, "--answer", "lots")
    assert bad.exit_code == 2 and "714 MMACs" in bad.stderr


def test_overflow_takes_the_exact_sign_and_names_the_order() -> None:
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.conv1d(torch.tensor([[[1e308, -1e308]]], dtype=torch.float64),
                                      torch.tensor([[[2.0, 5.0]]], dtype=torch.float64))
    r = invoke("conv", "--input", "1e308 -1e308", "--kernel", "2 5", "--dim", "1", "--format", "json")
    data = json.loads(r.stdout)
    assert data["output"] == ["-inf"]  # the exact sum 2e308 − 5e308 = −3e308 is beyond float64
    assert data["order_dependent_cells"] == [[1]]
    assert torch.isnan(want).all()  # torch rounds the products first: inf − inf
    text = " ".join(invoke("conv", "--input", "1e308 -1e308", "--kernel", "2 5", "--dim", "1").stdout.split())
    assert "PyTorch rounds each product before adding, so 2·1e+308 = inf and 5·(-1e+308) = −inf, and it gives " \
        "inf − inf = nan" in text


def test_check_says_the_claim_and_your_answer(tmp_path) -> None:
    bank = tmp_path / "p.toml"
    bank.write_text('[[problem]]\nid = "c"\ncommand = "pool"\ninput = "1 2 0; 0 0 1; 1 1 1"\nmode = "avg"\n'
                    'kernel_size = 3\nclaimed = "0.6"\n\n'
                    '[[problem]]\nid = "a"\ncommand = "pool"\ninput = "1 2 0; 0 0 1; 1 1 1"\nmode = "avg"\n'
                    'kernel_size = 3\nanswer = "0.6"\n\n'
                    '[[problem]]\nid = "t"\ncommand = "pool"\ninput = "1 2 0; 0 0 1; 1 1 1"\nmode = "avg"\n'
                    'kernel_size = 3\nanswer = "0.7"\ntolerance = 0.2\n\n'
                    '[[problem]]\nid = "r"\ncommand = "pool"\ninput = "1 2 0; 0 0 1; 1 1 1"\nmode = "avg"\n'
                    'kernel_size = 3\nanswer = "0.78"\n')
    r = invoke("check", str(bank))
    assert r.exit_code == 1
    claim, answer = r.stdout.split("c: the claim DIFFERS")[1].split("a: the claim DIFFERS")[0], \
        r.stdout.split("a: the claim DIFFERS")[1]
    assert "Checking the claim" in claim and "your answer" not in claim
    assert "Checking your answer" in answer
    data = json.loads(invoke("check", str(bank), "--format", "json").stdout)
    assert [p["verdict"] for p in data["problems"]] == ["differs", "differs", "agrees", "agrees"]


def test_check_works_each_wrong_cell_once(tmp_path) -> None:
    bank = tmp_path / "p.toml"
    bank.write_text('[[problem]]\nid = "w"\ncommand = "conv"\ninput = "1 2 3; 4 5 6; 7 8 9"\nkernel = "1 0; 0 1"\n'
                    'claimed = "6 8; 12 15"\n')
    out = invoke("check", str(bank)).stdout
    assert out.count("C[2,2]  window") == 1 and "C[1,2]  window" not in out  # 14 claimed as 15: worked once
