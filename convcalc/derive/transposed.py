"""The worked solution of a transposed convolution: scatter (stamp the kernel) or gather
(zero-stuff, pad, convolve with the flipped kernel)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from convcalc.core.resample import upsample
from convcalc.core.transposed import (
    check_transposed,
    conv_transpose_nd,
    conv_transpose_nd_gather,
    gather_kernel,
    pad_or_crop,
    transposed_terms,
)
from convcalc.derive import conv as cv
from convcalc.derive.answer import check_matrix, wrong_cell_indices
from convcalc.derive.layout import Layout, check_cell_rank, select_cells
from convcalc.derive.records import AnswerCheck, Block, Elided, Heading, MatrixView, Note, SizeFormula, Solution
from convcalc.errors import ExitStatus
from convcalc.formulas import SizeResult, effective_kernel
from convcalc.limits import check_work, check_worked
from convcalc.numbers import Array, Kind, common_kind, fmt, unify
from convcalc.specs import AXIS_NAMES, make_conv_spec

MAX_PLACEMENTS = 16
TRANSPOSED_NAMES = cv.Names("Y", "W", "X")


@dataclass(frozen=True)
class TransposedProblem:
    """A transposed convolution: canonical x (N, C_in, *S), w (C_in, C_out/groups, *K)."""

    x: Array
    w: Array
    bias: Array | None
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    layout: Layout
    names: cv.Names = TRANSPOSED_NAMES
    view: str = "scatter"

    def settings(self) -> dict[str, object]:
        """Every setting, defaults included (an int per axis list, or one int in 1-D)."""
        def one(t: tuple[int, ...]) -> object:
            return t[0] if len(t) == 1 else list(t)
        return {"dim": self.layout.dim, "kernel_size": one(tuple(self.w.shape[2:])), "stride": one(self.stride),
                "padding": one(self.padding), "output_padding": one(self.output_padding),
                "dilation": one(self.dilation), "groups": self.groups, "bias": self.bias is not None,
                "view": self.view}


@dataclass(frozen=True)
class Worked:
    x: Array
    w: Array
    bias: Array | None
    out: Array
    size: tuple[int, ...]
    kind: Kind


def check_size(p: TransposedProblem, passes: int = 1) -> tuple[tuple[int, ...], int, Kind]:
    """The output size, the products per output cell and the number kind, after refusing work
    too big to do (``passes``: 3 for the forward pass and the two gradients)."""
    size = check_transposed(p.x.shape, p.w.shape, p.stride, p.padding, p.output_padding, p.dilation, p.groups)
    terms = transposed_terms(p.w.shape, p.groups)
    kind = common_kind(*(a for a in (p.x, p.w, p.bias) if a is not None))
    cells = p.x.shape[0] * p.w.shape[1] * p.groups * int(np.prod(size))
    what = "this transposed convolution" + (" and its gradients" if passes > 1 else "")
    check_work(passes * cells * terms, kind, what, exact_big_ints=p.x.dtype == object)
    return size, terms, kind


def compute(p: TransposedProblem) -> Worked:
    """Both core forms once; they must agree (they share nothing but the size formula)."""
    size, terms, kind = check_size(p)
    x, w, b = unify([p.x, p.w, p.bias], terms)
    assert x is not None and w is not None
    out = conv_transpose_nd(x, w, b, p.stride, p.padding, p.output_padding, p.dilation, p.groups)
    other = conv_transpose_nd_gather(x, w, b, p.stride, p.padding, p.output_padding, p.dilation, p.groups)
    assert out.shape == other.shape and all(a == b2 or kind is Kind.FLOAT for a, b2 in zip(out.flat, other.flat, strict=True))
    return Worked(x, w, b, out, size, kind)


def solve(p: TransposedProblem, answer: Array | None = None, cells: Sequence[tuple[int, ...]] = (),
          cap: int | None = cv.DEFAULT_CELL_CAP, base: int = 1) -> Solution:
    """The worked solution in the chosen view."""
    wk = compute(p)
    check_worked(cv.worked_count(wk.out.size, cells, cap), transposed_terms(p.w.shape, p.groups),
                 "this worked transposed convolution")
    if cells:
        check_cell_rank(cells, p.layout.shown(wk.out).ndim, wk.out.ndim - 2)
        select_cells(wk.out.shape, cells, None, base)
    shown = p.layout.shown(wk.out)
    check = check_matrix(p.names.output, answer, shown, wk.kind) if answer is not None else None
    status = ExitStatus.WRONG_ANSWER if check is not None and not bool(check.ok.all()) else ExitStatus.OK
    data: dict[str, object] = {"output": shown, "shape": list(shown.shape)}
    if check is not None:
        data["answer_correct"] = bool(check.ok.all())
        data["wrong_cells"] = wrong_cell_indices(check, base)
    title = f"Transposed convolution ({p.view} view)"
    return Solution("transposed-conv", title, p.settings(), data, _blocks(p, wk, check, cells, cap, base),
                    base, status)


def _blocks(p: TransposedProblem, wk: Worked, check: AnswerCheck | None, cells: Sequence[tuple[int, ...]],
            cap: int | None, base: int) -> Iterator[Block]:
    n = p.names
    yield Heading("Given")
    yield from cv.show(n.input, "input", p.layout.shown(wk.x), base)
    square = wk.w.shape[:2] == (1, 1)
    yield from cv.show(n.kernel, "kernel" if square else "kernel (C_in, C_out/groups, ...)",
                        wk.w[0, 0] if square else wk.w, base)
    if wk.bias is not None:
        yield Note(f"bias b = {', '.join(fmt(v) for v in wk.bias)} (one per output channel)")
    yield Heading("Output size")
    yield from size_steps(p, wk)
    conv_p, conv_wk = _gather_problem(p, wk)
    if p.view == "scatter":
        yield Heading("Scatter: each input value stamps a scaled copy of the kernel")
        yield from _scatter(p, wk, base)
    else:
        yield Heading("Gather: zero-stuff, pad, convolve with the flipped kernel")
        yield from _gather(p, wk, conv_p, conv_wk, cells, cap, base)
    yield Heading("Result")
    yield from cv.show(n.output, "output", p.layout.shown(wk.out), base)
    if check is not None:
        yield from cv.answer_steps(conv_p, conv_wk, check, base)


def size_steps(p: TransposedProblem, wk: Worked) -> Iterator[Block]:
    """O = (I−1)·S − 2P + d(K−1) + P_out + 1 per axis."""
    for ax, i, k, s, pad, d, op, o in zip(AXIS_NAMES[p.layout.dim], p.x.shape[2:], p.w.shape[2:], p.stride,
                                          p.padding, p.dilation, p.output_padding, wk.size, strict=True):
        yield SizeFormula(ax, "transposed", {"I": i, "K": k, "S": s, "P": pad, "d": d, "P_out": op},
                          SizeResult(Fraction(o), o, True))


def _stamp_target(pos: tuple[int, ...], p: TransposedProblem) -> tuple[slice, ...]:
    return tuple(slice(q * s, q * s + effective_kernel(k, d), d)
                 for q, s, k, d in zip(pos, p.stride, p.w.shape[2:], p.dilation, strict=True))


def _scatter(p: TransposedProblem, wk: Worked, base: int) -> Iterator[Block]:
    dim = p.layout.dim
    taps = " and ".join(f"{ax.lower()}·{s}" + (f" + t·{d}" if d > 1 else " + t")
                        for ax, s, d in zip(AXIS_NAMES[dim], p.stride, p.dilation, strict=True))
    yield Note(f"Input value {p.names.input}[…] times the kernel is added onto the canvas at {taps} (0-based, "
               "t the kernel tap); overlapping stamps add up.")
    zero_pads = (0,) * dim
    canvas = conv_transpose_nd(wk.x, wk.w, None, p.stride, zero_pads, p.output_padding, p.dilation, p.groups)
    placements = int(np.prod(wk.x.shape[2:]))
    single = wk.x.shape[:2] == (1, 1) and wk.w.shape[1] == 1
    if single and placements <= MAX_PLACEMENTS:
        run = np.zeros(canvas.shape[2:], dtype=canvas.dtype)
        if run.dtype == object:
            run.fill(0)
        for pos in itertools.product(*(range(v) for v in wk.x.shape[2:])):
            v = wk.x[(0, 0, *pos)]
            run[_stamp_target(pos, p)] += v * wk.w[0, 0]
            where = ",".join(str(q + base) for q in pos)
            at = ",".join(str(q * s + base) for q, s in zip(pos, p.stride, strict=True))
            yield MatrixView(f"{p.names.output}_full", f"running sum after {p.names.input}[{where}] = {fmt(v)} "
                             f"times {p.names.kernel}, its first tap on {p.names.output}_full[{at}]", run.copy(),
                             highlight=frozenset(itertools.product(*(range(t.start, t.stop, t.step)
                                                                     for t in _stamp_target(pos, p)))))
    else:
        if not single or placements > MAX_PLACEMENTS:
            yield Note(f"{placements} placements per channel: only the full canvas is shown.")
        yield from cv.show(f"{p.names.output}_full", "the full canvas (every stamp summed)",
                            p.layout.shown(canvas), base)
    if any(p.output_padding):
        yield Note("output_padding " + ", ".join(f"{ax}: {op}" for ax, op in zip(AXIS_NAMES[dim], p.output_padding,
                                                                                  strict=True))
                   + " adds that many rows/columns at the bottom/right of the canvas (zeros unless a stamp "
                   "reaches them); they are part of the canvas above.")
    if any(p.padding):
        pads = "; ".join(f"{ax}: {pad}" for ax, pad in zip(AXIS_NAMES[dim], p.padding, strict=True))
        yield Note(f"padding crops that many rows/columns from each side of the canvas ({pads}).")
        yield from cv.show(f"{p.names.output}_full", "canvas; its outer border is cropped",
                            p.layout.shown(canvas), base, tuple((v, v) for v in p.padding))
    if wk.bias is not None:
        yield Note("Then each output channel's bias is added to every cell.")


def _gather_problem(p: TransposedProblem, wk: Worked) -> tuple[cv.ConvProblem, cv.Worked]:
    """The equivalent ordinary convolution on the zero-stuffed, padded input."""
    pads = [(d * (k - 1) - pad, d * (k - 1) - pad + op)
            for k, pad, d, op in zip(p.w.shape[2:], p.padding, p.dilation, p.output_padding, strict=True)]
    xs = pad_or_crop(upsample(wk.x, p.stride), pads)
    wg = gather_kernel(wk.w, p.groups)
    spec = make_conv_spec(p.layout.dim, tuple(wg.shape[2:]), 1, 0, ",".join(map(str, p.dilation)), p.groups)
    names = cv.Names(p.names.input + "_z", p.names.kernel + "_flip", p.names.output)
    cp = cv.ConvProblem(xs, wg, wk.bias, spec, p.layout, names)
    return cp, cv.compute(cp)


def gather_problem(p: TransposedProblem, wk: Worked) -> tuple[cv.ConvProblem, cv.Worked]:
    """The gather view's ordinary convolution (for figures of it)."""
    return _gather_problem(p, wk)


def _gather(p: TransposedProblem, wk: Worked, cp: cv.ConvProblem, cwk: cv.Worked,
            cells: Sequence[tuple[int, ...]], cap: int | None, base: int) -> Iterator[Block]:
    dim = p.layout.dim
    ins = ", ".join(f"{ax}: {s - 1}" for ax, s in zip(AXIS_NAMES[dim], p.stride, strict=True))
    yield Note(f"Insert stride−1 zeros between neighbouring input values ({ins}).")
    yield from cv.show(p.names.input + "_up", "zero-stuffed input", p.layout.shown(upsample(wk.x, p.stride)), base)
    parts = "; ".join(f"{ax}: {d}·({k}−1)−{pad} = {d * (k - 1) - pad} before, that +{op} after"
                      for ax, k, pad, d, op in zip(AXIS_NAMES[dim], p.w.shape[2:], p.padding, p.dilation,
                                                    p.output_padding, strict=True))
    yield Note(f"Pad by d(K−1)−P on each side, plus output_padding at the end ({parts}); a negative amount "
               "crops instead.")
    frame = tuple((max(d * (k - 1) - pad, 0), max(d * (k - 1) - pad + op, 0)) for k, pad, d, op
                  in zip(p.w.shape[2:], p.padding, p.dilation, p.output_padding, strict=True))
    yield from cv.show(cp.names.input, "zero-stuffed, padded input", p.layout.shown(cwk.x), base, frame)
    yield Note("Flip the kernel in every spatial axis (and swap its channel axes: (C_out, C_in/groups, ...)); then "
               "cross-correlate at stride 1" + (f" with dilation {p.dilation}" if any(d > 1 for d in p.dilation)
                                                else "") + ".")
    yield from cv.show(cp.names.kernel, "flipped kernel", cwk.w[0, 0] if cwk.w.shape[:2] == (1, 1) else cwk.w,
                        base)
    yield Heading("Each output cell")
    chosen, total = select_cells(cwk.out.shape, cells, None if cells else cap, base)
    shown = 0
    for cell in chosen:
        shown += 1
        yield cv.cell_work(cp, cwk, cell)
    if not cells and shown < total:
        yield Elided(shown, total, "--cell i,j for one cell, --steps all for every cell")
