"""The worked backward pass of a transposed convolution (PyTorch's ConvTranspose).

The forward scatters x[i]·w[t] to output position i·s + t·d − p, so ∂L/∂x gathers from
exactly those positions: a plain convolution of the upstream gradient with the same kernel
and settings (kernel read as (C_out = C_in of the layer, C_in/g = C_out/g of the layer)).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from convcalc.core.backward import conv_transpose_nd_backward
from convcalc.core.conv import conv_nd
from convcalc.core.padding import pad_spatial
from convcalc.core.transposed import conv_transpose_nd
from convcalc.derive import conv as fwd
from convcalc.derive.backprop import upstream
from convcalc.derive.layout import select_cells
from convcalc.derive.records import Block, Elided, Heading, Note, Solution
from convcalc.derive.transposed import TransposedProblem
from convcalc.numbers import Array, common_kind, fmt, normalize, unify
from convcalc.specs import ConvSpec


def solve(p: TransposedProblem, grad_output: Array | None, cap: int | None = fwd.DEFAULT_CELL_CAP,
          base: int = 1) -> Solution:
    """Forward, the three gradients, and grad_input's cells worked as a convolution."""
    terms = p.w.shape[0] // p.groups * math.prod(p.w.shape[2:]) + 1
    x, w, b = unify([p.x, p.w, p.bias], terms)
    assert x is not None and w is not None
    y = conv_transpose_nd(x, w, b, p.stride, p.padding, p.output_padding, p.dilation, p.groups)
    g = upstream(grad_output, y, p.layout)
    gi, gw, gb = conv_transpose_nd_backward(g, x, w, p.stride, p.padding, p.output_padding, p.dilation, p.groups)
    assert gi is not None and gw is not None and gb is not None
    data: dict[str, Any] = {"grad_input": p.layout.shown(gi), "grad_weight": fwd.kernel_shown(gw), "grad_bias": gb,
                            "grad_output": p.layout.shown(g), "output": p.layout.shown(y)}
    return Solution("backprop transposed-conv", "Backpropagation through a transposed convolution", p.settings(),
                    data, _blocks(p, x, w, y, g, gi, gw, gb, cap, base), base)


def _blocks(p: TransposedProblem, x: Array, w: Array, y: Array, g: Array, gi: Array, gw: Array, gb: Array,
            cap: int | None, base: int) -> Iterator[Block]:
    yield Heading("Given")
    yield from fwd.show("X", "input", p.layout.shown(x), base)
    yield from fwd.show("W", "kernel (C_in, C_out/groups, ...)", fwd.kernel_shown(w), base)
    yield from fwd.show("Y", "forward output", p.layout.shown(y), base)
    yield from fwd.show("dY", "upstream gradient (of the loss w.r.t. the output)", p.layout.shown(g), base)
    yield Heading("Gradient w.r.t. the input X (grad_input)")
    yield Note("The forward sent X[i]·W[t] to Y[i·stride + t·dilation − padding]; the gradient gathers back from "
               "those positions, which is an ordinary convolution of dY with W (same stride, padding, dilation).")
    yield from _gather_cells(p, g, w, gi, cap)
    yield from fwd.show("dX", "gradient of the loss w.r.t. the input", p.layout.shown(gi), base)
    yield Heading("Gradient w.r.t. the kernel W (grad_weight)")
    yield Note("dW[c, o, t] = Σ over samples and input positions i of X[c, i] · dY[o, i·stride + t·dilation − "
               "padding] (positions outside dY count 0).")
    yield from fwd.show("dW", "gradient of the loss w.r.t. the kernel", fwd.kernel_shown(gw), base)
    yield Heading("Gradient w.r.t. the bias (grad_bias)")
    for o, v in enumerate(gb):
        vals = g[:, o].reshape(-1)
        shown = " + ".join(fmt(normalize(a)) for a in vals[:64]) + (" + …" if vals.size > 64 else "")
        ch = f"[{o + 1}]" if gb.shape[0] > 1 else ""
        yield Note(f"db{ch} = Σ dY{ch} = {shown} = {fmt(normalize(v))}")


def _gather_cells(p: TransposedProblem, g: Array, w: Array, gi: Array, cap: int | None) -> Iterator[Block]:
    """grad_input's cells, worked by the conv derivation on (dY, W)."""
    nsp = len(p.stride)
    pads = tuple((v, v) for v in p.padding)
    spec = ConvSpec(nsp, tuple(w.shape[2:]), p.stride, pads, ",".join(map(str, p.padding)), p.dilation, p.groups)
    full = conv_nd(g, w, None, p.stride, pads, p.dilation, p.groups)
    sub = fwd.ConvProblem(g, w, None, spec, p.layout, fwd.Names("dY", "W", "dX"))
    wk = fwd.Worked(g, w, None, pad_spatial(g, pads, "zeros"), full, common_kind(g, w))
    if full.shape != gi.shape:
        yield Note("The convolution reaches one position past X along an axis (output_padding ≥ stride); that "
                   "position has no input cell and is dropped.")
    chosen, total = select_cells(gi.shape, (), cap, 1)
    shown = 0
    for cell in chosen:
        shown += 1
        yield fwd.cell_work(sub, wk, cell)
    if shown < total:
        yield Elided(shown, total, "--steps all for every cell")
