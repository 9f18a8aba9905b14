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
from convcalc.derive.answer import check_matrix, wrong_cells
from convcalc.derive.conv import DEFAULT_CELL_CAP, canonical_cell, show
from convcalc.derive.layout import Layout, shown_index
from convcalc.derive.records import AnswerCheck, Block, Elided, Heading, Note, Solution
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.numbers import Array, fmt, kind_of, normalize


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
    if p.mode == "max":
        return bw.max_pool_nd_backward(g, p.x, p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode)
    if p.mode == "avg":
        return bw.avg_pool_nd_backward(g, p.x.shape, p.kernel, p.stride, p.padding, p.ceil_mode,
                                       p.count_include_pad, p.divisor_override)
    return bw.lp_pool_nd_backward(g, p.x, p.norm_type, p.kernel, p.stride, p.ceil_mode)


def solve(p: PoolProblem, grad_output: Array | None, answer: Array | None = None,
          cap: int | None = DEFAULT_CELL_CAP, base: int = 1) -> Solution:
    """Forward, then the routed/spread gradient, cell by cell up to ``cap`` output cells."""
    from convcalc.derive.backprop import upstream

    if p.mode == "lp" and any(p.padding):
        raise ConvcalcError("LP pooling has no padding in PyTorch", "--padding")
    out = forward(p)
    g = upstream(grad_output, out, p.layout)
    gi = backward(p, g)
    shown = p.layout.shown(gi)
    check = check_matrix("dA", answer, shown, kind_of(gi)) if answer is not None else None
    status = ExitStatus.WRONG_ANSWER if check is not None and not bool(check.ok.all()) else ExitStatus.OK
    data: dict[str, Any] = {"grad_input": shown, "output": p.layout.shown(out), "grad_output": p.layout.shown(g)}
    if check is not None:
        data["answer_correct"] = bool(check.ok.all())
        data["wrong_cells"] = [[i + base for i in idx] for idx in wrong_cells(check)]
    title = {"max": "Backpropagation through max pooling", "avg": "Backpropagation through average pooling",
             "lp": "Backpropagation through power-average (LP) pooling"}[p.mode]
    return Solution("backprop pool", title, p.settings(), data, _blocks(p, out, g, gi, check, cap, base), base,
                    status)


def _blocks(p: PoolProblem, out: Array, g: Array, gi: Array, check: AnswerCheck | None, cap: int | None,
            base: int) -> Iterator[Block]:
    yield Heading("Given")
    yield from show("A", "input", p.layout.shown(p.x), base)
    yield from show("C", "pooled output", p.layout.shown(out), base)
    yield from show("dC", "upstream gradient (of the loss w.r.t. the output)", p.layout.shown(g), base)
    yield Heading("Where each upstream value goes")
    yield Note({"max": "Only the input that won a window affected its output, so the whole upstream value goes "
                       "there (ties: the first position in row-major order, as PyTorch picks it); the rest get 0.",
                "avg": "Every input cell a window averaged gets an equal share: g/divisor, the divisor the forward "
                       "used (padding cells take a share that goes nowhere).",
                "lp": "out = (K/n · Σ x^p)^(1/p) over the window's n input cells, so ∂out/∂x = (K/n) · x^(p−1) "
                      "· out^(1−p)."}[p.mode])
    contributions: dict[tuple[int, ...], list[str]] = {}
    lines = _routes(p, out, g, contributions, base)
    total = math.prod(out.shape)
    for i, line in enumerate(lines):
        if cap is not None and i >= cap:
            yield Elided(cap, total, "--steps all for every output cell")
            for _ in lines:  # keep collecting every contribution for the sums below
                pass
            break
        yield Note(line)
    shared = {k: v for k, v in contributions.items() if len(v) > 1}
    if shared:
        yield Heading("Overlapping windows add up")
        for idx, parts in itertools.islice(shared.items(), cap):
            yield Note(f"dA[{','.join(str(i + base) for i in idx)}] = {' + '.join(parts)} = "
                       f"{fmt(normalize(gi[canonical_cell(idx, p.layout, gi.shape)]))}")
    yield Heading("Result")
    yield from show("dA", "gradient of the loss w.r.t. the input", p.layout.shown(gi), base)
    if check is not None:
        yield Heading("Checking your answer")
        yield check
        if check.shape_ok and not check.ok.all():
            yield Note(f"{int((~check.ok).sum())} of {check.ok.size} cells differ; the routes above show where "
                       "each value comes from.", "error")
        elif check.shape_ok:
            yield Note("Every cell of your answer is right.", "ok")


def _routes(p: PoolProblem, out: Array, g: Array, contributions: dict[tuple[int, ...], list[str]],
            base: int) -> Iterator[str]:
    """One line per output cell: "g → A[i,j]" (max) or "g/div to each of ..." (avg, lp)."""
    size = p.x.shape[2:]
    win_pad = p.padding if p.mode != "lp" else None
    dil = p.dilation if p.mode == "max" else None
    indices = core.max_pool_nd(p.x, p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode)[1] \
        if p.mode == "max" else None
    shares = None
    if p.mode == "avg":
        shares = bw.avg_shares(g, size, p.kernel, p.stride, p.padding, p.ceil_mode, p.count_include_pad,
                               p.divisor_override)
    for cell in np.ndindex(*out.shape):
        n, c, *o = cell
        oname = _name("C", shown_index(n, c, tuple(o), p.layout, out.shape[1]), base)
        gv = normalize(g[cell])
        taps = core.pool_window(o, size, p.kernel, p.stride, win_pad, dil, p.ceil_mode)
        real = [t.input for t in taps if not t.is_padding]
        if indices is not None:
            if not real:
                yield f"{oname}: the window holds only padding; nothing goes back."
                continue
            at = tuple(int(v) for v in np.unravel_index(int(indices[cell]), size))
            idx = shown_index(n, c, at, p.layout, p.x.shape[1])
            values = [p.x[(n, c, *t)] for t in real]
            tie = " (a tie: the first in row-major order wins)" if sum(v == p.x[(n, c, *at)] for v in values) > 1 else ""
            contributions.setdefault(idx, []).append(fmt(gv))
            yield f"{oname}: max {fmt(normalize(p.x[(n, c, *at)]))} at {_name('A', idx, base)}{tie}; " \
                  f"{fmt(gv)} → {_name('dA', idx, base)}"
            continue
        targets = [shown_index(n, c, t, p.layout, p.x.shape[1]) for t in real]
        if shares is not None:
            share = normalize(shares[0][cell])
            how = f"{fmt(gv)}/{int(shares[1][tuple(o)])} = {fmt(share)}"
        else:
            share = None
            how = "g·(K/n)·x^(p−1)·out^(1−p)"
        for t, idx in zip(real, targets, strict=True):
            part = share if share is not None else _lp_part(p, gv, p.x[(n, c, *t)], out[cell], len(real))
            contributions.setdefault(idx, []).append(fmt(part))
        where = ", ".join(_name("A", t, base) for t in targets) or "no input cell"
        yield f"{oname}: {how} to each of {where}"


def _lp_part(p: PoolProblem, gv: Any, xv: Any, ov: Any, cells: int) -> float:
    """g·(K/n)·x^(p−1)·out^(1−p): one input cell's share of an LP window's upstream value."""
    q = float(p.norm_type)
    return float(gv) * math.prod(p.kernel) / cells * float(xv) ** (q - 1) * float(ov) ** (1 - q)


def _name(symbol: str, idx: Sequence[int], base: int) -> str:
    return f"{symbol}[{','.join(str(i + base) for i in idx)}]"
