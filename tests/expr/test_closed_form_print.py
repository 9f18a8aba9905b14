"""The closed forms as a reader sees them: each expected form below was derived by hand
(matrix calculus as the course notes do it), so a change in the algebra or the printers
that alters what a student reads shows up here. Their values are checked against PyTorch in
test_closed_form_oracle.py; pdflatex must compile every construct.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

W23 = "W=1 2 -1; 0.5 -2 1"  # non-square: SymPy's matrix calculus found no ∇_W here
X3 = "x=0.5; -1; 2"
Y2 = "y=1; -1"

# (expression, variables, f's form, {variable: its gradient's form}), in plain text
CASES = [
    ("sum((W @ x)**2)", [W23, X3], "f = ‖W x‖²", {"W": "2 W x xᵀ", "x": "2 Wᵀ W x"}),
    ("norm(W @ x - y)**2", [W23, X3, Y2], "f = ‖W x − y‖²",
     {"W": "2 (W x − y) xᵀ", "x": "2 Wᵀ (W x − y)", "y": "−2 (W x − y)"}),
    ("mean((W @ x - y)**2)", [W23, X3, Y2], "f = ‖W x − y‖² / 2",
     {"W": "(W x − y) xᵀ", "x": "Wᵀ (W x − y)", "y": "−(W x − y)"}),
    ("x.T @ A @ x", ["A=1 2 0; 0 1 3; 4 0 1", X3], "f = xᵀ A x", {"x": "Aᵀ x + A x", "A": "x xᵀ"}),
    ("v @ A @ v", ["A=1 2; 0 1", "v=[1, 2]"], "f = vᵀ A v", {"v": "Aᵀ v + A v", "A": "v vᵀ"}),
    ("sum(relu(W @ x + b))", [W23, X3, "b=1; -1"], "f = sum(relu(W x + b))",
     {"W": "[W x + b > 0] xᵀ", "x": "Wᵀ [W x + b > 0]", "b": "[W x + b > 0]"}),
    ("sum(sigmoid(W @ x))", [W23, X3], "f = sum(σ(W x))", {"W": "σ′(W x) xᵀ", "x": "Wᵀ σ′(W x)"}),
    ("A2 @ sigmoid(A1 @ x + b1) + b2", ["A1=1 -1; 2 0.5; 0 1", "x=1; 2", "b1=0; 1; -1", "A2=1 -2 0.5", "b2=0.25"],
     "f = A2 σ(A1 x + b1) + b2",  # seed 003 §6: ∂y/∂A1 = diag(σ′(A1 x + b1)) A2ᵀ xᵀ
     {"A2": "σ(A1 x + b1)ᵀ", "A1": "(A2ᵀ ⊙ σ′(A1 x + b1)) xᵀ", "x": "A1ᵀ (A2ᵀ ⊙ σ′(A1 x + b1))",
      "b1": "A2ᵀ ⊙ σ′(A1 x + b1)", "b2": "1"}),
    ("sum(tanh(W @ x))", [W23, X3], "f = sum(tanh(W x))",
     {"W": "(𝟏 − tanh(W x)^⊙2) xᵀ", "x": "Wᵀ (𝟏 − tanh(W x)^⊙2)"}),
    ("sum(w * square(V @ x + c)) + b", ["V=1 -1; 1 1", "x=0; 1", "c=0; -1", "w=1/2; -1/2", "b=1/2"],
     "f = sum(w ⊙ (V x + c)^⊙2) + b",
     {"w": "(V x + c)^⊙2", "V": "2 (w ⊙ (V x + c)) xᵀ", "x": "2 Vᵀ (w ⊙ (V x + c))", "c": "2 w ⊙ (V x + c)",
      "b": "1"}),
    ("sum(W @ x)", [W23, X3], "f = sum(W x)", {"W": "𝟏 xᵀ", "x": "Wᵀ 𝟏"}),
    ("sum(v @ B)", ["B=1 2; 3 4; 5 6", "v=[1, 2, 3]"], "f = sum(Bᵀ v)", {"v": "B 𝟏", "B": "v 𝟏ᵀ"}),
    ("norm(x)", [X3], "f = ‖x‖", {"x": "x/‖x‖"}),
    ("norm(W)**2", [W23], "f = ‖W‖_F²", {"W": "2 W"}),
    ("sum(a / (x*x + 1))", ["a=2", X3], "f = a sum(𝟏 ⊘ (x^⊙2 + 𝟏))",
     {"a": "sum(𝟏 ⊘ (x^⊙2 + 𝟏))", "x": "−2 a x ⊘ (x^⊙2 + 𝟏)^⊙2"}),
    ("a*c + a**2", ["a=1.5", "c=0.7"], "f = a c + a²", {"a": "2 a + c", "c": "a"}),
    ("sigmoid(a)", ["a=0.3"], "f = σ(a)", {"a": "σ′(a)"}),
    ("tanh(a)*c", ["a=0.3", "c=2"], "f = c tanh(a)", {"a": "c (1 − tanh(a)²)", "c": "tanh(a)"}),
    ("norm(x)**0.5", [X3], "f = ‖x‖^(1/2)", {"x": "x/(2 ‖x‖^(3/2))"}),
    ("log(a) - 1/c", ["a=2", "c=4"], "f = log(a) − 1/c", {"a": "1/a", "c": "1/c²"}),
]


def _argv(expression: str, variables: list[str], fmt: str) -> list[str]:
    return ["backprop", "expr", expression, *(a for v in variables for a in ("--var", v)), "--format", fmt]


@pytest.mark.parametrize(("expression", "variables", "value", "grads"), CASES, ids=[c[0] for c in CASES])
def test_the_forms_read_as_derived_by_hand(cli, expression: str, variables: list[str], value: str,
                                           grads: dict[str, str]) -> None:
    r = cli(*_argv(expression, variables, "json"))
    assert r.code == 0, r.err
    forms = json.loads(r.out)["closed_forms"]
    assert forms["value"]["text"] == value
    assert {name: g["text"].split(" = ", 1)[1] for name, g in forms["gradients"].items()} == grads


def test_text_output_ends_with_the_closed_forms_and_a_legend(cli) -> None:
    r = cli(*_argv("sum(w * sigmoid(W @ x))", ["w=1; -1", W23, X3], "text"))
    assert r.code == 0
    tail = r.out[r.out.index("Closed forms"):]
    assert r.out.index("Gradients") < r.out.index("Closed forms")
    for line in ("f = sum(w ⊙ σ(W x))", "∇_W f = (w ⊙ σ′(W x)) xᵀ", "⊙ multiplies entry by entry",
                 "σ′(a) = σ(a) (1 − σ(a))"):
        assert line in tail, line
    assert "𝟏 is" not in tail and "⊘" not in tail and "[a > 0]" not in tail  # only the symbols used


def test_latex_forms(cli) -> None:
    r = cli(*_argv("sum(w * relu(V @ x + c)) + b", ["V=1 1; 1 1", "x=1; 1", "c=0; -1", "w=1; -2", "b=0"], "latex"))
    assert r.code == 0
    for tex in (r"\nabla_{V} f = \left(w \odot \left[V x + c > 0\right]\right) x^{\top}",
                r"f = \operatorname{sum}\left(w \odot \operatorname{relu}\left(V x + c\right)\right) + b",
                r"[a > 0]\text{ is 1 where } a > 0\text{, else 0}"):
        assert tex in r.out, tex


def test_no_form_for_broadcasting_beyond_a_scalar(cli) -> None:
    """A row plus a column broadcasts to a matrix: the algebra has no form for it; the
    numbers are still worked out and the JSON says null."""
    r = cli(*_argv("sum(x + y)", ["x=1 2", "y=3; 4"], "json"))
    assert r.code == 0
    data = json.loads(r.out)
    assert data["closed_forms"] is None and data["value"] == 20
    assert "Closed forms" not in cli(*_argv("sum(x + y)", ["x=1 2", "y=3; 4"], "text")).out


def test_a_form_too_long_to_read_is_named_as_missing(cli) -> None:
    """W used 26 times: ∇_W f is a sum of 26 different products, left out with a note."""
    chain = "x"
    for _ in range(26):
        chain = f"W @ {chain}"
    r = cli(*_argv(f"norm({chain})**2", ["W=0.5 0; 0.1 0.4", "x=1; 2"], "text"))
    assert r.code == 0
    assert "∇_x f = 2 Wᵀ Wᵀ" in r.out
    assert "No closed form is shown for the gradient of W" in r.out


LATEX_CASES = [c for c in CASES if c[0] in ("norm(W @ x - y)**2", "A2 @ sigmoid(A1 @ x + b1) + b2", "sum(tanh(W @ x))",
                                           "sum(v @ B)", "norm(x)", "norm(W)**2", "sum(a / (x*x + 1))",
                                           "norm(x)**0.5", "sum(relu(W @ x + b))", "x.T @ A @ x")]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_every_construct_compiles_with_pdflatex(cli, tmp_path: Path) -> None:
    parts = []
    for expression, variables, _, _ in LATEX_CASES:
        r = cli(*_argv(expression, variables, "latex"))
        assert r.code == 0 and r"\nabla" in r.out
        parts.append(r.out)
    tex = tmp_path / "forms.tex"
    tex.write_text("\\documentclass{article}\n\\usepackage{amsmath,amssymb,array,longtable}\n\\begin{document}\n"
                   + "\n".join(parts) + "\n\\end{document}\n", encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]


def test_coefficients_too_long_to_read_give_no_form(cli) -> None:
    """((2x)^16)^16… with a tiny x stays finite in floats (it underflows to 0) while its exact
    coefficient is 2^(16^k): the derivation stops at a bound instead of computing it."""
    tower = "x"
    for _ in range(7):
        tower = f"(2*{tower})**16"
    r = cli(*_argv(f"sum({tower})", ["x=1e-300; 1e-300"], "json"))
    assert r.code == 0, r.err
    assert json.loads(r.out)["closed_forms"] is None
    r = cli(*_argv("sum((2*x)**16)", ["x=1e-300; 1e-300"], "json"))  # a short one still has its form
    assert json.loads(r.out)["closed_forms"]["gradients"]["x"]["text"] == "∇_x f = 1048576 x^⊙15"  # 16 · 2¹⁶
