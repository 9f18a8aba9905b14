"""Random well-shaped expressions for property tests, and an independent evaluator in torch."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from convcalc.expr.graph import build
from convcalc.expr.parse import Term, parse

# The variables every random expression may use, with their shapes.
SHAPES: dict[str, tuple[int, ...]] = {"W": (2, 3), "x": (3, 1), "u": (2, 1), "s": ()}
_OF_SHAPE = {shape: name for name, shape in SHAPES.items()}
_SMOOTH = ("tanh", "sigmoid", "square", "-", "exp")


def expression(data: st.DataObject, shape: tuple[int, ...], depth: int, kinks: bool = False) -> str:
    """A random expression of ``shape`` built from the variables in SHAPES."""
    if depth == 0 or data.draw(st.integers(0, 3)) == 0:
        if shape == () and data.draw(st.booleans()):
            return repr(data.draw(st.sampled_from([0.5, 2, -1.5, 3])))
        return _OF_SHAPE[shape]
    sub = lambda s=shape: expression(data, s, depth - 1, kinks)  # noqa: E731
    choices = ["unary", "binary", "scale", "pow", "div", "log"]
    if shape == ():
        choices += ["reduce"]
    if shape == (2, 1):
        choices += ["matmul"]
    if shape == (3, 1):
        choices += ["matmul_t"]
    kind = data.draw(st.sampled_from(choices))
    if kind == "unary":
        f = data.draw(st.sampled_from((*_SMOOTH, "relu") if kinks else _SMOOTH))
        return f"-({sub()})" if f == "-" else f"{f}({sub()} * 0.5)" if f == "exp" else f"{f}({sub()})"
    if kind == "binary":
        return f"({sub()} {data.draw(st.sampled_from(['+', '-', '*']))} {sub()})"
    if kind == "scale":  # a scalar broadcast against an array
        return f"({sub(())} * {sub()})"
    if kind == "pow":
        return f"({sub()}) ** {data.draw(st.sampled_from([2, 3]))}"
    if kind == "div":  # a denominator kept away from zero
        return f"({sub()} / (1.5 + tanh({sub()})))"
    if kind == "log":
        return f"log(1 + square({sub()}))"
    if kind == "matmul":
        return f"(W @ {sub((3, 1))})"
    if kind == "matmul_t":
        return f"(W.T @ {sub((2, 1))})"
    inner = data.draw(st.sampled_from(list(SHAPES.values())))
    return f"{data.draw(st.sampled_from(['sum', 'mean', 'norm']))}({sub(inner)})"


def values(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: np.asarray(rng.uniform(-1, 1, size=shape)) for name, shape in SHAPES.items()}


def value_of(text: str, env: dict[str, np.ndarray]) -> float:
    return float(build(parse(text, env.keys()), env).output.value.reshape(()))


def central_differences(text: str, env: dict[str, np.ndarray], h: float = 1e-6) -> dict[str, np.ndarray]:
    """∂f/∂(each entry of each variable) by (f(v + h) − f(v − h)) / 2h, in float64."""
    grads = {}
    for name, value in env.items():
        g = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus, minus = value.copy(), value.copy()
            plus[idx] += h
            minus[idx] -= h
            g[idx] = (value_of(text, {**env, name: plus}) - value_of(text, {**env, name: minus})) / (2 * h)
        grads[name] = g
    return grads


def torch_eval(term: Term, tensors: dict[str, Any]) -> Any:
    """Evaluate a parsed Term with torch ops, so torch.autograd can be the oracle."""
    import torch

    args = [torch_eval(a, tensors) for a in term.args]
    binary = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
              "div": lambda a, b: a / b, "matmul": lambda a, b: a @ b}
    unary = {"neg": lambda a: -a, "T": lambda a: a.T, "sum": torch.sum, "mean": torch.mean, "relu": torch.relu,
             "sigmoid": torch.sigmoid, "tanh": torch.tanh, "exp": torch.exp, "log": torch.log,
             "square": torch.square, "norm": lambda a: torch.sqrt(torch.sum(a * a))}
    if term.op == "var":
        return tensors[term.name]
    if term.op == "const":
        return torch.tensor(term.number, dtype=torch.float64)
    if term.op == "pow":
        return args[0] ** term.number
    if term.op in binary:
        return binary[term.op](*args)
    return unary[term.op](args[0])
