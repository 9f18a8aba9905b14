"""Seed 001 §4: f(W, x) = ‖Wx‖², its forward pass, backward pass and closed forms."""

from __future__ import annotations

import json

import numpy as np
import pytest

W = "0.1 0.5; -0.3 0.8"
X = "0.2; 0.4"
VALUE = 0.116  # q = Wx = [0.22, 0.26]; 0.22² + 0.26²
GRAD_W = [[0.088, 0.176], [0.104, 0.208]]  # 2 q xᵀ
GRAD_X = [[-0.112], [0.636]]  # 2 Wᵀ q


def test_the_expected_numbers_are_torch_s() -> None:
    torch = pytest.importorskip("torch")
    w = torch.tensor([[0.1, 0.5], [-0.3, 0.8]], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([[0.2], [0.4]], dtype=torch.float64, requires_grad=True)
    f = torch.sum((w @ x) ** 2)
    f.backward()
    assert f.item() == pytest.approx(VALUE, rel=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), GRAD_W, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), GRAD_X, rtol=1e-12)


@pytest.mark.parametrize("expression", ["sum((W @ x)**2)", "norm(W @ x)**2", "sum(square(W @ x))"])
def test_json(cli, expression: str) -> None:
    r = cli("backprop", "expr", expression, "--var", f"W={W}", "--var", f"x={X}", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["command"] == "backprop expr"
    assert data["value"] == pytest.approx(VALUE, rel=1e-12)
    np.testing.assert_allclose(data["gradients"]["W"], GRAD_W, rtol=1e-12)
    np.testing.assert_allclose(data["gradients"]["x"], GRAD_X, rtol=1e-12)
    assert {"op", "value", "grad"} <= set(data["nodes"][0])
    assert data["nodes"][-1]["grad"] == 1
    assert data["settings"]["expression"] == expression


def test_text_shows_graph_forward_backward_and_gradients(cli) -> None:
    r = cli("backprop", "expr", "sum((W @ x)**2)", "--var", f"W={W}", "--var", f"x={X}")
    assert r.code == 0 and r.err == ""
    for piece in ("Computation graph", "v1 = W @ x", "0.22", "0.26", "f = sum(v2) = 0.116", "∂v2/∂v1 = 2·v1",
                  "∂f/∂W = ∂f/∂v1 @ xᵀ", "0.088 0.176", "0.104 0.208", "∂f/∂x = Wᵀ @ ∂f/∂v1", "-0.112", "0.636"):
        assert piece in r.out, piece
    assert r.out.index("Forward pass") < r.out.index("Backward pass") < r.out.index("Gradients")


def test_markdown(cli) -> None:
    r = cli("backprop", "expr", "sum((W @ x)**2)", "--var", f"W={W}", "--var", f"x={X}", "--format", "markdown")
    assert r.code == 0
    assert r"\frac{\partial f}{\partial W} = \begin{bmatrix} 0.088 & 0.176 \\ 0.104 & 0.208 \end{bmatrix}" in r.out
    assert "| v1 | matmul |" in r.out


def test_latex_has_the_closed_forms(cli) -> None:
    r = cli("backprop", "expr", "norm(W @ x)**2", "--var", f"W={W}", "--var", f"x={X}", "--format", "latex")
    assert r.code == 0
    assert r"\nabla_{W} f = 2 W x x^{\top}" in r.out
    assert r"\nabla_{x} f = 2 W^{\top} W x" in r.out
    assert "∂" not in r.out  # LaTeX math, not Unicode: pdflatex must compile it
