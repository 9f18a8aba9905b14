"""Big problems through the whole CLI: wall time and peak memory of each process.

Issue 7: a 300×300 input with a 3×3 kernel, default settings, answers in about a second;
``--steps all`` on a 64×64 output streams its cells (memory must not grow with the number of
cells: compare the 64×64 and 200×200 rows) and shows progress on stderr on a terminal (the
"terminal" row runs it under a pseudo-terminal and reports whether progress appeared).
Usage: ``python benchmarks/big_problems.py [--runs 3]``. Linux/macOS (uses os.wait4, pty).
"""

from __future__ import annotations

import argparse
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

PY = sys.executable


def write_inputs(folder: Path) -> dict[str, str]:
    rng = np.random.default_rng(0)
    paths = {}
    for name, shape in (("in66", (66, 66)), ("in202", (202, 202)), ("in300", (300, 300)), ("k3", (3, 3))):
        path = folder / f"{name}.csv"
        np.savetxt(path, rng.integers(-9, 10, shape), fmt="%d", delimiter=",")
        paths[name] = str(path)
    return paths


def run_piped(cmd: list[str]) -> tuple[float, float, int]:
    """Seconds, peak RSS (MiB) and bytes written to stdout of one process, stdout to a pipe."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout
    assert out is not None
    size = sum(len(chunk) for chunk in iter(lambda: out.read(1 << 16), b""))
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # ru_maxrss: KiB on Linux, bytes on macOS
    return elapsed, usage.ru_maxrss * 1024 / scale / 1024, size


def run_terminal(cmd: list[str]) -> tuple[float, bool]:
    """Seconds of one process whose stdout and stderr are a pseudo-terminal; whether progress showed."""
    master, slave = pty.openpty()
    seen = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, check=False)
    elapsed = time.perf_counter() - t0
    os.close(slave)
    reader.join(timeout=5)
    os.close(master)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return elapsed, b"worked" in seen and b"cells" in seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        p = write_inputs(Path(tmp))
        conv = [PY, "-m", "convcalc", "conv", "--kernel", p["k3"]]
        cases = [
            ("conv 300×300, 3×3, defaults (text)", [*conv, "--input", p["in300"]]),
            ("conv 300×300, 3×3, --format json", [*conv, "--input", p["in300"], "--format", "json"]),
            ("conv 64×64 out, --steps all (text)", [*conv, "--input", p["in66"], "--steps", "all"]),
            ("conv 64×64 out, --steps all (markdown)", [*conv, "--input", p["in66"], "--steps", "all",
                                                        "--format", "markdown"]),
            ("conv 200×200 out, --steps all (text)", [*conv, "--input", p["in202"], "--steps", "all"]),
        ]
        print(f"median of {a.runs} whole processes, stdout to a pipe; peak RSS of the process")
        print(f"{'case':42} {'time':>8} {'peak RSS':>9} {'output':>9}")
        for name, cmd in cases:
            runs = [run_piped(cmd) for _ in range(a.runs)]
            t = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            print(f"{name:42} {t:7.2f}s {rss:6.0f}MiB {runs[0][2] / 1024:7.0f}KiB", flush=True)
        times, progress = zip(*(run_terminal(cases[2][1]) for _ in range(a.runs)), strict=True)
        print(f"{'conv 64×64 out, --steps all, on a terminal':42} {statistics.median(times):7.2f}s"
              f"   progress on stderr: {'yes' if all(progress) else 'NO'}")


if __name__ == "__main__":
    main()
