"""Start-up of whole convcalc processes, as ratios to importing its dependencies.

Budget (issue 7): every command on a homework-sized problem without formula rendering at
most 1.5× the baseline ``python -c "import numpy, typer, rich.console"``; with SymPy
formulas at most 3×. No path imports SymPy any more: the size formulas print from a table
SymPy generated, and the gradients' closed forms come from convcalc's own matrix calculus
(convcalc/expr/algebra.py). So every case here, formulas included, is held to 1.5×.
Usage: ``python benchmarks/startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

A = "4 5 2 2 1; 3 3 2 2 4; 4 3 4 1 1; 5 1 4 1 2; 5 1 3 1 4"
B = "4 3 3; 5 5 5; 2 4 3"
PY = sys.executable
CC = [PY, "-m", "convcalc"]
# Every command on a homework-sized problem, text and JSON: budget 1.5× (none imports SymPy).
HOMEWORK: list[tuple[str, list[str]]] = [
    ("conv 5x5", ["conv", "-i", A, "-k", B]),
    ("dilated 5x5", ["dilated", "-i", A, "-k", "1 2; 3 4", "--dilation", "2"]),
    ("transposed-conv 2x2", ["transposed-conv", "-i", "1 2; 3 4", "-k", "1 0; 0 1", "--stride", "2"]),
    ("pool 5x5 max", ["pool", "-i", A, "--kernel-size", "2"]),
    ("resample --up 2", ["resample", "-i", A, "--up", "2"]),
    ("output-size", ["output-size", "--input-size", "32", "--kernel-size", "5", "--padding", "2"]),
    ("output-size --solve padding", ["output-size", "--input-size", "32", "--kernel-size", "5",
                                     "--solve", "padding", "--target", "32"]),
    ("params", ["params", "--in-channels", "3", "--out-channels", "8", "--kernel-size", "3", "--input-size", "32"]),
    ("receptive-field", ["receptive-field", "--layer", "Conv2d(3, 8, 3)", "--layer", "MaxPool2d(2)",
                         "--layer", "Conv2d(8, 8, 3)", "--input-shape", "1x3x16x16"]),
    ("backprop conv 5x5", ["backprop", "conv", "-i", A, "-k", B]),
    ("backprop pool 5x5", ["backprop", "pool", "-i", A, "--kernel-size", "2"]),
    ("backprop expr", ["backprop", "expr", "sum((W @ x)**2)", "--var", "W=1 2; 3 4", "--var", "x=1; 2"]),
]
# The formulas in LaTeX and Markdown: sizes from the table, gradients' closed forms derived.
FORMULAS: list[tuple[str, list[str]]] = [
    ("output-size --format latex", ["output-size", "--input-size", "32", "--kernel-size", "5", "-f", "latex"]),
    ("backprop expr --format latex", ["backprop", "expr", "sum(w * relu(V @ x + c)) + b", "--var", "V=1 1; 1 1",
                                      "--var", "x=1; 1", "--var", "c=0; -1", "--var", "w=1; -2", "--var", "b=0",
                                      "-f", "latex"]),
    ("backprop expr --format markdown", ["backprop", "expr", "norm(W @ x - y)**2", "--var", "W=1 2 3; 4 5 6",
                                         "--var", "x=1; 2; 3", "--var", "y=1; 0", "-f", "markdown"]),
]
# Letters (issue 13): SymPy is imported for these only; budget 4× (SymPy's import alone is ~2.5×).
SYMBOLIC: list[tuple[str, list[str]]] = [
    ("output-size in letters", ["output-size", "--input-size", "H", "--kernel-size", "K", "--stride", "S",
                                "--padding", "P"]),
    ("output-size --solve output-padding in letters", ["output-size", "--transposed", "--input-size", "H'",
                                                       "--kernel-size", "K", "--stride", "S", "--padding", "P",
                                                       "--solve", "output-padding", "--target", "H"]),
    ("params in letters (groups, MACs)", ["params", "--in-channels", "C", "--out-channels", "N", "--kernel-size",
                                          "K", "--groups", "M", "--input-size", "H"]),
    ("params --answer K(F^2C+1)", ["params", "--in-channels", "C", "--out-channels", "K", "--kernel-size", "F",
                                   "--answer", "K(F^2C+1)"]),
    # issue 16: matrices of letters, the general cell, a kernel from its formula
    ("conv X:5x5 ⋆ K:3x3 (letters)", ["conv", "-i", "X:5x5", "-k", "K:3x3"]),
    ("conv general cell", ["conv", "-i", "X", "-k", "0 0 0; -1 1 0; 0 0 0", "--padding", "1"]),
    ("conv --target (kernel from its formula)", ["conv", "-i", "X", "--target", "X[i+1,j] - X[i,j]",
                                                 "--kernel-size", "3", "--padding", "1"]),
]
CASES: list[tuple[str, list[str], float | None]] = [
    ("python -c pass", [PY, "-c", "pass"], None),
    ("baseline: import numpy, typer, rich.console", [PY, "-c", "import numpy, typer, rich.console"], None),
    ("convcalc --help", [*CC, "--help"], 1.5),
    *((f"convcalc {name} --format json", [*CC, *argv, "-f", "json"], 1.5) for name, argv in HOMEWORK),
    *((f"convcalc {name} (text)", [*CC, *argv], 1.5) for name, argv in HOMEWORK),
    *((f"convcalc {name}", [*CC, *argv], 1.5) for name, argv in FORMULAS),
    *((f"convcalc {name}", [*CC, *argv], 4.0) for name, argv in SYMBOLIC),
    *((f"convcalc {name} --format latex", [*CC, *argv, "-f", "latex"], 4.0) for name, argv in SYMBOLIC[:1]),
    ("convcalc solve problems/ --format json (55 problems)", [*CC, "solve", "problems", "-f", "json"], None),
]


# As an installed program runs: with its bytecode cached. `pip install .` compiles it at
# install time; an editable install writes __pycache__ on the first run, unless
# PYTHONDONTWRITEBYTECODE is set (it is on some machines, this project's among them), and then
# every run compiles convcalc's ~70 modules again (~30 ms). So it is unset here, and one
# warm-up round writes the bytecode before anything is timed.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def seconds(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    runs = ap.parse_args().runs
    # Round-robin: each round runs every case once, so a burst of load from other processes
    # falls on all cases alike instead of on whichever case was running then.
    for _, cmd, _ in CASES:  # warm-up: bytecode written, files in the page cache
        seconds(cmd)
    times: list[list[float]] = [[] for _ in CASES]
    for _ in range(runs):
        for i, (_, cmd, _) in enumerate(CASES):
            times[i].append(seconds(cmd))
    results = [(name, statistics.median(t), budget) for (name, _, budget), t in zip(CASES, times, strict=True)]
    base = results[1][1]
    print(f"{'case':60} {'median':>9} {'× baseline':>11} {'budget':>7}")
    for name, t, budget in results:
        verdict = "" if budget is None else ("ok" if t / base <= budget else "OVER")
        print(f"{name:60} {t * 1000:7.0f}ms {t / base:10.2f}× {('≤' + str(budget)) if budget else '':>7} {verdict}")


if __name__ == "__main__":
    main()
