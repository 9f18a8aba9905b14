"""The value of an :mod:`convcalc.expr.algebra` expression at given variable values (float64).

Used to check every closed form against the backward pass before it is shown: a form that
does not reproduce the numbers is left out rather than printed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import reduce

import numpy as np

from convcalc.expr.algebra import Diag, Factor, Fn, Had, MatMul, Norm, Ones, Sum, Total, Var
from convcalc.expr.graph import UNARY
from convcalc.numbers import Array

# The forward pass's own functions (graph.UNARY), plus the two derivatives forms use.
_FUNCTIONS: dict[str, Callable[[Array], Array]] = {
    **{name: UNARY[name] for name in ("exp", "log", "tanh", "sigmoid", "relu")},
    "step": lambda a: (a > 0).astype(np.float64),
    "dsigmoid": lambda a: UNARY["sigmoid"](a) * (1.0 - UNARY["sigmoid"](a)),
}


def evaluate(a: Sum, env: Mapping[str, Array]) -> Array:
    """``a`` as a (rows, cols) float64 array; ``env`` maps each variable to its value."""
    with np.errstate(all="ignore"):
        return _sum(a, {k: np.asarray(v, dtype=np.float64) for k, v in env.items()})


def _sum(a: Sum, env: Mapping[str, Array]) -> Array:
    out = np.zeros(a.shape)
    for t in a.terms:
        value = np.full(a.shape, float(t.coef))
        for f, p in t.scalars:
            value = value * _power(_factor(f, env), p)
        if t.body is not None:
            value = value * _factor(t.body, env)
        out = out + value
    return out


def _power(x: Array, p: object) -> Array:
    return np.power(x, float(p))  # type: ignore[arg-type]


def _factor(f: Factor, env: Mapping[str, Array]) -> Array:
    if isinstance(f, Sum):
        return _sum(f, env)
    if isinstance(f, Var):
        value = env[f.name].reshape(f.shape[::-1] if f.transposed else f.shape)
        return value.T if f.transposed else value
    if isinstance(f, Ones):
        return np.ones(f.shape)
    if isinstance(f, Fn):
        value = _FUNCTIONS[f.name](_sum(f.arg, env))
        return value.T if f.transposed else value
    if isinstance(f, Norm):
        return np.sqrt(np.sum(np.square(_sum(f.arg, env)))).reshape(1, 1)
    if isinstance(f, Total):
        return np.sum(_sum(f.arg, env)).reshape(1, 1)
    if isinstance(f, Diag):
        return np.diag(_sum(f.arg, env).reshape(-1))
    if isinstance(f, MatMul):
        return reduce(np.matmul, (_factor(x, env) for x in f.factors))
    if isinstance(f, Had):
        return reduce(np.multiply, (_power(_factor(x, env), p) for x, p in f.factors))
    raise AssertionError(f"unknown factor {type(f).__name__}")
