"""Work on blocks of planes, on ``limits.threads()`` threads: the float pools' runner.

A block is a run of (n, c) planes about ``PLANE_BLOCK_BYTES`` big, so that the kernel's taps,
one NumPy pass each, re-read it from cache. The blocks write disjoint parts of a result and
NumPy releases the GIL in its loops, so they can run side by side.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from convcalc.limits import threads

if TYPE_CHECKING:
    from concurrent.futures import Executor

# Planes are pooled in runs of about this many input bytes, so the kernel's taps, one pass
# each, re-read the run from cache (L3; L2 here is 1 MiB per core) instead of from memory.
# Measured at issue 7's shape: 256 KiB and 512 KiB blocks are slower (each block costs ~20 µs
# of Python, which also holds the GIL the other threads wait for), 2 MiB the fastest on one
# thread and on two, 8 MiB slower again.
PLANE_BLOCK_BYTES = 2 * 2**20


def plane_blocks(planes: int, plane_bytes: int) -> list[slice]:
    """Runs of (n, c) planes of about PLANE_BLOCK_BYTES: every tap's pass then reads from cache."""
    step = max(1, PLANE_BLOCK_BYTES // max(1, plane_bytes))
    return [slice(i, min(planes, i + step)) for i in range(0, planes, step)]


_pools_lock = threading.Lock()
_pools: dict[tuple[int, int], Executor] = {}  # (process id, helper threads) → pool


def run_blocks(work: Callable[[slice], None], blocks: list[slice]) -> None:
    """``work(block)`` for every block, on ``limits.threads()`` threads when there is more than one
    block. The blocks write disjoint parts of the result, and NumPy releases the GIL in its loops.

    The calling thread works too, taking blocks from the same queue as the pool's threads: when
    a pool thread gets no core (the machine is busy), the caller simply does more of the blocks.
    """
    count = threads()
    queue = iter(blocks)  # next() on a list iterator is atomic under the GIL

    def drain() -> None:
        for block in queue:
            work(block)

    helpers = [executor(count - 1).submit(drain) for _ in range(min(count, len(blocks)) - 1)]
    try:
        drain()
    finally:
        errors = [helper.exception() for helper in helpers]  # waits for every helper
    for error in errors:
        if error is not None:
            raise error


def executor(count: int) -> Executor:
    """A shared pool of ``count`` helper threads, made on first use (importing this costs nothing).

    Keyed by process too: a forked child inherits the pool object but not its threads.
    """
    key = (os.getpid(), count)
    with _pools_lock:
        if key not in _pools:
            from concurrent.futures import ThreadPoolExecutor

            _pools[key] = ThreadPoolExecutor(count, thread_name_prefix="convcalc-pool")
        return _pools[key]
