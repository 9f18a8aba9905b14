"""The worked solution of a convolution (and a dilated one): windows, products, sums."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from convcalc.core.conv import conv_nd
from convcalc.core.padding import pad_spatial
from convcalc.derive.answer import check_matrix, verdict_steps, wrong_cell_indices
from convcalc.derive.layout import Layout, select_cells, shown_index, slices_2d
from convcalc.derive.records import (
    AnswerCheck,
    Block,
    CellWork,
    Elided,
    Heading,
    MatrixView,
    Note,
    SizeFormula,
    Solution,
    TermGroup,
)
from convcalc.errors import ExitStatus
from convcalc.formulas import conv_output_size, effective_kernel
from convcalc.limits import check_cells, check_memory, check_work, check_worked
from convcalc.numbers import Array, Kind, common_kind, fmt, normalize, unify
from convcalc.specs import AXIS_NAMES, ConvSpec

DEFAULT_CELL_CAP = 25


@dataclass(frozen=True)
class Names:
    """Symbols for the input, kernel and output (the seeds use A, B, C or X, W, Y)."""

    input: str = "A"
    kernel: str = "B"
    output: str = "C"


@dataclass(frozen=True)
class ConvProblem:
    """A convolution to work: canonical arrays plus how the user laid them out."""

    x: Array  # (N, C_in, *S)
    w: Array  # (C_out, C_in/groups, *K)
    bias: Array | None  # (C_out,)
    spec: ConvSpec
    layout: Layout
    names: Names = Names()


@dataclass(frozen=True)
class Worked:
    """The numbers a derivation needs, computed once."""

    x: Array
    w: Array  # flipped when spec.flip
    bias: Array | None
    xp: Array  # padded input
    out: Array  # (N, C_out, *O)
    kind: Kind


def compute(p: ConvProblem, passes: int = 1) -> Worked:
    """Run the core once on unified number kinds (after refusing work too big to do; ``passes``:
    3 when the two gradients follow)."""
    kind = common_kind(*(a for a in (p.x, p.w, p.bias) if a is not None))
    w = np.flip(p.w, axis=tuple(range(2, p.w.ndim))) if p.spec.flip else p.w
    terms = w.shape[1] * math.prod(w.shape[2:]) + 1
    _check_size(p, terms, kind, passes)
    x, w2, b = unify([p.x, w, p.bias], terms)
    assert x is not None and w2 is not None
    with np.errstate(over="ignore", invalid="ignore"):
        out = conv_nd(x, w2, b, p.spec.stride, p.spec.padding, p.spec.dilation, p.spec.groups, p.spec.padding_mode)
    xp = pad_spatial(x, p.spec.padding, p.spec.padding_mode)
    return Worked(x, w2, b, xp, out, kind)


def _output_sizes(p: ConvProblem) -> list[int]:
    return [conv_output_size(i, k, s, lo + hi, d).value for i, k, s, (lo, hi), d
            in zip(p.x.shape[2:], p.spec.kernel_size, p.spec.stride, p.spec.padding, p.spec.dilation, strict=True)]


def output_cells(p: ConvProblem) -> int:
    """Cells of the output (N·C_out·∏O), from the size formula: known before any work."""
    return p.x.shape[0] * p.w.shape[0] * math.prod(max(v, 0) for v in _output_sizes(p))


def worked_count(total: int, cells: Sequence[tuple[int, ...]], cap: int | None) -> int:
    """How many cells a worked solution shows: those asked for, or up to ``cap`` of ``total``."""
    return len(cells) if cells else total if cap is None else min(cap, total)


def _check_size(p: ConvProblem, terms: int, kind: Kind, passes: int) -> None:
    sizes = _output_sizes(p)
    cells = p.x.shape[0] * p.w.shape[0] * math.prod(max(v, 0) for v in sizes)
    what = "this convolution" + (" and its gradients" if passes > 1 else "")
    padded = [n + lo + hi for n, (lo, hi) in zip(p.x.shape[2:], p.spec.padding, strict=True)]
    check_cells(max(cells, p.x.shape[0] * p.x.shape[1] * math.prod(padded)), what, arrays=passes)
    check_work(passes * cells * (terms - 1), kind, what, exact_big_ints=p.x.dtype == object)
    # the core gathers each group's windows into one matrix: N·∏O rows of C_in/g·∏K entries
    check_memory(p.x.shape[0] * math.prod(max(v, 0) for v in sizes) * (terms - 1) * 8, "this convolution")


def solve(
    p: ConvProblem,
    command: str = "conv",
    answer: Array | None = None,
    cells: Sequence[tuple[int, ...]] = (),
    cap: int | None = DEFAULT_CELL_CAP,
    base: int = 1,
) -> Solution:
    """The whole worked solution; cells are generated lazily when rendered."""
    check_worked(worked_count(output_cells(p), cells, cap), p.w.shape[1] * math.prod(p.w.shape[2:]),
                 "this worked convolution")
    wk = compute(p)
    if cells:  # reject a cell outside the output now, before any rendering reaches stdout
        select_cells(wk.out.shape, cells, None, base)
    shown = p.layout.shown(wk.out)
    check = check_matrix(p.names.output, answer, shown, wk.kind) if answer is not None else None
    status = ExitStatus.WRONG_ANSWER if check is not None and not bool(check.ok.all()) else ExitStatus.OK
    title = "Dilated convolution" if command == "dilated" else (
        "Convolution" + (" (true convolution: kernel flipped)" if p.spec.flip else " (cross-correlation, as in PyTorch)"))
    data = {"output": shown, "shape": list(shown.shape)}
    if check is not None:
        data["answer_correct"] = bool(check.ok.all())
        data["wrong_cells"] = wrong_cell_indices(check, base)
    return Solution(command, title, p.spec.settings(), data,
                    _blocks(p, wk, check, cells, cap, base), base, status)


def _blocks(
    p: ConvProblem, wk: Worked, check: AnswerCheck | None,
    cells: Sequence[tuple[int, ...]], cap: int | None, base: int,
) -> Iterator[Block]:
    n = p.names
    yield Heading("Given")
    yield from show(n.input, "input", p.layout.shown(wk.x), base)
    yield from show(n.kernel, "kernel" + (" (C_out, C_in/groups, ...)" if wk.w.shape[:2] != (1, 1) else ""),
                     kernel_shown(p.w), base)
    if wk.bias is not None:
        yield Note(f"bias b = {', '.join(fmt(v) for v in wk.bias)} (one per output channel)")
    if p.spec.flip:
        yield Note("True convolution: the kernel is flipped top-bottom and left-right, then slid as in "
                   "cross-correlation.")
        yield from show(n.kernel + "_flip", "flipped kernel", kernel_shown(wk.w), base)
    yield from _dilation_steps(p, wk, base)
    yield from _padding_steps(p, wk, base)
    yield Heading("Output size")
    yield from size_steps(p.spec, wk.x.shape[2:])
    yield Heading("Each output cell")
    yield from _cells(p, wk, cells, cap, base)
    yield Heading("Result")
    yield from show(n.output, "output", p.layout.shown(wk.out), base)
    if check is not None:
        yield from answer_steps(p, wk, check, base)


def kernel_shown(w: Array) -> Array:
    if w.shape[:2] == (1, 1):
        return w[0, 0]
    return w


def show(symbol: str, caption: str, a: Array, base: int,
          frame: tuple[tuple[int, int], ...] = ()) -> Iterator[Block]:
    for lead, sl in slices_2d(a):
        label = symbol if not lead else f"{symbol}[{','.join(str(i + base) for i in lead)},:]"
        yield MatrixView(label, caption, sl, frame)


def _dilation_steps(p: ConvProblem, wk: Worked, base: int) -> Iterator[Block]:
    d = p.spec.dilation
    if all(v == 1 for v in d):
        return
    k = wk.w.shape[2:]
    spans = [effective_kernel(kk, dd) for kk, dd in zip(k, d, strict=True)]
    parts = ", ".join(f"{ax}: {dd}·({kk}−1)+1 = {sp}" for ax, kk, dd, sp
                      in zip(AXIS_NAMES[p.spec.dim], k, d, spans, strict=True))
    yield Note(f"Dilation spreads the kernel's taps {'/'.join(map(str, d))} apart; its effective size is "
               f"d(K−1)+1 — {parts}.")
    spread = np.zeros((*wk.w.shape[:2], *spans), dtype=wk.w.dtype)
    spread[(slice(None), slice(None), *(slice(None, None, dd) for dd in d))] = wk.w
    yield from show(p.names.kernel + "_d", "the kernel with its dilation gaps as zeros", kernel_shown(spread), base)
    taps = " and ".join(f"{ax} = {ax.lower()}_out·{s} + t·{dd}" for ax, s, dd
                        in zip(AXIS_NAMES[p.spec.dim], p.spec.stride, d, strict=True))
    yield Note(f"Tap t of output cell o samples the padded input at {taps} (0-based).")


def _padding_steps(p: ConvProblem, wk: Worked, base: int) -> Iterator[Block]:
    if not any(lo or hi for lo, hi in p.spec.padding):
        return
    how = {"zeros": "zeros", "reflect": "a reflection of the input (edge not repeated)",
           "replicate": "copies of the edge values", "circular": "the input wrapped around"}[p.spec.padding_mode]
    pads = "; ".join(f"{ax}: {lo} before, {hi} after" for ax, (lo, hi)
                     in zip(AXIS_NAMES[p.spec.dim], p.spec.padding, strict=True))
    yield Note(f"Pad with {how} ({pads}).")
    yield from show(p.names.input + "_pad", "padded input", p.layout.shown(wk.xp), base, p.spec.padding)


def size_steps(spec: ConvSpec, spatial: Sequence[int]) -> Iterator[Block]:
    """The output-size formula per axis, with a word when it does not tile exactly."""
    for ax, i, k, s, (lo, hi), d in zip(AXIS_NAMES[spec.dim], spatial, spec.kernel_size, spec.stride,
                                         spec.padding, spec.dilation, strict=True):
        res = conv_output_size(i, k, s, lo + hi, d)
        values = {"I": i, "K": k, "S": s, "d": d}
        values.update({"P": lo} if lo == hi else {"P_l": lo, "P_r": hi})
        yield SizeFormula(ax, "conv", values, res)
        if not res.integral:
            yield Note(f"{ax}: the windows do not tile the input exactly ({fmt(res.exact)} is not an integer): "
                       f"invalid for a course that asks for exact tiling; PyTorch floors it to {res.value}, "
                       f"leaving the last input rows/columns unread.", "warn")


def _cells(p: ConvProblem, wk: Worked, cells: Sequence[tuple[int, ...]], cap: int | None,
           base: int) -> Iterator[Block]:
    chosen, total = select_cells(wk.out.shape, cells, None if cells else cap, base)
    shown = 0
    for cell in chosen:
        shown += 1
        yield cell_work(p, wk, cell)
    if not cells and shown < total:
        yield Elided(shown, total, "--cell i,j for one cell, --steps all for every cell")


def cell_work(p: ConvProblem, wk: Worked, cell: tuple[int, ...]) -> CellWork:
    """Window, products and sum of canonical output cell (n, o, *pos)."""
    n, o, *pos = cell
    spec = p.spec
    cg, og = wk.x.shape[1] // spec.groups, wk.w.shape[0] // spec.groups
    g = o // og
    starts = [q * s for q, s in zip(pos, spec.stride, strict=True)]
    groups = []
    for ci in range(cg):
        c = g * cg + ci
        sl = tuple(slice(st, st + effective_kernel(k, d), d)
                   for st, k, d in zip(starts, wk.w.shape[2:], spec.dilation, strict=True))
        window = wk.xp[(n, c, *sl)]
        kern = wk.w[o, ci]
        terms = tuple((normalize(a), normalize(b)) for a, b in zip(kern.flat, window.flat, strict=True))
        subtotal = normalize(sum((a * b for a, b in terms), start=0))
        at = tuple((st, st + d * (k - 1)) for st, k, d in zip(starts, wk.w.shape[2:], spec.dilation, strict=True))
        label = f"channel {c + 1}" if cg > 1 or wk.x.shape[1] > 1 else ""
        groups.append(TermGroup(label, terms, subtotal, window, at))
    bias = None if wk.bias is None else normalize(wk.bias[o])
    idx = shown_index(n, o, tuple(pos), p.layout, wk.out.shape[1])
    source = p.names.input + ("_pad" if any(lo or hi for lo, hi in spec.padding) else "")
    return CellWork(p.names.output, idx, tuple(groups), normalize(wk.out[cell]), bias, source)


def answer_steps(p: ConvProblem, wk: Worked, check: AnswerCheck, base: int) -> Iterator[Block]:
    """The verdict, the ✓/✗ grid, and the worked derivation of each wrong cell."""
    return verdict_steps(check, "the output", "here is how each of them comes out",
                         lambda idx: [cell_work(p, wk, canonical_cell(idx, p.layout, wk.out.shape))])


def canonical_cell(idx: tuple[int, ...], layout: Layout, out_shape: tuple[int, ...]) -> tuple[int, ...]:
    nsp = len(out_shape) - 2
    pos = idx[len(idx) - nsp:]
    head = list(idx[: len(idx) - nsp])
    n = head.pop(0) if layout.has_batch else 0
    c = head.pop(0) if head else 0
    return (n, c, *pos)
