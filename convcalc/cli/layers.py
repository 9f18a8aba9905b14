"""``convcalc transposed-conv``, ``convcalc pool`` and ``convcalc resample``."""


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
    StepsOpt,
    cells_arg,
    emit,
    index_arg,
    matrix_arg,
    optional_matrix,
    steps_arg,
    write_figures,
)
from convcalc.cli.general import bare_letter, no_answer_for_general_cell
from convcalc.derive import conv as cv
from convcalc.derive.layout import as_signal, canonical_bias, data_layout
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array
from convcalc.render import Format
from convcalc.specs import non_negative, parse_ints, pool_window, positive
from convcalc.symbolic import looks_symbolic


class View(str, Enum):
    scatter = "scatter"
    gather = "gather"


class TransposedAs(str, Enum):
    upsample_conv = "upsample-conv"


def _dim(dim: int) -> int:
    if dim not in (1, 2):
        raise ConvcalcError(f"must be 1 or 2, got {dim}", "--dim")
    return dim


def transposed_kernel(w: Array, dim: int) -> Array:
    """(*K) → (1, 1, *K); (C_in, *K) → (C_in, 1, *K); (C_in, C_out/groups, *K) as is."""
    if w.ndim == dim:
        return w[None, None]
    if w.ndim == dim + 1:
        return w[:, None]
    if w.ndim == dim + 2:
        return w
    raise ConvcalcError(f"has {w.ndim} axes; a {dim}-D transposed kernel has {dim}, {dim + 1} (C_in, ...) or "
                        f"{dim + 2} (C_in, C_out/groups, ...)", "--kernel")


def _names(value: str) -> cv.Names:
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 3 or not all(p.isidentifier() for p in parts):
        raise ConvcalcError(f"expected three names like Y,W,X, got {value!r}", "--names")
    return cv.Names(*parts)


def general_transposed(input: str | None, kernel: str | None, stride: str, padding: str, dilation: str, dim: int,
                       base: int, names: str, fmt: Format) -> None:
    from convcalc.symbolic.general_layers import transposed_general

    w = as_signal(matrix_arg(kernel, "--kernel", "kernel"), dim)
    if w.ndim != dim:
        raise ConvcalcError("the general cell is worked for one channel: give a kernel of one 2-D slice", "--kernel")
    s = positive(parse_ints(stride, dim, "--stride"), "--stride")
    d = positive(parse_ints(dilation, dim, "--dilation"), "--dilation")
    pad = non_negative(parse_ints(padding, dim, "--padding"), "--padding")
    x = str(input).strip()
    n = _names(names)
    settings = {"dim": dim, "stride": list(s), "padding": list(pad), "dilation": list(d)}
    emit(transposed_general(w, s, pad, d, base, x, "Y" if x != "Y" else n.output, n.kernel, settings), fmt, None)


def general_pool(input: str | None, mode: str, kernel_size: str, stride: str | None, padding: str, as_conv: bool,
                 channels: str, dim: int, base: int, names: str, fmt: Format) -> None:
    from convcalc.symbolic import general_layers as gl

    x = str(input).strip()
    y = "Y" if x != "Y" else "Z"
    settings = {"mode": mode, "kernel_size": kernel_size, "stride": stride or kernel_size, "padding": padding}
    if as_conv:
        if mode != "avg" or dim != 2 or (stride and stride.strip() != kernel_size.strip()) or padding.strip() != "0":
            raise ConvcalcError("in symbols, --as-conv works for --mode avg with stride = window and no padding",
                                "--as-conv")
        emit(gl.pool_as_conv_general(kernel_size, channels, base, x, y, settings), fmt, None)
        return
    if looks_symbolic(kernel_size):
        if dim != 2 or (stride and stride.strip() != kernel_size.strip()) or padding.strip() != "0":
            raise ConvcalcError("a window in letters is worked with stride = window and no padding", "--kernel-size")
        emit(gl.pool_general_letters(mode, kernel_size, base, x, y, settings), fmt, None)
        return
    k, s, pad, _ = pool_window(kernel_size, stride, padding, "1", dim)
    emit(gl.pool_general(mode, k, s, pad, base, x, y, settings), fmt, None)


@app.command("transposed-conv")
def transposed_conv(
    input: InputOpt = None,
    kernel: Annotated[str | None, typer.Option("--kernel", "-k", help="Kernel (K) or (C_in, C_out/groups, K...).")]
    = None,
    bias: Annotated[str | None, typer.Option("--bias", "-b", help="Bias: one number or one per output channel.")]
    = None,
    stride: Annotated[str, typer.Option("--stride", "-s", help="Stride: n or h,w.")] = "1",
    padding: Annotated[str, typer.Option("--padding", "-p", help="Padding cropped from each side: n or h,w.")] = "0",
    output_padding: Annotated[str, typer.Option("--output-padding", help="Extra rows/cols at the end: n or h,w.")]
    = "0",
    dilation: Annotated[str, typer.Option("--dilation", "-d", help="Dilation: n or h,w.")] = "1",
    groups: Annotated[int, typer.Option("--groups", "-g", help="Groups.")] = 1,
    view: Annotated[View, typer.Option("--view", help="scatter (stamp the kernel) or gather (zero-stuff, "
                                                       "pad, convolve with the flipped kernel).")] = View.scatter,
    dim: DimOpt = 2, answer: AnswerOpt = None, fmt: FormatOpt = Format.text, index: IndexOpt = 1,
    cell: CellOpt = None, steps: StepsOpt = "",
    names: Annotated[str, typer.Option("--names", help="Symbols for input, kernel, output.")] = "Y,W,X",
    output: OutputOpt = None, figure: FigureOpt = None, frames: FramesOpt = None,
    as_: Annotated[TransposedAs | None, typer.Option(
        "--as", help="upsample-conv: the CMU course's definition, upsample by --stride then a stride-1 valid conv "
                     "with --kernel as (C_out, C_in, K...); says which PyTorch ConvTranspose it equals.")] = None,
    grad_output: Annotated[str | None, typer.Option(
        "--grad-output", "-G", help="With --as: the upstream gradient dL/dZ (default all ones).")] = None,
) -> None:
    """Transposed convolution (PyTorch's ConvTranspose): the kernel stamped per input value, or gathered."""
    from convcalc.derive import transposed as tr

    dim = _dim(dim)
    base = index_arg(index)
    if bare_letter(input):
        no_answer_for_general_cell(answer, output, cell)
        general_transposed(input, kernel, stride, padding, dilation, dim, base, names, fmt)
        return
    x = as_signal(matrix_arg(input, "--input", "input"), dim)
    if as_ is not None:
        _upsample_conv(x, kernel, bias, stride, (padding, output_padding, dilation, groups, answer), grad_output,
                       dim, fmt, base, output)
    if grad_output is not None:
        raise ConvcalcError("--grad-output needs --as upsample-conv (or use 'backprop transposed-conv')",
                            "--grad-output")
    w = transposed_kernel(as_signal(matrix_arg(kernel, "--kernel", "kernel"), dim), dim)
    layout = data_layout(x, dim, "--input")
    s = positive(parse_ints(stride, dim, "--stride"), "--stride")
    d = positive(parse_ints(dilation, dim, "--dilation"), "--dilation")
    pad = non_negative(parse_ints(padding, dim, "--padding"), "--padding")
    op = non_negative(parse_ints(output_padding, dim, "--output-padding"), "--output-padding")
    if groups < 1:
        raise ConvcalcError(f"must be positive, got {groups}", "--groups")
    b = canonical_bias(optional_matrix(bias, "--bias"), w.shape[1] * groups)
    claimed = optional_matrix(answer, "--answer", exact=True)
    problem = tr.TransposedProblem(layout.canonical(x), w, b, s, pad, op, d, groups, layout, _names(names),
                                   view.value)
    cap = steps_arg(steps, cv.DEFAULT_CELL_CAP)
    if figure is not None or frames is not None:
        from convcalc.render.figure_scatter import transposed_figure

        write_figures(lambda: transposed_figure(problem, cells_arg(cell), cap, base), figure, frames)
    emit(tr.solve(problem, claimed, cells_arg(cell), cap, base), fmt, output)


def _upsample_conv(x: Array, kernel: str | None, bias: str | None, stride: str, others: tuple, grad: str | None,
                   dim: int, fmt: Format, base: int, output: str | None) -> None:
    from convcalc.derive.layout import canonical_kernel
    from convcalc.derive.recipes import upsample_conv

    if others != ("0", "0", "1", 1, None):
        raise ConvcalcError("the course's definition has no padding, output padding, dilation, groups or --answer",
                            "--as")
    layout = data_layout(x, dim, "--input")
    w = canonical_kernel(as_signal(matrix_arg(kernel, "--kernel", "kernel"), dim), dim)
    k = positive(parse_ints(stride, dim, "--stride"), "--stride")
    b = canonical_bias(optional_matrix(bias, "--bias"), w.shape[0])
    g = optional_matrix(grad, "--grad-output")
    emit(upsample_conv(layout.canonical(x), w, b, k, layout, None if g is None else as_signal(g, dim), base), fmt,
         output)


class PoolAs(str, Enum):
    stride1_downsample = "stride1-downsample"


class PoolMode(str, Enum):
    max = "max"
    avg = "avg"
    lp = "lp"
    adaptive_max = "adaptive-max"
    adaptive_avg = "adaptive-avg"


@app.command()
def pool(
    input: InputOpt = None,
    kernel_size: Annotated[str, typer.Option("--kernel-size", "-k", help="Window: n or h,w.")] = "2",
    stride: Annotated[str | None, typer.Option("--stride", "-s", help="Stride (default: the kernel size).")] = None,
    padding: Annotated[str, typer.Option("--padding", "-p", help="Padding: n or h,w.")] = "0",
    dilation: Annotated[str, typer.Option("--dilation", "-d", help="Dilation (max pooling only).")] = "1",
    mode: Annotated[PoolMode, typer.Option("--mode", "-m", help="max, avg, lp, adaptive-max or adaptive-avg.")]
    = PoolMode.max,
    p: Annotated[float, typer.Option("--norm-type", "--p", help="lp: the power p (PyTorch's norm_type).")] = 2.0,
    ceil_mode: Annotated[bool, typer.Option("--ceil-mode", help="Round the output size up (PyTorch's rule).")]
    = False,
    count_include_pad: Annotated[bool, typer.Option("--count-include-pad/--no-count-include-pad",
                                                    help="avg: count padding cells in the divisor.")] = True,
    divisor_override: Annotated[int | None, typer.Option("--divisor-override", help="avg: divide by this.")] = None,
    output_size: Annotated[str | None, typer.Option("--output-size", help="adaptive: output size n or h,w.")]
    = None,
    as_conv: Annotated[bool, typer.Option("--as-conv", help="avg: show the equivalent convolution.")] = False,
    channels: Annotated[str, typer.Option("--channels", help="With --input X (a letter) and --as-conv: the "
                                                            "channel count, a number or a letter.")] = "C",
    dim: DimOpt = 2, answer: AnswerOpt = None, fmt: FormatOpt = Format.text, index: IndexOpt = 1,
    cell: CellOpt = None, steps: StepsOpt = "",
    names: Annotated[str, typer.Option("--names", help="Symbols for input and output, e.g. C,P.")] = "A,P",
    output: OutputOpt = None, figure: FigureOpt = None, frames: FramesOpt = None,
    as_: Annotated[PoolAs | None, typer.Option(
        "--as", help="stride1-downsample: the CMU course's recipe, stride-1 max/avg pooling then downsampling by "
                     "the stride, forward and backward.")] = None,
    grad_output: Annotated[str | None, typer.Option(
        "--grad-output", "-G", help="With --as: the upstream gradient dL/dZ (default all ones).")] = None,
) -> None:
    """Pool each channel (max, average, power-average, adaptive) and show every window.

    Entries may be letters (max stays max(a, …)); --input X (a letter) gives the general cell, and
    with --as-conv the C×C×k×k convolution in symbols (--kernel-size k may be a letter).
    """
    from convcalc.derive import pool as pl

    dim = _dim(dim)
    base = index_arg(index)
    if bare_letter(input):
        no_answer_for_general_cell(answer, output, cell)
        general_pool(input, mode.value, kernel_size, stride, padding, as_conv, channels, dim, base, names, fmt)
        return
    x = as_signal(matrix_arg(input, "--input", "input"), dim)
    layout = data_layout(x, dim, "--input")
    k, s, pad, d = pool_window(kernel_size, stride, padding, dilation, dim)
    if as_ is not None:
        from convcalc.derive.recipes import pool_stride1_downsample

        if mode.value not in ("max", "avg") or any(pad) or any(v != 1 for v in d) or ceil_mode or answer is not None \
                or divisor_override is not None:
            raise ConvcalcError("the course's pooling is max or avg without padding, dilation, ceil_mode, a divisor "
                                "override or --answer", "--as")
        g = optional_matrix(grad_output, "--grad-output")
        emit(pool_stride1_downsample(layout.canonical(x), mode.value, k, s, layout,
                                     None if g is None else as_signal(g, dim), base), fmt, output)
    if grad_output is not None:
        raise ConvcalcError("--grad-output needs --as stride1-downsample (or use 'backprop pool')", "--grad-output")
    osize = () if output_size is None else non_negative(parse_ints(output_size, dim, "--output-size"),
                                                        "--output-size")
    parts = [v.strip() for v in names.split(",")]
    if len(parts) != 2 or not all(v.isidentifier() for v in parts):
        raise ConvcalcError(f"expected two names like A,P, got {names!r}", "--names")
    if mode.value.startswith("adaptive") and output_size is None:
        raise ConvcalcError("adaptive pooling needs --output-size", "--output-size")
    if divisor_override is not None and not 0 < abs(divisor_override) <= 10**9:
        raise ConvcalcError(f"must be a non-zero integer of at most 10^9, got {divisor_override}",
                            "--divisor-override")
    if p != p or p == 0:
        raise ConvcalcError(f"must be a non-zero number, got {p}", "--norm-type")
    claimed = optional_matrix(answer, "--answer", exact=True)
    problem = pl.PoolProblem(layout.canonical(x), mode.value, k, s, pad, d, layout, ceil_mode, count_include_pad,
                             divisor_override, p, osize, as_conv, (parts[0], parts[1]))
    cap = steps_arg(steps, pl.DEFAULT_CELL_CAP)
    if figure is not None or frames is not None:
        from convcalc.render.figure_build import pool_figure

        write_figures(lambda: pool_figure(problem, cells_arg(cell), cap, base), figure, frames)
    emit(pl.solve(problem, claimed, cells_arg(cell), cap, base), fmt, output)


@app.command()
def resample(
    input: InputOpt = None,
    up: Annotated[str | None, typer.Option("--up", help="Insert k−1 zeros between samples: k or h,w.")] = None,
    down: Annotated[str | None, typer.Option("--down", help="Keep every k-th sample: k or h,w.")] = None,
    dim: Annotated[int | None, typer.Option(
        "--dim", help="1 for signals (W), 2 for images (H,W); default: 2 for a matrix of several rows, else 1.")]
    = None, fmt: FormatOpt = Format.text, index: IndexOpt = 1, output: OutputOpt = None,
    figure: FigureOpt = None, frames: FramesOpt = None,
) -> None:
    """Resample the trailing axes by an integer factor: zero-insertion up, or every k-th sample down."""
    from convcalc.derive import resample as rs

    base = index_arg(index)
    if (up is None) == (down is None):
        raise ConvcalcError("give exactly one of --up K or --down K", "--up")
    raw = matrix_arg(input, "--input", "input")
    dim = _dim(dim if dim is not None else (2 if raw.ndim >= 2 and raw.shape[-2] > 1 else 1))
    flag = "--up" if up is not None else "--down"
    factor = positive(parse_ints(up if up is not None else str(down), dim, flag), flag)
    x = as_signal(raw, dim)
    if x.ndim < dim or any(n < 1 for n in x.shape):
        raise ConvcalcError(f"has shape {x.shape}; resampling {dim} axis(es) needs at least {dim} non-empty axes",
                            "--input")
    if figure is not None or frames is not None:
        from convcalc.render.figure_scatter import resample_figure

        write_figures(lambda: resample_figure(x, factor, up is not None, dim, base), figure, frames)
    emit(rs.solve(x, factor, up is not None, dim, base), fmt, output)
