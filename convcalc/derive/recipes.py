"""The CMU 11-785 recipes as views of the same numbers.

* a strided convolution is a stride-1 convolution followed by downsampling by the stride;
  its backward upsamples dL/dZ (restored to the stride-1 output's width) and runs the
  stride-1 backward;
* the course's transposed convolution is upsampling by k followed by a stride-1 (valid)
  convolution. It equals PyTorch's ConvTranspose with stride k, padding K−1 and the kernel
  flipped in space with its two channel axes swapped (proved against torch in the tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from convcalc.core.backward import conv_nd_backward
from convcalc.core.conv import conv_nd
from convcalc.core.resample import downsample, downsample_backward, upsample
from convcalc.core.transposed import conv_transpose_nd
from convcalc.derive import conv as fwd
from convcalc.derive.layout import Layout
from convcalc.derive.records import Block, Heading, Note, Solution
from convcalc.errors import ConvcalcError
from convcalc.formulas import downsample_size, upsample_size
from convcalc.numbers import Array, unify
from convcalc.specs import AXIS_NAMES


def _canonical_grad(g: Array | None, layout: Layout, shape: tuple[int, ...]) -> Array:
    if g is None:
        return np.ones(shape, dtype=np.int64)
    gc = layout.canonical(g) if g.ndim < len(shape) else g
    if gc.shape != shape:
        raise ConvcalcError(f"has shape {g.shape}, but the output has shape {layout.shown(np.zeros(shape)).shape}",
                            "--grad-output")
    return gc


def stride1_downsample(p: fwd.ConvProblem, grad: Array | None, base: int = 1) -> Solution:
    """``conv --as stride1-downsample``: the strided conv as conv_stride1 then downsample, both passes."""
    spec1 = replace(p.spec, stride=(1,) * p.spec.dim)
    one = fwd.compute(replace(p, spec=spec1), passes=3)
    strided = fwd.compute(p)
    z = downsample(one.out, p.spec.stride, p.spec.dim)
    g = _canonical_grad(grad, p.layout, z.shape)
    g1 = downsample_backward(g, p.spec.stride, one.out.shape[2:])
    sp = p.spec
    gi, gw, gb = conv_nd_backward(g1, one.x, one.w, spec1.stride, sp.padding, sp.dilation, sp.groups, sp.padding_mode)
    ri, rw, rb = conv_nd_backward(g, strided.x, strided.w, sp.stride, sp.padding, sp.dilation, sp.groups,
                                  sp.padding_mode)
    same = bool(np.array_equal(z, strided.out)) and _equal(gi, ri) and _equal(gw, rw) and _equal(gb, rb)
    shown = p.layout.shown
    data = {"output": shown(z), "shape": list(shown(z).shape), "stride1_output": shown(one.out),
            "grad_stride1_output": shown(g1), "grad_input": shown(gi), "grad_weight": fwd.kernel_shown(gw),
            "grad_bias": gb, "equals_strided": same}
    settings = {**sp.settings(), "as": "stride1-downsample"}
    blocks = _s1d_blocks(p, one.x, one.out, z, g, g1, gi, gw, same, base)
    return Solution("conv", "Strided convolution as stride-1 convolution + downsampling", settings, data, blocks,
                    base)


def _equal(a: Array | None, b: Array | None) -> bool:
    if a is None or b is None:
        return a is b
    return bool(np.array_equal(a, b)) if a.dtype != np.float64 else bool(np.allclose(a, b, rtol=1e-12, atol=1e-12))


def _s1d_blocks(p: fwd.ConvProblem, x: Array, z1: Array, z: Array, g: Array, g1: Array, gi: Array, gw: Array,
                same: bool, base: int) -> Iterator[Block]:
    n, sh = p.names, p.layout.shown
    yield Heading("Given")
    yield from fwd.show(n.input, "input", sh(x), base)
    yield from fwd.show(n.kernel, "kernel", fwd.kernel_shown(p.w), base)
    yield Heading("Forward, line 1: the stride-1 convolution")
    yield from fwd.show("Z1", "conv_stride1 output", sh(z1), base)
    yield Heading(f"Forward, line 2: downsample by the stride {','.join(map(str, p.spec.stride))}")
    for ax, w, s in zip(AXIS_NAMES[p.spec.dim], z1.shape[2:], p.spec.stride, strict=True):
        yield Note(f"{ax}: keep one value in every {s} of Z1, starting with the first: ({w}−1)//{s} + 1 = "
                   f"{downsample_size(w, s)} value(s).")
    yield from fwd.show(n.output, "output", sh(z), base)
    yield Heading("Backward, line 1: downsampling's backward")
    yield from fwd.show("dLdZ", "upstream gradient", sh(g), base)
    for ax, w, k, o in zip(AXIS_NAMES[p.spec.dim], z1.shape[2:], p.spec.stride, z.shape[2:], strict=True):
        reach = upsample_size(o, k)
        extra = f", then {w - reach} trailing zero(s) to restore Z1's size {w}" if reach < w else ""
        yield Note(f"{ax}: upsample dLdZ by {k} ({o} → {reach}){extra}.")
    yield from fwd.show("dLdZ1", "gradient w.r.t. the stride-1 output", sh(g1), base)
    yield Heading("Backward, line 2: the stride-1 convolution's backward")
    yield Note("dLdA: pad dLdZ1 by K−1, flip the kernel, convolve; dLdW: convolve A with dLdZ1; dLdb: sum dLdZ1.")
    yield from fwd.show("dLdA", "gradient w.r.t. the input", sh(gi), base)
    yield from fwd.show("dLdW", "gradient w.r.t. the kernel", fwd.kernel_shown(gw), base)
    yield Heading("Check")
    yield Note("Same output and gradients as the convolution with the stride built in (PyTorch's)." if same else
               "These differ from the strided convolution's: please report it.", "ok" if same else "error")


def upsample_conv(x: Array, w: Array, bias: Array | None, k: tuple[int, ...], layout: Layout, grad: Array | None,
                  base: int = 1) -> Solution:
    """``transposed-conv --as upsample-conv``: Z = conv_stride1(upsample(A, k), W), W as (C_out, C_in, *K).

    Also PyTorch's ConvTranspose with stride k, padding K−1 and W flipped and channel-swapped.
    """
    dim = len(k)
    terms = w.shape[1] * int(np.prod(w.shape[2:])) + 1
    xu, wu, bu = unify([x, w, bias], terms)
    assert xu is not None and wu is not None
    a_up = upsample(xu, k, dim)
    for ax, n_up, kk in zip(AXIS_NAMES[dim], a_up.shape[2:], w.shape[2:], strict=True):
        if n_up < kk:
            raise ConvcalcError(f"{ax}: the upsampled input has {n_up} value(s), fewer than the kernel's {kk}: "
                                "the course's stride-1 convolution has no output", "--kernel")
    if wu.shape[1] != xu.shape[1]:
        raise ConvcalcError(f"has {wu.shape[1]} input channel(s) (C_out, C_in, K...: the course's Conv_stride1 "
                            f"layout) but the input has {xu.shape[1]}", "--kernel")
    nsp = (1,) * dim
    z = conv_nd(a_up, wu, bu, nsp, ((0, 0),) * dim, nsp)
    wt = np.ascontiguousarray(np.flip(wu, axis=tuple(range(2, wu.ndim))).swapaxes(0, 1))
    pads = tuple(kk - 1 for kk in w.shape[2:])
    torch_z = conv_transpose_nd(xu, wt, bu, k, pads, (0,) * dim, nsp)
    g = _canonical_grad(grad, layout, z.shape)
    g_up, gw, gb = conv_nd_backward(g, a_up, wu, nsp, ((0, 0),) * dim, nsp)
    assert g_up is not None
    gi = downsample(g_up, k, dim)
    same = _equal(z, torch_z)
    sh = layout.shown
    data = {"output": sh(z), "shape": list(sh(z).shape), "upsampled_input": sh(a_up), "grad_upsampled": sh(g_up),
            "grad_input": sh(gi), "grad_weight": fwd.kernel_shown(gw), "grad_bias": gb,
            "pytorch_weight": fwd.kernel_shown(wt), "pytorch_stride": list(k), "pytorch_padding": list(pads),
            "equals_pytorch": same}
    settings = {"dim": dim, "upsampling_factor": k[0] if dim == 1 else list(k), "as": "upsample-conv"}
    return Solution("transposed-conv", "The course's transposed convolution: upsample, then a stride-1 convolution",
                    settings, data, _uc_blocks(x, w, a_up, z, wt, k, pads, g, g_up, gi, same, layout, base), base)


def _uc_blocks(x: Array, w: Array, a_up: Array, z: Array, wt: Array, k: tuple[int, ...], pads: tuple[int, ...],
               g: Array, g_up: Array, gi: Array, same: bool, layout: Layout, base: int) -> Iterator[Block]:
    sh, dim = layout.shown, len(k)
    yield Heading("Given")
    yield from fwd.show("A", "input", sh(x), base)
    yield from fwd.show("W", "kernel of the stride-1 convolution, laid out as its output, input, taps", fwd.kernel_shown(w), base)
    yield Heading("Forward, line 1: upsample by k")
    for ax, n, kk in zip(AXIS_NAMES[dim], x.shape[2:], k, strict=True):
        yield Note(f"{ax}: {kk}−1 zero(s) between samples: {n}·{kk} − ({kk}−1) = {upsample_size(n, kk)}.")
    yield from fwd.show("A_up", "upsampled input", sh(a_up), base)
    yield Heading("Forward, line 2: stride-1 convolution, no padding")
    for ax, n, kk in zip(AXIS_NAMES[dim], a_up.shape[2:], w.shape[2:], strict=True):
        yield Note(f"{ax}: {n} − {kk} + 1 = {n - kk + 1} value(s).")
    yield from fwd.show("Z", "output", sh(z), base)
    yield Heading("How it relates to PyTorch's ConvTranspose")
    p = ",".join(map(str, pads))
    yield Note(f"The same numbers are PyTorch's ConvTranspose{dim}d with stride={','.join(map(str, k))}, "
               f"padding={p} (K−1) and weight = W flipped in space with its two channel axes swapped "
               f"(C_in, C_out, K...), shown below. Put the other way: PyTorch's ConvTranspose with stride k and "
               f"padding 0 pads the upsampled input by K−1 on each side before the flipped kernel slides, so it is "
               f"K−1 longer at each end ((W−1)k + K instead of (W−1)k − K + 2).")
    yield from fwd.show("W_pt", "weight of the equivalent transposed convolution", fwd.kernel_shown(wt), base)
    yield Note("Checked: the two agree." if same else "They differ: please report it.", "ok" if same else "error")
    yield Heading("Backward")
    yield from fwd.show("dLdZ", "upstream gradient", sh(g), base)
    yield Note("Line 1, the stride-1 convolution's backward: pad dLdZ by K−1, flip W, convolve.")
    yield from fwd.show("dLdA_up", "gradient w.r.t. the upsampled input", sh(g_up), base)
    yield Note("Line 2, upsampling's backward: keep every k-th value (downsample).")
    yield from fwd.show("dLdA", "gradient w.r.t. the input", sh(gi), base)


def pool_stride1_downsample(x: Array, mode: str, k: tuple[int, ...], s: tuple[int, ...], layout: Layout,
                            grad: Array | None, base: int = 1) -> Solution:
    """``pool --as stride1-downsample``: the course's MaxPool/MeanPool as stride-1 pooling then downsampling."""
    from convcalc.core.pool import avg_pool_nd, max_pool_nd
    from convcalc.core.pool_backward import avg_pool_nd_backward, max_pool_nd_backward

    dim, ones = len(k), (1,) * len(k)
    if mode == "max":
        def run(a: Array, st: tuple[int, ...]) -> Array:
            return max_pool_nd(a, k, st)[0]

        def back(g: Array, st: tuple[int, ...]) -> Array:
            return max_pool_nd_backward(g, x, k, st)
    else:
        def run(a: Array, st: tuple[int, ...]) -> Array:
            return avg_pool_nd(a, k, st)

        def back(g: Array, st: tuple[int, ...]) -> Array:
            return avg_pool_nd_backward(g, x.shape, k, st)
    z1 = run(x, ones)
    z = downsample(z1, s, dim)
    g = _canonical_grad(grad, layout, z.shape)
    g1 = downsample_backward(g, s, z1.shape[2:])
    gi = back(g1, ones)
    same = _equal(z, run(x, s)) and _equal(gi, back(g, s))
    sh = layout.shown
    data = {"output": sh(z), "shape": list(sh(z).shape), "stride1_output": sh(z1), "grad_stride1_output": sh(g1),
            "grad_input": sh(gi), "equals_strided": same}
    settings = {"dim": dim, "mode": mode, "kernel_size": k[0] if dim == 1 else list(k),
                "stride": s[0] if dim == 1 else list(s), "as": "stride1-downsample"}
    title = f"{'Max' if mode == 'max' else 'Mean'} pooling as stride-1 pooling + downsampling"
    return Solution("pool", title, settings, data, _pool_blocks(x, z1, z, g, g1, gi, s, same, layout, base), base)


def _pool_blocks(x: Array, z1: Array, z: Array, g: Array, g1: Array, gi: Array, s: tuple[int, ...], same: bool,
                 layout: Layout, base: int) -> Iterator[Block]:
    sh = layout.shown
    yield Heading("Given")
    yield from fwd.show("A", "input", sh(x), base)
    yield Heading("Forward, line 1: pooling with stride 1")
    yield from fwd.show("Z1", "stride-1 pooling", sh(z1), base)
    yield Heading(f"Forward, line 2: downsample by the stride {','.join(map(str, s))}")
    yield from fwd.show("Z", "output", sh(z), base)
    yield Heading("Backward, line 1: downsampling's backward (zeros back to Z1's size)")
    yield from fwd.show("dLdZ", "upstream gradient", sh(g), base)
    yield from fwd.show("dLdZ1", "gradient w.r.t. the stride-1 output", sh(g1), base)
    yield Heading("Backward, line 2: stride-1 pooling's backward")
    yield Note("Max: each value goes to its window's (first) largest input; mean: spread evenly over the window.")
    yield from fwd.show("dLdA", "gradient w.r.t. the input", sh(gi), base)
    yield Note("Same output and gradient as pooling with the stride built in (PyTorch's)." if same else
               "These differ from the strided pooling's: please report it.", "ok" if same else "error")
