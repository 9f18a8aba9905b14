"""Work a laptop cannot do is refused up front, with the estimate and the limit.

The limits are settings: environment variables with sane defaults, so a user with a bigger
machine (or more patience) can raise them.
"""

from __future__ import annotations

import math
import os
import re

from convcalc.errors import ConvcalcError
from convcalc.numbers import Kind

# Multiply-adds: float64/int64 run through BLAS-like kernels at ~1e9/s here; exact Python
# ints and Fractions go through object arithmetic, about a thousand times slower (a Fraction
# multiply-add ~3 µs here: the limit is a few seconds of it).
DEFAULT_MAX_MACS = {Kind.FLOAT: 20_000_000_000, Kind.INT: 5_000_000_000, Kind.RATIONAL: 2_000_000,
                    Kind.SYMBOLIC: 8_000}  # SymPy: a product ~50 µs, a cell of n terms ~n² µs
DEFAULT_MAX_BYTES = 4 * 2**30
UNLIMITED = 2**63 - 1  # a setting of "inf", or of any number beyond this
MAX_THREADS = 64


def _setting(name: str, default: int) -> int:
    """A positive whole-number setting from the environment: "inf" (or any number too big to
    matter) means no limit; zero and negative numbers mean 1."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if re.fullmatch(r"\+?\d{1,4000}", text):
        return max(1, min(int(text), UNLIMITED))
    try:
        value = float(text)
    except ValueError:
        raise ConvcalcError(f"must be a number, got {raw[:40]!r}", name) from None
    if math.isnan(value):
        raise ConvcalcError("must be a number, got NaN", name)
    return 1 if value < 1 else UNLIMITED if value >= UNLIMITED else int(value)


def max_macs(kind: Kind) -> int:
    return _setting("CONVCALC_MAX_MACS", DEFAULT_MAX_MACS[kind])


def threads() -> int:
    """Threads the core's float pooling may use: ``CONVCALC_THREADS``, else the CPUs this process
    may run on (1 means no thread pool at all)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(MAX_THREADS, _setting("CONVCALC_THREADS", cpus))


def check_work(macs: int, kind: Kind, what: str, exact_big_ints: bool = False) -> None:
    """Refuse ``macs`` multiply-adds over the limit for this number kind."""
    limit = max_macs(Kind.RATIONAL if exact_big_ints and kind is not Kind.SYMBOLIC else kind)
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
