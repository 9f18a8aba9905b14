"""Work a laptop cannot do is refused up front, with the estimate and the limit.

The limits are settings: environment variables with sane defaults, so a user with a bigger
machine (or more patience) can raise them.
"""

from __future__ import annotations

import os

from convcalc.errors import ConvcalcError
from convcalc.numbers import Kind

# Multiply-adds: float64/int64 run through BLAS-like kernels at ~1e9/s here; exact Python
# ints and Fractions go through object arithmetic, about a thousand times slower.
DEFAULT_MAX_MACS = {Kind.FLOAT: 20_000_000_000, Kind.INT: 5_000_000_000, Kind.RATIONAL: 20_000_000}
DEFAULT_MAX_BYTES = 4 * 2**30


def _setting(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return max(1, int(float(raw)))
    except ValueError:
        raise ConvcalcError(f"must be a number, got {raw!r}", name) from None


def max_macs(kind: Kind) -> int:
    return _setting("CONVCALC_MAX_MACS", DEFAULT_MAX_MACS[kind])


def threads() -> int:
    """Threads the core's float pooling may use: ``CONVCALC_THREADS``, else the CPUs this process
    may run on (1 means no thread pool at all)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return _setting("CONVCALC_THREADS", cpus)


def check_work(macs: int, kind: Kind, what: str, exact_big_ints: bool = False) -> None:
    """Refuse ``macs`` multiply-adds over the limit for this number kind."""
    limit = max_macs(Kind.RATIONAL if exact_big_ints else kind)
    if macs > limit:
        raise ConvcalcError(
            f"{what} needs about {macs:.2g} multiply-adds; the limit is {limit:.2g} "
            f"(set CONVCALC_MAX_MACS to raise it)")


def check_memory(nbytes: int, what: str) -> None:
    limit = _setting("CONVCALC_MAX_BYTES", DEFAULT_MAX_BYTES)
    if nbytes > limit:
        raise ConvcalcError(
            f"{what} needs about {nbytes / 2**30:.3g} GiB of memory; the limit is {limit / 2**30:.3g} GiB "
            f"(set CONVCALC_MAX_BYTES to raise it)")


# The largest column (im2col) matrix the core builds at once. Convolution, its gradients and
# transposed convolution work in blocks of samples (or of output rows, when one sample is
# bigger) so that no column matrix exceeds this. It bounds a call's extra memory to about its
# output plus this; measured here (benchmarks/core_vs_torch.py), blocks of 4–16 MiB are as
# fast as whole-batch ones or faster (they stay in cache), and 8 MiB keeps the peak below
# torch's at issue 7's shape.
COLUMN_BUDGET_BYTES = 8 * 2**20
