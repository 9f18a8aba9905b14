"""Issue 15's small inputs that ask for big work: how fast each is refused, and the memory of
a streamed --export as its worked cells grow.

Each refusal row is a whole process (start-up included): its exit status (2 expected), wall
time, peak RSS and the start of its one-line message. The export rows lift the worked-cell
limit (CONVCALC_MAX_WORKED=inf) and write --steps all pages of growing outputs: the peak RSS
must stay flat (the page streams to its file). Usage: ``python benchmarks/hostile_limits.py
[--export-sizes 34,66,130]``. Linux/macOS (uses os.wait4).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable


def ones(rows: int, cols: int) -> str:
    return ";".join(" ".join(["1"] * cols) for _ in range(rows))


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, float, float, str]:
    """Exit status, seconds, peak RSS (MiB), first line of stderr."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024
    line = err.decode(errors="replace").strip().splitlines()[:1]
    return os.waitstatus_to_exitcode(status), elapsed, usage.ru_maxrss * 1024 / scale / 1024, (line or [""])[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export-sizes", default="34,66,130")
    a = ap.parse_args()
    cc = [PY, "-m", "convcalc"]
    with tempfile.TemporaryDirectory() as tmp:
        heavy = Path(tmp) / "heavy.toml"
        heavy.write_text("".join(f'[[problem]]\nid = "h{i}"\ncommand = "conv"\ninput = "1"\nkernel = "1"\n'
                                 f"padding = 1000\n\n" for i in range(120)))
        forty = [w for _ in range(40) for w in ("--layer", "Conv2d(1,1,49)")]
        cases = [
            ("conv --padding 11000", [*cc, "conv", "--input", "1", "--kernel", "1", "--padding", "11000"]),
            ("conv --padding 3000 --format json",
             [*cc, "conv", "--input", "1", "--kernel", "1", "--padding", "3000", "--format", "json"]),
            ("backprop expr exact, 250×1 … 1×1000 ones",
             [*cc, "backprop", "expr", "sum((a*b) @ (c*d))", "--var", f"a={ones(250, 1)}", "--var",
              f"b={ones(1, 200)}", "--var", f"c={ones(200, 1)}", "--var", f"d={ones(1, 1000)}"]),
            ("receptive-field --exact, 40 × Conv2d(1,1,49)",
             [*cc, "receptive-field", "--exact", *forty, "--input-shape", "1x1x200000x200000"]),
            ("--steps all --export x.svg, padding 200",
             [*cc, "conv", "--input", "1", "--kernel", "1", "--padding", "200", "--steps", "all", "--export",
              str(Path(tmp) / "x.svg")]),
            ("output-size --solve kernel-size",
             [*cc, "output-size", "--input-size", "1000000", "--kernel-size", "3", "--padding", "1000000",
              "--solve", "kernel-size", "--target", "5"]),
            ("solve, 120 heavy problems", [*cc, "solve", str(heavy)]),
        ]
        print(f"{'refused case':46} {'exit':>4} {'time':>7} {'peak RSS':>9}  message")
        for name, cmd in cases:
            code, t, rss, line = run(cmd)
            print(f"{name:46} {code:4d} {t:6.2f}s {rss:6.0f}MiB  {line[:90]}", flush=True)
        env = {**os.environ, "CONVCALC_MAX_WORKED": "inf"}
        print(f"\n{'--steps all --export (limit lifted)':46} {'exit':>4} {'time':>7} {'peak RSS':>9}  page")
        for n in map(int, a.export_sizes.split(",")):
            grid = Path(tmp) / f"in{n}.csv"
            grid.write_text("\n".join(",".join(str((i * j) % 19 - 9) for j in range(n)) for i in range(n)) + "\n")
            page = Path(tmp) / f"p{n}.svg"
            code, t, rss, _ = run([*cc, "conv", "--input", str(grid), "--kernel", "1 0 1; 0 1 0; 1 0 1",
                                   "--steps", "all", "--export", str(page)], env)
            size = page.stat().st_size / 2**20 if page.exists() else 0
            print(f"{f'{(n - 2) ** 2} cells (3×3 kernel)':46} {code:4d} {t:6.2f}s {rss:6.0f}MiB  {size:.1f} MiB",
                  flush=True)


if __name__ == "__main__":
    main()
