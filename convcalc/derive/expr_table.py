"""``backprop expr --table x="0 0; 0 1; 1 0; 1 1"``: f evaluated once per row of inputs.

Each row of a table variable is one input, taken as a column vector (as the notes write x);
a row of one entry is a scalar. Several table variables must have as many rows; the other
variables keep their one value. ``--answer`` claims f's column (``"0 1 1 0"``), row by row;
a differing row gets its forward pass worked again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from convcalc.derive.expr import forward_steps, inline
from convcalc.derive.records import Block, Equation, Heading, Note, Solution, Table
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.expr.graph import Graph, build
from convcalc.expr.parse import Term, parse
from convcalc.numbers import Array, Kind, as_kind, equal_numbers, fmt, kind_of

COMMAND = "backprop expr"
MAX_ROWS = 256  # a truth table, not a data set


def rows_of(name: str, table: Array) -> list[Array]:
    """One value per row: a column vector, or a scalar for a row of one entry."""
    t = np.asarray(table)
    if t.ndim == 0:
        t = t.reshape(1, 1)
    if t.ndim == 1:  # "0 1 1 0" typed as one line: one scalar input per entry
        t = t.reshape(-1, 1)
    if t.ndim != 2:
        raise ConvcalcError(f"a table is one input per row (2-D), got shape {t.shape}", f"--table {name}")
    if t.shape[0] > MAX_ROWS:
        raise ConvcalcError(f"has {t.shape[0]} rows; at most {MAX_ROWS}", f"--table {name}")
    return [t[i].reshape(()) if t.shape[1] == 1 else t[i].reshape(-1, 1) for i in range(t.shape[0])]


def solve_table(expression: str, variables: Mapping[str, Array], tables: Mapping[str, Array],
                claimed: Array | None = None) -> Solution:
    """f for every row of the tables; ``claimed`` is the claimed column of f (one number per row)."""
    columns = {name: rows_of(name, t) for name, t in tables.items()}
    counts = {len(v) for v in columns.values()}
    if len(counts) != 1:
        raise ConvcalcError("the tables have different numbers of rows: "
                            + ", ".join(f"{n} has {len(v)}" for n, v in columns.items()), "--table")
    (n_rows,) = counts
    clash = set(tables) & set(variables)
    if clash:
        raise ConvcalcError(f"{', '.join(sorted(clash))} is bound by both --var and --table", "--table")
    term: Term = parse(expression, [*variables, *tables])
    graphs: list[Graph] = []
    for i in range(n_rows):
        env = {**variables, **{name: rows[i] for name, rows in columns.items()}}
        graphs.append(build(term, env))
    out_name = graphs[0].output.name
    values = [g.output.value for g in graphs]
    checks = _check(claimed, values) if claimed is not None else None
    names = list(tables)
    table_rows = tuple((str(i + 1), *(_row_text(columns[n][i]) for n in names), inline(values[i]),
                        *(() if checks is None else (fmt(np.asarray(claimed).reshape(-1)[i]) if claimed is not None
                                                      else "", "✓" if checks[i] else "✗")))
                       for i in range(n_rows))
    heads = ("row", *names, out_name, *(() if checks is None else ("claimed", "")))
    blocks: list[Block] = [Heading(f"{out_name} = {expression.strip()} on every row"),
                           Note("Each row of " + ", ".join(f"--table {n}" for n in names) + " is one input (a column "
                                "vector, or a scalar when the row has one entry); the other variables keep their value."),
                           Table(heads, table_rows, left=("row",))]
    blocks += _worked(graphs, checks)
    data: dict[str, Any] = {"expression": expression.strip(),
                            "table": [{**{n: np.asarray(columns[n][i]).reshape(-1) if columns[n][i].ndim else
                                          columns[n][i] for n in names}, out_name: values[i]}
                                      for i in range(n_rows)],
                            "values": [v for v in values]}
    status = ExitStatus.OK
    if checks is not None:
        data["answer_correct"] = all(checks)
        data["differing_rows"] = [i + 1 for i, ok in enumerate(checks) if not ok]
        status = ExitStatus.OK if all(checks) else ExitStatus.WRONG_ANSWER
    settings = {"expression": expression.strip(), "tables": names, "rows": n_rows}
    return Solution(COMMAND, f"{out_name} = {expression.strip()} on a table of inputs", settings, data, blocks,
                    status=status)


def _row_text(value: Array) -> str:
    return " ".join(fmt(v) for v in np.asarray(value).reshape(-1))


def _check(claimed: Array, values: list[Array]) -> list[bool]:
    c = np.asarray(claimed).reshape(-1)
    if any(v.size != 1 for v in values):
        raise ConvcalcError("a claimed column needs one number of f per row; f is not a single number here",
                            "--answer")
    if c.size != len(values):
        raise ConvcalcError(f"the claimed column has {c.size} entries for {len(values)} rows", "--answer")
    exact = all(kind_of(np.asarray(v)) is not Kind.FLOAT for v in values)
    if not exact:
        c = as_kind(c, Kind.FLOAT)
    return [equal_numbers(c[i], np.asarray(v).reshape(())[()], exact) for i, v in enumerate(values)]


def _worked(graphs: list[Graph], checks: list[bool] | None) -> list[Block]:
    """The forward pass of the first row; with a claim, of every row that differs instead."""
    if checks is None:
        shown = [0]
        blocks: list[Block] = [Heading("Forward pass, row 1")]
    else:
        shown = [i for i, ok in enumerate(checks) if not ok]
        out = graphs[0].output.name
        if not shown:
            return [Note(f"✓ every row of the claimed {out} is right.", "ok")]
        rows = ", ".join(str(i + 1) for i in shown)
        blocks = [Note(f"✗ the claimed {out} differs in row{'s' if len(shown) > 1 else ''} {rows}.", "error")]
    for i in shown:
        if checks is not None:
            blocks.append(Heading(f"Row {i + 1}: how {graphs[i].output.name} comes out"))
        worked: list[tuple[int, Equation]] = []
        blocks += forward_steps(graphs[i], worked)[1:]
    return blocks
