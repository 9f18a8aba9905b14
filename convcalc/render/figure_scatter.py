"""Figures of the layers whose work is not one window per output cell: the transposed
convolution (each input value stamps the kernel onto the output: the scatter view, with the
running sum; or its gather view, an ordinary convolution), resampling (where each sample
goes) and the input gradient of a convolution (the zero-stuffed, padded upstream gradient
under the flipped kernel).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from convcalc.core.resample import downsample, upsample
from convcalc.derive import backprop as bp
from convcalc.derive import conv
from convcalc.derive import transposed as tr
from convcalc.derive.layout import select_cells
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array, fmt, normalize
from convcalc.render.figure import Figure, Frame, Grid, Mark, cell_text, wrap
from convcalc.render.figure_build import FLAG, MAX_FRAMES, check_drawable, conv_figure, factor, label, plane, settings_text


def _lift(t: Sequence[int]) -> tuple[int, int]:
    return (int(t[0]), int(t[1])) if len(t) == 2 else (0, int(t[0]))


def transposed_figure(p: tr.TransposedProblem, cells: Sequence[tuple[int, ...]], cap: int | None,
                      base: int) -> Figure:
    """Scatter view: input cell by input cell, the kernel times its value stamped onto the canvas."""
    pairs = [("stride", p.stride), ("padding", p.padding), ("output_padding", p.output_padding),
             *((("dilation", p.dilation),) if max(p.dilation) > 1 else ())]
    if p.view == "gather":
        wk = tr.compute(p)
        cp, _ = tr.gather_problem(p, wk)
        border = [(max(d * (k - 1) - pad, 0), max(d * (k - 1) - pad + op, 0)) for k, pad, d, op
                  in zip(p.w.shape[2:], p.padding, p.dilation, p.output_padding, strict=True)]
        return conv_figure(cp, cells, cap, base, border,
                           f"Transposed convolution, gather view: {settings_text(pairs)}")
    wk = tr.compute(p)
    x, w = wk.x[0, 0], wk.w[0, 0]
    sizes = [(i - 1) * s + d * (k - 1) + 1 + op for i, s, d, k, op
             in zip(x.shape, p.stride, p.dilation, w.shape, p.output_padding, strict=True)]
    run = np.zeros(sizes, dtype=object if wk.x.dtype == object or wk.w.dtype == object else np.result_type(x, w))
    if run.dtype == object:
        run.fill(0)
    notes = []
    if wk.x.shape[:2] != (1, 1) or wk.w.shape[1] != 1:
        notes.append("Sample 1, input channel 1 → output channel 1 drawn; the output adds every channel's stamps "
                     "(in the text).")
    if cells:
        notes.append("The scatter view goes input cell by input cell; --cell picks output cells for the text.")
    positions = list(itertools.product(*(range(v) for v in x.shape)))
    shown = positions[:MAX_FRAMES] if cap is None else positions[:min(cap, MAX_FRAMES)]
    names = p.names
    frames = []
    for pos in positions:
        v = x[pos]
        targets = [tuple(q * s + t * d for q, s, t, d in zip(pos, p.stride, tap, p.dilation, strict=True))
                   for tap in itertools.product(*(range(k) for k in w.shape))]
        products = [normalize(v * w[tap]) for tap in itertools.product(*(range(k) for k in w.shape))]
        for at, prod in zip(targets, products, strict=True):
            run[at] = run[at] + prod
        if pos not in shown:
            continue
        where = ",".join(f"{a[0] + base}..{a[1] + base}" for a in zip(targets[0], targets[-1], strict=True))
        title = f"{label(names.input, pos, base)} = {fmt(v)} stamps {fmt(v)}·{names.kernel} onto " \
                f"{names.output}_full[{where}]"
        parts = [f"{factor(v)}·{factor(w[tap])} = {fmt(prod)}"
                 for tap, prod in zip(itertools.product(*(range(k) for k in w.shape)), products, strict=True)]
        frames.append(Frame(title, (Mark(_lift(pos)),), tuple(Mark(_lift(t), cell_text(pr)) for t, pr
                                                              in zip(targets, products, strict=True)),
                            (*wrap(parts, "added: ", 100, "; "),
                             "the canvas holds every stamp so far; the padding crops its dimmed border"),
                            source_marked=(_lift(pos),), target_values=plane(run.copy())))
    if len(shown) < len(positions):
        notes.append(f"{len(shown)} of {len(positions)} stamps drawn (--steps all for every one).")
    canvas = plane(run)
    check_drawable(plane(x), canvas)
    crop = tuple((v, v) for v in p.padding) if len(p.padding) == 2 else ((0, 0), (p.padding[0], p.padding[0]))
    return Figure(f"Transposed convolution, scatter view: {settings_text(pairs)}",
                  Grid(names.input, "input", plane(x), base=base),
                  Grid(f"{names.output}_full", "canvas (the dimmed border is cropped)", canvas,
                       (crop[0], crop[1]), base),
                  tuple(frames), Grid(names.kernel, "kernel", plane(w), base=base), tuple(notes))


def resample_figure(x: Array, factor_: tuple[int, ...], up: bool, dim: int, base: int,
                    cap: int | None = 25) -> Figure:
    """Where each sample goes: up, input cell to output cell with zeros between; down, the kept ones."""
    if x.ndim != dim:
        raise ConvcalcError(f"draws one signal of {dim} axis(es); this input has {x.ndim}", FLAG)
    out = upsample(x[None, None], factor_, dim)[0, 0] if up else downsample(x[None, None], factor_, dim)[0, 0]
    check_drawable(plane(x), plane(out))
    frames = []
    gaps = settings_text([("k−1 =", [k - 1 for k in factor_])])
    if up:
        cells = list(itertools.product(*(range(v) for v in x.shape)))
        for pos in cells[:min(cap or MAX_FRAMES, MAX_FRAMES)]:
            at = tuple(q * k for q, k in zip(pos, factor_, strict=True))
            frames.append(Frame(f"{label('B', at, base)} = {label('A', pos, base)} = {fmt(x[pos])}",
                                (Mark(_lift(pos)),), (Mark(_lift(at)),),
                                (f"the {gaps} cell(s) after it along each axis are inserted zeros",)))
    else:
        cells = list(itertools.product(*(range(v) for v in out.shape)))
        for pos in cells[:min(cap or MAX_FRAMES, MAX_FRAMES)]:
            at = tuple(q * k for q, k in zip(pos, factor_, strict=True))
            frames.append(Frame(f"{label('B', pos, base)} = {label('A', at, base)} = {fmt(out[pos])}",
                                (Mark(_lift(at)),), (Mark(_lift(pos)),), ("every k-th sample is kept, the rest dropped",)))
    k = settings_text([("factor", factor_)])
    return Figure(f"{'Upsampling' if up else 'Downsampling'}: {k}", Grid("A", "input", plane(x), base=base),
                  Grid("B", "output", plane(out), base=base), tuple(frames))


def backprop_conv_figure(p: conv.ConvProblem, grad_output: Array | None, cells: Sequence[tuple[int, ...]],
                         cap: int | None, base: int) -> Figure:
    """∂E/∂input as the course's recipe draws it: the zero-stuffed upstream gradient, padded by d(K−1),
    under the flipped kernel; the target is the gradient at the padded input (its border cropped)."""
    spec = p.spec
    if spec.padding_mode != "zeros":
        raise ConvcalcError("draws zero padding only: other padding modes fold several cells together", FLAG)
    gr = bp.compute(p, grad_output)
    st = gr.steps
    chosen, _ = select_cells(st.folded.shape, cells, None if cells else cap, base)
    picked = list(itertools.islice(chosen, MAX_FRAMES))
    if not picked:
        raise ConvcalcError("there is no worked cell to draw (--steps 0, or an empty gradient)", FLAG)
    n, c = picked[0][:2]
    picked = [cell for cell in picked if cell[:2] == (n, c)]
    cg, og = gr.fw.x.shape[1] // spec.groups, gr.fw.w.shape[0] // spec.groups
    o = (c // cg) * og
    source, kernel = plane(st.padded[n, o]), plane(st.flipped[c, 0])
    target = plane(st.restored[n, c])
    check_drawable(source, target)
    lift = _lift
    lows = lift([lo for lo, _ in spec.padding])
    dil = lift(spec.dilation) if spec.dim == 2 else (1, spec.dilation[0])
    names = p.names
    notes = [] if og == 1 and gr.g.shape[1] == 1 else \
        [f"Upstream channel {o + base} drawn; each gradient adds every output channel of its group (in the text)."]
    frames = []
    for cell in picked:
        at = tuple(q + lo for q, lo in zip(lift(cell[2:]), lows, strict=True))
        taps = list(itertools.product(range(kernel.shape[0]), range(kernel.shape[1])))
        reach = st.correlated.shape[2:]
        inside = all(a < r for a, r in zip(at, lift(reach), strict=True))
        marks = tuple(Mark((at[0] + i * dil[0], at[1] + j * dil[1]), "×" + cell_text(kernel[i, j])) for i, j in taps) \
            if inside else ()
        parts = [f"{factor(kernel[i, j])}·{factor(source[at[0] + i * dil[0], at[1] + j * dil[1]])}"
                 for i, j in taps] if inside else ["0 (no window reaches it)"]
        head = f"{label('d' + names.input, cell[2:], base)} = "
        lines = wrap(parts, head)
        lines = (*lines[:-1], lines[-1] + f" = {fmt(normalize(st.folded[cell]))}")
        span = ((at[0], at[0] + dil[0] * (kernel.shape[0] - 1)), (at[1], at[1] + dil[1] * (kernel.shape[1] - 1)))
        title = f"{label('d' + names.input, cell[2:], base)} from the flipped kernel over d{names.output}, " \
                "zero-stuffed and padded"
        frames.append(Frame(title, marks, (Mark((at[0], at[1])),), lines, span if inside else None))
    border = tuple((dd * (k - 1), dd * (k - 1)) for k, dd in zip(spec.kernel_size, spec.dilation, strict=True))
    pads = spec.padding if spec.dim == 2 else ((0, 0), *spec.padding)
    border2 = border if spec.dim == 2 else ((0, 0), *border)
    settings = settings_text((("stride", spec.stride), ("padding", [lo for lo, _ in spec.padding]),
                              *((("dilation", spec.dilation),) if max(spec.dilation) > 1 else ())))
    return Figure(f"Gradient w.r.t. the input: {settings}",
                  Grid(f"d{names.output}_pad", "upstream gradient, zero-stuffed, padded", source,
                       (border2[0], border2[1]), base),
                  Grid(f"d{names.input}_pad", "at the padded input (border cropped)", target,
                       (pads[0], pads[1]), base),
                  tuple(frames), Grid(f"{names.kernel}_flip", "flipped kernel", kernel, base=base), tuple(notes))
