"""``torch.nn.functional``'s normalizations on NumPy arrays, and their gradients.

Re-exported by :mod:`convcalc.functional`. Same names, signatures and meaning as PyTorch:
``batch_norm`` in training updates ``running_mean``/``running_var`` in place (with the
unbiased variance) and normalizes with the batch's biased variance; out of training it
uses the running statistics. Integer and Fraction inputs keep the statistics exact; a
float ``eps``/``momentum`` is read as the decimal it prints as (1e-05 is 1/100000) there.
Each ``*_backward`` returns (grad_input, grad_weight, grad_bias) as torch.autograd gives
them: None for a weight or bias that was not given.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, TypeVar

import numpy as np

from convcalc.core import norm as core
from convcalc.core import norm_fast
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array, Scalar

F = TypeVar("F", bound=Callable[..., Any])


def _keeps_float32(fn: F) -> F:
    """float32 in, float32 out, as in PyTorch (the work itself is done in float64)."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        if np.asarray(sig.bind(*args, **kwargs).arguments["input"]).dtype != np.float32:
            return out

        def cast(a: Any) -> Any:
            return a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float64 else a

        return tuple(cast(a) for a in out) if isinstance(out, tuple) else cast(out)

    return wrapper  # type: ignore[return-value]


def _exactly(v: Scalar, x: Array) -> Scalar:
    """A float setting as the decimal it prints as, when the input is exact."""
    return Fraction(repr(v)) if isinstance(v, float) and core.exact(x) else v


def _forward(x: Array, plan: core.NormPlan, weight: Array | None, bias: Array | None, eps: Scalar,
             stats: tuple[Array, Array] | None = None) -> tuple[Array, Array, Array, core.Moments | None]:
    """(y, x̂, σ, moments): batch statistics, or ``stats`` = (mean, var) in ``stats_keep`` shape."""
    mom = None
    if stats is None:
        mom = core.moments(x, plan)
        mean, var = mom.mean, mom.var
    else:
        mean, var = stats
    std, _ = core.std_of(var, _exactly(eps, x))
    xhat = core.normalized(x, plan, mean, std)
    w = None if weight is None else np.asarray(weight)
    b = None if bias is None else np.asarray(bias)
    return core.affine(xhat, plan, w, b), xhat, std, mom


def _update(running: Array | None, stat: Array | None, plan: core.NormPlan, momentum: Scalar, x: Array,
            name: str) -> None:
    if running is None or stat is None:
        return
    new = core.running_update(np.asarray(running), core.batch_mean(stat, plan), _exactly(momentum, x))
    if not isinstance(running, np.ndarray) or running.shape != plan.running_shape:
        raise ConvcalcError(f"{name} must be an array of shape {plan.running_shape}")
    if running.dtype.kind in "iub":
        raise ConvcalcError(f"{name} is an integer array; it cannot hold the updated average in place")
    running[...] = new if running.dtype == object else np.asarray(new, dtype=np.float64)


def _running(running_mean: Array | None, running_var: Array | None, plan: core.NormPlan) -> tuple[Array, Array]:
    if running_mean is None or running_var is None:
        raise ConvcalcError("running_mean and running_var are needed when the batch's statistics are not used")
    return (core.running_as_stats(np.asarray(running_mean), plan), core.running_as_stats(np.asarray(running_var), plan))


@_keeps_float32
def batch_norm(input: Array, running_mean: Array | None, running_var: Array | None, weight: Array | None = None,
               bias: Array | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-05) -> Array:
    """``torch.nn.functional.batch_norm``: (N, C, *S) or (N, C), one mean and variance per C."""
    x = np.asarray(input)
    plan = core.plan_kind(x.shape, "batch")
    fast = _fast(x, plan, weight, bias, running_mean, running_var)
    if not training:
        stats = _running(running_mean, running_var, plan)
        if fast:
            return norm_fast.forward(x, plan, weight, bias, float(eps), stats)[0]
        return _forward(x, plan, weight, bias, eps, stats)[0]
    if fast:
        y, mean, var, unbiased, _ = norm_fast.forward(x, plan, weight, bias, float(eps))
        mom = core.Moments(mean, var, unbiased, var)
    else:
        y, _, _, mom = _forward(x, plan, weight, bias, eps)
    assert mom is not None
    if running_mean is not None or running_var is not None:
        if mom.var_unbiased is None:
            raise ConvcalcError(f"expected more than 1 value per channel when training, got input size {x.shape}")
        _update(running_mean, mom.mean, plan, momentum, x, "running_mean")
        _update(running_var, mom.var_unbiased, plan, momentum, x, "running_var")
    return y


def _fast(x: Array, plan: core.NormPlan, *arrays: Array | None) -> bool:
    return norm_fast.fits(x, plan, *(None if a is None else np.asarray(a) for a in arrays))


@_keeps_float32
def layer_norm(input: Array, normalized_shape: Sequence[int] | int, weight: Array | None = None,
               bias: Array | None = None, eps: float = 1e-05) -> Array:
    """``torch.nn.functional.layer_norm``: statistics over the trailing ``normalized_shape``."""
    x = np.asarray(input)
    return _forward(x, _layer_plan(x, normalized_shape), weight, bias, eps)[0]


def _layer_plan(x: Array, normalized_shape: Sequence[int] | int) -> core.NormPlan:
    ns = (int(normalized_shape),) if isinstance(normalized_shape, int | np.integer) else tuple(normalized_shape)
    if not ns or len(ns) > x.ndim or tuple(x.shape[x.ndim - len(ns):]) != ns:
        raise ConvcalcError(f"normalized_shape {ns} is not the input's trailing shape {x.shape}")
    axes = tuple(range(x.ndim - len(ns), x.ndim))
    return core.NormPlan("layer", x.shape, x.shape, axes, axes)


@_keeps_float32
def instance_norm(input: Array, running_mean: Array | None = None, running_var: Array | None = None,
                  weight: Array | None = None, bias: Array | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-05) -> Array:
    """``torch.nn.functional.instance_norm``: one mean and variance per (N, C), over *S; the
    running statistics (per C) are updated with the batch's average of them."""
    x = np.asarray(input)
    plan = core.plan_kind(x.shape, "instance")
    if not use_input_stats:
        return _forward(x, plan, weight, bias, eps, _running(running_mean, running_var, plan))[0]
    y, _, _, mom = _forward(x, plan, weight, bias, eps)
    assert mom is not None
    _update(running_mean, mom.mean, plan, momentum, x, "running_mean")
    _update(running_var, mom.var_unbiased, plan, momentum, x, "running_var")
    return y


@_keeps_float32
def group_norm(input: Array, num_groups: int, weight: Array | None = None, bias: Array | None = None,
               eps: float = 1e-05) -> Array:
    """``torch.nn.functional.group_norm``: C split into ``num_groups``; one mean and variance per
    (N, group), over the group's channels and *S."""
    x = np.asarray(input)
    return _forward(x, core.plan_kind(x.shape, "group", num_groups), weight, bias, eps)[0]


def _grads(grad_output: Array, x: Array, plan: core.NormPlan, weight: Array | None, bias: Array | None,
           eps: Scalar, stats: tuple[Array, Array] | None) -> tuple[Array, Array | None, Array | None]:
    _, xhat, std, _ = _forward(x, plan, weight, bias, eps, stats)
    g = np.asarray(grad_output)
    if g.shape != x.shape:
        raise ConvcalcError(f"grad_output has shape {g.shape}; the output has shape {x.shape}")
    gr = core.backward(g, xhat, std, plan, None if weight is None else np.asarray(weight), stats is None)
    return gr.grad_input, None if weight is None else gr.grad_weight, None if bias is None else gr.grad_bias


@_keeps_float32
def batch_norm_backward(grad_output: Array, input: Array, running_mean: Array | None, running_var: Array | None,
                        weight: Array | None = None, bias: Array | None = None, training: bool = False,
                        momentum: float = 0.1, eps: float = 1e-05) -> tuple[Array, Array | None, Array | None]:
    """Gradients of :func:`batch_norm` (the running statistics are not updated here)."""
    x = np.asarray(input)
    plan = core.plan_kind(x.shape, "batch")
    stats = None if training else _running(running_mean, running_var, plan)
    g = np.asarray(grad_output)
    if _fast(x, plan, weight, bias, running_mean, running_var) and g.shape == x.shape:
        gi, gw, gb = norm_fast.backward(g, x, plan, None if weight is None else np.asarray(weight), float(eps), stats)
        return gi, None if weight is None else gw, None if bias is None else gb
    return _grads(grad_output, x, plan, weight, bias, eps, stats)


@_keeps_float32
def layer_norm_backward(grad_output: Array, input: Array, normalized_shape: Sequence[int] | int,
                        weight: Array | None = None, bias: Array | None = None,
                        eps: float = 1e-05) -> tuple[Array, Array | None, Array | None]:
    """Gradients of :func:`layer_norm`."""
    x = np.asarray(input)
    return _grads(grad_output, x, _layer_plan(x, normalized_shape), weight, bias, eps, None)


@_keeps_float32
def instance_norm_backward(grad_output: Array, input: Array, running_mean: Array | None = None,
                           running_var: Array | None = None, weight: Array | None = None,
                           bias: Array | None = None, use_input_stats: bool = True, momentum: float = 0.1,
                           eps: float = 1e-05) -> tuple[Array, Array | None, Array | None]:
    """Gradients of :func:`instance_norm`."""
    x = np.asarray(input)
    plan = core.plan_kind(x.shape, "instance")
    stats = None if use_input_stats else _running(running_mean, running_var, plan)
    return _grads(grad_output, x, plan, weight, bias, eps, stats)


@_keeps_float32
def group_norm_backward(grad_output: Array, input: Array, num_groups: int, weight: Array | None = None,
                        bias: Array | None = None, eps: float = 1e-05) -> tuple[Array, Array | None, Array | None]:
    """Gradients of :func:`group_norm`."""
    x = np.asarray(input)
    return _grads(grad_output, x, core.plan_kind(x.shape, "group", num_groups), weight, bias, eps, None)
