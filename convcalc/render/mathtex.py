"""LaTeX math shared by the markdown and LaTeX renderers: numbers, matrices, cell sums."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from convcalc.derive.records import CellWork, SizeFormula, TermGroup
from convcalc.numbers import Array, fmt, is_symbolic, needs_brackets, normalize
from convcalc.render.preview import preview

MAX_TERMS = 64


def num(x: Any, wrap_negative: bool = False) -> str:
    v = normalize(x)
    if is_symbolic(v):
        from convcalc.symbolic.cells import latex

        s = latex(v)
        return f"\\left({s}\\right)" if wrap_negative and needs_brackets(v) else s
    if isinstance(v, Fraction):
        s = ("-" if v < 0 else "") + rf"\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
    else:
        s = fmt(v)
    return f"({s})" if wrap_negative and v < 0 else s


def matrix(a: Array) -> str:
    """A bmatrix; matrices over 12 rows or columns show their corners with dots."""
    dots = {"…": r"\cdots", "⋮": r"\vdots", "⋱": r"\ddots"}
    rows = preview(a)
    body = r" \\ ".join(" & ".join(num(v) if i is not None else dots[v] for i, v in row) for row in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def cell_name(symbol: str, index: tuple[int, ...], base: int) -> str:
    parts = [str(i + base) for i in index]
    sub = "".join(parts) if all(len(p) == 1 for p in parts) else ",".join(parts)
    head = symbol_tex(symbol)
    return f"{{{head}}}_{{{sub}}}" if "_" in head else f"{head}_{{{sub}}}"  # never a double subscript


def symbol_tex(symbol: str) -> str:
    """``A_pad`` -> ``A_{\\text{pad}}``; ``C[1,:]`` -> ``C_{1}``."""
    if "[" in symbol:
        head, rest = symbol.split("[", 1)
        idx = rest.rstrip("]").replace(",:", "").replace(":", "")
        return f"{symbol_tex(head)}^{{({idx})}}"
    if "_" in symbol:
        head, tail = symbol.split("_", 1)
        return rf"{head}_{{\text{{{tail}}}}}"
    return symbol


def terms(group: TermGroup) -> str:
    items = [rf"{num(a, True)} \cdot {num(b, True)}" for a, b in group.terms[:MAX_TERMS]]
    if group.n_terms > MAX_TERMS:
        items.append(rf"\cdots\ (\text{{{group.n_terms} products}})")
    return " + ".join(items) or "0"


def cell_lines(c: CellWork, base: int) -> list[str]:
    """Lines of an ``align*``: the cell's sum, channel by channel when there are several."""
    name = cell_name(c.symbol, c.index, base)
    bias = [] if c.bias is None else [num(c.bias, True)]
    if len(c.groups) == 1:
        g = c.groups[0]
        rhs = " + ".join([terms(g), *bias])
        return [rf"{name} &= {rhs} = {num(c.total)}"]
    lines = [rf"{name} &= \sum_{{c}} (\text{{window}}_c \odot \text{{kernel}}_c)" + (" + b" if bias else "")]
    lines += [rf"&\quad \text{{{g.label}: }} {terms(g)} = {num(g.subtotal)}" for g in c.groups]
    total = " + ".join([*(num(g.subtotal, True) for g in c.groups), *bias])
    lines.append(rf"&= {total} = {num(c.total)}")
    return lines


def formula_lines(f: SizeFormula) -> str:
    from convcalc.render.formula import view

    v = view(f)
    exact = "" if f.result.integral else rf" \quad (\text{{exact: }} {num(f.result.exact)})"
    return rf"{f.axis}_{{\text{{out}}}} = {v.symbolic_latex} = {v.numeric_latex} = {f.result.value}{exact}"
