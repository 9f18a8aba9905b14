"""``convcalc backprop resample`` and ``convcalc backprop net``: the CMU MyTorch layers'
backward passes, one resampling layer or a whole stack with given weights."""


from typing import Annotated

import typer

from convcalc.cli.backprop import backprop
from convcalc.cli.common import DimOpt, FormatOpt, IndexOpt, InputOpt, index_arg, matrix_arg, optional_matrix
from convcalc.derive.layout import as_signal
from convcalc.errors import ConvcalcError
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
    grad_output: GradOpt = None, dim: DimOpt = 1, fmt: FormatOpt = Format.text, index: IndexOpt = 1,
    output: GradInputOutputOpt = None,
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
    emit(derive.solve(x, factor, up is not None, dim, g, base), fmt, output, "grad_input")
