"""``backprop expr F --wrt y``: the Jacobian ∂f/∂y of a vector-valued f, worked.

Row i of J is the gradient of the entry fᵢ: the backward pass started from the one-hot
seed eᵢ instead of 1. The first row's pass is shown step by step, every row's result after
it, then J and its closed form (``diag(σ′(A y + b)) A``) when one checks out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from convcalc.derive.answer import check_matrix
from convcalc.derive.expr import backward_steps, equation, forward_steps, graph_table, legend
from convcalc.derive.records import AnswerCheck, Block, Equation, Heading, Note, Solution
from convcalc.errors import ExitStatus
from convcalc.expr.graph import build
from convcalc.expr.jacobian import jacobian, jacobian_form
from convcalc.expr.parse import parse
from convcalc.expr.rules import tex_name
from convcalc.numbers import Array, Kind, exact_strings, fmt, kind_of

COMMAND = "backprop expr"
MAX_ROWS_SHOWN = 20


def solve_jacobian(expression: str, variables: Mapping[str, Array], wrt: str,
                   claimed: Array | None = None) -> Solution:
    """J = ∂f/∂``wrt`` with its working; ``claimed`` is a claimed J, checked cell by cell."""
    graph = build(parse(expression, variables.keys()), variables)
    jac = jacobian(graph, wrt)
    out = graph.output.name
    n, m = jac.matrix.shape
    blocks: list[Block] = [Note(f"--var {name} is not used in the expression", "warn")
                           for name in variables if name not in graph.variables]
    blocks += graph_table(graph)
    worked: list[tuple[int, Equation]] = []
    blocks += forward_steps(graph, worked)
    blocks.append(Heading(f"Jacobian ∂{out}/∂{wrt}: a row per entry of {out}, a column per entry of {wrt}"))
    blocks.append(Note(f"Row i is the gradient of the entry {out}ᵢ: the backward pass started from ∂{out}/∂{out} = eᵢ "
                       f"(1 at entry i, 0 elsewhere) instead of 1. Row 1 in full, where ∂{out} stands for ∂{out}₁:"))
    if jac.rows:
        seed = jac.rows[0].grads[graph.output.index]
        blocks.append(equation(f"∂{out}/∂{out} = e₁", rf"\frac{{\partial {tex_name(out)}}}{{\partial {tex_name(out)}}} = "
                               "e_{1}", seed))
        blocks += backward_steps(graph, jac.rows[0], [])[3:]  # its heading, note and "= 1" line are for a scalar f
    for i in range(min(n, MAX_ROWS_SHOWN)):
        row = jac.matrix[i]
        blocks.append(Equation(f"row {i + 1}: ∂{out}_{i + 1}/∂{wrt} = " + " ".join(fmt(v) for v in row),
                               rf"\frac{{\partial {tex_name(out)}_{{{i + 1}}}}}{{\partial {tex_name(wrt)}}} = "
                               + r"\begin{bmatrix}" + " & ".join(fmt(v) for v in row) + r"\end{bmatrix}"))
    if n > MAX_ROWS_SHOWN:
        blocks.append(Note(f"… {n - MAX_ROWS_SHOWN} more rows; every row is in --format json."))
    blocks.append(equation(f"J = ∂{out}/∂{wrt}", rf"J = \frac{{\partial {tex_name(out)}}}{{\partial {tex_name(wrt)}}}",
                           jac.matrix))
    form = jacobian_form(graph, jac)
    if form is not None:
        blocks += [Heading("Closed form"), Note("By the chain rule on the same graph, checked against J above."),
                   Equation(form.text, form.tex)]
        blocks += legend([form.text])
    else:
        blocks.append(Note("No closed form is shown for J: beyond what the derivation covers. The numbers stand."))
    data: dict[str, Any] = {"wrt": wrt, "value": graph.output.value, "shape": [n, m], "jacobian": jac.matrix,
                            "closed_form": {"text": form.text, "latex": form.tex} if form else None}
    if jac.matrix.dtype == object:
        strings = exact_strings(jac.matrix)
        if any(isinstance(v, str) for row in strings for v in row):
            data["jacobian_exact"] = strings
    status = ExitStatus.OK
    if claimed is not None:
        check = _check(out, wrt, claimed, jac.matrix)
        ok = check.shape_ok and bool(check.ok.all())
        blocks += [Heading("Checking your answer"), check,
                   Note("✓ every entry of J is right." if ok else f"✗ {int((~check.ok).sum())} of {check.ok.size} "
                        "entries of J differ.", "ok" if ok else "error")]
        data["answer_correct"] = ok
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    settings = {"expression": expression.strip(), "wrt": wrt, "variables": list(graph.variables)}
    return Solution(COMMAND, f"Jacobian of {out} = {expression.strip()} with respect to {wrt}", settings, data,
                    blocks, status=status)


def _check(out: str, wrt: str, claimed: Array, computed: Array) -> AnswerCheck:
    kind = Kind.FLOAT if kind_of(computed) is Kind.FLOAT else Kind.RATIONAL
    # the claim as read (decimals as written), so the grading rule judges each at its precision
    return check_matrix(f"∂{out}/∂{wrt}", np.asarray(claimed), computed, kind)
