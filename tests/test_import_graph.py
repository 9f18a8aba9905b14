"""What each path imports: heavy modules only where they are needed (issue: fast answers).

Checked with ``python -X importtime`` in a fresh process, not with a timer.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

NETS = Path(__file__).resolve().parent.parent / "examples" / "networks"
HEAVY = ("sympy", "torch", "scipy", "pandas", "matplotlib", "pydantic")
A = "4 5 2 2 1; 3 3 2 2 4; 4 3 4 1 1; 5 1 4 1 2; 5 1 3 1 4"
B = "4 3 3; 5 5 5; 2 4 3"


def imported(*argv: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "convcalc", *argv],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert names, "python -X importtime printed nothing"
    return names


def top_level(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize("argv", [
    ("conv", "--input", A, "--kernel", B, "--format", "json"),
    ("dilated", "--input", A, "--kernel", "1 2; 3 4", "--format", "json"),
    ("--help",),
    ("conv", "--help"),
    ("norm", "--input", "1 2; 3 5", "--format", "json"),
    ("backprop", "norm", "--input", "[[[1,2],[3,4]],[[5,6],[7,9]]]", "--kind", "group", "--groups", "1",
     "--answer", "grad_input=0 0", "--format", "json"),
    ("params", "--net", str(NETS / "resnet18.py"), "--input-shape", "1x3x64x64", "--format", "json"),
    ("receptive-field", "--net", str(NETS / "unet_small.txt"), "--input-shape", "1x3x64x64"),
])
def test_fast_paths_do_not_import_heavy_modules(argv: tuple[str, ...]) -> None:
    assert not (top_level(imported(*argv)) & set(HEAVY))


@pytest.mark.parametrize("argv", [
    ("conv", "--input", A, "--kernel", B),
    ("conv", "--input", A, "--kernel", B, "--padding", "same", "--format", "latex"),
    ("dilated", "--input", A, "--kernel", "1 2; 3 4", "--format", "markdown"),
    ("pool", "--input", A, "--kernel-size", "2", "--ceil-mode"),
    ("transposed-conv", "--input", "1 2; 3 4", "--kernel", "1 0; 0 1", "--stride", "2"),
    ("transposed-conv", "--input", "1 2 3", "--kernel", "1 2 3", "--stride", "2", "--dim", "1", "--as", "upsample-conv"),
    ("conv", "--input", A, "--kernel", B, "--stride", "2", "--as", "stride1-downsample"),
    ("backprop", "resample", "--input", "1 2 3 4 5 6", "--down", "2"),
    ("backprop", "net", "--net", "Conv1d(1, 2, 3), Downsample1d(2), Flatten(), Linear(6, 2), Tanh()", "--input",
     "1 2 3 4 5 6 7 8", "--seed", "0"),
    ("scan-mlp", "--input-shape", "1x24x128", "--mlp", "Flatten(), Linear(8 * 24, 8), ReLU(), Linear(8, 4)",
     "--window", "8", "--stride", "4"),
    ("scan-mlp", "--cnn", "Conv1d(1, 2, 2, stride=2), Conv1d(2, 3, 3, stride=3)"),
    ("output-size", "--input-size", "32", "--kernel-size", "5", "--dilation", "2"),
    ("output-size", "--input-size", "32", "--kernel-size", "5", "--format", "json"),
    ("output-size", "--input-size", "32", "--kernel-size", "5", "--solve", "padding", "--target", "32"),
    ("norm", "--input", "[[[1,2],[3,4]],[[5,6],[7,9]]]", "--over", "N,L", "--weight", "2", "--format", "latex"),
    ("norm", "--input", "1 2; 3 5", "--eval", "--answer", "mean=1", "--format", "markdown"),
    ("backprop", "norm", "--input", "1 2; 3 5", "--grad-output", "1 0; 0 1"),
    ("output-size", "--input-size", "8", "--kernel-size", "2", "--pool", "--dim", "1", "--solve", "padding",
     "--target", "6", "--format", "json"),
    ("output-size", "--input-size", "32", "--kernel-size", "5", "--answer", "28"),
    ("params", "--in-channels", "32", "--out-channels", "64", "--kernel-size", "5", "--depthwise-separable",
     "--no-bias", "--input-size", "16", "--exact-ops", "--answer", "2848"),
    ("params", "--in-channels", "3", "--out-channels", "8", "--kernel-size", "3", "--groups", "1", "--format", "json"),
    ("params", "--layer", "Conv2d(3,8,3,stride=2)", "--layer", "ReLU()", "--input-shape", "1x3x32x32"),
    ("receptive-field", "--layer", "Conv2d(3,8,3,stride=2)", "--input-shape", "1x3x32x32", "--format", "json"),
])
def test_size_formulas_render_without_importing_sympy(argv: tuple[str, ...]) -> None:
    """The formulas' printed forms come from a table SymPy generated (tests/render)."""
    assert "sympy" not in top_level(imported(*argv))


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_closed_forms_render_without_importing_sympy(fmt: str) -> None:
    """The gradients' closed forms come from convcalc's own matrix calculus (convcalc.expr.algebra)."""
    argv = ("backprop", "expr", "sum((W @ x)**2)", "--var", "W=1 2 3; 4 5 6", "--var", "x=1; 2; 3", "--format", fmt)
    names = imported(*argv)
    assert "convcalc.expr.closed_form" in names  # the forms were derived on this path
    assert not (top_level(names) & set(HEAVY))


@pytest.mark.parametrize("extra", [
    ("--wrt", "x"), ("--table", "x=1 0 0; 0 1 0"), ("--notation", "diag"),
])
def test_expr_jacobians_tables_and_layers_do_not_import_sympy(extra: tuple[str, ...]) -> None:
    base = ("backprop", "expr", "sigmoid(W @ x) + sum(max_pool2d(W, 1))", "--var", "W=1 2 3; 4 5 6")
    argv = (*base, "--var", "x=1; 2; 3", *extra) if extra[0] != "--table" else (*base, *extra)
    assert not (top_level(imported(*argv)) & set(HEAVY))


def test_figures_import_nothing_heavy(tmp_path) -> None:
    """SVG figures are convcalc's own text: no plotting stack, no SymPy."""
    svg = str(tmp_path / "f.svg")
    names = imported("dilated", "--input", A, "--kernel", "1 2; 3 4", "--padding", "1", "--figure", svg)
    assert "convcalc.render.figure" in names
    assert not (top_level(names) & set(HEAVY))
    names = imported("receptive-field", "--layer", "Conv2d(1,1,3,dilation=2)", "--input-shape", "1x1x9x9",
                     "--figure", svg)
    assert "convcalc.render.figure_field" in names and not (top_level(names) & set(HEAVY))


def test_the_check_sees_a_lazy_sympy_import() -> None:
    """The checks above are not vacuous: SymPy imported inside a function is seen."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "from convcalc.render.formula import sympy_templates, every_key; "
                           "sympy_templates(next(every_key()))"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any(line.rsplit("|", 1)[-1].strip() == "sympy" for line in proc.stderr.splitlines())


# Modules only some paths need: a command's module imports them inside the command, so
# registering every command for one run stays cheap.
LAZY = ("convcalc.cli.quiz_game", "convcalc.quiz", "convcalc.slips", "convcalc.cli.diagnose",
        "convcalc.derive.check", "convcalc.render.interactive")


def test_json_path_skips_the_modules_of_other_commands() -> None:
    names = imported("conv", "--input", A, "--kernel", B, "--format", "json")
    assert not names & set(LAZY), names & set(LAZY)


def test_a_wrong_answer_does_load_the_slip_search() -> None:
    """The check above is not vacuous: a wrong --answer imports the diagnosis."""
    names = imported("conv", "--input", A, "--kernel", B, "--format", "json", "--answer", "1 2 3; 4 5 6; 7 8 9")
    assert {"convcalc.slips", "convcalc.cli.diagnose"} <= names


@pytest.mark.parametrize("name", ["backprop", "backprop_layers", "check", "conv", "layers", "quiz", "sizes", "solve"])
def test_command_modules_keep_real_annotations(name: str) -> None:
    """Typer reads every command's parameters on each run; string annotations (``from __future__
    import annotations``) would be eval'd and compiled each time, ~20 ms of start-up."""
    import importlib

    module = importlib.import_module(f"convcalc.cli.{name}")
    assert "annotations" not in vars(module), f"convcalc/cli/{name}.py: drop 'from __future__ import annotations'"


# Letters in matrices (issue 16): numeric matrices on every matrix command never import SymPy;
# a letter does, so the check is not vacuous.
@pytest.mark.parametrize("argv", [
    ("pool", "--input", A, "--mode", "avg", "--as-conv", "--format", "json"),
    ("pool", "--input", A, "--mode", "max", "--kernel-size", "2", "--stride", "1"),
    ("resample", "--input", "1 2 3", "--up", "2"),
    ("backprop", "conv", "--input", A, "--kernel", B, "--format", "json"),
    ("backprop", "pool", "--input", A, "--mode", "avg"),
    ("backprop", "transposed-conv", "--input", "1 2; 3 4", "--kernel", "1 0; 0 1", "--stride", "2"),
    ("conv", "--input", "1e-3 2; 3 4", "--kernel", "1 0; 0 1", "--format", "json"),
])
def test_numeric_matrices_do_not_import_sympy(argv: tuple[str, ...]) -> None:
    assert "sympy" not in top_level(imported(*argv))


@pytest.mark.parametrize("argv", [
    ("conv", "--input", "a b; c d", "--kernel", "1 0; 0 1", "--format", "json"),
    ("conv", "--input", "X", "--kernel", "1 -1", "--format", "json"),
])
def test_a_letter_in_a_matrix_does_import_sympy(argv: tuple[str, ...]) -> None:
    assert "sympy" in top_level(imported(*argv))


@pytest.mark.parametrize("argv", [
    ("output-size", "--input-size", "H", "--kernel-size", "K", "--stride", "S", "--format", "json"),
    ("output-size", "--input-size", "32", "--kernel-size", "5", "--padding", "P"),
    ("params", "--in-channels", "C", "--out-channels", "N", "--kernel-size", "K", "--format", "json"),
    ("params", "--layer", "Conv2d(3,8,3,stride=2)", "--input-shape", "Bx3xHxW", "--format", "json"),
])
def test_letters_do_import_sympy(argv: tuple[str, ...]) -> None:
    """Issue 13: a letter is the one thing that brings SymPy in, and it does (the checks above see it)."""
    names = imported(*argv)
    assert "sympy" in top_level(names) and "convcalc.symbolic.parse" in names
