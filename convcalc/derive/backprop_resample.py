"""The worked gradient of resampling: upsampling's backward drops the inserted positions;
downsampling's backward spreads the gradient back to every k-th sample *and restores the
input's own width* (an even width ends with a sample the forward pass never kept)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

import numpy as np

from convcalc.core.resample import downsample, downsample_backward, upsample, upsample_backward
from convcalc.derive.answer import check_matrix, verdict_steps, wrong_cell_indices
from convcalc.derive.conv import show
from convcalc.derive.records import Block, Heading, Note, Solution
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.formulas import downsample_size, upsample_size
from convcalc.numbers import Array, common_kind
from convcalc.specs import AXIS_NAMES


def solve(x: Array, factor: tuple[int, ...], up: bool, dim: int, grad: Array | None, base: int = 1,
          answer: Array | None = None) -> Solution:
    """Forward resampling of the trailing ``dim`` axes of x, then dL/dA from dL/dZ (default all ones)."""
    out = upsample(x, factor, dim) if up else downsample(x, factor, dim)
    if grad is None:
        grad = np.ones(out.shape, dtype=np.int64)
    if grad.shape != out.shape:
        raise ConvcalcError(f"has shape {grad.shape}, but the resampled output has shape {out.shape}",
                            "--grad-output")
    sizes = tuple(x.shape[x.ndim - dim:])
    gi = upsample_backward(grad, factor, dim) if up else downsample_backward(grad, factor, sizes)
    settings: dict[str, object] = {"dim": dim, "direction": "up" if up else "down",
                                   "factor": factor[0] if dim == 1 else list(factor)}
    data: dict[str, object] = {"output": out, "shape": list(out.shape), "grad_input": gi,
                               "grad_input_shape": list(gi.shape)}
    title = "Backward of " + ("upsampling" if up else "downsampling")
    check = None
    if answer is not None:
        check = check_matrix("dLdA", answer, gi, common_kind(gi, answer))
        data.update({"answer_correct": bool(check.ok.all()), "wrong_cells": wrong_cell_indices(check, base),
                     "answer_of": "grad_input"})
    status = ExitStatus.WRONG_ANSWER if check is not None and not bool(check.ok.all()) else ExitStatus.OK
    blocks = _blocks(x, out, grad, gi, factor, up, dim, base)
    if check is not None:
        blocks = chain(blocks, verdict_steps(check, "dL/dA", "each is the upstream value at i·k, or 0", lambda _i: []))
    return Solution("backprop resample", title, settings, data, blocks, base, status)


def _blocks(x: Array, out: Array, grad: Array, gi: Array, factor: tuple[int, ...], up: bool, dim: int,
            base: int) -> Iterator[Block]:
    yield Heading("Forward")
    yield from show("A", "input", x, base)
    yield from show("Z", "upsampled (zeros inserted)" if up else "downsampled (every k-th sample kept)", out, base)
    yield Heading("Backward")
    yield from show("dLdZ", "upstream gradient", grad, base)
    sizes = x.shape[x.ndim - dim:]
    for ax, w, k in zip(AXIS_NAMES[dim], sizes, factor, strict=True):
        if up:
            yield Note(f"{ax}: the inserted zeros are constants, so their gradient is dropped: keep positions "
                       f"0, k, 2k, … of dLdZ ({upsample_size(w, k)} → {w}), i.e. downsample dLdZ by {k}.")
            continue
        kept = downsample_size(w, k)
        reach = upsample_size(kept, k)
        yield Note(f"{ax}: sample i·{k} of A became Z[i], so dLdA[i·{k}] = dLdZ[i]; every other sample was dropped "
                   f"and gets 0. Upsampling dLdZ by {k} gives {kept}·{k} − ({k}−1) = {reach} values; "
                   + (f"the input had {w}, so {w - reach} trailing zero(s) are appended (samples after the last "
                      f"kept one: the even/odd case)." if reach < w else
                      f"that is the input's width {w} already."))
    yield Heading("Result")
    yield from show("dLdA", "gradient w.r.t. the input (the input's shape)", gi, base)
