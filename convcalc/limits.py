"""Work a laptop cannot do is refused up front, with the estimate and the limit.

The limits are settings: environment variables with sane defaults, so a user with a bigger
machine (or more patience) can raise them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from convcalc.errors import ConvcalcError
from convcalc.numbers import Kind

# Multiply-adds: float64/int64 run through BLAS-like kernels at ~1e9/s here; exact Python
# ints and Fractions go through object arithmetic, about a thousand times slower (a Fraction
# multiply-add ~3 µs here: the limit is a few seconds of it).
DEFAULT_MAX_MACS = {Kind.FLOAT: 20_000_000_000, Kind.INT: 5_000_000_000, Kind.RATIONAL: 2_000_000,
                    Kind.SYMBOLIC: 8_000}  # SymPy: a product ~50 µs, a cell of n terms ~n² µs
DEFAULT_MAX_BYTES = 4 * 2**30
# Cells of one result (or padded input) a worked solution is made for: 2²⁴ int64 cells are
# 128 MiB and about a second of NumPy; `--padding 11000` on a 1×1 input asks for 4.8·10⁸.
DEFAULT_MAX_CELLS = 2**24
# What one run may write as JSON (every cell of a result): about 10 MB/s here.
DEFAULT_MAX_OUTPUT_BYTES = 16 * 2**20
# Worked cells shown (--steps all): about 80 µs each as text here (a cell of up to 64 products),
# five times that into an --export page. The limit is in text-cell units (200×200 cells of a
# 3×3 kernel, 62 500 units, is about 4 s here).
DEFAULT_MAX_WORKED = 70_000
EXPORT_COST = 5
# Settings tried one by one (output-size --solve searches every value in range; ~10 µs each here).
DEFAULT_MAX_TRIES = 200_000
# Unit×tap pairs visited by exact receptive fields, over all layers and axes (~60 ns each here).
DEFAULT_MAX_PAIRS = 40_000_000
# Strided layers (convs, pools) worked in letters: ~60-90 ms of SymPy each here (sizes, the
# exactness conditions and the search for the smallest input); 40 take 2-4 s, 48 over 4 s, 150 over 10 s.
DEFAULT_MAX_LETTER_LAYERS = 40
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
    charge(macs / limit, gate=True)


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


# --- what a run renders, and the budget of a whole problem file ------------------------------

@dataclass
class Budget:
    """A dry run's estimate (``solve``/``check`` sum one over a problem file's problems): each
    time-limit check records its share (used / limit), and the check just before the heavy work
    ends the run (Estimated). Memory is not recorded: each problem gives its own back."""

    shares: list[float] = field(default_factory=list)


class Estimated(BaseException):  # a dry run's end, not an error
    """A dry run reached its first limit check: the estimate is recorded, the work not done."""


_format: ContextVar[tuple[str | None, bool]] = ContextVar("convcalc_format", default=(None, False))
_budget: ContextVar[Budget | None] = ContextVar("convcalc_budget", default=None)


@contextmanager
def rendering(fmt: str | None, export: bool) -> Iterator[None]:
    """The format a run writes (and whether to an --export page), for the output estimates."""
    token = _format.set((fmt, export))
    try:
        yield
    finally:
        _format.reset(token)


@contextmanager
def budget(b: Budget) -> Iterator[Budget]:
    token = _budget.set(b)
    try:
        yield b
    finally:
        _budget.reset(token)


def charge(share: float, gate: bool = False) -> None:
    """Record ``share`` of a time limit in a dry run's Budget, if one is open; a ``gate`` (the
    check before a command's heavy work: its multiply-adds, its exact fields) ends the dry run."""
    b = _budget.get()
    if b is None:
        return
    b.shares.append(share)
    if gate:
        raise Estimated


def _refuse(amount: str, limit: str, env: str, what: str, hint: str = "") -> ConvcalcError:
    return ConvcalcError(f"{what} needs about {amount}; the limit is {limit} (set {env} to raise it{hint})")


def check_cells(cells: int, what: str, arrays: int = 1) -> None:
    """Refuse a result (or padded input) of ``cells`` cells, made ``arrays`` times over (a
    forward pass and its gradients), past the cell limit; with --format json, also one whose
    JSON would pass the output limit (at least 3 bytes a cell: "0, ")."""
    limit = _setting("CONVCALC_MAX_CELLS", DEFAULT_MAX_CELLS)
    if arrays * cells > limit:
        amount = f"{cells:,} cells" if arrays == 1 else f"{arrays * cells:,} cells ({arrays} arrays of {cells:,})"
        raise _refuse(amount, f"{limit:,}", "CONVCALC_MAX_CELLS", what)
    fmt, _ = _format.get()
    if fmt == "json":
        out = _setting("CONVCALC_MAX_OUTPUT_BYTES", DEFAULT_MAX_OUTPUT_BYTES)
        if 3 * cells > out:
            raise _refuse(f"{3 * cells / 2**20:.3g} MiB of JSON at least ({cells:,} cells)",
                          f"{out / 2**20:.3g} MiB", "CONVCALC_MAX_OUTPUT_BYTES", what,
                          ", or write the result with --output FILE.npy")
    charge(arrays * cells / limit)


def check_worked(cells: int, terms: int, what: str) -> None:
    """Refuse showing more worked cells than the limit (``terms`` products each, 64 shown at most)."""
    fmt, export = _format.get()
    if fmt == "json":  # one object of results: no worked cells are written
        return
    cost = cells * (1 + min(terms, 64) / 16) * (EXPORT_COST if export else 1)
    limit = _setting("CONVCALC_MAX_WORKED", DEFAULT_MAX_WORKED)
    if cost > limit:
        size = cells * (60 + 10 * min(terms, 64))
        raise ConvcalcError(
            f"{what}: working {cells:,} cells of {terms} products each would write about {size / 2**20:.3g} MB"
            f"{' into the page' if export else ''} (cost {cost:,.0f}); the limit is {limit:,} "
            "(set CONVCALC_MAX_WORKED to raise it, or pick cells with --cell i,j or --steps N)", "--steps")
    charge(cost / limit)


def check_pairs(pairs: int, what: str) -> None:
    limit = _setting("CONVCALC_MAX_PAIRS", DEFAULT_MAX_PAIRS)
    if pairs > limit:
        raise _refuse(f"{pairs:,} unit/tap visits", f"{limit:,}", "CONVCALC_MAX_PAIRS", what)
    charge(pairs / limit, gate=True)


def check_tries(tries: int, what: str) -> None:
    limit = _setting("CONVCALC_MAX_TRIES", DEFAULT_MAX_TRIES)
    if tries > limit:
        raise _refuse(f"{tries:,} trials", f"{limit:,}", "CONVCALC_MAX_TRIES", what)
    charge(tries / limit, gate=True)


def check_letter_layers(layers: int, what: str) -> None:
    """Refuse a network in letters with more convs and pools than the limit (SymPy time grows
    with each)."""
    limit = _setting("CONVCALC_MAX_LETTER_LAYERS", DEFAULT_MAX_LETTER_LAYERS)
    if layers > limit:
        raise _refuse(f"{layers:,} convolution and pooling layers worked in letters", f"{limit:,}",
                      "CONVCALC_MAX_LETTER_LAYERS", what, ", or give the input shape in numbers")
