"""One JSON object on standard output: ``command``, the command's keys, ``settings``.

Numbers are JSON integers when integral, else floats; a non-integer rational gets an exact
``"p/q"`` string beside it (``<key>_exact``). The steps are not walked: JSON is the answer.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any, TextIO

import numpy as np

from convcalc.derive.records import Solution
from convcalc.numbers import Kind, exact_strings, is_symbolic, kind_of, normalize, to_json_list, to_json_value


def payload(sol: Solution) -> dict[str, Any]:
    out: dict[str, Any] = {"command": sol.command}
    for key, value in sol.data.items():
        out[key] = jsonable(value)
        exact = _exact(value)
        if exact is not None:
            out[f"{key}_exact"] = exact
    if any(_symbolic(v) for v in sol.data.values()):
        out["symbolic"] = True  # cells are SymPy-syntax strings that SymPy parses back
    out["settings"] = jsonable(sol.settings)
    return out


def _symbolic(v: Any) -> bool:
    if isinstance(v, np.ndarray):
        return v.dtype == object and v.size > 0 and kind_of(v) is Kind.SYMBOLIC
    if isinstance(v, dict):
        return any(_symbolic(x) for x in v.values())
    return is_symbolic(v)


def render_json(sol: Solution, out: TextIO) -> None:
    # json.dumps, not json.dump: dump writes each of millions of pieces separately, in Python
    out.write(json.dumps(payload(sol), ensure_ascii=False) + "\n")


def jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return _json_array(v)
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        if all(type(x) is int for x in v):  # plain ints are JSON already (wrong_cells: millions of [i, j])
            return list(v)
        return [jsonable(x) for x in v]
    if isinstance(v, bool | np.bool_ | str) or v is None:
        return bool(v) if isinstance(v, np.bool_) else v
    if isinstance(v, int | float | Fraction | np.integer | np.floating):
        return to_json_value(v)
    return str(v)


def _json_array(a: np.ndarray) -> Any:
    """Nested lists of JSON numbers; integer and finite float arrays at NumPy's speed (``tolist``
    gives the same Python ints and floats as :func:`to_json_list`, which goes number by number)."""
    if a.dtype.kind in "iu":
        return a.tolist()
    if a.dtype.kind == "b":
        return a.astype(np.int64).tolist()
    if a.dtype.kind == "f" and np.isfinite(a).all():
        return a.astype(np.float64).tolist()
    if a.dtype == object and a.size and kind_of(a) is Kind.SYMBOLIC:
        return _symbolic_list(a)
    return to_json_list(a)


def _symbolic_list(a: np.ndarray) -> Any:
    """Cells of letters as SymPy-syntax strings; a fraction among them as "p/q" too (SymPy reads it back
    exactly), integers as JSON integers."""
    if a.ndim > 1:
        return [_symbolic_list(a[i]) for i in range(a.shape[0])]
    return [_symbolic_cell(x) for x in a.flat] if a.ndim == 1 else _symbolic_cell(a[()])


def _symbolic_cell(x: Any) -> Any:
    v = normalize(x)
    return f"{v.numerator}/{v.denominator}" if isinstance(v, Fraction) else to_json_value(v)


def _exact(v: Any) -> Any:
    if isinstance(v, np.ndarray) and v.dtype == object and v.size and kind_of(v) is Kind.RATIONAL:
        return exact_strings(v)
    if isinstance(v, Fraction):
        n = normalize(v)
        return f"{v.numerator}/{v.denominator}" if isinstance(n, Fraction) else None
    return None
