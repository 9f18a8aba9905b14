"""``convcalc backprop conv``, ``backprop transposed-conv`` and ``backprop pool``: layer gradients worked."""


from enum import Enum
from typing import Annotated

import typer

from convcalc.cli.backprop import backprop
from convcalc.cli.common import (
    AnswerOpt,
    CellOpt,
    DimOpt,
    FigureOpt,
    FormatOpt,
    FramesOpt,
    IndexOpt,
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
from convcalc.cli.conv import BiasOpt, GroupsOpt, InputOpt, KernelOpt, ModeOpt, NamesOpt, PaddingOpt, StrideOpt, names_arg
from convcalc.cli.general import bare_letter, kernel_shape, named_taps, no_answer_for_general_cell
from convcalc.derive.layout import as_signal, canonical_bias, canonical_kernel, data_layout
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array
from convcalc.render import Format
from convcalc.specs import make_conv_spec
from convcalc.symbolic import looks_symbolic

GradOpt = Annotated[str | None, typer.Option(
    "--grad-output", "-G", help="Upstream gradient ∂L/∂output (file, '-' or inline); default all ones.")]
DilationOpt = Annotated[str, typer.Option("--dilation", "-d", help="Dilation: n or h,w (1 = none).")]


class Wrt(str, Enum):
    input = "input"
    kernel = "kernel"
    bias = "bias"


WrtOpt = Annotated[Wrt, typer.Option("--wrt", help="Which gradient --cell picks cells of and --output writes: "
                                                    "input or kernel.")]
GRADIENT_KEY = {Wrt.input: "grad_input", Wrt.kernel: "grad_weight", Wrt.bias: "grad_bias"}
GradientOutputOpt = Annotated[str | None, typer.Option(
    "--output", "-o", help="Also write the gradient --wrt names (default: the input's) to FILE.npy|.csv|.txt|.json "
    "(CSV: floats any tool reads; JSON: exact fractions too).")]


def _dim(dim: int) -> int:
    if dim not in (1, 2):
        raise ConvcalcError(f"must be 1 or 2, got {dim}", "--dim")
    return dim


def _grad(value: str | None, dim: int) -> Array | None:
    g = optional_matrix(value, "--grad-output")
    return None if g is None else as_signal(g, dim)


@backprop.command("conv")
def conv(
    input: InputOpt = None, kernel: KernelOpt = None, grad_output: GradOpt = None, bias: BiasOpt = None,
    stride: StrideOpt = "1", padding: PaddingOpt = "0", dilation: DilationOpt = "1", groups: GroupsOpt = 1,
    padding_mode: ModeOpt = PaddingMode.zeros, dim: DimOpt = 2, cell: CellOpt = None, wrt: WrtOpt = Wrt.input,
    answer: AnswerOpt = None, fmt: FormatOpt = Format.text, index: IndexOpt = 1, steps: StepsOpt = "",
    names: NamesOpt = "A,B,C", output: GradientOutputOpt = None,
    kernel_size: Annotated[str | None, typer.Option(
        "--kernel-size", help="With --input A and --kernel B (letters): the kernel's size, n or h,w.")] = None,
    figure: FigureOpt = None, frames: FramesOpt = None,
) -> None:
    """Gradients of a convolution with respect to input, kernel and bias: the zero-stuff, pad, flip recipe.

    Entries may be letters; --input A (a letter) gives the general cell: ∂E/∂A[i,j] by the chain
    rule over the windows that read A[i,j] (--kernel B --kernel-size 3 names the taps B[k,l]).
    """
    from convcalc.derive import backprop as derive
    from convcalc.derive import conv as fwd

    dim = _dim(dim)
    base = index_arg(index)
    if bare_letter(input):
        if figure is not None or frames is not None:
            raise ConvcalcError("draws a worked grid of entries; an input of unknown size has none", "--figure")
        no_answer_for_general_cell(answer, output, cell)
        _general(input, kernel, kernel_size, stride, padding, dilation, dim, base, names, "all", fmt)
        return
    x = as_signal(matrix_arg(input, "--input", "input"), dim)
    w = canonical_kernel(as_signal(matrix_arg(kernel, "--kernel", "kernel"), dim), dim)
    layout = data_layout(x, dim, "--input")
    spec = make_conv_spec(dim, w.shape[2:], stride, padding, dilation, groups, padding_mode.value)
    b = canonical_bias(optional_matrix(bias, "--bias"), w.shape[0])
    problem = fwd.ConvProblem(layout.canonical(x), w, b, spec, layout, names_arg(names))
    claimed = optional_matrix(answer, "--answer", exact=True)
    cap = steps_arg(steps, fwd.DEFAULT_CELL_CAP)
    if figure is not None or frames is not None:
        from convcalc.render.figure_scatter import backprop_conv_figure

        if wrt is not Wrt.input:
            raise ConvcalcError("draws the input gradient (--wrt input); the kernel's is in the text", "--figure")
        write_figures(lambda: backprop_conv_figure(problem, _grad(grad_output, dim), cells_arg(cell), cap, base),
                      figure, frames)
    emit(derive.solve(problem, _grad(grad_output, dim), claimed, cells_arg(cell), wrt.value, cap, base), fmt,
         output, GRADIENT_KEY[wrt])


def _general(input: str | None, kernel: str | None, kernel_size: str | None, stride: str, padding: str,
             dilation: str, dim: int, base: int, names: str, wrt: str, fmt: Format) -> None:
    from convcalc.symbolic.general_layers import backprop_conv_general

    a = str(input).strip()
    n = names_arg(names)
    kletter = bare_letter(kernel)
    if kletter and kernel_size is not None and looks_symbolic(kernel_size):
        from convcalc.symbolic.general_layers import backprop_conv_letters

        spec = make_conv_spec(dim, (1,) * dim, stride, padding, dilation)
        if dim != 2 or any(v != 1 for v in (*spec.stride, *spec.dilation)) or spec.padding[0] != spec.padding[1] \
                or spec.padding[0][0] != spec.padding[0][1]:
            raise ConvcalcError("a kernel size in letters is worked in 2-D with stride 1, dilation 1 and one padding",
                                "--kernel-size")
        emit(backprop_conv_letters(kernel_size, spec.padding[0][0], base, (a, kletter, n.output),
                                   {**spec.settings(), "kernel_size": kernel_size}), fmt, None)
        return
    w = named_taps(kletter, kernel_shape(kernel_size, dim, "--kernel B"), base) if kletter else \
        as_signal(matrix_arg(kernel, "--kernel", "kernel"), dim)
    if w.ndim != dim:
        raise ConvcalcError("the general cell is worked for one channel: give a kernel of one 2-D slice", "--kernel")
    spec = make_conv_spec(dim, w.shape, stride, padding, dilation)
    if any(lo != hi for lo, hi in spec.padding):
        raise ConvcalcError("the general cell needs the same padding on both sides", "--padding")
    names3 = (a, kletter or n.kernel, n.output)
    emit(backprop_conv_general(w, spec.stride, tuple(lo for lo, _ in spec.padding), spec.dilation, base, names3, wrt,
                               spec.settings()), fmt, None)


class PoolMode(str, Enum):
    max = "max"
    avg = "avg"
    lp = "lp"


@backprop.command("pool")
def pool(
    input: InputOpt = None, grad_output: GradOpt = None,
    kernel_size: Annotated[str, typer.Option("--kernel-size", "-k", "-K", help="Window size: n or h,w.")] = "2",
    stride: Annotated[str, typer.Option("--stride", "-s", help="Stride: n or h,w (default: the kernel size).")] = "",
    padding: Annotated[str, typer.Option("--padding", "-p", help="Padding: n or h,w (max/avg).")] = "0",
    dilation: Annotated[str, typer.Option("--dilation", "-d", help="Dilation (max only).")] = "1",
    mode: Annotated[PoolMode, typer.Option("--mode", "-m", help="max, avg or lp.")] = PoolMode.max,
    ceil_mode: Annotated[bool, typer.Option("--ceil-mode", help="Ceil the output size (PyTorch's ceil_mode).")] = False,
    count_include_pad: Annotated[bool, typer.Option(
        "--count-include-pad/--no-count-include-pad", help="avg: count padding in the divisor.")] = True,
    divisor_override: Annotated[int | None, typer.Option("--divisor-override", help="avg: fixed divisor.")] = None,
    norm_type: Annotated[float, typer.Option("--norm-type", "--p", help="lp: the power p (PyTorch's norm_type).")]
    = 2.0,
    dim: DimOpt = 2, cell: Annotated[list[str] | None, typer.Option(
        "--cell", help="An input cell i,j: which windows send it gradient, and with what weight (repeatable).")]
    = None, answer: AnswerOpt = None, fmt: FormatOpt = Format.text, index: IndexOpt = 1,
    steps: StepsOpt = "", output: OutputOpt = None,
) -> None:
    """Route the upstream gradient back through max, average or LP pooling."""
    from convcalc.derive import backprop_pool as derive
    from convcalc.derive.conv import DEFAULT_CELL_CAP
    from convcalc.specs import pool_window

    dim = _dim(dim)
    base = index_arg(index)
    x = as_signal(matrix_arg(input, "--input", "input"), dim)
    layout = data_layout(x, dim, "--input")
    k, s, p, d = pool_window(kernel_size, stride, padding, dilation, dim)
    if mode is not PoolMode.max and any(v != 1 for v in d):
        raise ConvcalcError("only max pooling has a dilation in PyTorch", "--dilation")
    problem = derive.PoolProblem(layout.canonical(x), mode.value, k, s, p, d, ceil_mode, count_include_pad,
                                 divisor_override, norm_type, layout)
    claimed = optional_matrix(answer, "--answer", exact=True)
    emit(derive.solve(problem, _grad(grad_output, dim), claimed, steps_arg(steps, DEFAULT_CELL_CAP), base,
                      cells_arg(cell)), fmt, output, "grad_input")


@backprop.command("transposed-conv")
def transposed_conv(
    input: InputOpt = None,
    kernel: Annotated[str | None, typer.Option("--kernel", "-k", help="Kernel (K), or (C_in, C_out/g, K...).")] = None,
    grad_output: GradOpt = None, bias: BiasOpt = None, stride: StrideOpt = "1",
    padding: Annotated[str, typer.Option("--padding", "-p", help="Padding: n or h,w.")] = "0",
    output_padding: Annotated[str, typer.Option("--output-padding", help="Extra size on one side: n or h,w.")] = "0",
    dilation: DilationOpt = "1", groups: GroupsOpt = 1, dim: DimOpt = 2, cell: CellOpt = None,
    wrt: Annotated[Wrt, typer.Option("--wrt", help="Which gradient --cell and --answer are about: input, kernel "
                                                   "(or bias, --answer only).")] = Wrt.input,
    answer: Annotated[str | None, typer.Option("--answer", help="Your gradient (the one --wrt names) to check: "
                                                               "file, '-' or inline.")] = None,
    fmt: FormatOpt = Format.text, index: IndexOpt = 1, steps: StepsOpt = "", output: GradientOutputOpt = None,
) -> None:
    """Gradients of a transposed convolution (PyTorch's ConvTranspose) with respect to input, kernel and bias."""
    from convcalc.cli.layers import transposed_kernel
    from convcalc.derive import backprop_transposed as derive
    from convcalc.derive.conv import DEFAULT_CELL_CAP
    from convcalc.specs import non_negative, parse_ints, positive

    dim = _dim(dim)
    base = index_arg(index)
    if groups <= 0:
        raise ConvcalcError(f"must be positive, got {groups}", "--groups")
    x = as_signal(matrix_arg(input, "--input", "input"), dim)
    w = transposed_kernel(as_signal(matrix_arg(kernel, "--kernel", "kernel"), dim), dim)
    layout = data_layout(x, dim, "--input")
    xc = layout.canonical(x)
    if w.shape[0] != xc.shape[1]:
        raise ConvcalcError(f"has {w.shape[0]} input channel(s) (C_in, C_out/groups, ...) but the input has "
                            f"{xc.shape[1]}", "--kernel")
    b = canonical_bias(optional_matrix(bias, "--bias"), w.shape[1] * groups)
    problem = derive.TransposedProblem(
        xc, w, b, positive(parse_ints(stride, dim, "--stride"), "--stride"),
        non_negative(parse_ints(padding, dim, "--padding"), "--padding"),
        non_negative(parse_ints(output_padding, dim, "--output-padding"), "--output-padding"),
        positive(parse_ints(dilation, dim, "--dilation"), "--dilation"), groups, layout)
    claimed = optional_matrix(answer, "--answer", exact=True)
    emit(derive.solve(problem, _grad(grad_output, dim), steps_arg(steps, DEFAULT_CELL_CAP), base, claimed,
                      cells_arg(cell), wrt.value), fmt, output, GRADIENT_KEY[wrt])
