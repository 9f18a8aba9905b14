"""``convcalc norm`` and ``convcalc backprop norm``: batch, layer, instance and group
normalization (or statistics over any axes), worked forward and backward."""


from enum import Enum
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated

import typer

from convcalc.cli import app
from convcalc.cli.backprop import backprop
from convcalc.cli.common import (
    FormatOpt,
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
)
from convcalc.errors import ConvcalcError
from convcalc.io import parse_entry, read_tensor
from convcalc.numbers import Array, Scalar, Written
from convcalc.render import Format

if TYPE_CHECKING:
    from convcalc.derive.norm import NormProblem


class NormKind(str, Enum):
    batch = "batch"
    layer = "layer"
    instance = "instance"
    group = "group"


OverOpt = Annotated[str | None, typer.Option(
    "--over", help="Axes the statistics are taken over, in the input's layout (N,C,H,W; N,C,L; N,F), e.g. N,H,W "
                   "(BatchNorm2d), N,C,H,W, N,C or N.")]
KindOpt = Annotated[NormKind | None, typer.Option(
    "--kind", help="PyTorch's module: batch (BatchNorm), layer (LayerNorm), instance (InstanceNorm), group "
                   "(GroupNorm). Default: batch, unless --over is given.")]
GroupsOpt = Annotated[int | None, typer.Option("--groups", "-g", help="GroupNorm's num_groups (divides C).")]
ShapeOpt = Annotated[str | None, typer.Option(
    "--normalized-shape", help="LayerNorm's normalized_shape, e.g. 3,4 (default: every axis but N).")]
WeightOpt = Annotated[str | None, typer.Option(
    "--weight", help="γ, shaped as PyTorch shapes it (per channel; per element for LayerNorm) or one number; default 1.")]
BiasOpt = Annotated[str | None, typer.Option("--bias", help="β, shaped as γ; default 0.")]
EpsOpt = Annotated[str, typer.Option("--eps", help="ε added to the variance (exact: 1e-5 is 1/100000).")]
RunMeanOpt = Annotated[str | None, typer.Option(
    "--running-mean", help="Running mean before this batch (default 0, a fresh module's).")]
RunVarOpt = Annotated[str | None, typer.Option(
    "--running-var", help="Running variance before this batch (default 1, a fresh module's).")]
MomentumOpt = Annotated[str, typer.Option("--momentum", help="PyTorch's momentum m: new = (1 − m)·old + m·batch.")]
EvalOpt = Annotated[bool, typer.Option("--eval", help="Eval mode: normalize with the running statistics.")]
NormAnswerOpt = Annotated[list[str] | None, typer.Option(
    "--answer", help="NAME=VALUE to check (repeatable): mean, var, var_unbiased, std, normalized, output, "
                     "running_mean, running_var; e.g. --answer 'mean=5/2' --answer 'var=1.25'.")]
CellOpt = Annotated[list[str] | None, typer.Option("--cell", help="Work this cell of x, e.g. 1,2,1,1 (repeatable).")]


def numeric(a: Array, flag: str) -> Array:
    """The array itself when it holds numbers; letters (a SymPy matrix) are refused: norm works numbers."""
    if a.dtype == object and not all(isinstance(v, int | Fraction | float) for v in a.flat):
        raise ConvcalcError("norm works with numbers; letters are not supported here", flag)
    return a


def _optional(value: str | None, flag: str) -> Array | None:
    a = optional_matrix(value, flag)
    return None if a is None else numeric(a, flag)


def axes_arg(over: str, ndim: int) -> tuple[int, ...]:
    from convcalc.derive.norm_symbols import ALIASES, LAYOUTS

    names = LAYOUTS[ndim]
    text = over.replace(" ", "").upper()
    parts = [q for q in text.split(",") if q] if "," in text else list(text)
    out = []
    for q in parts:
        q = ALIASES.get(q, q)
        if ndim == 2 and q == "C":
            q = "F"
        if q not in names:
            raise ConvcalcError(f"{q!r} is not an axis of the {ndim}-axis input ({','.join(names)})", "--over")
        if names.index(q) in out:
            raise ConvcalcError(f"{q} is named twice", "--over")
        out.append(names.index(q))
    if not out:
        raise ConvcalcError("names no axis", "--over")
    return tuple(out)


def number_arg(text: str, flag: str, low: Fraction, high: Fraction | None = None) -> Scalar:
    value = parse_entry(text.strip(), flag)
    f = Fraction(text.strip().replace("\u2212", "-")) if isinstance(value, float) else Fraction(value)
    if f < low or (high is not None and f > high):
        raise ConvcalcError(f"must be {'at least ' + str(low) if high is None else f'from {low} to {high}'}, "
                            f"got {text.strip()}", flag)
    return f


def shape_arg(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        out = tuple(int(v) for v in text.replace("x", ",").replace("×", ",").split(",") if v.strip())
    except ValueError:
        raise ConvcalcError(f"expected sizes like 3,4, got {text!r}", "--normalized-shape") from None
    if not out or any(v < 1 for v in out):
        raise ConvcalcError(f"expected positive sizes like 3,4, got {text!r}", "--normalized-shape")
    return out


def claims_arg(items: list[str] | None) -> dict[str, tuple[Array, str]]:
    from convcalc.cli.backprop import as_scalar

    out: dict[str, tuple[Array, str]] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep or not name.replace("_", "").isalnum():
            raise ConvcalcError(f"expected NAME=VALUE such as mean=5/2, got {item!r}", "--answer")
        if name in out:
            raise ConvcalcError(f"{name} is claimed twice", "--answer")
        text = value.strip()
        flag = f"--answer {name}"
        if text and not any(ch in text for ch in " \t;,[\n") and text != "-":
            try:
                number = parse_entry(text, flag)
            except ConvcalcError:
                out[name] = (numeric(read_tensor(value, flag, exact=True), flag), text)
                continue
            exact = Written(text.replace("\u2212", "-")) if isinstance(number, float) else number
            out[name] = (as_scalar(exact), text)
            continue
        out[name] = (numeric(read_tensor(value, flag, exact=True), flag), text)
    return out


def problem_arg(input: str | None, over: str | None, kind: NormKind | None, groups: int | None,
                normalized_shape: str | None, weight: str | None, bias: str | None, eps: str,
                running_mean: str | None, running_var: str | None, momentum: str, eval_: bool) -> "NormProblem":
    from convcalc.core.norm import plan_kind, plan_over
    from convcalc.derive.norm import NormProblem
    from convcalc.derive.norm_symbols import LAYOUTS

    x = numeric(matrix_arg(input, "--input", "input"), "--input")
    if x.ndim not in LAYOUTS:
        raise ConvcalcError(f"has {x.ndim} axes; normalization takes (N,F), (N,C,L), (N,C,H,W) or (N,C,D,H,W)",
                            "--input")
    if over is not None and kind is not None:
        raise ConvcalcError("give --over or --kind, not both", "--over")
    if groups is not None and kind is not NormKind.group:
        raise ConvcalcError("--groups goes with --kind group", "--groups")
    if normalized_shape is not None and kind is not NormKind.layer:
        raise ConvcalcError("--normalized-shape goes with --kind layer", "--normalized-shape")
    if over is not None:
        plan = plan_over(x.shape, axes_arg(over, x.ndim))
    else:
        k = (kind or NormKind.batch).value
        if k == "group" and groups is None:
            raise ConvcalcError("--kind group needs --groups G", "--groups")
        plan = plan_kind(x.shape, k, groups or 1, shape_arg(normalized_shape))
    return NormProblem(x, plan, LAYOUTS[x.ndim], _param(weight, "--weight", plan.param_shape),
                       _param(bias, "--bias", plan.param_shape),
                       number_arg(eps, "--eps", Fraction(0)), number_arg(momentum, "--momentum", Fraction(0),
                                                                         Fraction(1)),
                       _optional(running_mean, "--running-mean"), _optional(running_var, "--running-var"),
                       not eval_)


def _param(value: str | None, flag: str, shape: tuple[int, ...]) -> Array | None:
    """γ or β as given, or one number for every element of PyTorch's shape."""
    import numpy as np

    a = _optional(value, flag)
    if a is not None and a.size == 1 and shape != (1,):
        return np.full(shape, a.reshape(-1)[0], dtype=a.dtype)
    return a


@app.command()
def norm(
    input: InputOpt = None, over: OverOpt = None, kind: KindOpt = None, groups: GroupsOpt = None,
    normalized_shape: ShapeOpt = None, weight: WeightOpt = None, bias: BiasOpt = None, eps: EpsOpt = "1e-5",
    running_mean: RunMeanOpt = None, running_var: RunVarOpt = None, momentum: MomentumOpt = "0.1",
    eval_: EvalOpt = False, answer: NormAnswerOpt = None, fmt: FormatOpt = Format.text, index: IndexOpt = 1,
    cell: CellOpt = None, steps: StepsOpt = "", output: OutputOpt = None,
) -> None:
    """Batch, layer, instance or group normalization (or statistics over any axes), worked: means, variances,
    stds, normalized cells, γ·x̂ + β, the running update, the parameter count."""
    from convcalc.derive import norm as derive

    base = index_arg(index)
    p = problem_arg(input, over, kind, groups, normalized_shape, weight, bias, eps, running_mean, running_var,
                    momentum, eval_)
    emit(derive.solve(p, claims_arg(answer), cells_arg(cell), steps_arg(steps, derive.DEFAULT_CELL_CAP), base),
         fmt, output)


GradOpt = Annotated[str | None, typer.Option(
    "--grad-output", "-G", help="Upstream gradient ∂L/∂y, shaped as the input (default all ones).")]
BackAnswerOpt = Annotated[list[str] | None, typer.Option(
    "--answer", help="NAME=VALUE to check (repeatable): grad_input, grad_weight, grad_bias.")]
WrtOpt = Annotated[str, typer.Option("--wrt", help="Which gradient --output writes: input, weight or bias.")]


@backprop.command("norm")
def norm_backward(
    input: InputOpt = None, grad_output: GradOpt = None, over: OverOpt = None, kind: KindOpt = None,
    groups: GroupsOpt = None, normalized_shape: ShapeOpt = None, weight: WeightOpt = None, bias: BiasOpt = None,
    eps: EpsOpt = "1e-5", running_mean: RunMeanOpt = None, running_var: RunVarOpt = None,
    momentum: MomentumOpt = "0.1", eval_: EvalOpt = False, answer: BackAnswerOpt = None,
    fmt: FormatOpt = Format.text, index: IndexOpt = 1, cell: CellOpt = None, steps: StepsOpt = "",
    wrt: WrtOpt = "input", output: OutputOpt = None,
) -> None:
    """∂L/∂x (the three-term formula, its terms named), ∂L/∂γ and ∂L/∂β of a normalization, worked."""
    from convcalc.derive import backprop_norm as derive

    base = index_arg(index)
    p = problem_arg(input, over, kind, groups, normalized_shape, weight, bias, eps, running_mean, running_var,
                    momentum, eval_)
    if wrt not in ("input", "weight", "bias"):
        raise ConvcalcError(f"must be input, weight or bias, got {wrt!r}", "--wrt")
    dy = _optional(grad_output, "--grad-output")
    emit(derive.solve(p, dy, claims_arg(answer), cells_arg(cell), steps_arg(steps, derive.DEFAULT_CELL_CAP), base),
         fmt, output, f"grad_{wrt}")
