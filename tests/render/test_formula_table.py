"""The size formulas' printed forms come from a table generated from SymPy; SymPy is the oracle.

The table saves importing SymPy on every text answer (issue 7's start-up budget). These
tests hold it to SymPy: the table is what SymPy prints now, every formula a command builds
is in it, and filling its slots with numbers gives what SymPy prints when it is handed the
numbers itself.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.derive.records import SizeFormula
from convcalc.formulas import SizeResult
from convcalc.numbers import fmt
from convcalc.render.formula import every_key, expression, key_of, sympy_templates, view
from convcalc.render.formula_table import TABLE


def test_the_table_is_what_sympy_prints() -> None:
    assert {key: sympy_templates(key) for key in every_key()} == TABLE, \
        "regenerate it: python -m convcalc.render.formula"


def sympy_with_numbers(kind: str, values: dict[str, int]) -> tuple[str, str]:
    """The text and LaTeX SymPy prints when it puts the numbers in itself (no table, no slots)."""
    from sympy.printing.latex import LatexPrinter
    from sympy.printing.str import StrPrinter

    expr, used = expression(kind, values)
    names = {s: fmt(v) if v >= 0 else f"({fmt(v)})" for s, v in used.items()}

    class Text(StrPrinter):  # type: ignore[misc]
        def _print_Symbol(self, s: Any) -> str:
            return names[s]

        def _print_floor(self, e: Any) -> str:
            return "⌊" + self._print(e.args[0]) + "⌋"

        def _print_ceiling(self, e: Any) -> str:
            return "⌈" + self._print(e.args[0]) + "⌉"

    class Latex(LatexPrinter):  # type: ignore[misc]
        def _print_Symbol(self, s: Any, style: str = "plain") -> str:
            return names[s]

    text = Text().doprint(expr).replace("*", "·").replace(" - ", " − ")
    return text, Latex({"mul_symbol": "dot"}).doprint(expr)


SYMBOLS = {"conv": ["I", "K", "S", "d"], "pool": ["I", "K", "S", "P", "d"], "pool_ceil": ["I", "K", "S", "P", "d"],
           "transposed": ["I", "K", "S", "P", "d", "P_out"]}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(SYMBOLS)), st.booleans(), st.data())
def test_filled_slots_equal_sympy_printing_the_numbers(kind: str, per_side: bool, data: st.DataObject) -> None:
    per_side = per_side and kind == "conv"  # only conv pads each side on its own ("same")
    names = SYMBOLS[kind] + (["P_l", "P_r"] if per_side else ["P"] if kind == "conv" else [])
    values = {n: data.draw(st.integers(-3, 40) if n != "d" else st.integers(1, 4), label=n) for n in names}
    f = SizeFormula("H", kind, values, SizeResult(Fraction(1), 1, True))
    assert key_of(kind, values) in TABLE  # no command's formula falls back to importing SymPy
    shown = view(f)
    assert (shown.numeric, shown.numeric_latex) == sympy_with_numbers(kind, values)


@pytest.mark.parametrize("key", list(every_key()))
def test_symbolic_forms_name_every_symbol(key: tuple[str, tuple[str, ...]]) -> None:
    text, slotted, _, latex_slotted = TABLE[key]
    for name in key[1]:
        assert f"⟦{name}⟧" in slotted and f"⟦{name}⟧" in latex_slotted
        assert name in text
