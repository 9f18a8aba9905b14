"""backprop expr --table (f per row) and --wrt (Jacobians), against torch and brute force."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

XOR2 = ["sum(w * square(V @ x + c)) + b", "--var", "V=1 -1; 1 1", "--var", "c=0; -1", "--var", "w=1/2; -1/2",
        "--var", "b=1/2", "--table", "x=0 0; 0 1; 1 0; 1 1"]


def _json(cli, *argv):
    res = cli("backprop", "expr", *argv, "--format", "json")
    return res, (json.loads(res.out) if res.out.strip() else None)


def test_table_evaluates_every_row_by_hand(cli) -> None:
    res, data = _json(cli, *XOR2)
    assert res.code == 0, res.err
    # by hand: h = (x1 − x2)², (x1 + x2 − 1)²; f = (h1 − h2 + 1)/2
    want = [((a - b) ** 2 - (a + b - 1) ** 2 + 1) / 2 for a, b in [(0, 0), (0, 1), (1, 0), (1, 1)]]
    assert [row["f"] for row in data["table"]] == want == [0, 1, 1, 0]
    assert [row["x"] for row in data["table"]] == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_table_answer_names_the_rows_that_differ(cli) -> None:
    res, data = _json(cli, *XOR2, "--answer", "0 1 0 1")
    assert res.code == 1
    assert data["differing_rows"] == [3, 4] and data["answer_correct"] is False
    text = cli("backprop", "expr", *XOR2, "--answer", "f=0 1 1 0")
    assert text.code == 0 and "every row" in text.out
    text = cli("backprop", "expr", *XOR2, "--answer", "1 1 1 0")
    assert text.code == 1 and "differs in row 1" in text.out and "Row 1: how f comes out" in text.out


def test_table_errors_are_one_line(cli) -> None:
    res = cli("backprop", "expr", *XOR2, "--answer", "0 1 1")
    assert res.code == 2 and "3 entries for 4 rows" in res.err and "Traceback" not in res.err
    res = cli("backprop", "expr", "sum(x)", "--table", "x=1 2; 3 4", "--table", "y=1; 2; 3")
    assert res.code == 2 and "different numbers of rows" in res.err
    res = cli("backprop", "expr", "sum(x)", "--table", "x=1 2", "--var", "x=1")
    assert res.code == 2 and "both" in res.err


def test_table_relu_xor_agrees_with_torch(cli) -> None:
    torch = pytest.importorskip("torch")
    _, data = _json(cli, "sum(w * relu(V @ x + c)) + b", "--var", "V=1 1; 1 1", "--var", "c=0; -1", "--var",
                    "w=1; -2", "--var", "b=0", "--table", "x=0 0; 0 1; 1 0; 1 1")
    v = torch.tensor([[1.0, 1], [1, 1]])
    c = torch.tensor([0.0, -1])
    w = torch.tensor([1.0, -2])
    for row in data["table"]:
        x = torch.tensor(row["x"], dtype=torch.float64).float()
        assert row["f"] == pytest.approx(float(w @ torch.relu(v @ x + c)))


def _torch_jacobian(expr_fn, values, wrt):
    torch = pytest.importorskip("torch")
    tensors = {k: torch.tensor(np.asarray(v, dtype=float)) for k, v in values.items()}

    def f(y):
        return expr_fn({**tensors, wrt: y}).reshape(-1)

    return torch.autograd.functional.jacobian(f, tensors[wrt]).reshape(-1, tensors[wrt].numel()).numpy()


CASES = [
    ("sigmoid(A @ y + b)", lambda t: (t["A"] @ t["y"] + t["b"]).sigmoid(), "y"),
    ("sigmoid(A @ y + b)", lambda t: (t["A"] @ t["y"] + t["b"]).sigmoid(), "b"),
    ("tanh(W @ relu(A @ y + b))", lambda t: (t["W"] @ (t["A"] @ t["y"] + t["b"]).relu()).tanh(), "y"),
    ("y * exp(y) - 2 * y", lambda t: t["y"] * t["y"].exp() - 2 * t["y"], "y"),
    ("A @ y / 3 + sum(y**2) * b", lambda t: t["A"] @ t["y"] / 3 + (t["y"] ** 2).sum() * t["b"], "y"),
]


@pytest.mark.parametrize(("text", "fn", "wrt"), CASES)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_jacobian_matches_torch(text, fn, wrt, seed) -> None:
    from convcalc.derive.expr_jacobian import solve_jacobian

    rng = np.random.default_rng(seed)
    values = {"A": rng.normal(size=(3, 2)), "y": rng.normal(size=(2, 1)), "b": rng.normal(size=(3, 1)),
              "W": rng.normal(size=(2, 3))}
    used = {k: v for k, v in values.items() if k in text}
    sol = solve_jacobian(text, used, wrt)
    want = _torch_jacobian(fn, used, wrt)
    got = np.asarray(sol.data["jacobian"], dtype=float)
    assert got.shape == want.shape == tuple(sol.data["shape"])
    assert np.allclose(got, want, rtol=1e-9, atol=1e-12)
    if sol.data["closed_form"] is None:  # which forms exist is said here, so a lost one is noticed
        assert text.startswith("A @ y / 3")


def test_jacobian_closed_form_is_the_mathdnn_one(cli) -> None:
    argv = ["sigmoid(A @ y + b)", "--var", "A=1 2; 3 -1; 0 1", "--var", "y=0.5; -1", "--var", "b=0.1; 0.2; -0.3"]
    _, data = _json(cli, *argv, "--wrt", "y")
    assert data["closed_form"]["text"] == "∂f/∂y = diag(σ′(A y + b)) A"
    _, data = _json(cli, *argv, "--wrt", "b")
    assert data["closed_form"]["text"] == "∂f/∂b = diag(σ′(A y + b))"
    # the form, evaluated independently: diag(s(1−s)) A
    z = np.array([[1, 2], [3, -1], [0, 1]]) @ np.array([0.5, -1]) + np.array([0.1, 0.2, -0.3])
    s = 1 / (1 + np.exp(-z))
    _, data = _json(cli, *argv, "--wrt", "y")
    assert np.allclose(data["jacobian"], np.diag(s * (1 - s)) @ np.array([[1, 2], [3, -1], [0, 1]]))


def test_jacobian_exact_and_answer(cli) -> None:
    argv = ["A @ y * 2", "--var", "A=1 2; 3 4", "--var", "y=1; 1", "--wrt", "y"]
    res, data = _json(cli, *argv)
    assert data["jacobian"] == [[2, 4], [6, 8]] and data["closed_form"]["text"] == "∂f/∂y = 2 A"
    assert cli("backprop", "expr", *argv, "--answer", "2 4; 6 8").code == 0
    res = cli("backprop", "expr", *argv, "--answer", "J=2 4; 6 9")
    assert res.code == 1 and "1 of 4 entries of J differ" in res.out


def test_jacobian_bad_wrt(cli) -> None:
    res = cli("backprop", "expr", "A @ y", "--var", "A=1 2; 3 4", "--var", "y=1; 1", "--wrt", "z")
    assert res.code == 2 and "not a variable" in res.err
    res = cli("backprop", "expr", "A @ y", "--var", "A=1 2; 3 4", "--table", "y=1 1", "--wrt", "y")
    assert res.code == 2 and "do not go together" in res.err
    res = cli("backprop", "expr", "A @ y", "--var", "A=1 2; 3 4", "--var", "y=1; 1", "--wrt", "y",
              "--answer", "J=1 2; 3 4", "--answer", "f=1")
    assert res.code == 2 and "one --answer" in res.err


def test_jacobian_of_a_matrix_variable_has_numbers_but_no_form(cli) -> None:
    torch = pytest.importorskip("torch")
    w = np.array([[1.0, 2.0], [3.0, -4.0]])
    _, data = _json(cli, "tanh(W @ x)", "--var", "W=1 2; 3 -4", "--var", "x=0.5; -0.25", "--wrt", "W")
    want = torch.autograd.functional.jacobian(lambda m: torch.tanh(m @ torch.tensor([0.5, -0.25], dtype=torch.float64)),
                                              torch.tensor(w)).reshape(2, 4).numpy()
    assert np.allclose(data["jacobian"], want) and data["closed_form"] is None


def test_notation_diag_writes_the_students_form(cli) -> None:
    argv = ["sum(A2 @ sigmoid(A1 @ x + b1))", "--var", "A1=1 2; 3 -1; 0 1", "--var", "x=1; -1", "--var",
            "b1=1; 2; -3", "--var", "A2=1 2 3"]
    _, data = _json(cli, *argv, "--notation", "diag")
    assert data["closed_forms"]["gradients"]["A1"]["text"] == "∇_A1 f = diag(σ′(A1 x + b1)) A2ᵀ xᵀ"
    _, data = _json(cli, *argv)
    assert data["closed_forms"]["gradients"]["A1"]["text"] == "∇_A1 f = (A2ᵀ ⊙ σ′(A1 x + b1)) xᵀ"
