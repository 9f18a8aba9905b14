"""The worked solution of pooling (max, average, power-average, adaptive): every window."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from convcalc.core.conv import conv_nd
from convcalc.core.pool import (
    WindowTap,
    adaptive_avg_pool_nd,
    adaptive_max_pool_nd,
    adaptive_ranges,
    avg_pool_nd,
    lp_pool_nd,
    max_pool_nd,
    pool_window,
)
from convcalc.derive.answer import check_matrix, wrong_cell_indices, wrong_cells
from convcalc.derive.conv import show, worked_count
from convcalc.derive.layout import Layout, select_cells, shown_index
from convcalc.derive.records import Block, Elided, Heading, Note, SizeFormula, Solution
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.formulas import adaptive_widths, pool_output_size
from convcalc.limits import check_worked
from convcalc.numbers import Array, Kind, equal_numbers, fmt, fmt_with_decimal, kind_of, unify
from convcalc.specs import AXIS_NAMES

DEFAULT_CELL_CAP = 25
MODES = ("max", "avg", "lp", "adaptive-max", "adaptive-avg")


@dataclass(frozen=True)
class PoolProblem:
    """A pooling to work: canonical x (N, C, *S) and PyTorch's settings."""

    x: Array
    mode: str
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    layout: Layout
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    norm: float = 2.0
    output_size: tuple[int, ...] = ()
    as_conv: bool = False
    names: tuple[str, str] = ("A", "P")

    @property
    def adaptive(self) -> bool:
        return self.mode.startswith("adaptive")

    def settings(self) -> dict[str, object]:
        def one(t: tuple[int, ...]) -> object:
            return t[0] if len(t) == 1 else list(t)
        if self.adaptive:
            return {"dim": self.layout.dim, "mode": self.mode, "output_size": one(self.output_size)}
        out: dict[str, object] = {"dim": self.layout.dim, "mode": self.mode, "kernel_size": one(self.kernel),
                                  "stride": one(self.stride), "ceil_mode": self.ceil_mode}
        if self.mode != "lp":
            out["padding"] = one(self.padding)
        if self.mode == "max":
            out["dilation"] = one(self.dilation)
        if self.mode == "avg":
            out.update(count_include_pad=self.count_include_pad, divisor_override=self.divisor_override,
                       as_conv=self.as_conv)
        if self.mode == "lp":
            out["norm_type"] = int(self.norm) if float(self.norm).is_integer() else self.norm
        return out


def _validate(p: PoolProblem) -> None:
    if p.mode not in MODES:
        raise ConvcalcError(f"must be one of {', '.join(MODES)}, got {p.mode!r}", "--mode")
    if p.mode in ("avg", "lp", "adaptive-avg", "adaptive-max") and any(d != 1 for d in p.dilation):
        raise ConvcalcError(f"{p.mode} pooling has no dilation in PyTorch", "--dilation")
    if p.mode == "lp" and any(p.padding):
        raise ConvcalcError("lp pooling has no padding in PyTorch", "--padding")
    if p.adaptive and len(p.output_size) != p.layout.dim:
        raise ConvcalcError(f"adaptive pooling needs --output-size with {p.layout.dim} value(s)", "--output-size")
    if p.as_conv and p.mode != "avg":
        raise ConvcalcError("--as-conv works for --mode avg only", "--as-conv")


def compute(p: PoolProblem) -> tuple[Array, Array | None]:
    """(values, argmax or None), both (N, C, *O)."""
    _validate(p)
    if p.mode == "max":
        return max_pool_nd(p.x, p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode)
    if p.mode == "avg":
        return avg_pool_nd(p.x, p.kernel, p.stride, p.padding, p.ceil_mode, p.count_include_pad,
                           p.divisor_override), None
    if p.mode == "lp":
        return lp_pool_nd(p.x, p.norm, p.kernel, p.stride, p.ceil_mode), None
    if p.mode == "adaptive-max":
        return adaptive_max_pool_nd(p.x, p.output_size)
    return adaptive_avg_pool_nd(p.x, p.output_size), None


def solve(p: PoolProblem, answer: Array | None = None, cells: Sequence[tuple[int, ...]] = (),
          cap: int | None = DEFAULT_CELL_CAP, base: int = 1) -> Solution:
    """The whole worked pooling."""
    out, idx = compute(p)
    check_worked(worked_count(out.size, cells, cap), math.prod(p.kernel) if p.kernel else 64, "this worked pooling")
    if cells:
        select_cells(out.shape, cells, None, base)
    shown = p.layout.shown(out)
    kind = Kind.FLOAT if kind_of(out) is Kind.FLOAT else Kind.RATIONAL
    check = check_matrix(p.names[1], answer, shown, kind) if answer is not None else None
    status = ExitStatus.WRONG_ANSWER if check is not None and not bool(check.ok.all()) else ExitStatus.OK
    data: dict[str, object] = {"output": shown, "shape": list(shown.shape)}
    known = idx is not None and bool((idx >= 0).all())  # letters have no argmax (-1)
    if known:
        data["argmax"] = p.layout.shown(idx)
    if check is not None:
        data["answer_correct"] = bool(check.ok.all())
        data["wrong_cells"] = wrong_cell_indices(check, base)
    title = {"max": "Max pooling", "avg": "Average pooling", "lp": f"Power-average (L{_power(p.norm)}) pooling",
             "adaptive-max": "Adaptive max pooling", "adaptive-avg": "Adaptive average pooling"}[p.mode]

    def blocks() -> Iterator[Block]:
        a, o = p.names
        yield Heading("Given")
        yield from show(a, "input (pooled per channel)", p.layout.shown(p.x), base)
        yield Heading("Output size")
        yield from size_steps(p)
        yield Heading("Each output cell")
        if p.mode == "lp" and math.isinf(p.norm):
            yield Note("p = ∞: (Σ|x|^p)^(1/p) tends to the largest |x| of the window; PyTorch computes it as max "
                       "pooling of |x|." if p.norm > 0 else "p = −∞: (Σ|x|^p)^(1/p) tends to the smallest |x| of the "
                       "window; PyTorch computes it as −(max pooling of −|x|).")
        chosen, total = select_cells(out.shape, cells, None if cells else cap, base)
        window = _largest_window(p)
        if window > MAX_LISTED_CELLS:  # one sentence would list them all
            yield Note(f"A window holds up to {window} cells: too many to list one by one (at most "
                       f"{MAX_LISTED_CELLS}); the result below is computed exactly all the same.")
            chosen = []
        n = 0
        for cell in chosen:
            n += 1
            yield Note(cell_text(p, out, idx, cell, base))
        if not cells and 0 < n < total:
            yield Elided(n, total, "--cell i,j for one cell, --steps all for every cell")
        if p.as_conv:
            yield from as_conv_steps(p, out, base)
        yield Heading("Result")
        yield from show(o, "output", shown, base)
        if known:
            assert idx is not None
            yield Note("argmax (PyTorch's return_indices: flattened row-major per channel, 0-based): "
                       + "; ".join(str(v) for v in p.layout.shown(idx).reshape(-1).tolist()))
        if check is not None:
            yield Heading("Checking your answer")
            yield check
            bad = wrong_cells(check)
            yield Note("Every cell of your answer is right." if check.shape_ok and not bad else
                       f"{len(bad) if check.shape_ok else 'all'} cell(s) differ: see the worked cells above.",
                       "ok" if check.shape_ok and not bad else "error")

    return Solution("pool", title, p.settings(), data, blocks(), base, status)


MAX_LISTED_CELLS = 1000  # window cells one worked output cell lists


def _largest_window(p: PoolProblem) -> int:
    """Cells in the largest window: the kernel, or the widest adaptive window."""
    if p.adaptive:
        return math.prod(adaptive_widths(i, o)[1] if o else 0 for i, o in zip(p.x.shape[2:], p.output_size,
                                                                             strict=True))
    return math.prod(p.kernel)


def size_steps(p: PoolProblem) -> Iterator[Block]:
    """The size formula per axis; adaptive pooling gets its window rule instead."""
    axes = AXIS_NAMES[p.layout.dim]
    if p.adaptive:
        for ax, i, o in zip(axes, p.x.shape[2:], p.output_size, strict=True):
            yield Note(f"{ax}: adaptive pooling makes {o} windows over {i} cells; window u covers "
                       f"⌊u·{i}/{o}⌋ to ⌈(u+1)·{i}/{o}⌉ (exclusive): "
                       + ", ".join(f"[{lo},{hi})" for lo, hi in adaptive_ranges(i, o)) + " (0-based).")
        return
    for ax, i, k, s, pad, d in zip(axes, p.x.shape[2:], p.kernel, p.stride, p.padding, p.dilation, strict=True):
        res = pool_output_size(i, k, s, pad, d, p.ceil_mode)
        yield SizeFormula(ax, "pool_ceil" if p.ceil_mode else "pool", {"I": i, "K": k, "S": s, "P": pad, "d": d}, res)
        if res.ceil_adjusted:
            yield Note(f"{ax}: PyTorch's rule: the last window must start inside the input or the left padding; "
                       f"the ceiling's last window would start in the right padding, so it is dropped ({res.value}).",
                       "warn")
        elif not res.integral:
            how = "rounds up (ceil_mode)" if p.ceil_mode else "floors it (ceil_mode=False)"
            yield Note(f"{ax}: {fmt(res.exact)} is not an integer: the windows do not tile exactly; PyTorch {how} "
                       f"to {res.value}.", "warn")


def _at(a: str, coord: Sequence[int], base: int) -> str:
    return f"{a}[{','.join(str(c + base) for c in coord)}]"


def cell_text(p: PoolProblem, out: Array, idx: Array | None, cell: tuple[int, ...], base: int) -> str:
    """One output cell as a sentence: its window values and how they combine."""
    a, o = p.names
    n, c, *pos = cell
    head = _at(o, shown_index(n, c, tuple(pos), p.layout, out.shape[1]), base)
    value = fmt_with_decimal(out[cell])
    chan = (n, c)
    if p.adaptive:
        ranges = [adaptive_ranges(i, k)[q] for i, k, q in zip(p.x.shape[2:], p.output_size, pos, strict=True)]
        block = p.x[(n, c, *(slice(lo, hi) for lo, hi in ranges))]
        vals = [fmt(v) for v in block.flat]
        where = " × ".join(f"{lo + base}..{hi - 1 + base}" for lo, hi in ranges)
        if p.mode == "adaptive-max":
            assert idx is not None
            if idx[cell] < 0:
                return f"{head} = max over {a}[{where}] = max({', '.join(vals)}) = {value}"
            win = np.unravel_index(int(idx[cell]), p.x.shape[2:])
            return f"{head} = max over {a}[{where}] = max({', '.join(vals)}) = {value} (at {_at(a, win, base)})"
        return f"{head} = mean over {a}[{where}] = ({_sum(vals)})/{block.size} = {value}"
    taps = pool_window(pos, p.x.shape[2:], p.kernel, p.stride, p.padding, p.dilation, p.ceil_mode)
    real = [t for t in taps if not t.is_padding]
    if p.mode == "max":
        assert idx is not None
        vals = [fmt(p.x[(*chan, *t.input)]) if not t.is_padding else "−∞ (pad)" for t in taps]
        win = np.unravel_index(int(idx[cell]), p.x.shape[2:]) if real and idx[cell] >= 0 else None
        at = f" (at {_at(a, win, base)}{'; ties go to the first in row-major order' if _tie(p, real, chan) else ''})" \
            if win is not None else " (the window holds only padding)" if not real else \
            " (which entry is largest depends on the letters)"
        return f"{head} = max({', '.join(vals)}) = {value}{at}"
    if p.mode == "lp" and math.isinf(p.norm):
        mags = ", ".join(f"|{fmt(p.x[(*chan, *t.input)])}|" for t in real)
        which = "max" if p.norm > 0 else "min"
        return f"{head} = {which}({mags}) = {value}"
    if p.mode == "lp":
        pw = fmt(p.norm)
        vals = [f"{fmt(p.x[(*chan, *t.input)])}^{pw}" for t in real]
        note = "" if len(real) == len(taps) else (f"; the clipped last window (ceil_mode) has {len(real)} cells, and "
                                                   f"PyTorch scales its sum by {len(taps)}/{len(real)}")
        return f"{head} = ({' + '.join(vals)})^(1/{pw}) = {value}{note}"
    vals = [fmt(p.x[(*chan, *t.input)]) if not t.is_padding else "0" for t in taps if not t.beyond]
    inside = sum(1 for t in taps if not t.beyond)
    if p.divisor_override is not None:
        div, why = p.divisor_override, "divisor_override"
    elif p.count_include_pad:
        div = inside
        why = "count_include_pad=True: every window cell inside the padded input counts"
        if inside < len(taps):
            why += f"; {len(taps) - inside} cell(s) past the padded input (ceil_mode) do not"
    else:
        div = len(real)
        why = "count_include_pad=False: only the window's real input cells count"
    if why.startswith("count_include_pad=True") and inside == len(taps) and not any(t.is_padding for t in taps):
        why = f"the window's {div} cells"
    return f"{head} = ({_sum(vals)})/{div} = {value} (divisor {div}: {why})"


def _sum(vals: list[str]) -> str:
    """a + b + (−c): negative terms after the first in parentheses."""
    return " + ".join(v if i == 0 or not v.startswith("-") else f"({v})" for i, v in enumerate(vals))


def _tie(p: PoolProblem, real: list[WindowTap], chan: tuple[int, int]) -> bool:
    vals = [p.x[(*chan, *t.input)] for t in real]
    best = max(vals)
    return sum(1 for v in vals if v == best) > 1


def as_conv_steps(p: PoolProblem, out: Array, base: int) -> Iterator[Block]:
    """Average pooling as a convolution: C×C×∏K weights W[l,γ] = δ_{lγ}/∏K (each output channel
    averages its own input channel), stride = the pool's; the equality checked cell by cell."""
    yield Heading("The same as a convolution")
    k = math.prod(p.kernel)
    kind = kind_of(p.x)
    floating = kind is Kind.FLOAT
    one = 1.0 / k if floating else Fraction(1, k)
    channels = p.x.shape[1]
    w = np.zeros((channels, channels, *p.kernel), dtype=float if floating else object)
    for c in range(channels):
        w[c, c] = one
    shape = "×".join(map(str, (channels, channels, *p.kernel)))
    yield Note(f"Average pooling is a convolution with {shape} weights W[l,γ,α,β] = δ(l,γ)/{k} — 1/{k} where the "
               f"output channel l reads its own input channel γ = l, 0 across channels — stride "
               f"{','.join(map(str, p.stride))} (= the pool's), no bias"
               + (f", zero padding {','.join(map(str, p.padding))}" if any(p.padding) else "") + ".")
    if channels <= 4:
        yield from show("W_avg", f"the equivalent conv weights, {shape}", w if channels > 1 else w[0, 0], base)
    x, w2 = unify([p.x, w], channels * k)
    assert x is not None and w2 is not None
    conv = conv_nd(x, w2, None, p.stride, tuple((v, v) for v in p.padding), (1,) * len(p.kernel), 1, "zeros")
    same = conv.shape == out.shape and all(equal_numbers(u, v, not floating)
                                           for u, v in zip(conv.flat, out.flat, strict=True))
    yield from show(p.names[1] + "_conv", "the convolution's output", p.layout.shown(conv), base)
    exact_divisor = p.divisor_override in (None, k) and (p.count_include_pad or not any(p.padding)) \
        and not p.ceil_mode
    if exact_divisor:
        assert same, "avg pool and its conv form differ"
    if same:
        yield Note("It equals the pooled output, cell for cell (checked" + (
            ": in symbols, each cell's difference simplifies to 0)." if kind is Kind.SYMBOLIC else ")."), "ok")
    else:
        yield Note("It differs from the pooled output here: the pool divides some windows by other than "
                   f"{k} (count_include_pad=False, ceil_mode clipping or divisor_override), or ceil_mode adds a "
                   "window the convolution does not have.", "warn")


def _power(norm: float) -> str:
    return ("∞" if norm > 0 else "−∞") if math.isinf(norm) else fmt(norm)
