"""convcalc.functional against torch's CPU kernels at issue 7's shape, same thread count, one run.

Shape: N=16, C=64→64, 56×56, 3×3, padding 1 (pools: 3×3, stride 2, padding 1 and 2×2,
stride 2; BatchNorm2d in training, forward then backward, float64 only).
Prints, per case and dtype, the median time of each side and the ratio
convcalc/torch against the budget (float64: forward ≤ 1.2×, backward ≤ 2×; float32: ≤ 3×).
The two sides alternate call by call, back to back, so load from other processes hits both
alike. Neither side's threads may spin into the other's call: by default torch's OpenMP
threads spin for about 10 ms after each call (libgomp's active wait policy) and take the
cores from whatever runs next, always convcalc's call, so the script runs torch with
OMP_WAIT_POLICY=PASSIVE (its threads sleep between calls, as convcalc's pool threads do; its
own times were the same as with the default, measured). ``--settle MS`` instead pauses before
each call; that favours torch the other way: its threads spin through the pause and start
warm, while convcalc's sleeping pool threads wake from idle (a 3.5 ms call took 6 ms).

Threads: NumPy's OpenBLAS, convcalc's float pooling and torch all get ``--threads`` (default
2); the script sets CONVCALC_THREADS, and re-runs itself with OPENBLAS_NUM_THREADS set,
because OpenBLAS reads it only at start-up.

Memory: peak extra memory, measured the same way for both sides: a fresh subprocess per
case and side makes the call twice; before each call the kernel's peak-RSS mark (VmHWM) is
reset through /proc/self/clear_refs, and the figure is VmHWM after the call minus VmRSS
before it (the result array included on both sides). The first call also pays one-time
set-up (BLAS buffers, oneDNN kernels); the second shows what a call costs once warm.
MALLOC_MMAP_THRESHOLD_=65536 makes glibc return freed blocks at once, so memory one call
freed is not silently reused by the next. Linux only; ``--no-memory`` skips it.

Usage: ``python benchmarks/core_vs_torch.py [--threads 2] [--runs 5] [--settle 0] [--only conv2d]
[--no-memory]``.
Needs torch installed (``torch==2.13.0``, CPU).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from convcalc import functional as F
from convcalc import limits

N, C, SIZE = 16, 64, 56
Budget = tuple[float, float]  # (float64, float32)
FORWARD: Budget = (1.2, 3.0)
BACKWARD: Budget = (2.0, 3.0)
POOLS = (("k3s2p1", 3, 2, 1), ("k2s2p0", 2, 2, 0))


def blas_threads() -> str:
    """The thread count NumPy's OpenBLAS reports, read from the loaded library."""
    for line in Path("/proc/self/maps").read_text(encoding="utf-8").splitlines():
        path = line.split()[-1]
        if "openblas" in path and ".so" in path:
            lib = ctypes.CDLL(path)
            for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                         "openblas_get_num_threads"):
                if hasattr(lib, name):
                    return str(getattr(lib, name)())
    return f"unknown (OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')})"


def make_cases(dtype: type, torch: Any) -> list[tuple[str, Budget, Callable[[], object], Callable[[], object]]]:
    """(name, budget, convcalc call, torch call) for one dtype; inputs built once."""
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, SIZE, SIZE)).astype(dtype)
    w = rng.standard_normal((C, C, 3, 3)).astype(dtype)
    g = rng.standard_normal((N, C, SIZE, SIZE)).astype(dtype)
    xt, wt, gt = (torch.from_numpy(v) for v in (x, w, g))

    def backward(f: Callable[..., Any], grad: Any, *tensors: Any, **kw: Any) -> Callable[[], object]:
        def run() -> None:
            leaves = [t.clone().requires_grad_() for t in tensors]
            f(*leaves, **kw).backward(grad)
        return run

    cases = [
        ("conv2d forward", FORWARD, lambda: F.conv2d(x, w, padding=1), lambda: tf.conv2d(xt, wt, padding=1)),
        ("conv2d backward", BACKWARD, lambda: F.conv2d_backward(g, x, w, padding=1),
         backward(tf.conv2d, gt, xt, wt, padding=1)),
        ("conv_transpose2d forward", FORWARD, lambda: F.conv_transpose2d(x, w, padding=1),
         lambda: tf.conv_transpose2d(xt, wt, padding=1)),
        ("conv_transpose2d backward", BACKWARD, lambda: F.conv_transpose2d_backward(g, x, w, padding=1),
         backward(tf.conv_transpose2d, gt, xt, wt, padding=1)),
    ]
    if dtype is np.float64:  # issue 18: BatchNorm2d in training, forward then backward (budget 2×)
        gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
        gt_, bt_ = torch.from_numpy(gamma), torch.from_numpy(beta)

        def bn_ours() -> None:
            rm, rv = np.zeros(C), np.ones(C)
            F.batch_norm(x, rm, rv, gamma, beta, True, 0.1, 1e-5)
            F.batch_norm_backward(g, x, None, None, gamma, beta, True, 0.1, 1e-5)

        def bn_torch() -> None:
            leaves = [t.clone().requires_grad_() for t in (xt, gt_, bt_)]
            tf.batch_norm(leaves[0], torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64),
                          leaves[1], leaves[2], True, 0.1, 1e-5).backward(gt)

        cases.append(("batch_norm2d forward+backward", BACKWARD, bn_ours, bn_torch))
    for label, k, s, p in POOLS:
        o = (SIZE + 2 * p - k) // s + 1
        gp = rng.standard_normal((N, C, o, o)).astype(dtype)
        gpt = torch.from_numpy(gp)
        cases += [
            (f"max_pool2d {label} forward", FORWARD, lambda k=k, s=s, p=p: F.max_pool2d(x, k, s, p),
             lambda k=k, s=s, p=p: tf.max_pool2d(xt, k, s, p)),
            (f"max_pool2d {label} backward", BACKWARD, lambda k=k, s=s, p=p, gp=gp: F.max_pool2d_backward(gp, x, k, s, p),
             backward(tf.max_pool2d, gpt, xt, kernel_size=k, stride=s, padding=p)),
            (f"avg_pool2d {label} forward", FORWARD, lambda k=k, s=s, p=p: F.avg_pool2d(x, k, s, p),
             lambda k=k, s=s, p=p: tf.avg_pool2d(xt, k, s, p)),
            (f"avg_pool2d {label} backward", BACKWARD, lambda k=k, s=s, p=p, gp=gp: F.avg_pool2d_backward(gp, x, k, s, p),
             backward(tf.avg_pool2d, gpt, xt, kernel_size=k, stride=s, padding=p)),
        ]
    return cases


def median_pair(ours: Callable[[], object], theirs: Callable[[], object], runs: int,
                settle: float) -> tuple[float, float]:
    """Median seconds of each side, calls alternating (one warm-up each first), each call after
    ``settle`` seconds of pause: torch's OpenMP threads keep spinning for about 10 ms after a
    call (libgomp's default wait policy), which slows whatever runs next on the same cores."""
    ours(), theirs()
    a, b = [], []
    for _ in range(runs):
        for fn, times in ((ours, a), (theirs, b)):
            time.sleep(settle)
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def probe_memory(case: str, dtype_name: str, side: str) -> None:
    """In a fresh process: peak RSS growth (MiB) of a first and a second call, printed on stdout."""
    import gc

    import torch

    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    for name, _, ours, theirs in make_cases(getattr(np, dtype_name), torch):
        if name == case:
            fn = ours if side == "convcalc" else theirs
            growth = []
            for _ in range(2):
                gc.collect()
                Path("/proc/self/clear_refs").write_text("5", encoding="utf-8")  # VmHWM := VmRSS
                before = _status_kib("VmRSS")
                result = fn()
                growth.append((_status_kib("VmHWM") - before) / 1024)
                del result
            print(" ".join(f"{g:.0f}" for g in growth))
            return
    raise SystemExit(f"no case {case!r}")


def peak_mib(case: str, dtype_name: str, side: str) -> str:
    """'first/second' call's peak growth. glibc is told to mmap every block of 64 KiB or more,
    so freed memory leaves the process at once on both sides and RSS tracks live memory."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    cmd = [sys.executable, __file__, "--probe", case, dtype_name, side]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    return "/".join(out.stdout.split()) if out.returncode == 0 and out.stdout.strip() else "?"


MEMORY_CASES = ("conv2d forward", "conv2d backward", "conv_transpose2d forward", "conv_transpose2d backward")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--settle", type=float, default=0, help="pause before each timed call, ms (0: none)")
    ap.add_argument("--only", default="", help="run only cases whose name contains this")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    unset = "OMP_WAIT_POLICY" not in os.environ  # a policy the caller set is kept
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see the module's docstring
    if (os.environ.get("OPENBLAS_NUM_THREADS") != str(a.threads) or unset) and not a.probe:
        os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)  # OpenBLAS and OpenMP read these only at start-up
        os.execv(sys.executable, [sys.executable, __file__, *sys.argv[1:]])
    if not a.probe:
        os.environ["CONVCALC_THREADS"] = str(a.threads)
    if a.probe:
        probe_memory(*a.probe)
        return
    import torch

    torch.set_num_threads(a.threads)
    print(f"numpy {np.__version__} (OpenBLAS threads {blas_threads()}), convcalc pooling threads "
          f"{limits.threads()}, torch {torch.__version__} (threads {torch.get_num_threads()}); "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; median of {a.runs} alternating calls, "
          f"each after a {a.settle:g} ms pause")
    print(f"N={N}, C={C}→{C}, {SIZE}×{SIZE}, 3×3, padding 1; pools 3×3 s2 p1 and 2×2 s2")
    print(f"{'case':38} {'convcalc':>9} {'torch':>9} {'ratio':>7} {'budget':>7}")
    over = []
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        for case, budget, ours, theirs in make_cases(dtype, torch):
            if a.only not in case:
                continue
            t_ours, t_theirs = median_pair(ours, theirs, a.runs, a.settle / 1000)
            limit = budget[0] if dtype is np.float64 else budget[1]
            ratio = t_ours / t_theirs
            mark = "" if ratio <= limit else "  OVER"
            if mark:
                over.append(f"{case} {name}")
            print(f"{case + ' ' + name:38} {t_ours * 1e3:7.1f}ms {t_theirs * 1e3:7.1f}ms {ratio:6.2f}× "
                  f"{'≤' + str(limit) + '×':>7}{mark}", flush=True)
    print("over budget: " + (", ".join(over) if over else "none"))
    if a.no_memory:
        return
    print("\npeak extra memory, MiB, first/second call in a fresh process (peak RSS growth, result included)")
    print(f"{'case':38} {'convcalc':>9} {'torch':>9}")
    for dtype_name in ("float64", "float32"):
        for case in MEMORY_CASES:
            if a.only in case:
                print(f"{case + ' ' + dtype_name:38} {peak_mib(case, dtype_name, 'convcalc'):>9} "
                      f"{peak_mib(case, dtype_name, 'torch'):>9}", flush=True)


if __name__ == "__main__":
    main()
