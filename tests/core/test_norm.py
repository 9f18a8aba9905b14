"""Normalization's core and convcalc.functional's norms against torch (forward, running stats,
autograd) on random shapes, axes and settings, and exact statistics against Python's Fraction."""

from __future__ import annotations

import itertools
import statistics
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc import functional as F
from convcalc.core import norm as core

torch = pytest.importorskip("torch")
tf = torch.nn.functional
TOL = dict(rtol=1e-9, atol=1e-9)


@st.composite
def cases(draw: st.DrawFn) -> dict:
    nd = draw(st.integers(2, 5))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd)))
    shape = (max(shape[0], 2), *shape[1:])  # training BatchNorm needs more than one value per channel
    seed = draw(st.integers(0, 2**31 - 1))
    kind = draw(st.sampled_from(["batch", "layer", "instance", "group"] if nd >= 3 else ["batch", "layer"]))
    groups = draw(st.sampled_from([g for g in range(1, shape[1] + 1) if shape[1] % g == 0]))
    trailing = draw(st.integers(1, nd - 1))
    eps = draw(st.sampled_from([1e-5, 0.1, 1.0]))
    offset = draw(st.sampled_from([0.0, 5.0, -100.0]))
    return dict(shape=shape, seed=seed, kind=kind, groups=groups, trailing=trailing, eps=eps, offset=offset)


def _arrays(c: dict, param_shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal(c["shape"]) * 3 + c["offset"]
    w = rng.standard_normal(param_shape)
    b = rng.standard_normal(param_shape)
    g = rng.standard_normal(c["shape"])
    return x, w, b, g


def _ours_and_torch(c: dict, x, w, b):
    """(ours(x, w, b), torch's(xt, wt, bt)) callables for the drawn kind."""
    shape, eps = c["shape"], c["eps"]
    if c["kind"] == "batch":
        return (lambda: F.batch_norm(x, None, None, w, b, True, 0.1, eps),
                lambda xt, wt, bt: tf.batch_norm(xt, None, None, wt, bt, True, 0.1, eps),
                lambda gg: F.batch_norm_backward(gg, x, None, None, w, b, True, 0.1, eps))
    if c["kind"] == "layer":
        ns = shape[len(shape) - c["trailing"]:]
        return (lambda: F.layer_norm(x, ns, w, b, eps), lambda xt, wt, bt: tf.layer_norm(xt, ns, wt, bt, eps),
                lambda gg: F.layer_norm_backward(gg, x, ns, w, b, eps))
    if c["kind"] == "instance":
        return (lambda: F.instance_norm(x, None, None, w, b, True, 0.1, eps),
                lambda xt, wt, bt: tf.instance_norm(xt, None, None, wt, bt, True, 0.1, eps),
                lambda gg: F.instance_norm_backward(gg, x, None, None, w, b, True, 0.1, eps))
    return (lambda: F.group_norm(x, c["groups"], w, b, eps),
            lambda xt, wt, bt: tf.group_norm(xt, c["groups"], wt, bt, eps),
            lambda gg: F.group_norm_backward(gg, x, c["groups"], w, b, eps))


def _param_shape(c: dict) -> tuple[int, ...]:
    shape = c["shape"]
    return tuple(shape[len(shape) - c["trailing"]:]) if c["kind"] == "layer" else (shape[1],)


@settings(max_examples=50, deadline=None)
@given(cases())
def test_every_kind_forward_and_backward_against_torch_autograd(c: dict) -> None:
    if c["kind"] == "instance" and np.prod(c["shape"][2:]) == 1:
        return  # torch refuses instance norm over one value per channel
    x, w, b, g = _arrays(c, _param_shape(c))
    ours, theirs, grads = _ours_and_torch(c, x, w, b)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = theirs(xt, wt, bt)
    np.testing.assert_allclose(ours(), yt.detach().numpy(), **TOL)
    yt.backward(torch.tensor(g))
    gi, gw, gb = grads(g)
    np.testing.assert_allclose(gi, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(gw, wt.grad.numpy(), **TOL)
    np.testing.assert_allclose(gb, bt.grad.numpy(), **TOL)


@settings(max_examples=40, deadline=None)
@given(cases(), st.sampled_from([0.1, 0.5, 1.0]), st.booleans())
def test_batch_norm_running_statistics_and_eval_mode_as_torch(c: dict, momentum: float, instance: bool) -> None:
    shape = c["shape"]
    if instance and (len(shape) < 3 or np.prod(shape[2:]) == 1):
        return
    rng = np.random.default_rng(c["seed"] + 1)
    x = rng.standard_normal(shape) + c["offset"]
    rm, rv = rng.standard_normal(shape[1]), rng.random(shape[1]) + 0.5
    ours_m, ours_v = rm.copy(), rv.copy()
    tm, tv = torch.tensor(rm), torch.tensor(rv)
    fn, tfn = (F.instance_norm, tf.instance_norm) if instance else (F.batch_norm, tf.batch_norm)
    y = fn(x, ours_m, ours_v, None, None, True, momentum, c["eps"])
    yt = tfn(torch.tensor(x), tm, tv, None, None, True, momentum, c["eps"])
    np.testing.assert_allclose(y, yt.numpy(), **TOL)
    np.testing.assert_allclose(ours_m, tm.numpy(), **TOL)
    np.testing.assert_allclose(ours_v, tv.numpy(), **TOL)
    # eval mode: the running statistics normalize, and the gradient treats them as constants
    w = rng.standard_normal(shape[1])
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ye = tf.batch_norm(xt, tm, tv, wt, None, False, momentum, c["eps"])
    np.testing.assert_allclose(F.batch_norm(x, ours_m, ours_v, w, None, False, momentum, c["eps"]),
                               ye.detach().numpy(), **TOL)
    g = rng.standard_normal(shape)
    ye.backward(torch.tensor(g))
    gi, gw, _ = F.batch_norm_backward(g, x, ours_m, ours_v, w, None, False, momentum, c["eps"])
    np.testing.assert_allclose(gi, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(gw, wt.grad.numpy(), **TOL)


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 5).flatmap(lambda nd: st.tuples(
    st.lists(st.integers(1, 4), min_size=nd, max_size=nd),
    st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))), st.integers(0, 2**31 - 1),
    st.sampled_from([1e-5, 0.5]))
def test_statistics_over_any_axes_against_torch_mean_var_and_autograd(shape_axes, seed: int, eps: float) -> None:
    """The §2.5 variants PyTorch has no module for (H×W statistics, C×H×W statistics) against
    torch's mean/var over those dims, and autograd through them."""
    shape, axes = tuple(shape_axes[0]), tuple(sorted(shape_axes[1]))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2 + 1
    plan = core.plan_over(shape, axes)
    w, b = rng.standard_normal(plan.param_shape), rng.standard_normal(plan.param_shape)
    mom = core.moments(x, plan)
    xt = torch.tensor(x, requires_grad=True)
    mean_t = xt.mean(dim=axes, keepdim=True)
    var_t = xt.var(dim=axes, unbiased=False, keepdim=True)
    np.testing.assert_allclose(mom.mean, mean_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(mom.var, var_t.detach().numpy(), **TOL)
    if plan.count > 1:
        np.testing.assert_allclose(mom.var_unbiased, xt.var(dim=axes, unbiased=True, keepdim=True).detach().numpy(),
                                   **TOL)
    std, _ = core.std_of(mom.var, eps)
    xhat = core.normalized(x, plan, mom.mean, std)
    y = core.affine(xhat, plan, w, b)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    yt = (xt - mean_t) / torch.sqrt(var_t + eps) * wt.reshape(plan.param_keep) + bt.reshape(plan.param_keep)
    np.testing.assert_allclose(y, yt.detach().numpy(), **TOL)
    g = rng.standard_normal(shape)
    yt.backward(torch.tensor(g))
    gr = core.backward(g, xhat, std, plan, w)
    np.testing.assert_allclose(gr.grad_input, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(gr.grad_weight, wt.grad.numpy(), **TOL)
    np.testing.assert_allclose(gr.grad_bias, bt.grad.numpy(), **TOL)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=4, max_size=4), st.integers(0, 2**31 - 1),
       st.sampled_from(["batch", "layer", "instance", "group", "over"]), st.booleans())
def test_exact_statistics_against_pythons_fractions(shape, seed: int, kind: str, fractions_in: bool) -> None:
    shape = (max(shape[0], 2), *shape[1:])
    rng = np.random.default_rng(seed)
    ints = rng.integers(-9, 10, size=shape)
    x = ints.astype(np.int64)
    if fractions_in:
        x = np.empty(shape, dtype=object)
        x.flat[:] = [Fraction(int(v), 3) for v in ints.flat]
    plan = core.plan_over(shape, (0, 2)) if kind == "over" else core.plan_kind(shape, kind, 1)
    mom = core.moments(x, plan)
    view = x.reshape(plan.view)
    kept = [i for i in range(len(plan.view)) if i not in plan.axes]
    for s in itertools.product(*(range(plan.view[i]) for i in kept)):
        idx = [slice(None)] * len(plan.view)
        for i, v in zip(kept, s, strict=True):
            idx[i] = v
        vals = [Fraction(v) for v in view[tuple(idx)].flat]
        key = tuple(0 if i in plan.axes else idx[i] for i in range(len(plan.view)))
        assert mom.mean[key] == statistics.mean(vals) and isinstance(mom.mean[key], Fraction)
        assert mom.var[key] == statistics.pvariance(vals)
        if len(vals) > 1:
            assert mom.var_unbiased[key] == statistics.variance(vals)


def test_exact_std_when_a_square_and_a_root_otherwise() -> None:
    x = np.array([[1, 3], [3, 1]])  # per feature: mean 2, variance 1
    y = F.batch_norm(x, None, None, training=True, eps=0)
    assert y.dtype == object and y.tolist() == [[-1, 1], [1, -1]]
    std, radicand = core.std_of(core.moments(x, core.plan_kind(x.shape, "batch")).var, Fraction(1, 100000))
    assert std.dtype == np.float64 and radicand.ravel().tolist() == [Fraction(100001, 100000)] * 2
    rm, rv = np.zeros(2, dtype=object), np.ones(2, dtype=object)
    F.batch_norm(x, rm, rv, training=True, momentum=0.1)
    assert rm.tolist() == [Fraction(1, 5)] * 2 and rv.tolist() == [Fraction(9, 10) + Fraction(2, 10)] * 2


def test_bad_settings_raise_convcalc_errors() -> None:
    from convcalc.errors import ConvcalcError

    x = np.ones((2, 4, 3))
    with pytest.raises(ConvcalcError, match="positive divisor"):
        F.group_norm(x, 3)
    with pytest.raises(ConvcalcError, match="trailing shape"):
        F.layer_norm(x, (4,))
    with pytest.raises(ConvcalcError, match="running_mean and running_var"):
        F.batch_norm(x, None, None, training=False)


def test_fast_float_path_with_a_zero_gamma_and_the_exact_core_agree() -> None:
    """BatchNorm's float64 path (convcalc.core.norm_fast) against torch with γ = 0 in one channel,
    and against the exact core's float path on the same numbers."""
    rng = np.random.default_rng(5)
    x, g = rng.standard_normal((4, 3, 5)) + 7, rng.standard_normal((4, 3, 5))
    w, b = np.array([0.0, 2.0, -1.5]), np.array([1.0, 0.0, 2.0])
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tf.batch_norm(xt, None, None, wt, bt, True).backward(torch.tensor(g))
    gi, gw, gb = F.batch_norm_backward(g, x, None, None, w, b, True)
    np.testing.assert_allclose(gi, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(gw, wt.grad.numpy(), **TOL)
    np.testing.assert_allclose(gb, bt.grad.numpy(), **TOL)
    plan = core.plan_kind(x.shape, "batch")
    mom = core.moments(x, plan)
    std, _ = core.std_of(mom.var, 1e-5)
    xhat = core.normalized(x, plan, mom.mean, std)
    np.testing.assert_allclose(F.batch_norm(x, None, None, w, b, True), core.affine(xhat, plan, w, b), **TOL)
    np.testing.assert_allclose(core.backward(g, xhat, std, plan, w).grad_input, gi, **TOL)


def test_float32_in_float32_out_as_torch() -> None:
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal((3, 4, 5)).astype(np.float32), rng.standard_normal((3, 4, 5)).astype(np.float32)
    y = F.group_norm(x, 2)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, tf.group_norm(torch.from_numpy(x), 2).numpy(), rtol=1e-5, atol=1e-5)
    gi, gw, gb = F.batch_norm_backward(g, x, None, None, np.ones(4, np.float32), None, True)
    assert gi.dtype == gw.dtype == np.float32 and gb is None


def test_exact_statistics_of_large_integers_do_not_overflow() -> None:
    """M·Σx² passes int64 while each sum fits (x = ±2³⁰, M = 3): Python ints, exactly."""
    big = 2**30
    x = np.array([[big, 3], [big, -7], [-big, 5]], dtype=np.int64)
    mom = core.moments(x, core.plan_kind(x.shape, "batch"))
    for f in range(2):
        vals = [Fraction(int(v)) for v in x[:, f]]
        assert mom.var[0, f] == statistics.pvariance(vals) and mom.var_unbiased[0, f] == statistics.variance(vals)
