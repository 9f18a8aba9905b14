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
from convcalc.derive.norm_symbols import Notation, index_text, sub, symbol_equations, t, td, tw, x
from convcalc.derive.records import Block, Elided, Equation, Heading, MatrixView, Note, Solution
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
    return "none (no PyTorch module takes these statistics)"


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
    blocks = itertools.chain(_blocks(p, w, picked, cap, base), tail)
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


def _blocks(p: NormProblem, w: Worked, cells: list[tuple[int, ...]], cap: int | None, base: int) -> Iterator[Block]:
    nt, plan = p.nt, p.plan
    yield Heading("Given")
    yield Note(f"x has shape {'×'.join(map(str, plan.shape))} ({','.join(p.names)}); {describe(p)}.")
    yield from show("x", "input", p.x, base)
    if p.weight is not None or p.bias is not None:
        yield Note(f"γ and β have shape {tuple(plan.param_shape)}, as {module_name(plan)} shapes them"
                   + ("" if p.weight is not None else "; γ = 1") + ("" if p.bias is not None else "; β = 0") + ".")
    yield Heading("The equations")
    for text, tex in symbol_equations(nt, p.training, True, p.tracks_running):
        yield Equation(text, tex)
    numbers = nt.count_numbers()
    worked = f"{numbers} = " if numbers != str(plan.count) else ""
    yield Note(f"Each statistic is over M = {nt.count_symbol()} = {worked}{plan.count} values; "
               f"ε = {t(p.eps)}" + (f", momentum m = {t(p.momentum)}" if p.tracks_running else "") + ".")
    shown = stat_cells(plan)
    limit = len(shown) if cap is None else min(cap, len(shown))
    if p.training:
        assert w.mom is not None
        yield Heading("Means")
        yield from _capped((_mean_line(p, w, s, base) for s in shown), limit, len(shown), "statistics")
        yield Heading("Variances")
        yield from _capped((_var_line(p, w, s, base) for s in shown), limit, len(shown), "statistics")
    else:
        yield Heading("Running statistics used (eval mode)")
        yield Note("In eval mode the running estimates replace the batch's statistics: μ̂ and σ̂² below.")
    yield Heading("Standard deviations")
    yield from _capped((_std_line(p, w, s, base) for s in shown), limit, len(shown), "statistics")
    yield Heading("Normalized cells")
    chosen = cells or list(itertools.islice(np.ndindex(plan.shape), cap))
    for c in chosen:
        yield from cell_lines(p, w, c, base)
    if not cells and len(chosen) < math.prod(plan.shape):
        one = ",".join(n.lower() for n in p.names)
        yield Elided(len(chosen), math.prod(plan.shape), f"--cell {one} for one cell, --steps all for every cell")
    yield Heading("Result")
    yield from show("y", "output", w.y, base)
    for key, symbol in (("mean", "μ"), ("var", "σ²"), ("std", "σ")):
        yield from show(symbol, key if key != "var" else "variance (biased)", stats({"mean": w.mean, "var": w.var,
                                                                                      "std": w.std}[key], plan), base)
    if w.running_mean is not None and w.running_var is not None and p.training:
        yield from _running_blocks(p, w, base)
    yield Heading("Parameters")
    yield Note(param_note(p))
    yield Heading("Which variant acts like a convolution")
    yield Note(conv_note(p))


def _capped(lines: Iterator[Equation], limit: int, total: int, what: str) -> Iterator[Block]:
    yield from itertools.islice(lines, limit)
    if limit < total:
        yield Note(f"… {limit} of {total} {what} shown; --steps all shows every one.")


def _sum_text(vals: Array) -> tuple[str, str]:
    if vals.size > MAX_TERMS:
        return f"Σ of {vals.size} values", rf"\textstyle\sum \text{{ of {vals.size} values}}"
    return (" + ".join(tw(v) if i else t(v) for i, v in enumerate(vals)),
            " + ".join(x(v, i > 0) for i, v in enumerate(vals)))


def _mean_line(p: NormProblem, w: Worked, s: tuple[int, ...], base: int) -> Equation:
    vals = values_of(p, s)
    st, sx = _sum_text(vals)
    total = vals.sum() if core.exact(vals) else float(vals.sum())
    lab = stat_label(s, base)
    m = stats(w.mean, p.plan)[s]
    return Equation(f"{sub('μ', lab, False)} = ({st})/{vals.size} = {ratio(total, vals.size, m)}",
                    rf"{sub(chr(92) + 'mu', lab, True)} = \frac{{{sx}}}{{{vals.size}}} = {ratio_tex(total, vals.size, m)}")


def _var_line(p: NormProblem, w: Worked, s: tuple[int, ...], base: int) -> Equation:
    assert w.mom is not None
    vals = values_of(p, s)
    m = stats(w.mean, p.plan)[s]
    lab, size = stat_label(s, base), vals.size
    sq, var = stats(w.mom.squares, p.plan)[s], stats(w.var, p.plan)[s]
    if size <= MAX_TERMS:
        dev_t = " + ".join(f"({t(v)} − {t(m)})²" for v in vals)
        dev_x = " + ".join(rf"\left({x(v)} - {x(m, True)}\right)^2" for v in vals)
    else:
        dev_t, dev_x = f"Σ (x − {t(m)})² over {size} values", rf"\textstyle\sum (x - {x(m, True)})^2"
    text = f"{sub('σ²', lab, False)} = ({dev_t})/{size} = {ratio(sq, size, var)}"
    tex = rf"{sub(chr(92) + 'sigma^2', lab, True)} = \frac{{{dev_x}}}{{{size}}} = {ratio_tex(sq, size, var)}"
    if w.mom.var_unbiased is not None:
        u = stats(w.mom.var_unbiased, p.plan)[s]
        text += f";   {sub('s²', lab, False)} = {ratio(sq, size - 1, u)} (unbiased)"
        tex += rf" ;\quad {sub('s^2', lab, True)} = {ratio_tex(sq, size - 1, u)}"
    return Equation(text, tex)


def ratio(num: Any, den: int, value: Any) -> str:
    """``36/8 = 9/2 (4.5)``, or ``10/7 (1.42857)`` when the quotient is already in lowest terms."""
    head = f"{_paren(t(num))}/{den}"
    return f"{head} = {td(value)}" if t(value) != f"{t(num)}/{den}" else td(value)


def _paren(s: str) -> str:
    return f"({s})" if "/" in s else s


def ratio_tex(num: Any, den: int, value: Any) -> str:
    head = rf"\frac{{{x(num)}}}{{{den}}}"
    return f"{head} = {x(value)}" if t(value) != f"{t(num)}/{den}" else x(value)


def root(w: Worked, plan: core.NormPlan, s: tuple[int, ...]) -> tuple[str, str]:
    """σ as text and LaTeX: exact, or √(σ² + ε) with its decimal beside it."""
    sd = stats(w.std, plan)[s]
    if core.exact(w.std):
        return td(sd), x(sd)
    r = stats(w.radicand, plan)[s]
    if core.exact(w.radicand):
        return f"√({t(r)}) ≈ {t(sd)}", rf"\sqrt{{{x(r)}}} \approx {t(sd)}"
    return t(sd), t(sd)


def _std_line(p: NormProblem, w: Worked, s: tuple[int, ...], base: int) -> Equation:
    lab = stat_label(s, base)
    var = stats(w.var, p.plan)[s]
    vt, vx = ("σ²", r"\sigma^2") if p.training else ("σ̂²", r"\hat{\sigma}^2")
    rt, rx = root(w, p.plan, s)
    return Equation(f"{sub('σ', lab, False)} = √({sub(vt, lab, False)} + ε) = √({t(var)} + {t(p.eps)}) = {rt}",
                    rf"{sub(chr(92) + 'sigma', lab, True)} = \sqrt{{{sub(vx, lab, True)} + \epsilon}} = "
                    rf"\sqrt{{{x(var)} + {x(p.eps)}}} = {rx}")


def stat_of_cell(plan: core.NormPlan, c: tuple[int, ...]) -> tuple[int, ...]:
    v = np.unravel_index(np.ravel_multi_index(c, plan.shape), plan.view)
    return tuple(int(i) for k, i in enumerate(v) if k not in plan.axes)


def cell_lines(p: NormProblem, w: Worked, c: tuple[int, ...], base: int) -> Iterator[Equation]:
    plan = p.plan
    s = stat_of_cell(plan, c)
    lab, at = stat_label(s, base), index_text(c, base)
    mu, xh, y = stats(w.mean, plan)[s], w.xhat[c], w.y[c]
    rt, rx = root(w, plan, s)
    mut = "μ" if p.training else "μ̂"
    yield Equation(f"{sub('x̂', at, False)} = ({sub('x', at, False)} − {sub(mut, lab, False)})/{sub('σ', lab, False)}"
                   f" = ({t(p.x[c])} − {tw(mu)})/{rt.split(' ≈ ')[-1]} = {td(xh)}",
                   rf"{sub(chr(92) + 'hat{x}', at, True)} = \frac{{{x(p.x[c])} - {x(mu, True)}}}"
                   rf"{{{rx.split(chr(92) + 'approx ')[0].strip()}}} = {x(xh)}")
    if p.weight is None and p.bias is None:
        return
    k = tuple(c[a] for a in plan.param_axes)
    g = p.weight.reshape(plan.param_shape)[k] if p.weight is not None else 1
    b = p.bias.reshape(plan.param_shape)[k] if p.bias is not None else 0
    pk = index_text(k, base)
    yield Equation(f"{sub('y', at, False)} = {sub('γ', pk, False)}·{sub('x̂', at, False)} + {sub('β', pk, False)}"
                   f" = {tw(g)}·{tw(xh)} + {tw(b)} = {td(y)}",
                   rf"{sub('y', at, True)} = {x(g)} \cdot {x(xh, True)} + {x(b, True)} = {x(y)}")


def _running_blocks(p: NormProblem, w: Worked, base: int) -> Iterator[Block]:
    assert w.mom is not None and w.mom.var_unbiased is not None
    assert w.running_mean is not None and w.running_var is not None
    plan = p.plan
    rm0, rv0 = running_inputs(p)
    yield Heading("Running statistics (training: updated with momentum m)")
    fresh = p.running_mean is None and p.running_var is None
    if fresh:
        yield Note("A fresh module starts from running_mean = 0 and running_var = 1.")
    bm = core.batch_mean(w.mom.mean, plan)
    bu = core.batch_mean(w.mom.var_unbiased, plan)
    m = p.momentum
    cells = list(itertools.islice(np.ndindex(plan.running_shape), DEFAULT_CELL_CAP))
    for r in cells:
        lab = index_text(r, base)
        yield Equation(f"{sub('μ̂', lab, False)} = (1 − {t(m)})·{tw(rm0[r])} + {t(m)}·{tw(bm[r])} = "
                       f"{td(w.running_mean[r])};   {sub('σ̂²', lab, False)} = (1 − {t(m)})·{tw(rv0[r])} + "
                       f"{t(m)}·{tw(bu[r])} = {td(w.running_var[r])}",
                       rf"{sub(chr(92) + 'hat{' + chr(92) + 'mu}', lab, True)} = (1 - {x(m)}) \cdot {x(rm0[r], True)}"
                       rf" + {x(m)} \cdot {x(bm[r], True)} = {x(w.running_mean[r])} ;\quad "
                       rf"{sub(chr(92) + 'hat{' + chr(92) + 'sigma}^2', lab, True)} = (1 - {x(m)}) \cdot "
                       rf"{x(rv0[r], True)} + {x(m)} \cdot {x(bu[r], True)} = {x(w.running_var[r])}")
    total = math.prod(plan.running_shape)
    if len(cells) < total:
        yield Elided(len(cells), total, "--format json gives every running statistic")
    yield Note("The running variance takes the unbiased s² (÷(M−1)); the normalization itself used σ² (÷M).")


def param_note(p: NormProblem) -> str:
    plan = p.plan
    n = math.prod(plan.param_shape)
    each = f"each have shape ({'×'.join(map(str, plan.param_shape))})" if plan.param_shape else "are one number each"
    text = f"γ and β {each}: 2·{n} = {param_count(plan)} learnable parameters."
    if p.tracks_running:
        r = math.prod(plan.running_shape)
        extra = " and num_batches_tracked (1)" if plan.kind == "batch" else ""
        text += (f" running_mean and running_var ({r} each){extra} are buffers, not parameters: "
                 f"{buffer_count(p)} buffer values, not counted.")
    return text


def conv_note(p: NormProblem) -> str:
    plan, names = p.plan, p.names
    if len(plan.shape) < 3:
        return ("The input has no spatial axes (N,F): BatchNorm1d on features, one mean and variance per feature; "
                "the question of acting like a convolution does not arise.")
    spatial = ",".join(names[2:])
    per_channel = f"--over N,{spatial} (BatchNorm{len(plan.shape) - 2}d)"
    if plan.kind == "batch":
        return (f"This variant acts like a convolution: its statistics and γ, β are per channel, so every "
                f"location ({spatial}) of a channel gets the same operation and each channel its own — as a "
                "convolution's filter is shared across locations and differs across channels.")
    return (f"The variant that acts like a convolution is {per_channel}: one mean and std per channel, the same "
            f"operation at every location ({spatial}) and a different one per channel. This one "
            + ("uses one operation for everything." if plan.kind == "custom" and len(plan.stats_shape) == 0 else
               "is not that: its statistics " + _differs(plan, names) + "."))


def _differs(plan: core.NormPlan, names: tuple[str, ...]) -> str:
    kept = {names[a] for a in range(len(plan.shape)) if a not in plan.axes} if plan.kind != "group" else {"N", "G"}
    spatial = set(names[2:])
    parts = []
    if kept & spatial:
        parts.append("change from one location to another")
    if "N" in kept or "G" in kept:
        parts.append("depend on the sample")
    if "C" not in kept and "F" not in kept and plan.kind != "group":
        parts.append("are shared by all channels")
    return " and ".join(parts) or "differ from it"
