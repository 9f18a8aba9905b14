"""The usual slips of normalization homework, each as a recomputation (see norm_answer)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from convcalc.core import norm as core
from convcalc.derive.norm_answer import Slip, axis_sets
from convcalc.derive.norm_symbols import Notation
from convcalc.numbers import Array, Kind, Scalar, as_kind


def _fit(a: Array | None, plan: core.NormPlan) -> tuple[Array | None, bool]:
    if a is None:
        return None, True
    return (a.reshape(plan.param_shape), True) if a.size == math.prod(plan.param_shape) else (None, False)


def forward_values(p: Any, plan: core.NormPlan | None = None, eps: Scalar | None = None, unbiased: bool = False,
                   swap: bool = False, stats: tuple[Array, Array] | None = None) -> dict[str, Array | None]:
    """mean, var, std, normalized and output of training-mode normalization with a slip."""
    pl = plan or p.plan
    e = p.eps if eps is None else eps
    if not core.exact(p.x):
        e = float(e)
    if stats is None:
        mom = core.moments(p.x, pl)
        mean = mom.mean
        var = mom.var_unbiased if unbiased else mom.var
        if var is None:
            return {}
    else:
        mean, var = stats
    std, _ = core.std_of(var, e)
    xhat = core.normalized(p.x, pl, mean, std)
    wgt, b = (p.bias, p.weight) if swap else (p.weight, p.bias)
    (wf, ok1), (bf, ok2) = _fit(wgt, pl), _fit(b, pl)
    y = core.affine(xhat, pl, wf, bf) if ok1 and ok2 else None
    shape = pl.stats_shape if stats is None else p.plan.stats_shape
    out: dict[str, Array | None] = {"mean": np.asarray(mean).reshape(shape), "var": np.asarray(var).reshape(shape),
                                    "std": np.asarray(std).reshape(shape), "normalized": xhat, "output": y}
    if stats is None and not unbiased:
        out["var_unbiased"] = None if mom.var_unbiased is None else mom.var_unbiased.reshape(shape)
    return out


def forward_slips(p: Any, w: Any) -> list[Slip]:
    zero = 0 if core.exact(p.x) else 0.0
    stats = None if p.training else (w.mean, w.var)
    out: list[Slip] = [("ε left out (√σ² instead of √(σ² + ε))", lambda: forward_values(p, eps=zero, stats=stats))]
    if p.weight is not None or p.bias is not None:
        out.append(("γ and β swapped (γ is the scale, β the shift)",
                    lambda: forward_values(p, swap=True, stats=stats)))
    if p.training:
        out += [("the unbiased variance (÷(M−1)); the normalization uses the biased one (÷M)",
                 lambda: forward_values(p, unbiased=True)),
                ("the unbiased variance and ε left out", lambda: forward_values(p, eps=zero, unbiased=True)),
                ("the biased variance (÷M); the unbiased one divides by M−1",
                 lambda: {"var_unbiased": forward_values(p)["var"]})]
        out += _axis_slips(p)
        if w.running_mean is not None:
            out += _running_slips(p, w)
    else:
        out.append(("the batch's own statistics (training mode) instead of the running ones (eval mode)",
                    lambda: forward_values(p)))
    return out


def _axis_slips(p: Any) -> list[Slip]:
    names = Notation(p.plan, p.names)
    here = names.over_text()
    out: list[Slip] = []
    for axes in axis_sets(len(p.plan.shape), p.plan.axes if p.plan.kind != "group" else ()):
        plan = core.plan_over(p.plan.shape, axes)
        there = ",".join(p.names[a] for a in axes)
        out.append((f"the statistics over {there} instead of over {here} (the wrong axes)",
                    lambda plan=plan: forward_values(p, plan=plan)))
    return out


def _running_slips(p: Any, w: Any) -> list[Slip]:
    from convcalc.derive.norm import running_inputs

    rm0, rv0 = running_inputs(p)
    mom, plan, m = w.mom, p.plan, p.momentum

    def swapped() -> Mapping[str, Array | None]:
        one_minus = 1 - m
        return {"running_mean": core.running_update(rm0, core.batch_mean(mom.mean, plan), one_minus),
                "running_var": core.running_update(rv0, core.batch_mean(mom.var_unbiased, plan), one_minus)}

    return [("the biased variance σ² in the running update (PyTorch's running_var takes the unbiased s²)",
             lambda: {"running_var": core.running_update(rv0, core.batch_mean(mom.var, plan), m)}),
            ("the momentum on the wrong side (PyTorch: new = (1 − m)·old + m·batch)", swapped)]


def backward_slips(p: Any, w: Any, dy: Array) -> list[Slip]:
    """Slips of ∂L/∂x, ∂L/∂γ, ∂L/∂β: a term left out, γ left out, x for x̂, γ/β swapped, the variance."""
    plan = p.plan
    weight = None if p.weight is None else p.weight.reshape(plan.param_shape)
    g = core.backward(dy, w.xhat, w.std, plan, weight, p.training)

    def terms(keep_mean: bool, keep_proj: bool) -> Mapping[str, Array | None]:
        if g.term_mean is None or g.term_proj is None:
            return {}
        kind = Kind.FLOAT if not core.exact(g.grad_input) else Kind.RATIONAL
        gx = as_kind(g.grad_xhat, kind)
        if keep_mean:
            gx = gx - as_kind(g.term_mean, kind)
        if keep_proj:
            gx = gx - as_kind(g.term_proj, kind)
        sd = as_kind(np.asarray(w.std), kind)
        return {"grad_input": (gx.reshape(plan.view) / sd).reshape(plan.shape)}

    stats = None if p.training else (w.mean, w.var)

    def other(**kw: Any) -> Mapping[str, Array | None]:
        f = forward_values(p, stats=stats, **kw)
        gr = core.backward(dy, f["normalized"], np.asarray(f["std"]).reshape(plan.stats_keep), plan, weight,
                           p.training)
        return {"grad_input": gr.grad_input, "grad_weight": gr.grad_weight}

    zero = 0 if core.exact(p.x) else 0.0
    xs = p.x
    return [
        ("only the first term ∂L/∂x̂ / σ (μ and σ treated as constants)", lambda: terms(False, False)),
        ("the third term (through the variance) left out", lambda: terms(True, False)),
        ("the second term (through the mean) left out", lambda: terms(False, True)),
        ("γ left out (∂L/∂x̂ = ∂L/∂y, as if γ = 1)",
         lambda: {"grad_input": core.backward(dy, w.xhat, w.std, plan, None, p.training).grad_input}),
        ("∂L/∂γ and ∂L/∂β swapped", lambda: {"grad_weight": g.grad_bias, "grad_bias": g.grad_weight}),
        ("x instead of x̂ in ∂L/∂γ = Σ ∂L/∂y · x̂",
         lambda: {"grad_weight": core.backward(dy, xs, w.std, plan, weight, p.training).grad_weight}),
        ("ε left out", lambda: other(eps=zero)),
        *([("the unbiased variance (÷(M−1)) in σ", lambda: other(unbiased=True))] if p.training else []),
    ]
