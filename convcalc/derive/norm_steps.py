"""The worked steps of ``convcalc norm`` (records only): the equations, each statistic with its
numbers, the cells, the running update, the parameter count and the convolution note."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from convcalc.core import norm as core
from convcalc.derive.norm import (
    DEFAULT_CELL_CAP,
    MAX_TERMS,
    NormProblem,
    Worked,
    buffer_count,
    describe,
    module_name,
    param_count,
    running_inputs,
    show,
    stat_cells,
    stat_label,
    stat_of_cell,
    stats,
    values_of,
)
from convcalc.derive.norm_symbols import index_text, sub, symbol_equations, t, td, tw, x
from convcalc.derive.records import Block, Elided, Equation, Heading, Note, Table
from convcalc.numbers import Array


def blocks(p: NormProblem, w: Worked, cells: list[tuple[int, ...]], cap: int | None, base: int) -> Iterator[Block]:
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
    limit = len(shown) if cap is None else min(DEFAULT_CELL_CAP, len(shown))  # --steps N caps cells, not these
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
    if len(p.plan.shape) >= 3:
        yield variants_table(p)


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
    total = sum(vals.tolist()) if core.exact(vals) else float(vals.sum())  # Python ints: never overflows
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


def variants_table(p: NormProblem) -> Table:
    """The four ways a batch's statistics can be taken (the course's question), this one marked."""
    names, shape = p.names, p.plan.shape
    spatial = names[2:]
    rows = []
    for over, what in (((0, 1, *range(2, len(shape))), "one for the whole batch"),
                       ((0, *range(2, len(shape))), "one per channel"),
                       ((0, 1), f"one per location ({','.join(spatial)})"),
                       ((0,), f"one per channel and location ({','.join(names[1:])})")):
        count = math.prod(n for i, n in enumerate(shape) if i not in over)
        conv = "yes" if over == (0, *range(2, len(shape))) else "no"
        here = "this one" if p.plan.kind != "group" and tuple(p.plan.axes) == over else ""
        rows.append((",".join(names[a] for a in over), what, count, conv, here))
    return Table(("--over", "statistics", "means (and stds)", "like a convolution", ""), tuple(rows),
                 left=("--over", "statistics", "like a convolution", ""))

