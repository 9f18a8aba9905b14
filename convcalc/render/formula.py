"""Size formulas as SymPy expressions, printed symbolically and with the numbers put in.

SymPy is imported here only, and only when a formula is rendered (it costs ~¼ s).
The expressions come from ``convcalc.formulas``, where each is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convcalc import formulas
from convcalc.derive.records import SizeFormula
from convcalc.numbers import fmt


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


def view(f: SizeFormula) -> FormulaView:
    """The four printed forms of a size formula."""
    import sympy as sp
    from sympy.printing.latex import LatexPrinter
    from sympy.printing.str import StrPrinter

    expr, used = expression(f.kind, f.values)
    names = {s: fmt(v) if v >= 0 else f"({fmt(v)})" for s, v in used.items()}

    class Text(StrPrinter):  # type: ignore[misc]
        def __init__(self, numbers: bool) -> None:
            super().__init__()
            self.numbers = numbers

        def _print_Symbol(self, s: Any) -> str:
            return names[s] if self.numbers else s.name

        def _print_floor(self, e: Any) -> str:
            return "⌊" + self._print(e.args[0]) + "⌋"

        def _print_ceiling(self, e: Any) -> str:
            return "⌈" + self._print(e.args[0]) + "⌉"

    class Latex(LatexPrinter):  # type: ignore[misc]
        def __init__(self, numbers: bool) -> None:
            super().__init__({"mul_symbol": "dot"} if numbers else {})
            self.numbers = numbers

        def _print_Symbol(self, s: Any, style: str = "plain") -> str:
            return names[s] if self.numbers else super()._print_Symbol(s)

    def text(numbers: bool) -> str:
        return Text(numbers).doprint(expr).replace("*", "·").replace(" - ", " − ")

    _ = sp  # sympy is needed above only for the expression's classes
    return FormulaView(text(False), text(True), Latex(False).doprint(expr), Latex(True).doprint(expr))
