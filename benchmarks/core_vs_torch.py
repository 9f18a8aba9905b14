"""convcalc.functional against torch's CPU kernels at one shape, same threads, one run.

Issue 7's shape: N=16, C=64→64, 56×56, 3×3, padding 1. Prints medians and the ratio
convcalc/torch for forward and backward in float64 and float32. Needs torch installed.
Usage: ``python benchmarks/core_vs_torch.py [--n 16] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from convcalc import functional as F


def median_time(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; N={a.n}, C=64→64, 56×56, 3×3, padding 1")
    print(f"{'case':32} {'convcalc':>10} {'torch':>10} {'ratio':>7}")
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        x = rng.standard_normal((a.n, 64, 56, 56)).astype(dtype)
        w = rng.standard_normal((64, 64, 3, 3)).astype(dtype)
        g = rng.standard_normal((a.n, 64, 56, 56)).astype(dtype)
        xt, wt, gt = (torch.from_numpy(v) for v in (x, w, g))
        name = np.dtype(dtype).name
        ours = median_time(lambda: F.conv2d(x, w, padding=1), a.runs)
        theirs = median_time(lambda: torch.nn.functional.conv2d(xt, wt, padding=1), a.runs)
        print(f"{'conv2d forward ' + name:32} {ours * 1e3:8.0f}ms {theirs * 1e3:8.0f}ms {ours / theirs:6.2f}×")

        def torch_backward() -> None:
            xr, wr = xt.clone().requires_grad_(), wt.clone().requires_grad_()
            torch.nn.functional.conv2d(xr, wr, padding=1).backward(gt)

        ours = median_time(lambda: F.conv2d_backward(g, x, w, padding=1), a.runs)
        theirs = median_time(torch_backward, a.runs)
        print(f"{'conv2d backward ' + name:32} {ours * 1e3:8.0f}ms {theirs * 1e3:8.0f}ms {ours / theirs:6.2f}×")


if __name__ == "__main__":
    main()
