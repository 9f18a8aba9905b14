"""A word when a float result holds ±inf or NaN, shown as PyTorch would compute it.

Inputs are finite (``convcalc.io`` refuses NaN and infinity), so a non-finite result comes
from float arithmetic itself: a sum or product beyond the dtype's range overflows to ±inf,
and an undefined operation (inf − inf, 0·inf, a negative base to a fractional power in LP
pooling) gives NaN. PyTorch computes the same values in the same dtype, so they are shown,
not refused, and every command says so the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from convcalc.derive.records import Note


def nonfinite_note(results: Mapping[str, Any]) -> Note | None:
    """One warning naming, per float array in ``results``, its ±inf and NaN cells; None if none."""
    counts = []
    dtypes = set()
    any_inf = any_nan = False
    for name, value in results.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            continue
        inf, nan = int(np.isinf(value).sum()), int(np.isnan(value).sum())
        if inf or nan:
            dtypes.add(value.dtype)
            any_inf, any_nan = any_inf or bool(inf), any_nan or bool(nan)
            what = " and ".join(f"{n} {word}" for n, word in ((inf, "inf"), (nan, "nan")) if n)
            counts.append(f"{name} has {what} of {value.size}")
    if not counts:
        return None
    limit = " / ".join(f"±{float(np.finfo(d).max):.1e} in {d}" for d in sorted(dtypes, key=str))
    why = ([f"inf: beyond the float range ({limit})"] if any_inf else []) + \
        (["nan: undefined (inf − inf, 0·inf, a negative number to a fractional power)"] if any_nan else [])
    advice = "; scale the inputs down to stay in range" if any_inf else ""
    torch = ("Where a sum overflows with terms of both signs, the sign shown is the exact sum's; PyTorch's "
             "order of operations may give nan or the other infinity there (see the note under the result)"
             if results.get("order_dependent_cells") else "PyTorch gives the same in this dtype")
    return Note(f"Not every number is finite: {'; '.join(counts)} ({'; '.join(why)}). {torch}{advice}.", "warn")
