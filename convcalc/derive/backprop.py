"""The worked backward pass of a convolution: ∂L/∂A, ∂L/∂B and ∂L/∂b, in the course's recipe.

∂L/∂A is shown stage by stage (zero-stuff the upstream gradient for stride > 1, pad it by
d(K−1), correlate with the flipped kernel, put back unreached rows, fold the forward padding);
``--cell --wrt input`` instead writes the chain-rule sum Σ ∂E/∂C_rq · ∂C_rq/∂A_ij for a cell.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from convcalc.core.backward import GradInputSteps, conv_grad_weight, grad_bias, grad_input_steps
from convcalc.core.padding import pad_spatial
from convcalc.derive import conv as fwd
from convcalc.derive.answer import check_matrix, verdict_steps, wrong_cell_indices
from convcalc.derive.layout import Layout, select_cells, shown_index
from convcalc.derive.records import AnswerCheck, Block, CellWork, Elided, Heading, Note, Solution, TermGroup
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.limits import check_worked
from convcalc.numbers import Array, fmt, max_abs, normalize, unify
from convcalc.specs import ConvSpec

WRT = ("input", "kernel", "bias")


@dataclass(frozen=True)
class Grads:
    """The forward pass and every gradient, computed once on one number kind."""

    fw: fwd.Worked
    g: Array  # upstream gradient (N, C_out, *O)
    steps: GradInputSteps
    gw: Array  # (C_out, C_in/g, *K)
    gb: Array  # (C_out,)


def upstream(given: Array | None, out: Array, layout: Layout, flag: str = "--grad-output") -> Array:
    """The user's upstream gradient in canonical (N, C_out, *O) form; all ones when not given.

    It must have the shape the forward output is shown with (unit axes may be left out).
    """
    if given is None:
        return np.ones(out.shape, dtype=np.int64)
    shown = layout.shown(out).shape
    if given.shape != shown and not (given.size == out.size and np.squeeze(given).shape == np.squeeze(out).shape):
        raise ConvcalcError(f"has shape {tuple(given.shape)}, but the forward output (and so its gradient) "
                            f"has shape {tuple(shown)}", flag)
    return given.reshape(out.shape)


def compute(p: fwd.ConvProblem, grad_output: Array | None) -> Grads:
    """Forward once, then the three gradients with the upstream on the same number kind."""
    fw = fwd.compute(p, passes=3)  # the forward pass and the two gradients' passes
    g = upstream(grad_output, fw.out, p.layout)
    s = p.spec
    og = fw.w.shape[0] // s.groups
    terms = max(og * math.prod(k * (lo + hi + 1) for k, (lo, hi) in zip(s.kernel_size, s.padding, strict=True)),
                g.shape[0] * math.prod(g.shape[2:]))
    g2, x, w, xp = unify([g, fw.x, fw.w, fw.xp], terms)
    assert g2 is not None and x is not None and w is not None and xp is not None
    fw = replace(fw, x=x, w=w, xp=xp)
    steps = grad_input_steps(g2, w, x.shape, s.stride, s.padding, s.dilation, s.groups, s.padding_mode)
    gw = conv_grad_weight(g2, xp, s.kernel_size, s.stride, s.dilation, s.groups)
    return Grads(fw, g2, steps, gw, grad_bias(g2))


def solve(p: fwd.ConvProblem, grad_output: Array | None, answer: Array | None = None,
          cells: Sequence[tuple[int, ...]] = (), wrt: str = "input", cap: int | None = fwd.DEFAULT_CELL_CAP,
          base: int = 1) -> Solution:
    """The worked backward pass; ``cells`` picks cells of the gradient named by ``wrt``."""
    if wrt not in WRT:
        raise ConvcalcError(f"must be one of {', '.join(WRT)}, got {wrt!r}", "--wrt")
    gr = compute(p, grad_output)
    gi = gr.steps.folded
    check_worked(fwd.worked_count(gi.size, cells, cap) + fwd.worked_count(gr.gw.size, cells, cap), 64,
                 "this worked backward pass")
    if cells and wrt == "bias":
        raise ConvcalcError("the bias gradient is one sum per channel, always shown whole; use --wrt input or "
                            "--wrt kernel with --cell", "--wrt")
    if cells:  # reject a bad cell before anything is rendered
        select_cells(gi.shape if wrt == "input" else gr.gw.shape, cells, None, base)
    shown_gi = p.layout.shown(gi)
    check = check_matrix("d" + p.names.input, answer, shown_gi, gr.fw.kind) if answer is not None else None
    status = ExitStatus.WRONG_ANSWER if check is not None and not bool(check.ok.all()) else ExitStatus.OK
    data: dict[str, Any] = {"grad_input": shown_gi, "grad_weight": fwd.kernel_shown(gr.gw), "grad_bias": gr.gb,
                            "grad_output": p.layout.shown(gr.g), "output": p.layout.shown(gr.fw.out)}
    if check is not None:
        data["answer_correct"] = bool(check.ok.all())
        data["wrong_cells"] = wrong_cell_indices(check, base)
    settings = {**p.spec.settings(), "bias": gr.fw.bias is not None}
    settings.pop("flip", None)
    return Solution("backprop conv", "Backpropagation through a convolution", settings, data,
                    _blocks(p, gr, check, cells, wrt, cap, base), base, status)


def _blocks(p: fwd.ConvProblem, gr: Grads, check: AnswerCheck | None, cells: Sequence[tuple[int, ...]],
            wrt: str, cap: int | None, base: int) -> Iterator[Block]:
    n = p.names
    yield Heading("Given")
    yield from fwd.show(n.input, "input", p.layout.shown(gr.fw.x), base)
    yield from fwd.show(n.kernel, "kernel", fwd.kernel_shown(gr.fw.w), base)
    yield from fwd.show(n.output, "forward output", p.layout.shown(gr.fw.out), base)
    yield from fwd.show("d" + n.output, "upstream gradient (of the loss w.r.t. the output)", p.layout.shown(gr.g), base)
    yield Heading(f"Gradient w.r.t. the input {n.input} (grad_input)")
    if cells and wrt == "input":
        for cell in select_cells(gr.steps.folded.shape, cells, None, base)[0]:
            yield from chain_rule(p, gr, cell, base)
    else:
        yield from _grad_input_recipe(p, gr, cap if not cells else 0, base)
    yield from fwd.show("d" + n.input, "gradient of the loss w.r.t. the input", p.layout.shown(gr.steps.folded), base)
    yield Heading(f"Gradient w.r.t. the kernel {n.kernel} (grad_weight)")
    yield from _grad_weight(p, gr, cells if wrt == "kernel" else (), cap if not cells or wrt == "kernel" else 0, base)
    yield Heading("Gradient w.r.t. the bias (grad_bias)")
    yield from _grad_bias(p, gr)
    if check is not None:
        yield from _answer(p, gr, check, base)


def _grad_input_recipe(p: fwd.ConvProblem, gr: Grads, cap: int | None, base: int) -> Iterator[Block]:
    s, st, d = p.spec, gr.steps, "d" + p.names.output
    if any(v > 1 for v in s.stride):
        yield Note(f"Stride {','.join(map(str, s.stride))}: put stride−1 zeros between neighbouring upstream values "
                   "(zero-stuffing), so each lands where its window started.")
        yield from fwd.show(d + "_up", "zero-stuffed upstream gradient", p.layout.shown(st.stuffed), base)
    border = [dd * (k - 1) for k, dd in zip(s.kernel_size, s.dilation, strict=True)]
    yield Note(f"Pad it with d(K−1) = {','.join(map(str, border))} zeros on every side, so every kernel tap meets "
               "a value.")
    yield from fwd.show(d + "_pad", "padded upstream gradient", p.layout.shown(st.padded), base,
                         tuple((b, b) for b in border))
    yield Note("Flip the kernel top-bottom and left-right (within each group, input and output channels swap).")
    yield from fwd.show(p.names.kernel + "_flip", "flipped kernel", fwd.kernel_shown(st.flipped), base)
    yield Note("Cross-correlate the padded gradient with the flipped kernel (stride 1, the forward dilation).")
    yield from _correlation_cells(p, gr, cap)
    sym = "d" + p.names.input + "_pad"
    if st.restored.shape != st.correlated.shape:
        yield Note("The forward windows never reached the last rows/columns of the padded input (PyTorch floors "
                   "the output size): their gradient is 0, appended here.")
    if any(lo or hi for lo, hi in s.padding):
        yield from fwd.show(sym, "gradient at every padded-input position", p.layout.shown(st.restored), base,
                             s.padding)
        how = ("drop the padding border" if s.padding_mode == "zeros"
               else f"add each padding cell's gradient back onto the input cell it copied ({s.padding_mode})")
        yield Note(f"The forward padded the input: {how}.")


def _correlation_cells(p: fwd.ConvProblem, gr: Grads, cap: int | None) -> Iterator[Block]:
    """Each cell of the correlation, worked by the conv derivation on the stage's operands."""
    s, st = p.spec, gr.steps
    nsp = len(s.kernel_size)
    spec = ConvSpec(s.dim, s.kernel_size, (1,) * nsp, ((0, 0),) * nsp, "0", s.dilation, s.groups)
    names = fwd.Names("d" + p.names.output + "_pad", p.names.kernel + "_flip", "d" + p.names.input + "_pad")
    sub = fwd.ConvProblem(st.padded, st.flipped, None, spec, p.layout, names)
    wk = fwd.Worked(st.padded, st.flipped, None, st.padded, st.correlated, gr.fw.kind)
    chosen, total = select_cells(st.correlated.shape, (), cap, 1)
    shown = 0
    for cell in chosen:
        shown += 1
        yield fwd.cell_work(sub, wk, cell)
    if shown < total:
        yield Elided(shown, total, "--cell i,j --wrt input for one cell's chain rule, --steps all for every cell")


def _padded_sources(size: int, pad: tuple[int, int], mode: str) -> Array:
    """For each padded position along one axis, the input index it holds (−1 for a zero pad)."""
    idx = pad_spatial(np.arange(1, size + 1).reshape(1, 1, size), [pad], mode)[0, 0]
    return np.asarray(idx) - 1


def _reading_windows(sources: Sequence[Array], pos: Sequence[int], out: Sequence[int], kernel: Sequence[int],
                     stride: Sequence[int], dilation: Sequence[int]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(output position q, kernel tap t) of every window tap that reads input position ``pos``, in
    row-major (q, t) order: q·s + t·d must be a padded coordinate holding pos, on every axis.

    Solved per axis (a padded coordinate a, and q or t from the other), not by trying every
    output position with every tap: that took 17 s for 25 cells of a 300×300 input.
    """
    per_axis = []
    for src, i, o, k, st, d in zip(sources, pos, out, kernel, stride, dilation, strict=True):
        pairs = []
        for a in (int(v) for v in np.flatnonzero(src == i)):  # the input cell, and its copies in the padding
            if k <= o:
                pairs += [((a - t * d) // st, t) for t in range(k) if (a - t * d) % st == 0 and 0 <= a - t * d < o * st]
            else:
                pairs += [(q, (a - q * st) // d) for q in range(o) if (a - q * st) % d == 0 and 0 <= a - q * st < k * d]
        per_axis.append(pairs)
    return sorted((tuple(q for q, _ in combo), tuple(t for _, t in combo)) for combo in itertools.product(*per_axis))


def chain_rule(p: fwd.ConvProblem, gr: Grads, cell: tuple[int, ...], base: int = 1) -> Iterator[Block]:
    """∂E/∂A_ij = Σ ∂E/∂C_rq · ∂C_rq/∂A_ij over exactly the output cells whose windows read A_ij."""
    n, c, *pos = cell
    s = p.spec
    cg = gr.fw.x.shape[1] // s.groups
    og = gr.fw.w.shape[0] // s.groups
    grp = c // cg
    out_sp = gr.g.shape[2:]
    sources = [_padded_sources(size, pad, s.padding_mode)
               for size, pad in zip(gr.fw.x.shape[2:], s.padding, strict=True)]
    reads = _reading_windows(sources, pos, out_sp, s.kernel_size, s.stride, s.dilation)
    groups, touched = [], []
    for o in range(grp * og, (grp + 1) * og):
        terms = []
        for q, t in reads:
            terms.append((normalize(gr.g[(n, o, *q)]), normalize(gr.fw.w[(o, c - grp * cg, *t)])))
            touched.append((o, q))
        label = f"output channel {o + 1}" if og > 1 or gr.g.shape[1] > 1 else ""
        subtotal = normalize(sum((a * b for a, b in terms), start=0))
        span = tuple((min(q[a] for _, q in touched), max(q[a] for _, q in touched)) for a in range(len(pos))) \
            if touched else ()
        groups.append(TermGroup(label, tuple(terms), subtotal, None, span))
    nm = p.names
    idx = shown_index(n, c, tuple(pos), p.layout, gr.fw.x.shape[1])
    name = f"{nm.input}[{','.join(str(i + base) for i in idx)}]"
    if touched:
        where = ", ".join(f"{nm.output}[{','.join(str(v + base) for v in shown_index(n, o, q, p.layout, gr.g.shape[1]))}]"
                          for o, q in touched)
        yield Note(f"{name} is read by the windows of {len(touched)} output cell(s): {where}. Each contributes "
                   f"∂E/∂{nm.output} (upstream value) · the kernel tap that multiplied {name}.")
    else:
        yield Note(f"No forward window reads {name}, so its gradient is 0.")
    total = normalize(gr.steps.folded[cell])
    yield CellWork("d" + nm.input, idx, tuple(groups), total, None, "d" + nm.output)


def _grad_weight(p: fwd.ConvProblem, gr: Grads, cells: Sequence[tuple[int, ...]], cap: int | None,
                 base: int) -> Iterator[Block]:
    s, nm = p.spec, p.names
    src = nm.input + ("_pad" if any(lo or hi for lo, hi in s.padding) else "")
    yield Note(f"Each tap's gradient: {src} correlated with the upstream gradient d{nm.output} — tap t pairs "
               f"d{nm.output}[o] with {src}[o·stride + t·dilation], summed over every output position"
               + (" and batch sample" if gr.g.shape[0] > 1 else "") + ".")
    chosen, total = select_cells(gr.gw.shape, cells, None if cells else cap, base)
    shown = 0
    for cell in chosen:
        shown += 1
        yield weight_cell(p, gr, cell, src)
    if not cells and shown < total:
        yield Elided(shown, total, "--cell i,j --wrt kernel for one tap, --steps all for every tap")
    yield from fwd.show("d" + nm.kernel, "gradient of the loss w.r.t. the kernel", fwd.kernel_shown(gr.gw), base)


def weight_cell(p: fwd.ConvProblem, gr: Grads, cell: tuple[int, ...], src: str) -> CellWork:
    """gw[o, c, t] = Σ_n Σ_q g[n, o, q] · xp[n, grp·cg + c, q·s + t·d], one group per sample."""
    o, ci, *t = cell
    s = p.spec
    cg = gr.fw.x.shape[1] // s.groups
    ch = (o // (gr.fw.w.shape[0] // s.groups)) * cg + ci
    out_sp = gr.g.shape[2:]
    sl = tuple(slice(tt * dd, tt * dd + (oo - 1) * ss + 1, ss)
               for tt, dd, oo, ss in zip(t, s.dilation, out_sp, s.stride, strict=True))
    at = tuple((tt * dd, tt * dd + (oo - 1) * ss) for tt, dd, oo, ss in zip(t, s.dilation, out_sp, s.stride, strict=True))
    groups = []
    for n in range(gr.g.shape[0]):
        window = gr.fw.xp[(n, ch, *sl)]
        label = f"sample {n + 1}" if gr.g.shape[0] > 1 else ""
        groups.append(products_group(label, gr.g[n, o], window, window, at))
    idx = tuple(t) if gr.fw.w.shape[:2] == (1, 1) else (o, ci, *t)
    return CellWork("d" + p.names.kernel, idx, tuple(groups), normalize(gr.gw[cell]), None, src)


KEPT_TERMS = 256  # products a worked cell keeps to show (the renderers show 64); its sum takes them all


def products_group(label: str, a: Array, b: Array, window: Array | None,
                   at: tuple[tuple[int, int], ...]) -> TermGroup:
    """The products a·b of two windows of one shape, as one group of a worked cell.

    A kernel tap's gradient sums over every output position, millions with a big padding: the
    first KEPT_TERMS products are kept to show and the subtotal takes them all, at NumPy's speed
    where that is exact (int64 without overflow; float64), else in Python.
    """
    fa, fb = a.reshape(-1), b.reshape(-1)
    terms = tuple((normalize(x), normalize(y)) for x, y in zip(fa[:KEPT_TERMS], fb[:KEPT_TERMS], strict=True))
    if fa.size <= KEPT_TERMS:
        subtotal = normalize(sum((x * y for x, y in terms), start=0))
    elif fa.dtype.kind == "f" and fb.dtype.kind == "f":
        subtotal = float(np.dot(fa, fb))
    elif (fa.dtype.kind in "iu" and fb.dtype.kind in "iu"
          and max_abs(fa) * max_abs(fb) * fa.size < 2**63):
        subtotal = int(np.dot(fa.astype(np.int64), fb.astype(np.int64)))
    else:  # exact: Python ints and Fractions
        subtotal = normalize(sum(map(operator.mul, fa.tolist(), fb.tolist()), start=0))
    return TermGroup(label, terms, subtotal, window, at, count=fa.size)


def _grad_bias(p: fwd.ConvProblem, gr: Grads) -> Iterator[Block]:
    d = "d" + p.names.output
    for o, v in enumerate(gr.gb):
        vals = gr.g[:, o].reshape(-1)
        shown = " + ".join(fmt(normalize(x)) for x in vals[:64]) + (" + …" if vals.size > 64 else "")
        ch = f"[{o + 1}]" if gr.gb.shape[0] > 1 else ""
        yield Note(f"db{ch} = Σ {d}{ch} (every position{' and sample' if gr.g.shape[0] > 1 else ''}) "
                   f"= {shown} = {fmt(normalize(v))}"
                   + ("" if gr.fw.bias is not None else " (the layer has no bias; this is what one would get)"))


def _answer(p: fwd.ConvProblem, gr: Grads, check: AnswerCheck, base: int) -> Iterator[Block]:
    return verdict_steps(check, f"∂L/∂{p.names.input}", "here is the chain rule for each of them",
                         lambda idx: chain_rule(p, gr, fwd.canonical_cell(idx, p.layout, gr.steps.folded.shape), base))
