"""The CLI: every format, scalars, shared uses, --var mistakes, and hostile expressions."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

VARS = ("--var", "W=0.1 0.5; -0.3 0.8", "--var", "x=0.2; 0.4")

HOSTILE = [
    "__import__('os').system('touch /tmp/convcalc-pwned')", "W.__class__", "().__class__.__bases__",
    "lambda: W", "[v for v in W]", "9**9**9", "x**1000", "'text'", "W[0]", "sum(W, axis=0)", "sum(x=W)",
    "f'{W}'", "(y := W)", "exec(W)", "open(W)", "eval(W)", "W.T.__dict__", "sum(*W)", "not W", "W if x else x",
    "W < x", "True * W", "1j * W", "unknown + W", "sum", "sum(W)(x)", "(" * 10_000 + "W" + ")" * 10_000,
    "1" * 10**6, "-" * 400 + "W", "(" * 31 + "W" + ")" * 31, " + ".join(["sum(W)"] * 60), "\x00", "sum(W)\nimport os",
    "W.T.T.T" + ".T" * 40,
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_every_format(cli, fmt: str) -> None:
    r = cli("backprop", "expr", "sum(relu(W @ x - 0.23) + sigmoid(W).T @ x)", *VARS, "--format", fmt)
    assert r.code == 0, r.err
    assert r.err == ""
    if fmt == "json":
        assert set(json.loads(r.out)) >= {"command", "value", "gradients", "nodes", "settings"}


def test_scalars_and_an_input_used_twice(cli) -> None:
    r = cli("backprop", "expr", "a*b + a", "--var", "a=3", "--var", "b=-2", "--format", "json")
    data = json.loads(r.out)
    assert data["value"] == -3 and data["gradients"] == {"a": -1, "b": 3}
    text = cli("backprop", "expr", "a*b + a", "--var", "a=3", "--var", "b=-2").out
    assert "∂f/∂a = the sum of its 2 contributions = -1" in text


def test_a_one_by_one_result_is_a_number(cli) -> None:
    r = cli("backprop", "expr", "x.T @ W @ x", *VARS, "--format", "json")
    assert r.code == 0 and json.loads(r.out)["value"] == pytest.approx(0.2 * 0.22 + 0.4 * 0.26)


def test_a_vector_result_is_its_value_without_gradients(cli) -> None:
    r = cli("backprop", "expr", "W @ x", *VARS, "--format", "json")
    data = json.loads(r.out)
    assert r.code == 0 and data["gradients"] is None and np.shape(data["value"]) == (2, 1)
    assert "not a single number" in cli("backprop", "expr", "W @ x", *VARS).out


def test_unused_variable_is_noted(cli) -> None:
    r = cli("backprop", "expr", "sum(W)", *VARS)
    assert r.code == 0 and "--var x is not used" in r.out


@pytest.mark.parametrize(("argv", "message"), [
    (("sum(W @ W @ x.T)", *VARS), "2×2 and 1×2 do not match for @"),
    (("sum(W)", "--var", "W"), "NAME=MATRIX"),
    (("sum(W)", "--var", "sum=1"), "function name"),
    (("sum(W)", "--var", "W=1", "--var", "W=2"), "bound twice"),
    (("sum(W)", "--var", "W=1 2; 3"), "ragged"),
    (("sum(W)", "--var", "__class__=1"), "not a usable name"),
    (("W @ x", *VARS, "--answer", "W=1 2; 3 4"), "only its value can be claimed"),
])  # fmt: skip
def test_mistakes_exit_2_with_one_line(cli, argv: tuple[str, ...], message: str) -> None:
    r = cli("backprop", "expr", *argv)
    assert r.code == 2 and r.out == ""
    assert message in r.err and r.err.count("\n") == 1


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_expressions_are_refused_fast(cli, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    # Libraries eval their own strings (Typer reads annotations so): only the user's text is forbidden.
    def guard(real: Callable[..., Any]) -> Callable[..., Any]:
        def checked(source: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(source, str | bytes) and text.strip() and str(text.strip()[:200]) in str(source):
                raise AssertionError("user text reached eval/exec")
            return real(source, *args, **kwargs)

        return checked

    monkeypatch.setattr(builtins, "eval", guard(builtins.eval))
    monkeypatch.setattr(builtins, "exec", guard(builtins.exec))
    r = cli("backprop", "expr", text, *VARS, "--format", "json")
    assert r.code == 2, r.out
    assert r.out == "" and r.err.startswith("error: ") and r.err.count("\n") == 1
    assert "Traceback" not in r.err
    assert not Path("/tmp/convcalc-pwned").exists()


def test_output_writes_every_gradient_as_autograd_gives_it(cli, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    w = torch.tensor([[0.1, 0.5], [-0.3, 0.8]], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([[0.2], [0.4]], dtype=torch.float64, requires_grad=True)
    (torch.tanh(w @ x) ** 2).sum().backward()
    target = tmp_path / "grads.json"
    r = cli("backprop", "expr", "sum(tanh(W @ x)**2)", *VARS, "--output", str(target))
    assert r.code == 0, r.err
    saved = json.loads(target.read_text())
    assert set(saved) == {"W", "x"}
    import numpy as np

    np.testing.assert_allclose(saved["W"], w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(saved["x"], x.grad.numpy(), rtol=1e-12)


def test_output_of_one_gradient_as_npy_and_csv(cli, tmp_path: Path) -> None:
    import numpy as np

    for suffix in (".npy", ".csv"):
        target = tmp_path / f"g{suffix}"
        r = cli("backprop", "expr", "sum(W*W)", "--var", "W=1 2; 3 4", "--output", str(target))
        assert r.code == 0, r.err
        got = np.load(target) if suffix == ".npy" else np.loadtxt(target, delimiter=",")
        assert got.tolist() == [[2, 4], [6, 8]]  # ∂/∂W of Σ W² is 2W


def test_output_of_several_gradients_needs_json(cli, tmp_path: Path) -> None:
    r = cli("backprop", "expr", "sum(W @ x)", *VARS, "--output", str(tmp_path / "g.csv"))
    assert r.code == 2
    assert r.err.count("\n") == 1 and ".json" in r.err
    assert not list(tmp_path.iterdir())  # nothing half-written
