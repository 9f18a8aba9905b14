"""Big matrices are previewed, not printed whole: corners with ellipses (never a flood)."""

from __future__ import annotations

from typing import Any

from convcalc.numbers import Array

MAX_SHOWN = 12  # rows and columns shown in full; larger matrices show 5 + … + 5
EDGE = 5


def _keep(n: int) -> list[int | None]:
    if n <= MAX_SHOWN:
        return list(range(n))
    return [*range(EDGE), None, *range(n - EDGE, n)]


def preview(a: Array) -> list[list[tuple[tuple[int, ...] | None, Any]]]:
    """Rows of (index, value) pairs; ``None`` index marks an elided run (… in a row, ⋮ a row)."""
    rows = [a] if a.ndim == 1 else a
    nrows = 1 if a.ndim == 1 else a.shape[0]
    ncols = a.shape[-1]
    out = []
    for r in _keep(nrows):
        if r is None:
            out.append([(None, "⋮" if c is not None else "⋱") for c in _keep(ncols)])
            continue
        row = rows[r] if a.ndim > 1 else a
        out.append([((c,) if a.ndim == 1 else (r, c), row[c]) if c is not None else (None, "…")
                    for c in _keep(ncols)])
    return out


def is_truncated(a: Array) -> bool:
    return any(n > MAX_SHOWN for n in a.shape[-2:])
