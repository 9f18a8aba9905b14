"""``convcalc output-size``, ``convcalc params`` and ``convcalc receptive-field``."""


import sys
from typing import Annotated, Any

import typer

from convcalc.cli import app
from convcalc.cli.common import DimOpt, FormatOpt, FramesOpt, emit, write_figures
from convcalc.errors import ConvcalcError
from convcalc.numbers import ascii_int
from convcalc.render import Format

MAX_SETTING = 10**6


def _sizes(value: str | None, flag: str, dim: int, low: int, default: int | None = None) -> tuple[int, ...]:
    """One number or h,w, checked against [low, 10^6]; one number serves every axis."""
    if value is None:
        if default is None:
            raise ConvcalcError(f"missing: give {flag} N" + (" or h,w" if dim == 2 else ""), flag)
        return (default,) * dim
    try:
        parts = tuple(ascii_int(t) for t in value.replace(" ", "").split(","))
    except ValueError:
        raise ConvcalcError(f"expected a whole number or h,w, got {value!r}", flag) from None
    if len(parts) == 1:
        parts = parts * dim
    if len(parts) != dim:
        raise ConvcalcError(f"expected {dim} number(s) for --dim {dim}, got {value!r}", flag)
    for v in parts:
        if not low <= v <= MAX_SETTING:
            raise ConvcalcError(f"must be between {low} and {MAX_SETTING}, got {v}", flag)
    return parts


def _dim(dim: int) -> int:
    if dim not in (1, 2):
        raise ConvcalcError(f"must be 1 or 2, got {dim}", "--dim")
    return dim




@app.command("output-size")
def output_size(
    input_size: Annotated[str | None, typer.Option("--input-size", help="Input size: n or h,w.")] = None,
    kernel_size: Annotated[str | None, typer.Option("--kernel-size", help="Kernel (filter) size F.")] = None,
    stride: Annotated[str | None, typer.Option("--stride", help="Stride (pooling: defaults to the kernel).")] = None,
    padding: Annotated[str, typer.Option("--padding", help="Zero padding per side.")] = "0",
    dilation: Annotated[str, typer.Option("--dilation", help="Dilation (1 = none).")] = "1",
    channels: Annotated[int | None, typer.Option("--channels", help="Output channels (filters).")] = None,
    transposed: Annotated[bool, typer.Option("--transposed", help="A transposed convolution.")] = False,
    output_padding: Annotated[str, typer.Option("--output-padding", help="Transposed only.")] = "0",
    pool: Annotated[bool, typer.Option("--pool", help="A pooling layer.")] = False,
    ceil_mode: Annotated[bool, typer.Option("--ceil-mode", help="Pooling with ceil_mode=True.")] = False,
    dim: DimOpt = 2,
    solve: Annotated[str | None, typer.Option("--solve", help="padding, stride, output-padding or kernel-size.")]
    = None,
    target: Annotated[str | None, typer.Option("--target", help="The output size wanted by --solve (letters allowed).")]
    = None,
    answer: Annotated[str | None, typer.Option("--answer", help="Your size (n, h,w or 'invalid') to check.")] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Output size of a conv, pool or transposed conv: the formula, the numbers, the value."""
    n = _dim(dim)
    if transposed and pool:
        raise ConvcalcError("choose one of --transposed and --pool", "--pool")
    if ceil_mode and not pool:
        raise ConvcalcError("--ceil-mode is a pooling setting: add --pool", "--ceil-mode")
    kind = "transposed" if transposed else ("pool_ceil" if ceil_mode else "pool") if pool else "conv"
    texts = {"--input-size": input_size, "--kernel-size": kernel_size, "--stride": stride, "--padding": padding,
             "--dilation": dilation, "--output-padding": output_padding}
    if _symbolic(*texts.values(), target):
        _symbolic_output_size(texts, kind, n, channels, solve, target, answer, fmt)
    i = _sizes(input_size, "--input-size", n, 1)
    k = _sizes(kernel_size, "--kernel-size", n, 1)
    s = _sizes(stride, "--stride", n, 1, None) if stride is not None else (k if pool else (1,) * n)
    p = _sizes(padding, "--padding", n, 0)
    d = _sizes(dilation, "--dilation", n, 1)
    op = _sizes(output_padding, "--output-padding", n, 0)
    if channels is not None and not 1 <= channels <= MAX_SETTING:
        raise ConvcalcError(f"must be between 1 and {MAX_SETTING}, got {channels}", "--channels")
    if transposed and any(o >= max(a, b) for o, a, b in zip(op, s, d, strict=True)):
        raise ConvcalcError("must be smaller than the stride or the dilation (PyTorch)", "--output-padding")
    if pool and any(2 * q > kk for q, kk in zip(p, k, strict=True)):
        raise ConvcalcError("pooling padding must be at most half the kernel size (PyTorch)", "--padding")
    columns = list(zip(i, k, s, p, d, op, strict=True))
    if n == 1:
        axes: tuple[str, ...] = ("W",)
    elif columns[0] == columns[1]:  # one formula serves both axes
        axes = ("H, W",)
        i, k, s, p, d, op = ((t[0],) for t in (i, k, s, p, d, op))
    else:
        axes = ("H", "W")
    from convcalc.derive import sizes as derive

    prob = derive.SizeProblem(i, k, s, p, d, op, kind, axes, channels)
    emit(derive.output_size(prob, solve, _whole(target, "--target"), answer), fmt)


def _symbolic(*texts: str | None) -> bool:
    from convcalc.symbolic import looks_symbolic

    return any(t is not None and looks_symbolic(t) for t in texts)


def _whole(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise ConvcalcError(f"expected a whole number (or letters), got {value!r}", flag) from None


def _symbolic_output_size(texts: dict[str, str | None], kind: str, dim: int, channels: int | None,
                          solve: str | None, target: str | None, answer: str | None, fmt: Format) -> None:
    """Letters in a size or setting: the answer is a formula (SymPy is imported only here)."""
    if channels is not None and not 1 <= channels <= MAX_SETTING:
        raise ConvcalcError(f"must be between 1 and {MAX_SETTING}, got {channels}", "--channels")
    if solve is not None:
        from convcalc.derive import solve_symbolic

        emit(solve_symbolic.solve(texts, kind, dim, solve, target, answer), fmt)
    from convcalc.derive import sizes_symbolic

    emit(sizes_symbolic.output_size(sizes_symbolic.read(texts, kind, dim, channels), answer), fmt)


ModelOpt = Annotated[str | None, typer.Option("--model", help="--net class source: the class to read (default: "
                                                                 "a module-level NAME = Class(...), else the last).")]


@app.command("params")
def params(
    in_channels: Annotated[str | None, typer.Option("--in-channels", help="C_in (a number or a letter).")] = None,
    out_channels: Annotated[str | None, typer.Option("--out-channels", help="C_out (number of filters).")] = None,
    kernel_size: Annotated[str | None, typer.Option("--kernel-size", help="n or h,w.")] = None,
    groups: Annotated[str, typer.Option("--groups", help="Groups.")] = "1",
    no_bias: Annotated[bool, typer.Option("--no-bias", help="bias=False.")] = False,
    transposed: Annotated[bool, typer.Option("--transposed", help="A transposed convolution.")] = False,
    separable: Annotated[bool, typer.Option(
        "--depthwise-separable", help="Count the depthwise-separable pair (depthwise + 1×1 pointwise) instead.")]
    = False,
    input_size: Annotated[str | None, typer.Option("--input-size", help="Input size for MACs/FLOPs.")] = None,
    stride: Annotated[str, typer.Option("--stride", help="Stride.")] = "1",
    padding: Annotated[str, typer.Option("--padding", help="Padding.")] = "0",
    dilation: Annotated[str, typer.Option("--dilation", help="Dilation.")] = "1",
    output_padding: Annotated[str, typer.Option("--output-padding", help="Transposed only.")] = "0",
    batch: Annotated[str, typer.Option("--batch", help="Batch size N for MACs.")] = "1",
    exact_ops: Annotated[bool, typer.Option("--exact-ops", help="Count multiplications + additions.")] = False,
    dim: DimOpt = 2,
    net: Annotated[str | None, typer.Option("--net", help="A layer-list file, or '-' for stdin.")] = None,
    layer: Annotated[list[str] | None, typer.Option("--layer", help="One layer, e.g. 'Conv2d(3,8,3)'.")] = None,
    input_shape: Annotated[str | None, typer.Option("--input-shape", help="N,C,H,W e.g. 100x3x512x512.")]
    = None,
    answer: Annotated[str | None, typer.Option("--answer", help="Your parameter count to check.")] = None,
    model: ModelOpt = None,
    depth: Annotated[int, typer.Option("--depth", help="--net: rows down to this depth of the module tree.")] = 3,
    fmt: FormatOpt = Format.text,
) -> None:
    """Weights, biases, MACs and FLOPs of a conv layer, or of a whole network (--net/--layer).

    --net takes a layer list, what print(model) prints, or the model's class source (read, never run).
    """
    if net is not None or layer:
        if input_shape is not None and _symbolic(input_shape.replace("x", ",")):
            from convcalc.derive import network_symbolic

            layers = _network(net, layer, None, shape=False)[0]
            emit(network_symbolic.params_table(layers, input_shape, answer), fmt)
        from convcalc.derive import network

        if not 0 <= depth <= 100:
            raise ConvcalcError(f"must be between 0 and 100, got {depth}", "--depth")
        graph = _network(net, layer, input_shape, model)
        emit(network.params_table(graph, answer, depth, exact_ops), fmt)
    n = _dim(dim)
    texts = {"--in-channels": in_channels, "--out-channels": out_channels, "--groups": groups, "--batch": batch,
             "--kernel-size": kernel_size, "--input-size": input_size, "--stride": stride, "--padding": padding,
             "--dilation": dilation, "--output-padding": output_padding}
    if _symbolic(*texts.values()):
        from convcalc.derive import params_symbolic

        emit(params_symbolic.params(texts, n, not no_bias, transposed, separable, exact_ops, answer), fmt)
    counts = {}
    for flag in ("--in-channels", "--out-channels", "--groups", "--batch"):
        v = _whole(texts[flag], flag)
        if v is None:
            raise ConvcalcError(f"missing: give {flag} N (or --net FILE)", flag)
        if not 1 <= v <= MAX_SETTING:
            raise ConvcalcError(f"must be between 1 and {MAX_SETTING}, got {v}", flag)
        counts[flag] = v
    k = _sizes(kernel_size, "--kernel-size", n, 1)
    from convcalc.derive import sizes as derive

    prob = derive.ParamsProblem(
        counts["--in-channels"], counts["--out-channels"], k, counts["--groups"], not no_bias, transposed, separable,
        _sizes(input_size, "--input-size", n, 1) if input_size is not None else None,
        _sizes(stride, "--stride", n, 1), _sizes(padding, "--padding", n, 0), _sizes(dilation, "--dilation", n, 1),
        _sizes(output_padding, "--output-padding", n, 0), counts["--batch"], exact_ops)
    emit(derive.params(prob, answer), fmt)


def _network(net: str | None, layer: list[str] | None, input_shape: str | None, model: str | None = None,
             shape: bool = True) -> Any:
    """The network traced on ``input_shape`` (a graph); ``shape=False``: the layer list alone (letters)."""
    from convcalc.net import parse_network, parse_shape
    from convcalc.net.read import network_form, read_network

    if net is not None and layer:
        raise ConvcalcError("give --net FILE or --layer, not both", "--layer")
    if net == "-":
        try:
            text = sys.stdin.read(1_000_001)
        except (OSError, UnicodeDecodeError) as e:
            raise ConvcalcError(f"cannot read standard input ({e})", "--net") from None
    elif net is not None:
        from convcalc import paths

        text = paths.read_text(paths.check_inside(net, "--net"), 1_000_000, f"--net ({net})", "layer-list file")
    else:
        text = "\n".join(layer or [])
    if not shape:
        if network_form(text) != "layers":
            raise ConvcalcError("letters in --input-shape work with a layer list; a printout or class source needs "
                                "numbers", "--input-shape")
        return parse_network(text), ()
    if input_shape is None:
        raise ConvcalcError("missing: give --input-shape N,C,H,W (e.g. 1x3x224x224)", "--input-shape")
    return read_network(text, parse_shape(input_shape), model)


@app.command("receptive-field")
def receptive_field(
    net: Annotated[str | None, typer.Option("--net", help="A layer-list file, or '-' for stdin.")] = None,
    layer: Annotated[list[str] | None, typer.Option("--layer", help="One layer, e.g. 'Conv2d(3,8,3)'.")] = None,
    input_shape: Annotated[str | None, typer.Option("--input-shape", help="N,C,H,W e.g. 1x3x512x512.")] = None,
    exact: Annotated[bool, typer.Option("--exact", help="Every unit, border included (default: exact for interior "
                                                        "units).")] = False,
    answer: Annotated[str | None, typer.Option(
        "--answer", help="Your receptive field of the last layer: n, h,w, lo-hi or 'global'.")] = None,
    model: ModelOpt = None,
    fmt: FormatOpt = Format.text,
    figure: Annotated[str | None, typer.Option(
        "--figure", help="Also draw the centre unit's field growing layer by layer on the input (FILE.svg, "
                         "animated; holes of a dilated stack show).")] = None,
    frames: FramesOpt = None,
) -> None:
    """Receptive field, jump and start of every layer, with the recurrence worked.

    Exact for interior units by default (per axis and phase, through skips and concatenations);
    --exact for every unit including the border.
    """
    from convcalc.derive import network

    if net is None and not layer:
        raise ConvcalcError("missing: give --net FILE, --net - or --layer 'Conv2d(...)'", "--net")
    if input_shape is not None and _symbolic(input_shape.replace("x", ",")):
        from convcalc.derive import network_symbolic

        layers = _network(net, layer, None, shape=False)[0]
        emit(network_symbolic.receptive_table(layers, input_shape, exact, answer), fmt)
    graph = _network(net, layer, input_shape, model)
    if figure is not None or frames is not None:
        from convcalc.render.figure_field import field_figure

        write_figures(lambda: field_figure(graph), figure, frames)
    emit(network.receptive_table(graph, exact, answer), fmt)
