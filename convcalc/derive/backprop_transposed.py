"""The worked backward pass of a transposed convolution (PyTorch's ConvTranspose).

The forward scatters x[i]·w[t] to output position i·s + t·d − p, so ∂L/∂x gathers from
exactly those positions: a plain convolution of the upstream gradient with the same kernel
and settings (kernel read as (C_out = C_in of the layer, C_in/g = C_out/g of the layer)).
``--cell --wrt input`` writes one cell's chain-rule sum instead; ∂L/∂W is worked tap by tap.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from convcalc.core.backward import conv_transpose_nd_backward
from convcalc.core.conv import conv_nd
from convcalc.core.padding import pad_spatial
from convcalc.core.transposed import conv_transpose_nd
from convcalc.derive import conv as fwd
from convcalc.derive.answer import check_matrix, verdict_steps, wrong_cell_indices
from convcalc.derive.backprop import products_group, upstream
from convcalc.derive.layout import select_cells, shown_index
from convcalc.derive.records import AnswerCheck, Block, CellWork, Elided, Heading, Note, Solution, TermGroup
from convcalc.derive.transposed import TransposedProblem, check_size
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.limits import check_worked
from convcalc.numbers import Array, common_kind, fmt, kind_of, normalize, unify
from convcalc.specs import ConvSpec

WRT = ("input", "kernel", "bias")


@dataclass(frozen=True)
class TGrads:
    """The forward pass and the three gradients, computed once."""

    x: Array  # (N, C_in, *S)
    w: Array  # (C_in, C_out/g, *K)
    y: Array  # (N, C_out, *O)
    g: Array  # upstream (N, C_out, *O)
    gi: Array  # (N, C_in, *S)
    gw: Array  # (C_in, C_out/g, *K)
    gb: Array  # (C_out,)


def compute(p: TransposedProblem, grad_output: Array | None) -> TGrads:
    check_size(p, passes=3)
    terms = p.w.shape[0] // p.groups * math.prod(p.w.shape[2:]) + 1
    x, w, b = unify([p.x, p.w, p.bias], terms)
    assert x is not None and w is not None
    y = conv_transpose_nd(x, w, b, p.stride, p.padding, p.output_padding, p.dilation, p.groups)
    g = upstream(grad_output, y, p.layout)
    gi, gw, gb = conv_transpose_nd_backward(g, x, w, p.stride, p.padding, p.output_padding, p.dilation, p.groups)
    assert gi is not None and gw is not None and gb is not None
    return TGrads(x, w, y, g, gi, gw, gb)


def solve(p: TransposedProblem, grad_output: Array | None, cap: int | None = fwd.DEFAULT_CELL_CAP,
          base: int = 1, answer: Array | None = None, cells: Sequence[tuple[int, ...]] = (),
          wrt: str = "input") -> Solution:
    """Forward, the three gradients, grad_input's cells worked as a convolution (or ``cells`` of the
    gradient named by ``wrt`` as chain-rule sums), grad_weight tap by tap, and ``answer`` checked."""
    if wrt not in WRT:
        raise ConvcalcError(f"must be one of {', '.join(WRT)}, got {wrt!r}", "--wrt")
    if cells and wrt == "bias":
        raise ConvcalcError("the bias gradient is one sum per channel, always shown whole; use --wrt input or "
                            "--wrt kernel with --cell", "--wrt")
    gr = compute(p, grad_output)
    check_worked(fwd.worked_count(gr.gi.size, cells, cap) + fwd.worked_count(gr.gw.size, cells, cap), 64,
                 "this worked backward pass")
    if cells:  # reject a bad cell before anything is rendered
        select_cells(gr.gi.shape if wrt == "input" else gr.gw.shape, cells, None, base)
    check = _check(p, gr, answer, wrt) if answer is not None else None
    status = ExitStatus.WRONG_ANSWER if check is not None and not bool(check.ok.all()) else ExitStatus.OK
    data: dict[str, Any] = {"grad_input": p.layout.shown(gr.gi), "grad_weight": fwd.kernel_shown(gr.gw),
                            "grad_bias": gr.gb, "grad_output": p.layout.shown(gr.g), "output": p.layout.shown(gr.y)}
    if check is not None:
        data["answer_correct"] = bool(check.ok.all())
        data["wrong_cells"] = wrong_cell_indices(check, base)
    return Solution("backprop transposed-conv", "Backpropagation through a transposed convolution", p.settings(),
                    data, _blocks(p, gr, check, cells, wrt, cap, base), base, status)


def _check(p: TransposedProblem, gr: TGrads, answer: Array, wrt: str) -> AnswerCheck:
    computed = {"input": p.layout.shown(gr.gi), "kernel": fwd.kernel_shown(gr.gw), "bias": gr.gb}[wrt]
    return check_matrix({"input": "dX", "kernel": "dW", "bias": "db"}[wrt], answer, computed, kind_of(computed))


def _blocks(p: TransposedProblem, gr: TGrads, check: AnswerCheck | None, cells: Sequence[tuple[int, ...]],
            wrt: str, cap: int | None, base: int) -> Iterator[Block]:
    yield Heading("Given")
    yield from fwd.show("X", "input", p.layout.shown(gr.x), base)
    yield from fwd.show("W", "kernel (C_in, C_out/groups, ...)", fwd.kernel_shown(gr.w), base)
    yield from fwd.show("Y", "forward output", p.layout.shown(gr.y), base)
    yield from fwd.show("dY", "upstream gradient (of the loss w.r.t. the output)", p.layout.shown(gr.g), base)
    yield Heading("Gradient w.r.t. the input X (grad_input)")
    if cells and wrt == "input":
        for cell in select_cells(gr.gi.shape, cells, None, base)[0]:
            yield from chain_rule(p, gr, cell, base)
    else:
        yield Note("The forward sent X[i]·W[t] to Y[i·stride + t·dilation − padding]; the gradient gathers back "
                   "from those positions, which is an ordinary convolution of dY with W (same stride, padding, "
                   "dilation).")
        yield from _gather_cells(p, gr, cap if not cells else 0)
    yield from fwd.show("dX", "gradient of the loss w.r.t. the input", p.layout.shown(gr.gi), base)
    yield Heading("Gradient w.r.t. the kernel W (grad_weight)")
    yield from _grad_weight(p, gr, cells if wrt == "kernel" else (), cap if not cells or wrt == "kernel" else 0,
                            base)
    yield Heading("Gradient w.r.t. the bias (grad_bias)")
    yield from _grad_bias(gr)
    if check is not None:
        yield from _answer(p, gr, check, wrt, base)


def _gather_cells(p: TransposedProblem, gr: TGrads, cap: int | None) -> Iterator[Block]:
    """grad_input's cells, worked by the conv derivation on (dY, W)."""
    nsp = len(p.stride)
    pads = tuple((v, v) for v in p.padding)
    spec = ConvSpec(nsp, tuple(gr.w.shape[2:]), p.stride, pads, ",".join(map(str, p.padding)), p.dilation, p.groups)
    full = conv_nd(gr.g, gr.w, None, p.stride, pads, p.dilation, p.groups)
    sub = fwd.ConvProblem(gr.g, gr.w, None, spec, p.layout, fwd.Names("dY", "W", "dX"))
    wk = fwd.Worked(gr.g, gr.w, None, pad_spatial(gr.g, pads, "zeros"), full, common_kind(gr.g, gr.w))
    if full.shape != gr.gi.shape:
        yield Note("The convolution reaches one position past X along an axis (output_padding ≥ stride); that "
                   "position has no input cell and is dropped.")
    chosen, total = select_cells(gr.gi.shape, (), cap, 1)
    shown = 0
    for cell in chosen:
        shown += 1
        yield fwd.cell_work(sub, wk, cell)
    if shown < total:
        yield Elided(shown, total, "--cell i,j --wrt input for one cell's chain rule, --steps all for every cell")


def _targets(p: TransposedProblem, pos: Sequence[int], tap: Sequence[int], out: Sequence[int]) -> tuple[int, ...] | None:
    """Where the forward sent X[pos]·W[tap]: pos·s + tap·d − p, or None when that is cropped away."""
    at = tuple(i * s + t * d - pad for i, t, s, d, pad in zip(pos, tap, p.stride, p.dilation, p.padding, strict=True))
    return at if all(0 <= a < o for a, o in zip(at, out, strict=True)) else None


def chain_rule(p: TransposedProblem, gr: TGrads, cell: tuple[int, ...], base: int = 1) -> Iterator[Block]:
    """∂E/∂X_i = Σ ∂E/∂Y_r · ∂Y_r/∂X_i over exactly the output cells X_i was scattered to."""
    n, c, *pos = cell
    og = gr.w.shape[1]
    grp = c // (gr.x.shape[1] // p.groups)
    groups, touched = [], []
    for ol in range(og):
        o = grp * og + ol
        terms = []
        for t in itertools.product(*(range(k) for k in gr.w.shape[2:])):
            at = _targets(p, pos, t, gr.g.shape[2:])
            if at is not None:
                terms.append((normalize(gr.g[(n, o, *at)]), normalize(gr.w[(c, ol, *t)])))
                touched.append((o, at))
        label = f"output channel {o + 1}" if gr.g.shape[1] > 1 else ""
        subtotal = normalize(sum((a * b for a, b in terms), start=0))
        mine = [q for oo, q in touched if oo == o]
        span = tuple((min(q[a] for q in mine), max(q[a] for q in mine)) for a in range(len(pos))) if mine else ()
        groups.append(TermGroup(label, tuple(terms), subtotal, None, span))
    idx = shown_index(n, c, tuple(pos), p.layout, gr.x.shape[1])
    name = f"X[{','.join(str(i + base) for i in idx)}]"
    if touched:
        where = ", ".join(f"Y[{','.join(str(v + base) for v in shown_index(n, o, q, p.layout, gr.g.shape[1]))}]"
                          for o, q in touched)
        yield Note(f"The forward added {name}·W[t] to {len(touched)} output cell(s): {where}. Each contributes "
                   f"∂E/∂Y (its upstream value) · the kernel tap W[t] that multiplied {name}.")
    else:
        yield Note(f"Every place the forward sent {name} was cropped by the padding, so its gradient is 0.")
    yield CellWork("dX", idx, tuple(groups), normalize(gr.gi[cell]), None, "dY")


def _grad_weight(p: TransposedProblem, gr: TGrads, cells: Sequence[tuple[int, ...]], cap: int | None,
                 base: int) -> Iterator[Block]:
    yield Note("dW[c, o, t] = Σ over samples and input positions i of dY[o, i·stride + t·dilation − padding] · "
               "X[c, i]; positions that fall outside Y (cropped by the padding) add nothing.")
    chosen, total = select_cells(gr.gw.shape, cells, None if cells else cap, base)
    shown = 0
    for cell in chosen:
        shown += 1
        yield weight_cell(p, gr, cell)
    if not cells and shown < total:
        yield Elided(shown, total, "--cell i,j --wrt kernel for one tap, --steps all for every tap")
    yield from fwd.show("dW", "gradient of the loss w.r.t. the kernel", fwd.kernel_shown(gr.gw), base)


def weight_cell(p: TransposedProblem, gr: TGrads, cell: tuple[int, ...]) -> CellWork:
    """gw[c, ol, t] = Σ_n Σ_i g[n, o, i·s + t·d − p] · x[n, c, i], one group per sample."""
    c, ol, *t = cell
    o = c // (gr.x.shape[1] // p.groups) * gr.w.shape[1] + ol
    # the input positions i whose stamp of tap t lands inside Y (0 ≤ i·s + t·d − p < out) form a
    # box: one range [lo, hi] per axis; Y's matching positions are the same box, strided by s
    bounds = [(max(0, -(-(pad - tt * d) // s)), min(size - 1, (out - 1 + pad - tt * d) // s))
              for size, tt, s, d, pad, out in zip(gr.x.shape[2:], t, p.stride, p.dilation, p.padding, gr.g.shape[2:],
                                                   strict=True)]
    at = tuple(bounds) if all(lo <= hi for lo, hi in bounds) else ()
    targets = tuple(slice(lo * s + tt * d - pad, hi * s + tt * d - pad + 1, s)
                    for (lo, hi), tt, s, d, pad in zip(at, t, p.stride, p.dilation, p.padding, strict=True)) if at else ()
    groups = []
    for n in range(gr.x.shape[0]):
        label = f"sample {n + 1}" if gr.x.shape[0] > 1 else ""
        if not at:
            groups.append(TermGroup(label, (), 0, None, at))
            continue
        window = gr.x[(n, c, *(slice(lo, hi + 1) for lo, hi in at))]
        groups.append(products_group(label, gr.g[(n, o, *targets)], window, window, at))
    idx = tuple(t) if gr.w.shape[:2] == (1, 1) else (c, ol, *t)
    return CellWork("dW", idx, tuple(groups), normalize(gr.gw[cell]), None, "X")


def _grad_bias(gr: TGrads) -> Iterator[Block]:
    for o in range(gr.gb.shape[0]):
        yield _bias_note(gr, o)


def _bias_note(gr: TGrads, o: int) -> Note:
    vals = gr.g[:, o].reshape(-1)
    shown = " + ".join(fmt(normalize(a)) for a in vals[:64]) + (" + …" if vals.size > 64 else "")
    ch = f"[{o + 1}]" if gr.gb.shape[0] > 1 else ""
    return Note(f"db{ch} = Σ dY{ch} = {shown} = {fmt(normalize(gr.gb[o]))}")


def _answer(p: TransposedProblem, gr: TGrads, check: AnswerCheck, wrt: str, base: int) -> Iterator[Block]:
    def rework(idx: tuple[int, ...]) -> Iterable[Block]:
        if wrt == "input":
            return chain_rule(p, gr, fwd.canonical_cell(idx, p.layout, gr.gi.shape), base)
        if wrt == "kernel":
            return [weight_cell(p, gr, idx if len(idx) == gr.gw.ndim else (0, 0, *idx))]
        return [_bias_note(gr, idx[0])]

    return verdict_steps(check, check.symbol, "here is how each of them comes out", rework)
