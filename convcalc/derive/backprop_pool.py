"""The worked backward pass of pooling: where each upstream value goes and how much of it.

Max routes each upstream value to the input cell that won its window (first in row-major
order on ties); avg spreads it evenly (g/divisor, the forward's divisor); LP by the chain rule.
Overlapping windows add up, so the last step collects every contribution per input cell.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convcalc.core import pool as core
from convcalc.core import pool_backward as bw
from convcalc.derive.answer import check_matrix, verdict_steps, wrong_cell_indices
from convcalc.derive.conv import DEFAULT_CELL_CAP, canonical_cell, show, worked_count
from convcalc.derive.layout import Layout, select_cells, shown_index
from convcalc.derive.pool_cells import Routing, input_cell, local_derivatives
from convcalc.derive.records import AnswerCheck, Block, Elided, Heading, Note, Solution
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.limits import check_worked
from convcalc.numbers import Array, Kind, fmt, kind_of, normalize


@dataclass(frozen=True)
class PoolProblem:
    """A pooling layer's settings (PyTorch's meaning) and its canonical (N, C, *S) input."""

    x: Array
    mode: str  # max, avg or lp
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    count_include_pad: bool
    divisor_override: int | None
    norm_type: float
    layout: Layout

    def settings(self) -> dict[str, Any]:
        one = (lambda t: t[0]) if len(self.kernel) == 1 else list
        out: dict[str, Any] = {"mode": self.mode, "dim": len(self.kernel), "kernel_size": one(self.kernel),
                               "stride": one(self.stride), "ceil_mode": self.ceil_mode}
        if self.mode != "lp":
            out["padding"] = one(self.padding)
        if self.mode == "max":
            out["dilation"] = one(self.dilation)
        if self.mode == "avg":
            out.update(count_include_pad=self.count_include_pad, divisor_override=self.divisor_override)
        if self.mode == "lp":
            out["norm_type"] = self.norm_type
        return out


def forward(p: PoolProblem) -> Array:
    if p.mode == "max":
        return core.max_pool_nd(p.x, p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode)[0]
    if p.mode == "avg":
        return core.avg_pool_nd(p.x, p.kernel, p.stride, p.padding, p.ceil_mode, p.count_include_pad,
                                p.divisor_override)
    return core.lp_pool_nd(p.x, p.norm_type, p.kernel, p.stride, p.ceil_mode)


def backward(p: PoolProblem, g: Array) -> Array:
    if p.mode != "avg" and p.x.dtype == object and kind_of(p.x) is Kind.SYMBOLIC:
        raise ConvcalcError(f"{p.mode} pooling sends the gradient to the window's largest entry, which depends on "
                            "the letters: give the input in numbers (letters may go in --grad-output)", "--input")
    if p.mode == "max":
        return bw.max_pool_nd_backward(g, p.x, p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode)
    if p.mode == "avg":
        return bw.avg_pool_nd_backward(g, p.x.shape, p.kernel, p.stride, p.padding, p.ceil_mode,
                                       p.count_include_pad, p.divisor_override)
    return bw.lp_pool_nd_backward(g, p.x, p.norm_type, p.kernel, p.stride, p.ceil_mode)


def routing(p: PoolProblem, grad_output: Array | None) -> Routing:
    """Forward, the upstream gradient, the backward pass and every window's local derivatives."""
    from convcalc.derive.backprop import upstream

    if p.mode == "lp" and any(p.padding):
        raise ConvcalcError("LP pooling has no padding in PyTorch", "--padding")
    out = forward(p)
    g = upstream(grad_output, out, p.layout)
    gi = backward(p, g)
    geom = core.pool_geometry(p.x.shape[2:], p.kernel, p.stride, p.padding if p.mode != "lp" else None,
                              p.dilation if p.mode == "max" else None, p.ceil_mode)
    local = local_derivatives(p.x, g, p.mode, geom, p.count_include_pad, p.divisor_override, p.norm_type)
    mode = "lp-inf" if p.mode == "lp" and math.isinf(p.norm_type) else p.mode
    return Routing(p.x, out, g, gi, local, geom, mode, p.layout, p.norm_type)


def solve(p: PoolProblem, grad_output: Array | None, answer: Array | None = None,
          cap: int | None = DEFAULT_CELL_CAP, base: int = 1, cells: Sequence[tuple[int, ...]] = ()) -> Solution:
    """Forward, then the routed/spread gradient, cell by cell up to ``cap`` output cells; ``cells``
    picks input cells whose incoming gradient is worked as a chain-rule sum instead."""
    r = routing(p, grad_output)
    check_worked(worked_count(r.gi.size, cells, cap), 64, "this worked backward pass")
    if cells:  # reject a bad cell before anything is rendered
        select_cells(r.gi.shape, cells, None, base)
    shown = p.layout.shown(r.gi)
    check = check_matrix("dA", answer, shown, kind_of(r.gi)) if answer is not None else None
    status = ExitStatus.WRONG_ANSWER if check is not None and not bool(check.ok.all()) else ExitStatus.OK
    data: dict[str, Any] = {"grad_input": shown, "output": p.layout.shown(r.out), "grad_output": p.layout.shown(r.g)}
    if check is not None:
        data["answer_correct"] = bool(check.ok.all())
        data["wrong_cells"] = wrong_cell_indices(check, base)
    title = {"max": "Backpropagation through max pooling", "avg": "Backpropagation through average pooling",
             "lp": "Backpropagation through power-average (LP) pooling"}[p.mode]
    return Solution("backprop pool", title, p.settings(), data, _blocks(p, r, check, cells, cap, base), base,
                    status)


HOW = {"max": "Only the input that won a window affected its output, so the whole upstream value goes there "
              "(ties: the first position in row-major order, as PyTorch picks it); the rest get 0.",
       "avg": "Every input cell a window averaged gets an equal share: g/divisor, the divisor the forward used "
              "(padding cells take a share that goes nowhere).",
       "lp": "out = (K/n · Σ x^p)^(1/p) over the window's n input cells, so ∂out/∂x = (K/n)·(K·a)^(1/p−1)·x^(p−1) "
             "with a = Σ x^p / n the window's mean (torch stops the gradient of a window whose a is 0).",
       "lp+inf": "p = ∞: out is the largest |x| of the window, as torch computes it (max pooling of |x|), so the "
                 "upstream value goes to that cell times sign(x) (ties: the first in row-major order); the rest "
                 "get 0.",
       "lp-inf": "p = −∞: out is the smallest |x| of the window, as torch computes it (−max pooling of −|x|), so "
                 "the upstream value goes to that cell times sign(x) (ties: the first in row-major order); the "
                 "rest get 0."}


def _how(r: Routing) -> str:
    return HOW["lp+inf" if r.mode == "lp-inf" and r.norm_type > 0 else r.mode]


def _blocks(p: PoolProblem, r: Routing, check: AnswerCheck | None, cells: Sequence[tuple[int, ...]],
            cap: int | None, base: int) -> Iterator[Block]:
    yield Heading("Given")
    yield from show("A", "input", p.layout.shown(p.x), base)
    yield from show("C", "pooled output", p.layout.shown(r.out), base)
    yield from show("dC", "upstream gradient (of the loss w.r.t. the output)", p.layout.shown(r.g), base)
    if cells:
        yield Heading("What flows into each chosen input cell")
        yield Note(_how(r))
        for cell in select_cells(r.gi.shape, cells, None, base)[0]:
            yield from input_cell(r, cell, base)
    else:
        yield from _forward_routes(p, r, cap, base)
    yield Heading("Result")
    yield from show("dA", "gradient of the loss w.r.t. the input", p.layout.shown(r.gi), base)
    if check is not None:
        yield from _answer(p, r, check, base)


MAX_ROUTED_CELLS = 100_000  # window cells routed one by one (every output cell's, for the sums of overlaps)


def _forward_routes(p: PoolProblem, r: Routing, cap: int | None, base: int) -> Iterator[Block]:
    yield Heading("Where each upstream value goes")
    yield Note(_how(r))
    routed = math.prod(r.out.shape) * math.prod(p.kernel)
    if routed > MAX_ROUTED_CELLS:
        yield Note(f"{math.prod(r.out.shape)} windows of {math.prod(p.kernel)} cells are too many to route one by "
                   f"one (at most {MAX_ROUTED_CELLS} cells in all); --cell i,j shows what flows into one input cell. "
                   "The result below is computed exactly all the same.")
        return
    contributions: dict[tuple[int, ...], list[str]] = {}
    lines = _routes(p, r, contributions, base)
    total = math.prod(r.out.shape)
    for i, line in enumerate(lines):
        if cap is not None and i >= cap:
            yield Elided(cap, total, "--cell i,j for what flows into one input cell, --steps all for every "
                                     "output cell")
            for _ in lines:  # keep collecting every contribution for the sums below
                pass
            break
        yield Note(line)
    shared = {k: v for k, v in contributions.items() if len(v) > 1}
    if shared:
        yield Heading("Overlapping windows add up")
        for idx, parts in itertools.islice(shared.items(), cap):
            yield Note(f"dA[{','.join(str(i + base) for i in idx)}] = {' + '.join(parts)} = "
                       f"{fmt(normalize(r.gi[canonical_cell(idx, p.layout, r.gi.shape)]))}")


def _answer(p: PoolProblem, r: Routing, check: AnswerCheck, base: int) -> Iterator[Block]:
    return verdict_steps(check, "∂L/∂A", "here is what flows into each of them",
                         lambda idx: input_cell(r, canonical_cell(idx, p.layout, r.gi.shape), base))


def _routes(p: PoolProblem, r: Routing, contributions: dict[tuple[int, ...], list[str]],
            base: int) -> Iterator[str]:
    """One line per output cell: "g → A[i,j]" (max, p = ±inf) or "g/div to each of ..." (avg, lp)."""
    size = p.x.shape[2:]
    win_pad = p.padding if p.mode != "lp" else None
    dil = p.dilation if p.mode == "max" else None
    shares = None
    if p.mode == "avg":
        shares = bw.avg_shares(r.g, size, p.kernel, p.stride, p.padding, p.ceil_mode, p.count_include_pad,
                               p.divisor_override)
    for cell in np.ndindex(*r.out.shape):
        n, c, *o = cell
        oname = _name("C", shown_index(n, c, tuple(o), p.layout, r.out.shape[1]), base)
        gv = normalize(r.g[cell])
        taps = core.pool_window(o, size, p.kernel, p.stride, win_pad, dil, p.ceil_mode)
        real = [(i, t.input) for i, t in enumerate(taps) if not t.is_padding]
        if r.mode in ("max", "lp-inf"):
            yield _winner(p, r, cell, oname, gv, real, contributions, base)
            continue
        targets = [shown_index(n, c, t, p.layout, p.x.shape[1]) for _, t in real]
        if shares is not None:
            how = f"{fmt(gv)}/{int(shares[1][tuple(o)])} = {fmt(normalize(shares[0][cell]))}"
        else:
            how = "g·∂out/∂x"
        for (i, _), idx in zip(real, targets, strict=True):
            contributions.setdefault(idx, []).append(fmt(normalize(gv * r.local[(*cell, i)])))
        where = ", ".join(_name("A", t, base) for t in targets) or "no input cell"
        yield f"{oname}: {how} to each of {where}"


def _winner(p: PoolProblem, r: Routing, cell: tuple[int, ...], oname: str, gv: Any,
            real: list[tuple[int, tuple[int, ...]]], contributions: dict[tuple[int, ...], list[str]],
            base: int) -> str:
    n, c = cell[:2]
    won = [(i, t) for i, t in real if r.local[(*cell, i)] != 0]
    if not real:
        return f"{oname}: the window holds only padding; nothing goes back."
    if not won:  # p = ±inf and the winner is 0: sign(0) = 0 sends nothing back
        return f"{oname}: the winning |x| is 0, and sign(0) = 0: nothing goes back."
    i, at = won[0]
    idx = shown_index(n, c, at, p.layout, p.x.shape[1])
    xv = p.x[(n, c, *at)]
    if r.mode == "max":
        values = [p.x[(n, c, *t)] for _, t in real]
        tie = " (a tie: the first in row-major order wins)" if sum(v == xv for v in values) > 1 else ""
        contributions.setdefault(idx, []).append(fmt(gv))
        return f"{oname}: max {fmt(normalize(xv))} at {_name('A', idx, base)}{tie}; {fmt(gv)} → {_name('dA', idx, base)}"
    mags = [abs(p.x[(n, c, *t)]) for _, t in real]
    tie = " (a tie: the first in row-major order wins)" if sum(m == abs(xv) for m in mags) > 1 else ""
    part = normalize(gv * r.local[(*cell, i)])
    contributions.setdefault(idx, []).append(fmt(part))
    which = "largest" if p.norm_type > 0 else "smallest"
    return (f"{oname}: the {which} |x| is |{fmt(normalize(xv))}| at {_name('A', idx, base)}{tie}; "
            f"{fmt(gv)}·sign({fmt(normalize(xv))}) = {fmt(part)} → {_name('dA', idx, base)}")


def _name(symbol: str, idx: Sequence[int], base: int) -> str:
    return f"{symbol}[{','.join(str(i + base) for i in idx)}]"
