"""backprop expr --answer (claims checked against torch.autograd) and exact arithmetic for rational
expressions (checked against torch's float64 and central differences)."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.expr.parse import parse
from tests.expr.helpers import SHAPES, central_differences, expression, torch_eval, values

W, X = "0.1 0.5; -0.3 0.8", "0.2; 0.4"
SEED = ("backprop", "expr", "sum((W @ x)**2)", "--var", f"W={W}", "--var", f"x={X}")


def test_seed_001_claims_right(cli) -> None:
    r = cli(*SEED, "--answer", "f=0.116", "--answer", "W=0.088 0.176; 0.104 0.208", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["answer_correct"] is True and data["answers"] == {"f": True, "W": True}
    text = cli(*SEED, "--answer", "f=0.116", "--answer", "W=0.088 0.176; 0.104 0.208").out
    assert "✓ the value f: your 0.116 is right." in text and "∂f/∂W: every cell is right." in text


def test_seed_001_wrong_claims_exit_1_and_reworked(cli) -> None:
    """∂f/∂x is 2Wᵀq = [-0.112, 0.636] (torch: tests/expr/test_seed_001.py); a claim of [0.112, 0.636] is wrong."""
    r = cli(*SEED, "--answer", "x=0.112; 0.636", "--answer", "f=0.13")
    assert r.code == 1
    assert "✗ 0.112 (-0.112)" in r.out and "✓ 0.636" in r.out and "1 of 2 cells differ" in r.out
    assert "✗ the value f: your 0.13 is wrong: 0.116 is 0.12 rounded to 2 decimals." in r.out
    assert "How ∂f/∂x comes out: the backward steps from f down to x." in r.out
    rework = r.out.split("How ∂f/∂x comes out", 1)[1]
    assert "∂f/∂x = Wᵀ @ ∂f/∂v1" in rework and "∂f/∂v1 = ∂f/∂v2 ⊙ 2·v1" in rework
    data = json.loads(cli(*SEED, "--answer", "x=0.112; 0.636", "--format", "json").out)
    assert data["answer_correct"] is False and data["answers"] == {"x": False}


@pytest.mark.parametrize(("claim", "message"), [
    ("q=1", "neither the output nor a variable"), ("W", "NAME=MATRIX"), ("W=abc", "--answer W"),
    ("1x=2", "not a usable name"),
])  # fmt: skip
def test_bad_claims_one_line(cli, claim: str, message: str) -> None:
    r = cli(*SEED, "--answer", claim)
    assert r.code == 2 and r.err.count("\n") == 1 and message in r.err, r.err


def test_claimed_twice(cli) -> None:
    r = cli(*SEED, "--answer", "W=1 2; 3 4", "--answer", "W=1 2; 3 4")
    assert r.code == 2 and r.err.count("\n") == 1 and "claimed twice" in r.err


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data(), st.integers(0, 2**32 - 1))
def test_torch_gradients_are_accepted_and_a_changed_one_is_not(cli, data: st.DataObject, seed: int) -> None:
    torch = pytest.importorskip("torch")
    shape = data.draw(st.sampled_from(list(SHAPES.values())))
    text = expression(data, shape, depth=2)
    text = text if shape == () else f"sum({text})"
    env = values(seed)
    used = [n for n in env if re.search(rf"\b{n}\b", text)]
    tensors = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in env.items()}
    f = torch_eval(parse(text, env.keys()), tensors)
    if not f.requires_grad or not torch.isfinite(f):  # a constant expression has no gradient to claim
        return
    f.backward()
    args = ["backprop", "expr", *(a for n in used for a in ("--var", f"{n}={json.dumps(env[n].tolist())}"))]
    claims = {n: tensors[n].grad.numpy() for n in used}
    argv = [a for n, g in claims.items() for a in ("--answer", f"{n}={json.dumps(g.tolist())}")]
    r = cli(*args, *argv, "--answer", f"f={f.item()!r}", "--format", "json", "--", text)  # text may start with -
    if r.code == 2 and "not finite" in r.err:  # refused (e.g. overflow), not judged
        return
    assert r.code == 0, (text, r.err, r.out[-400:])
    assert json.loads(r.out)["answer_correct"] is True
    name = data.draw(st.sampled_from(used))
    wrong = claims[name] + 1e-3 * (1 + np.abs(claims[name]))
    r = cli(*args, "--answer", f"{name}={json.dumps(wrong.tolist())}", "--format", "json", "--", text)
    assert r.code == 1 and json.loads(r.out)["answers"] == {name: False}


EXACT = ("backprop", "expr", "sum((W @ x)**2) / 3 + mean(W.T) - 2*x.T @ x", "--var", "W=1 2; 3 1/2",
         "--var", "x=1; -2")


def _torch_exact_case(torch):
    w = torch.tensor([[1, 2], [3, 0.5]], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([[1.0], [-2]], dtype=torch.float64, requires_grad=True)
    f = torch.sum((w @ x) ** 2) / 3 + torch.mean(w.T) - 2 * x.T @ x
    f.sum().backward()
    return f.item(), w.grad.numpy(), x.grad.numpy()


def test_exact_arithmetic_against_torch(cli) -> None:
    torch = pytest.importorskip("torch")
    value, gw, gx = _torch_exact_case(torch)
    data = json.loads(cli(*EXACT, "--format", "json").out)
    assert float(Fraction(data["value_exact"])) == pytest.approx(value, rel=1e-12)
    for name, want in (("W", gw), ("x", gx)):
        exact = np.array([[Fraction(s) if s else Fraction(v) for s, v in zip(srow, vrow, strict=True)]
                          for srow, vrow in zip(data["gradients_exact"][name], data["gradients"][name], strict=True)])
        np.testing.assert_allclose(exact.astype(float), want, rtol=1e-12)
    # the /3 makes twelfths: no float holds them, the exact strings do
    assert any(s and Fraction(s).denominator == 12 for row in data["gradients_exact"]["W"] for s in row)
    assert "19/12" in cli(*EXACT).out


def test_exact_arithmetic_against_central_differences(cli) -> None:
    env = {"W": np.array([[1, 2], [3, 0.5]]), "x": np.array([[1.0], [-2]])}
    numeric = central_differences(EXACT[2], env)
    data = json.loads(cli(*EXACT, "--format", "json").out)
    for name in env:
        np.testing.assert_allclose(np.array(data["gradients"][name]), numeric[name], rtol=1e-6, atol=1e-8)


def test_exact_claims_are_compared_exactly(cli) -> None:
    data = json.loads(cli(*EXACT, "--format", "json").out)
    value = data["value_exact"]
    assert cli(*EXACT, "--answer", f"f={value}").code == 0
    close = f"{float(Fraction(value)):.7f}"  # within 1e-6 relative, but not the exact value
    assert cli(*EXACT, "--answer", f"f={close}").code == 0  # the exact value rounded: a grader's ✓
    r = cli(*EXACT, "--answer", f"f={close}", "--exact-answers")
    assert r.code == 1 and f"it is {value}" in r.out


@pytest.mark.parametrize("expr", ["sum(relu(W @ x))", "sum(W @ x) * 0.5", "sum(W @ x) ** 0.5"])
def test_not_rational_stays_float(cli, expr: str) -> None:
    r = cli("backprop", "expr", expr, "--var", "W=1 2; 3 4", "--var", "x=1; 2", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert "gradients_exact" not in data and "value_exact" not in data


def test_exact_growth_is_refused_quickly(cli) -> None:
    r = cli("backprop", "expr", "(((x**16)**16)**16)**16", "--var", "x=3/7")
    assert r.code == 2 and r.err.count("\n") == 1 and "digits" in r.err
