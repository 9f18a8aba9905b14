"""Print :mod:`convcalc.expr.algebra` expressions as plain text and as LaTeX.

One printer per format, each with a method per type (the way SymPy's printers dispatch);
the two share the layout (signs, fractions, brackets) and differ only in the symbols.
Products are written by juxtaposition, ``2 Wᵀ (W x − y)``; ``⊙`` is the Hadamard product
and ``⊘`` its division; ``[a > 0]`` is 1 where ``a`` is positive, else 0.
"""

from __future__ import annotations

from fractions import Fraction
from typing import ClassVar

from convcalc.expr.algebra import Diag, Factor, Fn, Had, MatMul, Norm, Ones, Sum, Term, Total, Var, as_term
from convcalc.expr.rules import tex_name

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class _Printer:
    minus = "−"
    hadamard = "⊙"
    divide = "⊘"
    ones = "𝟏"
    functions: ClassVar[dict[str, str]] = {"exp": "exp", "log": "log", "tanh": "tanh", "sigmoid": "σ", "dsigmoid": "σ′",
                                           "relu": "relu"}

    def expr(self, a: Sum) -> str:
        """``a`` at the top level: a common factor of its terms is written once, −2 (W x − y)."""
        if len(a.terms) > 1:
            t = as_term(a)
            if t.coef != 1:
                return self.term(t) if t.coef > 0 else f"{self.minus}{self.term(Term(-t.coef, t.scalars, t.body))}"
        return self.terms(a)

    def terms(self, a: Sum) -> str:
        if not a.terms:
            return "0"
        parts = []
        for i, t in enumerate(a.terms):
            text = self.term(t if t.coef > 0 else Term(-t.coef, t.scalars, t.body))
            sign = "" if t.coef > 0 else self.minus
            parts.append(f"{sign}{text}" if i == 0 else f" {'+' if t.coef > 0 else self.minus} {text}")
        return "".join(parts)

    def term(self, t: Term) -> str:
        """A term with a positive coefficient."""
        alone = len(t.scalars) == 1 and t.body is None and t.coef.numerator == 1
        top = [self.scalar(f, p, alone) for f, p in t.scalars if p > 0]
        bottom = [self.scalar(f, -p, alone) for f, p in t.scalars if p < 0]
        if t.coef.denominator != 1:
            bottom.insert(0, str(t.coef.denominator))
        if t.coef.numerator != 1 or not (top or t.body is not None):
            top.insert(0, str(t.coef.numerator))
        body = self.factor(t.body) if t.body is not None else ""
        return self.layout(top, bottom, body)

    def layout(self, top: list[str], bottom: list[str], body: str) -> str:
        head = " ".join([*top, body] if body else top) or "1"
        if not bottom:
            return head
        below = bottom[0] if len(bottom) == 1 else f"({' '.join(bottom)})"
        return f"{head} / {below}" if " " in head else f"{head}/{below}"

    def scalar(self, f: Factor, p: Fraction, alone: bool = False) -> str:
        """A scalar factor; a product like xᵀ A x is bracketed beside other factors."""
        base = self.factor(f)
        if isinstance(f, MatMul) and not (alone and p == 1):
            base = self.bracket(base)
        return base if p == 1 else self.raised(base, p)

    def raised(self, base: str, p: Fraction) -> str:
        if p.denominator == 1:
            return base + str(p.numerator).translate(_SUPERSCRIPT)
        return f"{base}^({p})"

    def factor(self, f: Factor) -> str:
        return getattr(self, f"print_{type(f).__name__}")(f)

    def bracket(self, text: str) -> str:
        return f"({text})"

    def print_Sum(self, f: Sum) -> str:
        return self.bracket(self.terms(f))

    def print_Var(self, f: Var) -> str:
        return self.transposed(f.name) if f.transposed else f.name

    def transposed(self, text: str) -> str:
        return text + "ᵀ"

    def print_Ones(self, f: Ones) -> str:
        """𝟏 is a column (or a matrix) of ones; a row is 𝟏ᵀ."""
        return self.transposed(self.ones) if f.shape[0] == 1 else self.ones

    def print_Fn(self, f: Fn) -> str:
        text = self.function(f.name, self.expr(f.arg))
        return self.transposed(text) if f.transposed else text

    def function(self, name: str, arg: str) -> str:
        return f"[{arg} > 0]" if name == "step" else f"{self.functions[name]}({arg})"

    def print_Norm(self, f: Norm) -> str:
        return self.norm(self.expr(f.arg), 1 not in f.arg.shape)

    def norm(self, inner: str, frobenius: bool) -> str:
        return f"‖{inner}‖" + ("_F" if frobenius else "")

    def print_Total(self, f: Total) -> str:
        return f"sum({self.expr(f.arg)})"

    def print_Diag(self, f: Diag) -> str:
        return self.diag(self.expr(f.arg))

    def diag(self, inner: str) -> str:
        return f"diag({inner})"

    def print_MatMul(self, f: MatMul) -> str:
        return " ".join(self.bracket(self.factor(x)) if isinstance(x, Had) and not self.as_diag(x) else self.factor(x)
                        for x in f.factors)

    def as_diag(self, f: Had) -> bool:
        """Whether ``f`` prints as diag(...) times a column (the --notation diag style)."""
        return self.diag_notation and f.shape[1] == 1 and f.shape[0] > 1 and all(p == 1 for _, p in f.factors)

    diag_notation = False

    def print_Had(self, f: Had) -> str:
        if self.as_diag(f):  # u ⊙ v of columns is diag(u) v: the functions go in diag(...)
            items = [x for x, _ in f.factors]
            carried = next((x for x in reversed(items) if not isinstance(x, Fn)), items[-1])
            return " ".join([*(self.diag(self.factor(x)) for x in items if x is not carried), self.factor(carried)])
        top = [self.elementwise(x, p) for x, p in f.factors if p > 0] or [self.ones]
        bottom = [self.elementwise(x, -p) for x, p in f.factors if p < 0]
        text = f" {self.hadamard} ".join(top)
        if bottom:
            below = bottom[0] if len(bottom) == 1 else self.bracket(f" {self.hadamard} ".join(bottom))
            text += f" {self.divide} {below}"
        return text

    def elementwise(self, f: Factor, p: Fraction) -> str:
        base = self.factor(f) if not isinstance(f, MatMul | Had) else self.bracket(self.factor(f))
        return base if p == 1 else self.hadamard_power(base, p)

    def hadamard_power(self, base: str, p: Fraction) -> str:
        return f"{base}^⊙{p}" if p.denominator == 1 else f"{base}^⊙({p})"


class TextPrinter(_Printer):
    """Unicode for the terminal and Markdown prose: ``2 W x xᵀ``."""


class LatexPrinter(_Printer):
    """LaTeX math, ASCII only so pdflatex compiles it: ``2 W x x^{\\top}``."""

    minus = "-"
    hadamard = r"\odot"
    divide = r"\oslash"
    ones = r"\mathbf{1}"
    functions: ClassVar[dict[str, str]] = {"exp": r"\exp", "log": r"\log", "tanh": r"\tanh", "sigmoid": r"\sigma",
                                           "dsigmoid": r"\sigma'", "relu": r"\operatorname{relu}"}

    def layout(self, top: list[str], bottom: list[str], body: str) -> str:
        if not bottom:
            return " ".join([*top, body] if body else top)
        frac = rf"\frac{{{' '.join(top) or '1'}}}{{{' '.join(bottom)}}}"
        return f"{frac} {body}" if body else frac

    def raised(self, base: str, p: Fraction) -> str:
        return f"{base}^{{{p}}}"

    def bracket(self, text: str) -> str:
        return rf"\left({text}\right)"

    def print_Var(self, f: Var) -> str:
        return self.transposed(tex_name(f.name)) if f.transposed else tex_name(f.name)

    def transposed(self, text: str) -> str:
        return text + r"^{\top}"

    def function(self, name: str, arg: str) -> str:
        return rf"\left[{arg} > 0\right]" if name == "step" else rf"{self.functions[name]}\left({arg}\right)"

    def norm(self, inner: str, frobenius: bool) -> str:
        return rf"\left\lVert {inner} \right\rVert" + ("_{F}" if frobenius else "")

    def print_Total(self, f: Total) -> str:
        return rf"\operatorname{{sum}}\left({self.expr(f.arg)}\right)"

    def hadamard_power(self, base: str, p: Fraction) -> str:
        return rf"{base}^{{\odot {p}}}"

    def diag(self, inner: str) -> str:
        return rf"\operatorname{{diag}}\left({inner}\right)"


class DiagTextPrinter(TextPrinter):
    """The MathDNN notes' style: diag(σ′(A x + b)) w instead of w ⊙ σ′(A x + b)."""

    diag_notation = True


class DiagLatexPrinter(LatexPrinter):
    diag_notation = True


TEXT = TextPrinter()
LATEX = LatexPrinter()
DIAG_TEXT = DiagTextPrinter()
DIAG_LATEX = DiagLatexPrinter()
