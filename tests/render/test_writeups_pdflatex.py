"""Write-ups a TA can hand out (issue 14 §2): LaTeX that pdflatex compiles with every verdict on
the page and nothing running off it; formulas and worked cells as math in LaTeX and Markdown.

The compile tests run only where pdflatex (and pdftotext, to read the PDF back) are installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from convcalc.render.document import LATEX_PREAMBLE
from tests.cli.clirunner import invoke
from tests.conftest import ROOT

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
                               reason="pdflatex/pdftotext are not installed")


def _compile(tmp_path: Path, tex: str, name: str = "r") -> tuple[str, str]:
    """Compile twice (longtable settles its column widths on the second run); the PDF's text and the log."""
    (tmp_path / f"{name}.tex").write_text(tex, encoding="utf-8")
    for _ in range(2):
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                              cwd=tmp_path, capture_output=True, timeout=300)  # bytes: TeX logs are not UTF-8
        assert done.returncode == 0, done.stdout.decode("utf-8", "replace")[-3000:]
    text = subprocess.run(["pdftotext", "-layout", f"{name}.pdf", "-"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60).stdout
    return text, (tmp_path / f"{name}.log").read_text(encoding="utf-8", errors="replace")


def _overfull(log: str) -> list[float]:
    return [float(m) for m in re.findall(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\)", log)]


@needs_tex
def test_check_report_compiles_with_every_verdict_on_the_page(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    r = invoke("check", "problems/", "--format", "latex")
    assert r.exit_code in (0, 1), r.stderr
    ids = re.findall(r'^id = "([^"]+)"', "".join(p.read_text() for p in sorted((ROOT / "problems").glob("*.toml"))),
                     re.MULTILINE)
    text, log = _compile(tmp_path, r.stdout)
    pages = text.split("\f")
    assert "Verdicts" in pages[0]  # the table starts on page 1: no blank first page
    flat = re.sub(r"\s+", "", text)
    missing = [i for i in ids if re.sub(r"\s+", "", i) not in flat]
    assert not missing, missing  # every problem's row made it into the PDF
    lines = r.stdout.splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("\\begin{longtable}"))
    last = next(i for i, line in enumerate(lines, 1) if line.startswith("\\end{longtable}"))
    wide = [(int(a), int(b), float(w)) for w, a, b in
            re.findall(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\) in alignment at lines (\d+)--(\d+)", log)]
    assert not [x for x in wide if first <= x[0] <= last and x[2] >= 2], wide  # the verdict table fits the page
    assert str(ROOT) not in r.stdout  # no absolute path in the title or anywhere


@needs_tex
def test_the_whole_bank_solved_compiles(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    r = invoke("solve", "problems/", "--format", "latex")
    assert r.exit_code == 0, r.stderr
    text, _ = _compile(tmp_path, r.stdout, "s")
    assert "Each output cell" in text  # (lines of letters from the symbolic problems can still run wide)


@needs_tex
def test_expression_write_up_compiles_and_its_title_is_math(tmp_path: Path) -> None:
    r = invoke("backprop", "expr", "sum((W @ x)**2)", "--var", "W=0.1 0.5; -0.3 0.8", "--var", "x=0.2; 0.4",
               "--format", "latex")
    assert r.exit_code == 0
    assert r"\subsection*{Backpropagation through $f = \operatorname{sum}(\left(W x\right)^{2})$}" in r.stdout
    assert "**" not in r.stdout.split("\\subsubsection*{Computation graph}")[0]  # no Python in the title
    assert r"v2 & pow 2 & $\left(W x\right)^{2}$ & v1" in r.stdout  # the graph's expressions typeset too
    text, log = _compile(tmp_path, LATEX_PREAMBLE + "\\begin{document}\n" + r.stdout + "\\end{document}\n")
    assert "Computation graph" in text and "0.0676" in text
    assert all(w < 2 for w in _overfull(log))


def test_pool_cells_and_recurrence_are_math_in_latex_and_markdown() -> None:
    pool = ("pool", "-i", "1 2 0; 0 0 1; 1 1 1", "--mode", "max", "-k", "2", "-s", "1")
    tex = invoke(*pool, "--format", "latex").stdout
    assert r"&P_{11} = \max(1, 2, 0, 0) = 2\quad \text{(at $A_{12}$)}" in tex
    assert "P[1,1]" not in tex and "False" not in tex and "None" not in tex  # no Python in the prose
    md = invoke(*pool, "--format", "markdown").stdout
    assert md.count("\\begin{aligned}") == 1  # the four cells in one aligned block
    avg = invoke("pool", "-i", "1 2 0; 0 0 1; 1 1 1", "--mode", "avg", "-k", "3", "--format", "latex").stdout
    assert r"P_{11} = (1 + 2 + 0 + 0 + 0 + 1 + 1 + 1 + 1)/9 = \tfrac{7}{9}" in avg
    rf = invoke("receptive-field", "--layer", "Conv2d(3,8,3)", "--layer", "MaxPool2d(2)", "--input-shape",
                "1x3x32x32", "--format", "latex").stdout
    assert r"r_l = r_{l-1} + (k_l - 1)\, d_l\, j_{l-1}" in rf and r"r\_l" not in rf
    assert r"\text{line 2 (MaxPool2d) H:}\quad r = 3 + (2-1) \cdot 1 \cdot 1 = 4" in rf


def test_conv_cells_share_one_aligned_block_and_one_index_base() -> None:
    tex = invoke("conv", "-i", "1 2 3; 4 5 6; 7 8 9", "-k", "1 0; 0 1", "--format", "latex").stdout
    assert tex.count("\\begin{align*}") == 1 and "C_{22} &=" in tex
    scatter = invoke("transposed-conv", "-i", "1 2; 3 4", "-k", "1 1; 1 1", "--stride", "2").stdout
    assert "running sum after Y[1,2] = 2 times W, its first tap on X_full[1,3]" in scatter  # 1-based throughout
    assert "placed at (0," not in scatter


def test_square_input_is_labelled_h_out_and_w_out() -> None:
    out = invoke("output-size", "--input-size", "32", "--kernel-size", "5", "--stride", "2").stdout
    assert "H_out = W_out = ⌊(I − K + 2·P)/S⌋ + 1" in out and "H, W_out" not in out
    tex = invoke("output-size", "--input-size", "32", "--kernel-size", "5", "--format", "latex").stdout
    assert r"H_{\text{out}} = W_{\text{out}} =" in tex
