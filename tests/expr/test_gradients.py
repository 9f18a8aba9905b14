"""Gradients against independent oracles: central differences and torch.autograd."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.errors import ConvcalcError
from convcalc.expr import backward, build, parse
from tests.expr.helpers import SHAPES, central_differences, expression, torch_eval, values

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def gradients(text: str, env: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
    graph = build(parse(text, env.keys()), env)
    back = backward(graph)
    grads = {name: back.grads[graph.node_of(name).index] for name in graph.variables}
    return float(graph.output.value.reshape(())), {n: grads.get(n, np.zeros_like(v)) for n, v in env.items()}


@_SETTINGS
@given(st.data(), st.integers(0, 2**32 - 1))
def test_matches_central_differences(data: st.DataObject, seed: int) -> None:
    shape = data.draw(st.sampled_from(list(SHAPES.values())))
    text = expression(data, shape, depth=3)
    text = text if shape == () else f"sum({text})"
    env = values(seed)
    try:
        _, grads = gradients(text, env)
    except ConvcalcError:  # e.g. a value overflowing: refused, not a wrong gradient
        return
    numeric = central_differences(text, env)
    for name in env:
        np.testing.assert_allclose(grads[name], numeric[name], rtol=1e-5, atol=1e-6, err_msg=f"{text}, ∂/∂{name}")


@_SETTINGS
@given(st.data(), st.integers(0, 2**32 - 1))
def test_matches_torch_autograd(data: st.DataObject, seed: int) -> None:
    torch = pytest.importorskip("torch")
    shape = data.draw(st.sampled_from(list(SHAPES.values())))
    text = expression(data, shape, depth=3, kinks=True)
    text = text if shape == () else f"sum({text})"
    env = values(seed)
    try:
        value, grads = gradients(text, env)
    except ConvcalcError:
        return
    tensors = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in env.items()}
    out = torch_eval(parse(text, env.keys()), tensors)
    if out.requires_grad:  # a constant expression has no graph in torch
        out.backward()
    assert value == pytest.approx(out.item(), rel=1e-12, abs=1e-12)
    for name, t in tensors.items():
        expected = np.zeros(env[name].shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(grads[name], expected, rtol=1e-10, atol=1e-12, err_msg=f"{text}, ∂/∂{name}")


@pytest.mark.parametrize("text", [
    "sum(W + u)", "sum(u * W) + mean(s * W)", "sum(W / (2 + u))", "sum((W.T @ u) * x)", "sum(x * x)",
    "norm(W) * s - sum(relu(W))", "x.T @ W.T @ u", "sum(W.T)", "mean(exp(W) - log(2 + u))",
])  # fmt: skip
def test_broadcasting_and_shared_uses_match_torch(text: str) -> None:
    torch = pytest.importorskip("torch")
    env = values(7)
    value, grads = gradients(text, env)
    tensors = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in env.items()}
    out = torch_eval(parse(text, env.keys()), tensors).sum()
    out.backward()
    assert value == pytest.approx(out.item(), rel=1e-12)
    for name, t in tensors.items():
        expected = np.zeros(env[name].shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(grads[name], expected, rtol=1e-10, atol=1e-12)


def test_vectors_of_rank_one_follow_numpy_matmul() -> None:
    torch = pytest.importorskip("torch")
    env = {"a": np.array([0.3, -0.2]), "B": np.array([[1.0, 2.0, 0.5], [-1.0, 0.25, 3.0]]), "c": np.array([1.0, -2.0, 0.5])}
    text = "a @ B @ c + sum(B @ c) * (a @ a)"
    value, grads = gradients(text, env)
    tensors = {n: torch.tensor(v, requires_grad=True) for n, v in env.items()}
    out = torch_eval(parse(text, env.keys()), tensors)
    out.backward()
    assert value == pytest.approx(out.item())
    for name, t in tensors.items():
        np.testing.assert_allclose(grads[name], t.grad.numpy(), rtol=1e-12)


def test_shape_errors_name_the_shapes() -> None:
    env = values(0)
    with pytest.raises(ConvcalcError, match=r"2×3 and 2×1 do not match for @ \(inner sizes 3 ≠ 2\)"):
        build(parse("sum(W @ u)", env.keys()), env)
    with pytest.raises(ConvcalcError, match=r"2×3 and 3×1 do not broadcast"):
        build(parse("sum(W + x)", env.keys()), env)
    with pytest.raises(ConvcalcError, match="single number"):
        backward(build(parse("W * s", env.keys()), env))


def test_non_finite_values_and_derivatives_are_refused() -> None:
    env = {"z": np.zeros((2, 1)), "n": np.array([[-1.0]])}
    with pytest.raises(ConvcalcError, match="log needs positive"):
        build(parse("sum(log(n))", env.keys()), env)
    with pytest.raises(ConvcalcError, match="derivative of norm"):
        backward(build(parse("norm(z)", env.keys()), env))
