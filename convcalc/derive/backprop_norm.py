"""The worked solution of ``backprop norm``: ∂L/∂x by the three-term formula (its terms named),
∂L/∂γ and ∂L/∂β, for every kind of normalization and any axes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from convcalc.core import norm as core
from convcalc.derive import norm as fwd
from convcalc.derive import norm_answer
from convcalc.derive.norm_steps import root
from convcalc.derive.norm_symbols import index_text, sub, t, td, tw, x
from convcalc.derive.records import Block, Elided, Equation, Heading, Note, Solution
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.numbers import Array

DEFAULT_CELL_CAP = fwd.DEFAULT_CELL_CAP
D = "∂L/∂"  # text prefix of a gradient


def _grad_tex(v: str, s: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {sub(v, s, True)}}}"


def solve(p: fwd.NormProblem, dy: Array | None, claims: Mapping[str, tuple[Array, str]] | None = None,
          cells: Sequence[tuple[int, ...]] = (), cap: int | None = DEFAULT_CELL_CAP, base: int = 1) -> Solution:
    w = fwd.compute(p)
    plan = p.plan
    if dy is None:
        dy = np.ones(plan.shape, dtype=np.int64)
    elif dy.size != math.prod(plan.shape):
        raise ConvcalcError(f"has shape {dy.shape}; ∂L/∂y has the input's shape {plan.shape}", "--grad-output")
    dy = dy.reshape(plan.shape)
    weight = None if p.weight is None else p.weight.reshape(plan.param_shape)
    g = core.backward(dy, w.xhat, w.std, plan, weight, p.training)
    data: dict[str, Any] = {"grad_input": g.grad_input, "grad_weight": g.grad_weight, "grad_bias": g.grad_bias,
                            "mean": fwd.stats(w.mean, plan), "std": fwd.stats(w.std, plan), "normalized": w.xhat,
                            "output": w.y, "shape": list(plan.shape), "param_shape": list(plan.param_shape)}
    status, tail = ExitStatus.OK, []
    if claims:
        from convcalc.derive.norm_slips import backward_slips

        verdicts = norm_answer.check(claims, data, lambda: backward_slips(p, w, dy), p.x.size,
                                     norm_answer.BACKWARD)
        tail = list(norm_answer.answer_blocks(verdicts))
        norm_answer.record(data, verdicts)
        status = ExitStatus.OK if data["answer_correct"] else ExitStatus.WRONG_ANSWER
    picked = fwd.pick_cells(plan.shape, cells, base)
    blocks = itertools.chain(_blocks(p, w, g, dy, picked, cap, base), tail)
    return Solution("backprop norm", f"Backpropagation through normalization: {fwd.describe(p)}", p.settings(),
                    data, blocks, base, status)


def _blocks(p: fwd.NormProblem, w: fwd.Worked, g: core.Gradients, dy: Array, cells: list[tuple[int, ...]],
            cap: int | None, base: int) -> Iterator[Block]:
    plan = p.plan
    yield Heading("Given")
    yield Note(f"x has shape {'×'.join(map(str, plan.shape))} ({','.join(p.names)}); {fwd.describe(p)}; "
               f"∂L/∂y has the same shape.")
    yield from fwd.show("x", "input", p.x, base)
    yield from fwd.show("∂L/∂y", "upstream gradient", dy, base)
    yield Heading("The forward pass (the norm command works its steps)")
    shown = fwd.stat_cells(plan)
    limit = len(shown) if cap is None else min(DEFAULT_CELL_CAP, len(shown))  # --steps N caps cells, not these
    for s in shown[:limit]:
        lab = index_text(s, base)
        rt, rx = root(w, plan, s)
        mu = fwd.stats(w.mean, plan)[s]
        mt, st, mx, sx = ("μ", "σ", r"\mu", r"\sigma") if p.training else ("μ̂", "σ̂", r"\hat{\mu}", r"\hat{\sigma}")
        yield Equation(f"{sub(mt, lab, False)} = {td(mu)},  {sub(st, lab, False)} = {rt}",
                       rf"{sub(mx, lab, True)} = {x(mu)}, \quad {sub(sx, lab, True)} = {rx}")
    if limit < len(shown):
        yield Note(f"… {limit} of {len(shown)} statistics shown; --steps all shows every one.")
    yield Heading("The equations")
    yield from _symbol_equations(p)
    if p.training:
        yield Heading("Per statistic: the two means the formula needs")
        yield from _stat_means(p, w, g, shown[:limit], base)
        if limit < len(shown):
            yield Note(f"… {limit} of {len(shown)} statistics shown; --steps all shows every one.")
    yield Heading("∂L/∂x cell by cell")
    chosen = cells or list(itertools.islice(np.ndindex(plan.shape), cap))
    for c in chosen:
        yield _cell(p, w, g, dy, c, base)
    if not cells and len(chosen) < math.prod(plan.shape):
        one = ",".join(n.lower() for n in p.names)
        yield Elided(len(chosen), math.prod(plan.shape), f"--cell {one} for one cell, --steps all for every cell")
    yield Heading("∂L/∂γ and ∂L/∂β")
    yield from _param_lines(p, w, g, dy, base, cap)
    yield Heading("Result")
    yield from fwd.show("∂L/∂x", "grad_input", g.grad_input, base)
    yield from fwd.show("∂L/∂γ", "grad_weight", g.grad_weight, base)
    yield from fwd.show("∂L/∂β", "grad_bias", g.grad_bias, base)


def _symbol_equations(p: fwd.NormProblem) -> Iterator[Block]:
    nt, plan = p.nt, p.plan
    e, s, ps = nt.elem(), nt.stat_sub(), nt.param_sub()
    other = ",".join(n.lower() for a, n in enumerate(p.names) if a not in plan.param_axes)
    m_t, sum_t, sum_x = nt.count_symbol(), nt.sum_primed(False), nt.sum_primed(True)
    gy_t, gy_x = f"{D}{sub('y', e, False)}", _grad_tex("y", e)
    gh_t, gh_x = f"{D}{sub('x̂', e, False)}", _grad_tex(r"\hat{x}", e)
    xh_t, xh_x = sub("x̂", e, False), sub(r"\hat{x}", e, True)
    yield Equation(f"{D}{sub('β', ps, False)} = Σ_{{{other}}} {gy_t}",
                   rf"{_grad_tex(chr(92) + 'beta', ps)} = \sum_{{{other}}} {gy_x}")
    yield Equation(f"{D}{sub('γ', ps, False)} = Σ_{{{other}}} {gy_t} · {xh_t}",
                   rf"{_grad_tex(chr(92) + 'gamma', ps)} = \sum_{{{other}}} {gy_x}\, {xh_x}")
    yield Equation(f"{gh_t} = {sub('γ', ps, False)} · {gy_t}",
                   rf"{gh_x} = {sub(chr(92) + 'gamma', ps, True)}\, {gy_x}")
    if not p.training:
        r = nt.running_sub()
        sig_x = sub(r"\hat{\sigma}", r, True)
        yield Equation(f"{D}{sub('x', e, False)} = {gh_t} / {sub('σ̂', r, False)}",
                       rf"{_grad_tex('x', e)} = \frac{{{gh_x}}}{{{sig_x}}}")
        yield Note("In eval mode μ̂ and σ̂ are constants (the running statistics): only the direct term is left.")
        return
    ep = nt.elem_primed()
    ghp_t, ghp_x = f"{D}{sub('x̂', ep, False)}", _grad_tex(r"\hat{x}", ep)
    xhp_t, xhp_x = sub("x̂", ep, False), sub(r"\hat{x}", ep, True)
    mp = m_t if len(m_t) == 1 else f"({m_t})"
    yield Equation(f"{D}{sub('x', e, False)} = (1/{sub('σ', s, False)}) · [ {gh_t} − 1/{mp} · Σ_{{{sum_t}}} {ghp_t}"
                   f" − {xh_t} · 1/{mp} · Σ_{{{sum_t}}} {ghp_t} · {xhp_t} ]",
                   rf"{_grad_tex('x', e)} = \frac{{1}}{{{sub(chr(92) + 'sigma', s, True)}}} \Big[ {gh_x} - "
                   rf"\frac{{1}}{{{m_t}}} \sum_{{{sum_x}}} {ghp_x} - {xh_x} \cdot \frac{{1}}{{{m_t}}} "
                   rf"\sum_{{{sum_x}}} {ghp_x}\, {xhp_x} \Big]")
    yield Note("Three terms: the direct path through x̂ (1st), the path through the mean μ, which every x of the "
               "statistic moves (2nd), and the path through the variance σ² (3rd). Summed over the M = "
               f"{plan.count} values of each statistic, ∂L/∂x adds up to 0, and so does ∂L/∂x · x̂.")


def stat_means(p: fwd.NormProblem, w: fwd.Worked, g: core.Gradients) -> tuple[Array, Array, Array, Array]:
    """Σ ∂L/∂x̂ and Σ ∂L/∂x̂ · x̂ per statistic, and their means a and b (``plan.stats_shape``)."""
    plan = p.plan
    gv, xv = g.grad_xhat.reshape(plan.view), w.xhat.reshape(plan.view)
    sa = gv.sum(axis=plan.axes).reshape(plan.stats_shape)
    sb = (gv * xv).sum(axis=plan.axes).reshape(plan.stats_shape)
    return sa, sb, _div(sa, plan.count), _div(sb, plan.count)


def _stat_means(p: fwd.NormProblem, w: fwd.Worked, g: core.Gradients, stats: list[tuple[int, ...]],
                base: int) -> Iterator[Block]:
    sa, sb, ma, mb = stat_means(p, w, g)
    m = p.plan.count
    for s in stats:
        lab = index_text(s, base)
        yield Equation(f"{sub('a', lab, False)} = (1/{m}) Σ {D}x̂ = {t(sa[s])}/{m} = {td(ma[s])};   "
                       f"{sub('b', lab, False)} = (1/{m}) Σ {D}x̂ · x̂ = {t(sb[s])}/{m} = {td(mb[s])}",
                       rf"a_{{{lab}}} = \frac{{1}}{{{m}}} \sum \frac{{\partial L}}{{\partial \hat{{x}}}} = "
                       rf"\frac{{{x(sa[s])}}}{{{m}}} = {x(ma[s])}, \quad b_{{{lab}}} = \frac{{1}}{{{m}}} \sum "
                       rf"\frac{{\partial L}}{{\partial \hat{{x}}}} \hat{{x}} = \frac{{{x(sb[s])}}}{{{m}}} = {x(mb[s])}")


def _div(v: Any, m: int) -> Any:
    from fractions import Fraction

    if core.exact(np.asarray(v)):
        return v * Fraction(1, m)
    return v / m


def _cell(p: fwd.NormProblem, w: fwd.Worked, g: core.Gradients, dy: Array, c: tuple[int, ...],
          base: int) -> Equation:
    plan = p.plan
    s = fwd.stat_of_cell(plan, c)
    lab, at = index_text(s, base), index_text(c, base)
    rt, rx = root(w, plan, s)
    sd_t, sd_x = rt.split(" ≈ ")[-1], rx.split(r"\approx ")[0].strip()
    gh, xh, gi = g.grad_xhat[c], w.xhat[c], g.grad_input[c]
    k = tuple(c[a] for a in plan.param_axes)
    gam = p.weight.reshape(plan.param_shape)[k] if p.weight is not None else 1
    head_t, head_x = f"{D}{sub('x', at, False)}", _grad_tex("x", at)
    via = f"{D}x̂ = γ·{D}y = {tw(gam)}·{tw(dy[c])} = {t(gh)}"
    if not p.training:
        return Equation(f"{head_t} = {D}x̂ / σ̂ = {t(gh)}/{sd_t} = {td(gi)}   ({via})",
                        rf"{head_x} = \frac{{{x(gh)}}}{{{sd_x}}} = {x(gi)}")
    _, _, ma, mb = stat_means(p, w, g)
    a, b = ma[s], mb[s]
    return Equation(f"{head_t} = (1/σ_{lab})·({D}x̂ − a_{lab} − x̂·b_{lab}) = (1/{sd_t})·({t(gh)} − {tw(a)} − "
                    f"{tw(xh)}·{tw(b)}) = {td(gi)}   ({via})",
                    rf"{head_x} = \frac{{1}}{{{sd_x}}}\left({x(gh)} - {x(a, True)} - {x(xh, True)} \cdot "
                    rf"{x(b, True)}\right) = {x(gi)}")


def _param_lines(p: fwd.NormProblem, w: fwd.Worked, g: core.Gradients, dy: Array, base: int,
                 cap: int | None) -> Iterator[Block]:
    plan = p.plan
    cells = list(np.ndindex(plan.param_shape))
    limit = len(cells) if cap is None else min(DEFAULT_CELL_CAP, len(cells))
    for k in cells[:limit]:
        lab = index_text(k, base)
        yield Equation(f"{D}{sub('β', lab, False)} = Σ {D}y over its {_count(plan)} cells = {td(g.grad_bias[k])};   "
                       f"{D}{sub('γ', lab, False)} = Σ {D}y · x̂ = {td(g.grad_weight[k])}",
                       rf"{_grad_tex(chr(92) + 'beta', lab)} = {x(g.grad_bias[k])}, \quad "
                       rf"{_grad_tex(chr(92) + 'gamma', lab)} = {x(g.grad_weight[k])}")
    if limit < len(cells):
        yield Note(f"… {limit} of {len(cells)} parameters shown; --steps all shows every one.")


def _count(plan: core.NormPlan) -> int:
    return math.prod(plan.shape) // max(math.prod(plan.param_shape), 1)
