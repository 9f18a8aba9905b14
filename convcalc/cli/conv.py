"""``convcalc conv`` and ``convcalc dilated``."""


from enum import Enum
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
from convcalc.cli.general import bare_letter, kernel_shape, named_taps, no_answer_for_general_cell
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
TargetOpt = Annotated[str | None, typer.Option(
    "--target", help="With --input X (a letter): the formula a kernel should give, e.g. 'X[i+1,j] - X[i,j]'; "
    "solves for the kernel (--answer judges a claimed one).")]
KernelSizeOpt = Annotated[str | None, typer.Option(
    "--kernel-size", help="With --target, or --kernel B (a letter): the kernel's size, n or h,w.")]


class ConvView(str, Enum):
    stride1_downsample = "stride1-downsample"


AsOpt = Annotated[ConvView | None, typer.Option(
    "--as", help="stride1-downsample: the course's recipe, a stride-1 conv then downsampling by the stride, "
                 "forward and backward.")]
GradAsOpt = Annotated[str | None, typer.Option(
    "--grad-output", "-G", help="With --as: the upstream gradient dL/dZ (default all ones).")]


def names_arg(value: str) -> derive.Names:
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 3 or not all(p.isidentifier() for p in parts):
        raise ConvcalcError(f"expected three names like A,B,C, got {value!r}", "--names")
    return derive.Names(*parts)


def _run(command: str, input: str | None, kernel: str | None, bias: str | None, stride: str, padding: str,
         dilation: str, groups: int, padding_mode: PaddingMode, flip: bool, dim: int, answer: str | None,
         fmt: Format, index: int, cell: list[str] | None, steps: str, names: str, output: str | None,
         target: str | None = None, kernel_size: str | None = None, as_: ConvView | None = None,
         grad_output: str | None = None, figure: str | None = None, frames: str | None = None) -> None:
    if dim not in (1, 2):
        raise ConvcalcError(f"must be 1 or 2, got {dim}", "--dim")
    base = index_arg(index)
    letter = bare_letter(input)
    if letter is not None and (as_ is not None or grad_output is not None):
        raise ConvcalcError("--as and --grad-output work numbers, not an input of letters", "--as")
    if target is not None and letter is None:
        raise ConvcalcError("needs --input as a letter (an input of unknown size), e.g. --input X", "--target")
    if letter is not None:
        from convcalc.symbolic import general_derive as general

        if figure is not None or frames is not None:
            raise ConvcalcError("draws a worked grid of entries; an input of unknown size has none", "--figure")

        given = None if (names == "A,B,C" and command == "conv") or (names == "X,W,Y" and command == "dilated") else \
            tuple(p.strip() for p in names.split(","))
        ln = general.letters_for(letter, given)  # type: ignore[arg-type]
        if target is not None:
            shape = kernel_shape(kernel_size, dim, "--target")
            spec = make_conv_spec(dim, shape, stride, padding, dilation, groups, padding_mode.value, flip)
            if bias is not None or output is not None or cell:
                raise ConvcalcError("--target solves for the kernel alone (a constant in the formula is the bias)",
                                    "--bias" if bias is not None else "--output" if output is not None else "--cell")
            claim = optional_matrix(answer, "--answer", exact=True)
            emit(general.kernel_from_formula(target, shape, spec, base, ln, claim), fmt, None)
            return
        no_answer_for_general_cell(answer, output, cell)
        kletter = bare_letter(kernel)
        w = named_taps(kletter, kernel_shape(kernel_size, dim, "--kernel B"), base) if kletter else \
            as_signal(matrix_arg(kernel, "--kernel", "kernel"), dim)
        if w.ndim != dim:
            raise ConvcalcError("the general cell is worked for one channel: give a kernel of one 2-D slice", "--kernel")
        spec = make_conv_spec(dim, w.shape, stride, padding, dilation, groups, padding_mode.value, flip)
        letters = ln if not kletter else general.Letters(ln.input, kletter, ln.output)
        emit(general.conv_general(w, spec, base, letters, command, optional_matrix(bias, "--bias")), fmt, None)
        return
    x = as_signal(matrix_arg(input, "--input", "input"), dim)
    w = canonical_kernel(as_signal(matrix_arg(kernel, "--kernel", "kernel"), dim), dim)
    layout = data_layout(x, dim, "--input")
    spec = make_conv_spec(dim, w.shape[2:], stride, padding, dilation, groups, padding_mode.value, flip)
    b = canonical_bias(optional_matrix(bias, "--bias"), w.shape[0])
    claimed = optional_matrix(answer, "--answer", exact=True)
    problem = derive.ConvProblem(layout.canonical(x), w, b, spec, layout, names_arg(names))
    if as_ is not None:
        from convcalc.derive.recipes import stride1_downsample

        if claimed is not None or spec.flip:
            raise ConvcalcError("--answer and --flip do not combine with --as", "--as")
        g = optional_matrix(grad_output, "--grad-output")
        emit(stride1_downsample(problem, None if g is None else as_signal(g, dim), base), fmt, output)
    if grad_output is not None:
        raise ConvcalcError("--grad-output needs --as stride1-downsample (or use 'backprop conv')", "--grad-output")
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
    steps: StepsOpt = "", names: NamesOpt = "A,B,C", output: OutputOpt = None, target: TargetOpt = None,
    kernel_size: KernelSizeOpt = None, as_: AsOpt = None, grad_output: GradAsOpt = None,
    figure: FigureOpt = None, frames: FramesOpt = None,
) -> None:
    """Convolve (cross-correlate, as PyTorch does) and show every cell's window, products and sum.

    Entries may be letters ('a b; c d', X:4x4). A bare letter (--input X) is an input of unknown
    size: the general cell Y[i,j] as a formula, or with --target the kernel that gives a formula.
    """
    _run("conv", input, kernel, bias, stride, padding, dilation, groups, padding_mode, flip, dim, answer, fmt,
         index, cell, steps, names, output, target, kernel_size, as_, grad_output, figure=figure, frames=frames)


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
         index, cell, steps, names, output, figure=figure, frames=frames)
