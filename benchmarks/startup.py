"""Start-up of whole convcalc processes, as ratios to importing its dependencies.

Budget (issue 7): every command on a homework-sized problem without formula rendering at
most 1.5× the baseline ``python -c "import numpy, typer, rich.console"``; with SymPy
formulas at most 3×. Usage: ``python benchmarks/startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

A = "4 5 2 2 1; 3 3 2 2 4; 4 3 4 1 1; 5 1 4 1 2; 5 1 3 1 4"
B = "4 3 3; 5 5 5; 2 4 3"
PY = sys.executable
CASES: list[tuple[str, list[str], float | None]] = [
    ("python -c pass", [PY, "-c", "pass"], None),
    ("baseline: import numpy, typer, rich.console", [PY, "-c", "import numpy, typer, rich.console"], None),
    ("convcalc --help", [PY, "-m", "convcalc", "--help"], 1.5),
    ("convcalc conv 5x5 --format json", [PY, "-m", "convcalc", "conv", "-i", A, "-k", B, "-f", "json"], 1.5),
    ("convcalc conv 5x5 (text, SymPy formulas)", [PY, "-m", "convcalc", "conv", "-i", A, "-k", B], 3.0),
    ("convcalc solve problems/ --format json", [PY, "-m", "convcalc", "solve", "problems", "-f", "json"], None),
]


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    runs = ap.parse_args().runs
    results = [(name, median_seconds(cmd, runs), budget) for name, cmd, budget in CASES]
    base = results[1][1]
    print(f"{'case':48} {'median':>9} {'× baseline':>11} {'budget':>7}")
    for name, t, budget in results:
        verdict = "" if budget is None else ("ok" if t / base <= budget else "OVER")
        print(f"{name:48} {t * 1000:7.0f}ms {t / base:10.2f}× {('≤' + str(budget)) if budget else '':>7} {verdict}")


if __name__ == "__main__":
    main()
