"""``convcalc backprop``: gradients worked step by step.

A command group: ``backprop expr`` differentiates an expression over scalars, vectors and
matrices; the conv, pool and transposed-conv gradients join this group as commands of their own.
"""


import keyword
from enum import Enum
from typing import Annotated

import numpy as np
import typer

from convcalc.cli import app
from convcalc.cli.common import FormatOpt, emit
from convcalc.errors import ConvcalcError
from convcalc.io import parse_entry, read_tensor
from convcalc.numbers import Array, Kind, Written, kind_of
from convcalc.render import Format

backprop = typer.Typer(
    help="Backpropagation worked step by step: forward values, local derivatives, gradients.",
    no_args_is_help=True,
)
app.add_typer(backprop, name="backprop")

ExprArg = Annotated[str, typer.Argument(help="e.g. 'sum((W @ x)**2)': + - * / @ **, .T, sum mean relu sigmoid "
                                             "tanh exp log square norm; layers conv2d(X, W, stride=1, padding=0, "
                                             "dilation=1), conv_transpose2d(..., output_padding=0), max_pool2d(X, k), "
                                             "avg_pool2d(X, k), flatten(X).", show_default=False)]
VarOpt = Annotated[list[str] | None, typer.Option("--var", help="NAME=MATRIX: a file, '-' or inline '1 2; 3 4' "
                                                               "(repeatable); a single number is a scalar.")]


ExprAnswerOpt = Annotated[list[str] | None, typer.Option(
    "--answer", help="NAME=MATRIX to check (repeatable): a variable's name with your ∂f/∂NAME, or f with your "
                     "value of f, e.g. --answer 'f=0.116' --answer 'W=0.088 0.176; 0.104 0.208'.")]


TableOpt = Annotated[list[str] | None, typer.Option(
    "--table", help="NAME=ROWS: evaluate f once per row, e.g. --table 'x=0 0; 0 1; 1 0; 1 1' (each row a column "
                    "vector); --answer then takes f's claimed column, e.g. --answer '0 1 1 0'.")]


WrtOpt = Annotated[str | None, typer.Option(
    "--wrt", help="NAME: the Jacobian ∂f/∂NAME of a vector-valued f (a row per entry of f, a column per entry of NAME); "
                  "--answer then takes the claimed Jacobian.")]


class Notation(str, Enum):
    hadamard = "hadamard"
    diag = "diag"


NotationOpt = Annotated[Notation, typer.Option(
    "--notation", help="How closed forms write u ⊙ v of columns: hadamard (u ⊙ v) or diag (diag(u) v, as MathDNN).")]


GradientsOutputOpt = Annotated[str | None, typer.Option(
    "--output", "-o", help="Also write the gradients to FILE.json (one per variable); .npy or .csv with one variable.")]


@backprop.command("expr")
def expr(expression: ExprArg, var: VarOpt = None, answer: ExprAnswerOpt = None, fmt: FormatOpt = Format.text,
         output: GradientsOutputOpt = None, table: TableOpt = None, wrt: WrtOpt = None,
         notation: NotationOpt = Notation.hadamard) -> None:
    """Differentiate an expression: its graph, the forward pass, the backward pass node by node, every gradient."""
    from convcalc.derive import expr as derive
    from convcalc.expr.parse import FUNCTIONS

    variables: dict[str, Array] = {}
    for item in var or []:
        name, value = _binding(item, FUNCTIONS, "--var")
        if name in variables:
            raise ConvcalcError(f"{name} is bound twice", "--var")
        variables[name] = _value(name, value, "--var", exact=False)
    if table and wrt is not None:
        raise ConvcalcError("--table and --wrt do not go together: a table evaluates f per row, --wrt differentiates "
                            "it once", "--wrt")
    if table:
        _table(expression, variables, table, answer, fmt)
        return
    if wrt is not None:
        from convcalc.derive.expr_jacobian import solve_jacobian

        emit(solve_jacobian(expression, variables, wrt.strip(), _bare_claim(answer)), fmt, output, "jacobian")
        return
    claims: dict[str, Array] = {}
    for item in answer or []:
        name, value = _binding(item, frozenset(), "--answer")
        if name in claims:
            raise ConvcalcError(f"{name} is claimed twice", "--answer")
        claims[name] = _value(name, value, "--answer", exact=True)
    emit(derive.solve(expression, variables, answers=claims, diag=notation is Notation.diag), fmt, output,
         "gradients")


def _table(expression: str, variables: dict[str, Array], table: list[str], answer: list[str] | None,
           fmt: Format) -> None:
    from convcalc.derive.expr_table import solve_table
    from convcalc.expr.parse import FUNCTIONS

    tables: dict[str, Array] = {}
    for item in table:
        name, value = _binding(item, FUNCTIONS, "--table")
        if name in tables:
            raise ConvcalcError(f"{name} is bound twice", "--table")
        tables[name] = read_tensor(value, f"--table {name}")
    emit(solve_table(expression, variables, tables, _bare_claim(answer)), fmt)


def _bare_claim(answer: list[str] | None) -> Array | None:
    """One claimed matrix, written bare ('0 1 1 0') or after a name ('f=0 1 1 0', 'J=...')."""
    if not answer:
        return None
    if len(answer) > 1:
        raise ConvcalcError("give one --answer here (f's column with --table, J with --wrt)", "--answer")
    text = answer[0]
    head, sep, rest = text.partition("=")
    if sep and head.strip().isidentifier():
        text = rest
    return read_tensor(text, "--answer", exact=True)


def _binding(item: str, functions: frozenset[str], flag: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    name = name.strip()
    if not sep:
        raise ConvcalcError(f"expected NAME=MATRIX, got {item!r}", flag)
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("__"):
        raise ConvcalcError(f"{name!r} is not a usable name (letters, digits and _; not a Python keyword)", flag)
    if name in functions:
        raise ConvcalcError(f"{name!r} is a function name; pick another name", flag)
    return name, value


def _value(name: str, value: str, option: str, exact: bool) -> Array:
    """A matrix in any input form; one number typed inline is a scalar. Ints and fractions stay
    exact; ``exact`` keeps decimals exact too (a claimed 0.25 is 1/4), else they are float64."""
    flag = f"{option} {name}"
    text = value.strip()
    if text and not any(ch in text for ch in " \t;,[\n") and text != "-":
        try:  # one number typed inline is a scalar, not a 1×1 matrix
            number = parse_entry(text, flag)
        except ConvcalcError:
            pass  # not a number: a file name, read below
        else:
            return as_scalar(Written(text.replace("\u2212", "-")) if exact and isinstance(number, float) else number)
    out = read_tensor(value, flag, exact=exact)
    if out.dtype == object and kind_of(out) is Kind.SYMBOLIC:
        raise ConvcalcError("letters are not taken here: backprop expr works on numbers", flag)
    return out


def as_scalar(v: object) -> Array:
    """A 0-d array of the number's own kind: int64/object for exact numbers, float64 otherwise."""
    if isinstance(v, float):
        return np.asarray(v, dtype=np.float64)
    out = np.empty((), dtype=object)
    out[()] = v
    return out
