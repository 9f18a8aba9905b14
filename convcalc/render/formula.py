"""Size formulas as SymPy expressions, printed symbolically and with the numbers put in.

The expressions come from ``convcalc.formulas``, where each is written once, and SymPy
prints them. Importing SymPy costs more than a whole answer may take (issue 7: ~¼ s, over
twice the start-up of numpy, typer and rich together), and only ten formulas can arise, so
SymPy's printed forms of those ten are kept in ``formula_table.py``, with a placeholder
where each number goes. The table is generated from SymPy (``python -m
convcalc.render.formula`` rewrites it) and a test checks it against SymPy. A formula not
in the table is printed by SymPy directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from convcalc import formulas
from convcalc.derive.records import SizeFormula
from convcalc.numbers import fmt

Key = tuple[str, tuple[str, ...]]  # (kind, the symbols the formula uses, sorted)
KINDS = ("conv", "pool", "pool_ceil", "transposed")
_SLOT = re.compile(r"⟦([A-Za-z_]+)⟧")


@dataclass(frozen=True)
class FormulaView:
    symbolic: str
    numeric: str
    symbolic_latex: str
    numeric_latex: str


def expression(kind: str, values: dict[str, int]) -> tuple[Any, dict[Any, int]]:
    import sympy as sp

    sym = {name: sp.Symbol(name, positive=True) for name in values}
    d = sym.get("d", 1) if values.get("d", 1) != 1 else 1  # without dilation, the course's form
    p_total = 2 * sym["P"] if "P" in sym else sym.get("P_l", 0) + sym.get("P_r", 0)
    if kind in ("conv", "pool"):
        inner = formulas.conv_quotient(sym["I"], sym["K"], sym["S"], p_total, d) - 1
        expr = sp.floor(inner) + 1
    elif kind == "pool_ceil":
        inner = formulas.conv_quotient(sym["I"], sym["K"], sym["S"], p_total, d) - 1
        expr = sp.ceiling(inner) + 1
    elif kind == "transposed":
        expr = formulas.transposed_size(sym["I"], sym["K"], sym["S"], sym["P"], d, sym.get("P_out", 0))
    else:
        raise ValueError(kind)
    used = {s: values[name] for name, s in sym.items() if s in expr.free_symbols}
    return expr, used


def key_of(kind: str, values: dict[str, int]) -> Key:
    """Which printed form a formula has: its kind and symbols (d only when it is not 1)."""
    return kind, tuple(sorted(n for n in values if n != "d" or values[n] != 1))


def every_key() -> Iterator[Key]:
    """Every formula the commands build: symmetric or per-side padding (conv), with or
    without dilation, output_padding for transposed."""
    for kind in KINDS:
        pads = (("P",), ("P_l", "P_r")) if kind == "conv" else (("P",),)
        extra = ("P_out",) if kind == "transposed" else ()
        for pad in pads:
            for dilation in ((), ("d",)):
                yield kind, tuple(sorted(("I", "K", "S", *pad, *extra, *dilation)))


def sympy_templates(key: Key) -> tuple[str, str, str, str]:
    """SymPy's four printed forms of a formula; numbers go where ``⟦name⟧`` stands."""
    from sympy.printing.latex import LatexPrinter
    from sympy.printing.str import StrPrinter

    kind, names = key
    values = {name: 2 for name in names} | ({} if "d" in names else {"d": 1})
    expr, _ = expression(kind, values)

    class Text(StrPrinter):  # type: ignore[misc]
        def __init__(self, numbers: bool) -> None:
            super().__init__()
            self.numbers = numbers

        def _print_Symbol(self, s: Any) -> str:
            return f"⟦{s.name}⟧" if self.numbers else s.name

        def _print_floor(self, e: Any) -> str:
            return "⌊" + self._print(e.args[0]) + "⌋"

        def _print_ceiling(self, e: Any) -> str:
            return "⌈" + self._print(e.args[0]) + "⌉"

    class Latex(LatexPrinter):  # type: ignore[misc]
        def __init__(self, numbers: bool) -> None:
            super().__init__({"mul_symbol": "dot"} if numbers else {})
            self.numbers = numbers

        def _print_Symbol(self, s: Any, style: str = "plain") -> str:
            return f"⟦{s.name}⟧" if self.numbers else super()._print_Symbol(s)

    def text(numbers: bool) -> str:
        return str(Text(numbers).doprint(expr)).replace("*", "·").replace(" - ", " − ")

    return text(False), text(True), str(Latex(False).doprint(expr)), str(Latex(True).doprint(expr))


def templates(key: Key) -> tuple[str, str, str, str]:
    from convcalc.render.formula_table import TABLE

    found = TABLE.get(key)
    return found if found is not None else sympy_templates(key)


def view(f: SizeFormula) -> FormulaView:
    """The four printed forms of a size formula."""
    names = {n: fmt(v) if v >= 0 else f"({fmt(v)})" for n, v in f.values.items()}
    symbolic, numeric, symbolic_latex, numeric_latex = templates(key_of(f.kind, f.values))

    def fill(template: str) -> str:
        return _SLOT.sub(lambda m: names[m.group(1)], template)

    return FormulaView(symbolic, fill(numeric), symbolic_latex, fill(numeric_latex))


def symbolic_latex(kind: str, values: dict[str, int]) -> str:
    """The formula in symbols, as LaTeX (JSON's ``formula``)."""
    return templates(key_of(kind, values))[2]


def table_source() -> str:
    """The text of ``formula_table.py``, printed by SymPy."""
    lines = ['"""SymPy\'s printed forms of every size formula; generated by ``python -m convcalc.render.formula``.',
             "",
             "Each entry: (kind, symbols) → (text, text with ⟦slots⟧ for numbers, LaTeX, LaTeX with",
             "slots). Do not edit by hand; tests/render/test_formula_table.py checks it against SymPy.",
             '"""', "", "TABLE: dict[tuple[str, tuple[str, ...]], tuple[str, str, str, str]] = {"]
    for key in every_key():
        lines.append(f"    {key!r}: (")
        lines.extend(f"        {form!r}," for form in sympy_templates(key))
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    Path(__file__).with_name("formula_table.py").write_text(table_source(), encoding="utf-8")
