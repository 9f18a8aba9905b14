"""``convcalc backprop resample`` and ``convcalc backprop net``: the CMU MyTorch layers'
backward passes, one resampling layer or a whole stack with given weights."""


from typing import Annotated

import typer

from convcalc.cli.backprop import backprop
from convcalc.cli.common import AnswerOpt, DimOpt, FormatOpt, IndexOpt, InputOpt, index_arg, matrix_arg, optional_matrix
from convcalc.derive.layout import as_signal
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array
from convcalc.render import Format
from convcalc.specs import parse_ints, positive

GradOpt = Annotated[str | None, typer.Option(
    "--grad-output", "-G", help="Upstream gradient dL/dZ (file, '-' or inline); default all ones.")]
GradInputOutputOpt = Annotated[str | None, typer.Option(
    "--output", "-o", help="Also write dL/dA to FILE.npy|.csv|.json.")]


@backprop.command("resample")
def resample(
    input: InputOpt = None,
    up: Annotated[str | None, typer.Option("--up", help="Upsampling factor k (or h,w): k−1 zeros inserted.")] = None,
    down: Annotated[str | None, typer.Option("--down", help="Downsampling factor k (or h,w): every k-th kept.")]
    = None,
    grad_output: GradOpt = None, dim: DimOpt = 1, answer: AnswerOpt = None, fmt: FormatOpt = Format.text,
    index: IndexOpt = 1, output: GradInputOutputOpt = None,
) -> None:
    """Gradient of up/downsampling, restored to the input's own width (the even/odd case)."""
    from convcalc.cli.common import emit
    from convcalc.derive import backprop_resample as derive

    if dim not in (1, 2):
        raise ConvcalcError(f"must be 1 or 2, got {dim}", "--dim")
    base = index_arg(index)
    if (up is None) == (down is None):
        raise ConvcalcError("give exactly one of --up K or --down K", "--up")
    flag = "--up" if up is not None else "--down"
    factor = positive(parse_ints(up if up is not None else str(down), dim, flag), flag)
    x = as_signal(matrix_arg(input, "--input", "input"), dim)
    if x.ndim < dim or any(n < 1 for n in x.shape):
        raise ConvcalcError(f"has shape {x.shape}; resampling {dim} axis(es) needs at least {dim} non-empty axes",
                            "--input")
    g = optional_matrix(grad_output, "--grad-output")
    g = None if g is None else as_signal(g, dim)
    claimed = optional_matrix(answer, "--answer", exact=True)
    claimed = None if claimed is None else as_signal(claimed, dim)
    emit(derive.solve(x, factor, up is not None, dim, g, base, claimed), fmt, output, "grad_input")


def floats(a: Array, flag: str) -> Array:
    """The matrix as float64; letters (SymPy entries) are refused: a whole network is worked in numbers."""
    import numpy as np

    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConvcalcError("has letters; this command works numbers only", flag) from None


def net_text(value: str | None, flag: str = "--net") -> str:
    """A layer list: a file, '-' for stdin, or the layers themselves typed inline."""
    import sys

    if value is None:
        raise ConvcalcError(f"missing: give {flag} FILE, {flag} - or {flag} 'Conv1d(1, 2, 3), ReLU()'", flag)
    if value == "-":
        try:
            return sys.stdin.read(1_000_001)
        except (OSError, UnicodeDecodeError) as e:
            raise ConvcalcError(f"cannot read standard input ({e})", flag) from None
    if "(" in value:
        return value
    from convcalc import paths

    return paths.read_text(paths.check_inside(value, flag), 1_000_000, f"{flag} ({value})", "layer-list file")


def batched(x: Array, first: object) -> Array:
    """The input with PyTorch's leading axes: (W) or (C, W) for a 1-D layer get N (and C) added."""
    from convcalc.net.layers import ConvLayer, CourseResampleLayer, PoolLayer

    nd = getattr(first, "ndim", None) if isinstance(first, ConvLayer | PoolLayer | CourseResampleLayer) else None
    want = nd + 2 if nd is not None else None
    if want is not None and x.ndim < want:
        for _ in range(want - x.ndim):
            x = x[None]
    elif want is None and x.ndim == 1:
        x = x[None]
    return x


def chain_of(text: str, shape: tuple[int, ...]) -> tuple[tuple, tuple[str, ...] | None]:
    """The layers of a layer list; or of a class source / print(model) printout whose layers form
    one chain, with their state_dict prefixes (``conv1``, ``features.0``)."""
    from convcalc.net import parse_network
    from convcalc.net.read import network_form, read_network

    if network_form(text) == "layers":
        return parse_network(text), None
    graph = read_network(text, shape)
    for i, node in enumerate(graph.nodes):
        if node.inputs != (i - 1,):
            raise ConvcalcError(f"backprop net follows one chain of layers; {node.name} ({node.layer.text}) takes "
                                "a branch or several inputs", "--net")
    if graph.output != len(graph.nodes) - 1:
        raise ConvcalcError("backprop net follows one chain of layers; the model returns an earlier value", "--net")
    return tuple(n.layer for n in graph.nodes), tuple(n.name for n in graph.nodes)


@backprop.command("net")
def net(
    net: Annotated[str | None, typer.Option("--net", help="The layer list (a file, '-' or inline 'Conv1d(1, 2, 3), "
                                                          "ReLU(), Flatten()'), or a class source or print(model) "
                                                          "printout whose layers form one chain.")] = None,
    input: InputOpt = None,
    weights: Annotated[str | None, typer.Option("--weights", "-w", help="FILE.npz with PyTorch state_dict names "
                                                                        "(0.weight, 0.bias, ... or conv1.weight, "
                                                                        "...); never unpickled.")] = None,
    grad_output: GradOpt = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random weights (PyTorch's default ranges) from this "
                                                           "seed, instead of --weights.")] = None,
    save_weights: Annotated[str | None, typer.Option("--save-weights", help="Write the weights used to FILE.npz.")]
    = None,
    layer: Annotated[int | None, typer.Option("--layer", help="Show every value of layer k (1-based), not a "
                                                              "preview.")] = None,
    answer: Annotated[str | None, typer.Option("--answer", help="Your dL/dA (the whole stack's, the input's shape) "
                                                                "to check, e.g. your MyTorch model's.")] = None,
    fmt: FormatOpt = Format.text, index: IndexOpt = 1, output: GradInputOutputOpt = None,
) -> None:
    """A whole stack forward and backward: each layer's output, then dL/dA and weight gradients, layer by layer.

    Layers as PyTorch names them, plus the CMU course's Upsample1d/2d(k), Downsample1d/2d(k) and
    MeanPool1d/2d(kernel, stride);
    the course's ConvTranspose1d(k) is written Upsample1d(k), Conv1d(...).
    """
    import math

    from convcalc.cli.common import emit
    from convcalc.derive import backprop_net as derive
    from convcalc.weights import load_npz, random_init, save_npz

    base = index_arg(index)
    text = net_text(net)
    raw = floats(matrix_arg(input, "--input", "input"), "--input")
    layers, prefixes = chain_of(text, raw.shape)
    x = batched(raw, layers[0])
    if seed is not None and not 0 <= seed < 2**63:
        raise ConvcalcError(f"must be a whole number from 0 to 2^63 − 1, got {seed}", "--seed")
    if (weights is None) == (seed is None):
        raise ConvcalcError("give --weights FILE.npz, or --seed N for random weights", "--weights")
    if weights is not None:
        w = load_npz(weights)
    else:
        from convcalc.core.stack import fan_in, param_shapes

        ins = derive.input_shapes(layers, x.shape)
        names = derive.param_names(layers, x.shape, None, prefixes)
        per = {i: param_shapes(layer, ins[i]) for i, layer in enumerate(layers)}
        shapes = {names[i][k]: s for i, ps in per.items() for k, s in ps.items()}
        fans = {names[i][k]: fan_in(layers[i], ps) for i, ps in per.items() for k in ps}
        from convcalc.weights import MAX_ENTRIES

        total = sum(math.prod(s) for s in shapes.values())
        if total > MAX_ENTRIES:
            raise ConvcalcError(f"the network has {total} parameters; random weights are made for at most "
                                f"{MAX_ENTRIES}", "--seed")
        w = random_init(shapes, fans, seed)  # type: ignore[arg-type]
    g = optional_matrix(grad_output, "--grad-output")
    claimed = optional_matrix(answer, "--answer")
    claimed = None if claimed is None else floats(claimed, "--answer")
    problem = derive.NetProblem(layers, x, w, None if g is None else floats(g, "--grad-output"), layer, claimed,
                                prefixes)
    solution = derive.solve(problem, base)
    if save_weights is not None:
        save_npz(w, save_weights)
    emit(solution, fmt, output, "grad_input")
