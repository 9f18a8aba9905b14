"""``convcalc conv`` and ``convcalc dilated``."""


from typing import Annotated

import typer

from convcalc.cli import app
from convcalc.cli.common import (
    AnswerOpt,
    CellOpt,
    DimOpt,
    FigureOpt,
    FormatOpt,
    FramesOpt,
    IndexOpt,
    InputOpt,
    OutputOpt,
    PaddingMode,
    StepsOpt,
    cells_arg,
    emit,
    index_arg,
    matrix_arg,
    optional_matrix,
    steps_arg,
    write_figures,
)
from convcalc.derive import conv as derive
from convcalc.derive.layout import as_signal, canonical_bias, canonical_kernel, data_layout
from convcalc.errors import ConvcalcError
from convcalc.render import Format
from convcalc.specs import make_conv_spec

KernelOpt = Annotated[
    str | None, typer.Option("--kernel", "-k", help="Kernel (K), (C_in/g, K...) or (C_out, C_in/g, K...).")]
BiasOpt = Annotated[str | None, typer.Option("--bias", "-b", help="Bias: one number, or one per output channel.")]
StrideOpt = Annotated[str, typer.Option("--stride", "-s", help="Stride: n or h,w.")]
PaddingOpt = Annotated[str, typer.Option("--padding", "-p", help="Padding: n, h,w, 'same' or 'valid'.")]
GroupsOpt = Annotated[int, typer.Option("--groups", "-g", help="Groups (depthwise: groups = channels).")]
ModeOpt = Annotated[PaddingMode, typer.Option("--padding-mode", help="zeros, reflect, replicate or circular.")]
FlipOpt = Annotated[bool, typer.Option("--flip", help="True convolution: flip the kernel first.")]
NamesOpt = Annotated[str, typer.Option("--names", help="Symbols for input, kernel, output, e.g. X,W,Y.")]


def names_arg(value: str) -> derive.Names:
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 3 or not all(p.isidentifier() for p in parts):
        raise ConvcalcError(f"expected three names like A,B,C, got {value!r}", "--names")
    return derive.Names(*parts)


def _run(command: str, input: str | None, kernel: str | None, bias: str | None, stride: str, padding: str,
         dilation: str, groups: int, padding_mode: PaddingMode, flip: bool, dim: int, answer: str | None,
         fmt: Format, index: int, cell: list[str] | None, steps: str, names: str, output: str | None,
         figure: str | None = None, frames: str | None = None) -> None:
    if dim not in (1, 2):
        raise ConvcalcError(f"must be 1 or 2, got {dim}", "--dim")
    base = index_arg(index)
    x = as_signal(matrix_arg(input, "--input", "input"), dim)
    w = canonical_kernel(as_signal(matrix_arg(kernel, "--kernel", "kernel"), dim), dim)
    layout = data_layout(x, dim, "--input")
    spec = make_conv_spec(dim, w.shape[2:], stride, padding, dilation, groups, padding_mode.value, flip)
    b = canonical_bias(optional_matrix(bias, "--bias"), w.shape[0])
    claimed = optional_matrix(answer, "--answer", exact=True)
    problem = derive.ConvProblem(layout.canonical(x), w, b, spec, layout, names_arg(names))
    cap = steps_arg(steps, derive.DEFAULT_CELL_CAP)
    if figure is not None or frames is not None:
        from convcalc.render.figure_build import conv_figure

        write_figures(lambda: conv_figure(problem, cells_arg(cell), cap, base), figure, frames)
    emit(derive.solve(problem, command, claimed, cells_arg(cell), cap, base), fmt, output)


@app.command()
def conv(
    input: InputOpt = None, kernel: KernelOpt = None, bias: BiasOpt = None, stride: StrideOpt = "1",
    padding: PaddingOpt = "0",
    dilation: Annotated[str, typer.Option("--dilation", "-d", help="Dilation: n or h,w (1 = none).")] = "1",
    groups: GroupsOpt = 1, padding_mode: ModeOpt = PaddingMode.zeros, flip: FlipOpt = False, dim: DimOpt = 2,
    answer: AnswerOpt = None, fmt: FormatOpt = Format.text, index: IndexOpt = 1, cell: CellOpt = None,
    steps: StepsOpt = "", names: NamesOpt = "A,B,C", output: OutputOpt = None, figure: FigureOpt = None,
    frames: FramesOpt = None,
) -> None:
    """Convolve (cross-correlate, as PyTorch does) and show every cell's window, products and sum."""
    _run("conv", input, kernel, bias, stride, padding, dilation, groups, padding_mode, flip, dim, answer, fmt,
         index, cell, steps, names, output, figure, frames)


@app.command()
def dilated(
    input: InputOpt = None, kernel: KernelOpt = None, bias: BiasOpt = None, stride: StrideOpt = "1",
    padding: PaddingOpt = "0",
    dilation: Annotated[str, typer.Option("--dilation", "-d", help="Dilation: n or h,w.")] = "2",
    groups: GroupsOpt = 1, padding_mode: ModeOpt = PaddingMode.zeros, flip: FlipOpt = False, dim: DimOpt = 2,
    answer: AnswerOpt = None, fmt: FormatOpt = Format.text, index: IndexOpt = 1, cell: CellOpt = None,
    steps: StepsOpt = "", names: NamesOpt = "X,W,Y", output: OutputOpt = None, figure: FigureOpt = None,
    frames: FramesOpt = None,
) -> None:
    """A dilated (atrous) convolution: which input each tap samples, and the effective kernel d(K−1)+1."""
    _run("dilated", input, kernel, bias, stride, padding, dilation, groups, padding_mode, flip, dim, answer, fmt,
         index, cell, steps, names, output, figure, frames)
