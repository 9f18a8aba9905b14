"""The worked solution of ``convcalc norm``: statistics, normalization, affine, running stats.

The equations in symbols first (μ_c = 1/(NHW) Σ_{n,h,w} x_{n,c,h,w}), then each statistic
with its numbers (a mean as its sum over its count, the biased and unbiased variances, the
std with ε), a few normalized cells, the affine γ x̂ + β, the running update, the parameter
count and which variant acts like a convolution.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from convcalc.core import norm as core
from convcalc.derive.layout import slices_2d
from convcalc.derive.norm_symbols import Notation, index_text, td
from convcalc.derive.records import Block, MatrixView, Note, Solution
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.numbers import Array, Scalar, normalize

DEFAULT_CELL_CAP = 25
MAX_TERMS = 12  # values written out in one sum; a longer sum is written Σ = value
MAX_SLICES = 8  # 2-D slices of a tensor shown; the rest are in the JSON
MODULES = {"batch": "BatchNorm{d}d", "instance": "InstanceNorm{d}d"}


@dataclass(frozen=True)
class NormProblem:
    """A normalization to work: x (N, C, *S) or (N, F), its plan, and PyTorch's settings.

    ``weight``/``bias`` are in ``plan.param_shape`` (None: γ = 1, β = 0, a fresh module's);
    ``running_mean``/``running_var`` in ``plan.running_shape`` (None: a fresh module's 0 and 1).
    """

    x: Array
    plan: core.NormPlan
    names: tuple[str, ...]
    weight: Array | None = None
    bias: Array | None = None
    eps: Scalar = Fraction(1, 100000)
    momentum: Scalar = Fraction(1, 10)
    running_mean: Array | None = None
    running_var: Array | None = None
    training: bool = True

    @property
    def nt(self) -> Notation:
        return Notation(self.plan, self.names)

    @property
    def tracks_running(self) -> bool:
        """BatchNorm-like statistics keep running estimates; InstanceNorm only when given them."""
        if self.plan.kind in ("layer", "group"):
            return False
        if self.plan.batch_reduced:
            return True
        return self.plan.kind == "instance" and (self.running_mean is not None or self.running_var is not None)

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.plan.kind, "module": module_name(self.plan),
                               "over": self.nt.over_text(), "layout": ",".join(self.names),
                               "eps": _setting(self.eps)}
        if self.plan.kind == "group":
            out["groups"] = self.plan.groups
        if self.tracks_running:
            out.update(momentum=_setting(self.momentum), training=self.training)
        return out


def _setting(v: Scalar) -> Any:
    n = normalize(v)
    return n if isinstance(n, int | float) else str(n)


def module_name(plan: core.NormPlan) -> str:
    d = max(len(plan.shape) - 2, 1)
    if plan.kind in MODULES:
        return MODULES[plan.kind].format(d=d)
    if plan.kind == "layer":
        return f"LayerNorm({list(plan.param_shape)})"
    if plan.kind == "group":
        return f"GroupNorm({plan.groups}, {plan.shape[1]})"
    return "no PyTorch module"


@dataclass(frozen=True)
class Worked:
    """Everything computed once. ``mean``/``var`` are the statistics used (the running ones in
    eval mode), in ``plan.stats_keep`` shape; ``mom`` the batch's own (None in eval mode)."""

    mom: core.Moments | None
    mean: Array
    var: Array
    std: Array
    radicand: Array
    xhat: Array
    y: Array
    running_mean: Array | None  # after the update (training) or as used (eval)
    running_var: Array | None


def running_inputs(p: NormProblem) -> tuple[Array, Array]:
    shape = p.plan.running_shape
    rm = p.running_mean if p.running_mean is not None else np.zeros(shape, dtype=np.int64)
    rv = p.running_var if p.running_var is not None else np.ones(shape, dtype=np.int64)
    for name, r in (("--running-mean", rm), ("--running-var", rv)):
        if r.size != math.prod(shape):
            raise ConvcalcError(f"has {r.size} values; the running statistics have shape {shape}", name)
    return rm.reshape(shape), rv.reshape(shape)


def validate(p: NormProblem) -> None:
    if not p.tracks_running and (p.running_mean is not None or p.running_var is not None or not p.training):
        flag = "--eval" if not p.training else "--running-mean"
        raise ConvcalcError(f"{module_name(p.plan)} keeps no running statistics (they are per batch sample)", flag)
    for flag, a in (("--weight", p.weight), ("--bias", p.bias)):
        if a is not None and a.size != math.prod(p.plan.param_shape):
            raise ConvcalcError(f"has {a.size} values; γ and β have shape {p.plan.param_shape} here "
                                f"(as {module_name(p.plan)} shapes them)", flag)
    if p.training and p.tracks_running and p.plan.count < 2:
        raise ConvcalcError("has one value per statistic: the unbiased variance (÷(M−1)) is undefined, and "
                            "PyTorch refuses to train on it", "--input")


def compute(p: NormProblem) -> Worked:
    validate(p)
    plan = p.plan
    weight = None if p.weight is None else p.weight.reshape(plan.param_shape)
    bias = None if p.bias is None else p.bias.reshape(plan.param_shape)
    eps = p.eps if core.exact(p.x) else float(p.eps)
    if p.training:
        mom = core.moments(p.x, plan)
        mean, var = mom.mean, mom.var
        rm = rv = None
        if p.tracks_running:
            rm0, rv0 = running_inputs(p)
            rm = core.running_update(rm0, core.batch_mean(mom.mean, plan), p.momentum)
            assert mom.var_unbiased is not None
            rv = core.running_update(rv0, core.batch_mean(mom.var_unbiased, plan), p.momentum)
    else:
        mom = None
        rm, rv = running_inputs(p)
        mean, var = (np.broadcast_to(core.running_as_stats(r, plan), plan.stats_keep).copy() for r in (rm, rv))
        if not core.exact(mean) or not core.exact(var):
            eps = float(eps)
    std, radicand = core.std_of(var, eps)
    xhat = core.normalized(p.x, plan, mean, std)
    y = core.affine(xhat, plan, weight, bias)
    return Worked(mom, mean, var, std, radicand, xhat, y, rm, rv)


def stats(a: Array, plan: core.NormPlan) -> Array:
    """A statistic in its own shape (reduced axes dropped); a 0-d array for one number."""
    return np.asarray(a).reshape(plan.stats_shape)


def payload(p: NormProblem, w: Worked) -> dict[str, Any]:
    plan = p.plan
    data: dict[str, Any] = {"mean": stats(w.mean, plan), "var": stats(w.var, plan)}
    if w.mom is not None and w.mom.var_unbiased is not None:
        data["var_unbiased"] = stats(w.mom.var_unbiased, plan)
    data["std"] = stats(w.std, plan)
    if not core.exact(w.std) and core.exact(w.radicand):
        data["std_sqrt_of"] = stats(w.radicand, plan)  # σ = √(this), exactly
    data["normalized"] = w.xhat
    data["output"] = w.y
    if w.running_mean is not None and w.running_var is not None:
        data["running_mean"], data["running_var"] = w.running_mean, w.running_var
    data.update(shape=list(plan.shape), stats_shape=list(plan.stats_shape), count=plan.count,
                param_shape=list(plan.param_shape), param_count=param_count(plan),
                buffer_count=buffer_count(p))
    return data


def param_count(plan: core.NormPlan) -> int:
    """γ and β: two per element of PyTorch's weight shape (BatchNorm's count, per element)."""
    from convcalc.formulas import batchnorm_param_count

    return batchnorm_param_count(math.prod(plan.param_shape))


def buffer_count(p: NormProblem) -> int:
    """running_mean and running_var, plus BatchNorm's num_batches_tracked: not parameters."""
    if not p.tracks_running:
        return 0
    return 2 * math.prod(p.plan.running_shape) + (1 if p.plan.kind == "batch" else 0)


def solve(p: NormProblem, answers: Mapping[str, tuple[Array, str]] | None = None,
          cells: Sequence[tuple[int, ...]] = (), cap: int | None = DEFAULT_CELL_CAP, base: int = 1) -> Solution:
    """The whole worked normalization; ``answers`` maps a name (mean, var, std, output, ...) to
    (the claimed array, the text typed)."""
    from convcalc.derive import norm_answer
    from convcalc.derive.norm_steps import blocks as steps

    w = compute(p)
    data = payload(p, w)
    verdicts = norm_answer.check_forward(p, w, data, answers) if answers else []
    status = ExitStatus.OK
    tail: list[Block] = []
    if verdicts:
        tail = list(norm_answer.answer_blocks(verdicts))
        norm_answer.record(data, verdicts)
        status = ExitStatus.OK if data["answer_correct"] else ExitStatus.WRONG_ANSWER
    picked = pick_cells(p.plan.shape, cells, base)
    title = f"Normalization: {describe(p)}"
    blocks = itertools.chain(steps(p, w, picked, cap, base), tail)
    return Solution("norm", title, p.settings(), data, blocks, base, status)


def describe(p: NormProblem) -> str:
    nt = p.nt
    per = nt.stat_sub().replace(",", "") or "one"
    what = f"one mean and variance per {','.join(n for n in per.upper())}" if per != "one" else \
        "one mean and variance for the whole batch"
    if p.plan.kind == "group":
        what = "one mean and variance per sample and group"
    return f"statistics over {nt.over_text()} ({what}; {module_name(p.plan)})"


def pick_cells(shape: tuple[int, ...], cells: Sequence[tuple[int, ...]], base: int) -> list[tuple[int, ...]]:
    out = []
    for c in cells:
        idx = tuple(i - base for i in c)
        if len(idx) != len(shape) or any(not 0 <= i < n for i, n in zip(idx, shape, strict=True)):
            raise ConvcalcError(f"{','.join(map(str, c))} is not a cell of the {len(shape)}-axis input of shape "
                                f"{'x'.join(map(str, shape))} (indices start at {base})", "--cell")
        out.append(idx)
    return out


def show(symbol: str, caption: str, a: Array, base: int) -> Iterator[Block]:
    """A tensor as its 2-D slices (at most MAX_SLICES of them); a 0-d one as a sentence."""
    if a.ndim == 0:
        yield Note(f"{symbol} = {td(a[()])} ({caption})")
        return
    for n, (lead, sl) in enumerate(slices_2d(a)):
        if n == MAX_SLICES:
            yield Note(f"… {math.prod(a.shape[:-2]) - MAX_SLICES} more slices of {symbol} (--format json gives "
                       "all of it).")
            return
        yield MatrixView(symbol if not lead else f"{symbol}[{index_text(lead, base)},:]", caption, sl)


def stat_cells(plan: core.NormPlan) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(n) for n in plan.stats_shape)))


def view_index(plan: core.NormPlan, s: tuple[int, ...]) -> tuple[Any, ...]:
    """The view's index of statistic ``s``: its own index on the kept axes, every value on the rest."""
    it = iter(s)
    return tuple(slice(None) if i in plan.axes else next(it) for i in range(len(plan.view)))


def values_of(p: NormProblem, s: tuple[int, ...]) -> Array:
    return p.x.reshape(p.plan.view)[view_index(p.plan, s)].reshape(-1)


def stat_label(s: tuple[int, ...], base: int) -> str:
    return index_text(s, base)


def stat_of_cell(plan: core.NormPlan, c: tuple[int, ...]) -> tuple[int, ...]:
    v = np.unravel_index(np.ravel_multi_index(c, plan.shape), plan.view)
    return tuple(int(i) for k, i in enumerate(v) if k not in plan.axes)
