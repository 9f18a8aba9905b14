"""The worked solution of resampling by an integer factor: zero-insertion up, every-k-th down."""

from __future__ import annotations

from collections.abc import Iterator

from convcalc.core.resample import downsample, upsample
from convcalc.derive.conv import show
from convcalc.derive.records import Block, Heading, Note, Solution
from convcalc.formulas import downsample_size, upsample_size
from convcalc.numbers import Array
from convcalc.specs import AXIS_NAMES


def solve(x: Array, factor: tuple[int, ...], up: bool, dim: int, base: int = 1) -> Solution:
    """Upsample (``up``) or downsample the trailing ``dim`` axes of x by ``factor`` (one per axis)."""
    out = upsample(x, factor, dim) if up else downsample(x, factor, dim)
    settings: dict[str, object] = {"dim": dim, "direction": "up" if up else "down",
                                   "factor": factor[0] if dim == 1 else list(factor)}
    data: dict[str, object] = {"output": out, "shape": list(out.shape)}
    title = "Upsampling (zeros inserted)" if up else "Downsampling (every k-th sample kept)"
    return Solution("resample", title, settings, data, _blocks(x, out, factor, up, dim, base))


def _blocks(x: Array, out: Array, factor: tuple[int, ...], up: bool, dim: int, base: int) -> Iterator[Block]:
    yield Heading("Given")
    yield from show("A", "input", x, base)
    yield Heading("How")
    axes = AXIS_NAMES[dim]
    sizes = x.shape[x.ndim - dim:]
    for ax, w, k in zip(axes, sizes, factor, strict=True):
        if up:
            yield Note(f"{ax}: insert k−1 = {k - 1} zero(s) between neighbouring samples: "
                       f"W·k − (k−1) = {w}·{k} − ({k}−1) = {upsample_size(w, k)}.")
        else:
            kept = ", ".join(str(i + base) for i in range(0, w, k))
            yield Note(f"{ax}: keep samples {kept} (one in every {k}, starting with the first): "
                       f"(W−1)//k + 1 = ({w}−1)//{k} + 1 = {downsample_size(w, k)}.")
    yield Note("Upsampling's backward pass is downsampling by the same factor (the gradient of each inserted "
               "zero is dropped); downsampling's backward pass is upsampling by the same factor followed by "
               "zeros up to the input's own width (an input of width W = 6 downsampled by 2 keeps 3 samples; "
               "upsampling those gives 5, and the 6th gets a zero). `convcalc backprop resample` works it.")
    yield Heading("Result")
    yield from show("B", "output", out, base)
