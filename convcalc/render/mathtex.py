"""LaTeX math shared by the markdown and LaTeX renderers: numbers, matrices, cell sums."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from convcalc.derive.records import CellWork, SizeFormula, TermGroup
from convcalc.numbers import Array, Written, fmt, is_symbolic, needs_brackets, normalize
from convcalc.render.preview import preview

MAX_TERMS = 64


def num(x: Any, wrap_negative: bool = False) -> str:
    v = normalize(x)
    if isinstance(x, Written):  # a decimal the user typed, shown as typed
        s = x.text.lower().replace("e", r"\times 10^{") + ("}" if "e" in x.text.lower() else "")
    elif is_symbolic(v):
        from convcalc.symbolic.cells import latex

        s = latex(v)
        return f"\\left({s}\\right)" if wrap_negative and needs_brackets(v) else s
    elif isinstance(v, Fraction):
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


_GREEK = {"μ": r"\mu ", "σ": r"\sigma ", "γ": r"\gamma ", "β": r"\beta ", "²": "^2", "∂": r"\partial ",
          "x̂": r"\hat{x}"}


def symbol_tex(symbol: str) -> str:
    """``A_pad`` -> ``A_{\\text{pad}}``; ``C[1,:]`` -> ``C_{1}``; ``σ²`` -> ``\\sigma^2`` (Greek as commands)."""
    if not symbol.isascii():
        for k, v in _GREEK.items():
            symbol = symbol.replace(k, v)
        if "[" not in symbol:
            return symbol.strip()
    if "[" in symbol:
        head, rest = symbol.split("[", 1)
        idx = rest.rstrip("]").replace(",:", "").replace(":", "")
        h = symbol_tex(head)
        return f"{{{h}}}^{{({idx})}}" if "^" in h else f"{h}^{{({idx})}}"  # σ²[1,:]: never a double superscript
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
    label = " = ".join(rf"{ax}_{{\text{{out}}}}" for ax in f.axis.split(", "))  # a square input: H_out = W_out
    return rf"{label} = {v.symbolic_latex} = {v.numeric_latex} = {f.result.value}{exact}"


def settings_prose(settings: dict[str, Any]) -> list[str]:
    """Settings as words for a write-up, not Python: ``stride 2,2``, ``no flip``, ``bias``
    (``flip=False`` and ``divisor_override=None`` are no way to write to a reader)."""
    out = []
    for key, value in settings.items():
        name = key.replace("_", " ")
        if value is True:
            out.append(name)
        elif value is False or value is None:
            out.append(f"no {name}")
        else:
            out.append(f"{name} {','.join(map(str, value)) if isinstance(value, list | tuple) else value}")
    return out


_CELL_REF = re.compile(r"\b([A-Za-z][A-Za-z0-9]*)(?:_([A-Za-z][A-Za-z0-9]*))?\[(\d+(?:,\d+)*)\]")
_CELL_REF_ESCAPED = re.compile(r"\b([A-Za-z][A-Za-z0-9]*)(?:\\_([A-Za-z][A-Za-z0-9]*))?\[(\d+(?:,\d+)*)\]")


def cell_refs_as_math(text: str, escaped: bool = False) -> str:
    """``Y[2,1]`` and ``X_full[3,1]`` in a sentence as math (``$Y_{21}$``), as the worked cells
    write them; ``escaped``: the text has been through LaTeX escaping (``X\\_full``)."""
    def one(m: re.Match[str]) -> str:
        parts = m.group(3).split(",")
        sub = "".join(parts) if all(len(p) == 1 for p in parts) else ",".join(parts)
        head = m.group(1) + (rf"_{{\text{{{m.group(2)}}}}}" if m.group(2) else "")
        return f"${{{head}}}_{{{sub}}}$" if m.group(2) else f"${head}_{{{sub}}}$"

    return (_CELL_REF_ESCAPED if escaped else _CELL_REF).sub(one, text)
