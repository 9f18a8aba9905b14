"""Writing a result to a file (``--output``), atomically (convcalc.atomic): a crash never leaves half a file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from convcalc.atomic import write_bytes
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array, Kind, fmt, is_symbolic, kind_of, normalize, to_json_list, to_json_value

SUFFIXES = (".npy", ".csv", ".txt", ".json")


def save(a: Array | Mapping[str, Array], target: str) -> None:
    """Write ``a`` to ``target`` (.npy, .csv or .json) via a temporary file and a rename.

    Several named arrays (``backprop expr``'s gradients) go into one JSON object; .npy and
    .csv hold one array, so they take a single name's.
    """
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConvcalcError(f"must end in {', '.join(SUFFIXES)}, got {target!r}", "--output")
    if isinstance(a, Mapping):
        if suffix != ".json" and len(a) != 1:
            raise ConvcalcError(f"{len(a)} results ({', '.join(a)}) need one .json file; .npy and .csv "
                                "hold one array", "--output")
        payload = (json.dumps({name: _json_value(np.asarray(v)) for name, v in a.items()}) + "\n").encode() \
            if suffix == ".json" else _encode(np.asarray(next(iter(a.values()))), suffix)
    else:
        payload = _encode(a, suffix)
    try:
        folder = path.parent.is_dir()
    except (OSError, ValueError):
        folder = False
    if not folder:
        raise ConvcalcError(f"no such folder: {path.parent}", "--output")
    try:
        is_folder = path.is_dir()
    except (OSError, ValueError):  # a name too long for the OS: writing it says so
        is_folder = False
    if is_folder:
        raise ConvcalcError(f"{target} is a folder", "--output")
    write_bytes(target, payload, "--output")


def _csv_cell(v: object) -> str:
    """A number as a person writes it; letters in SymPy's syntax without spaces (convcalc reads it back)."""
    return str(to_json_value(v)).replace(" ", "") if is_symbolic(normalize(v)) else fmt(v)


def _json_value(a: Array) -> Any:
    """Nested lists of numbers; with fractions, ``{"values": floats, "exact": "p/q" strings}``
    so a reader gets numbers and the exact values both."""
    if kind_of(a) is Kind.RATIONAL:
        return {"values": to_json_list(a), "exact": exact_strings_all(a)}
    return to_json_list(a)


def exact_strings_all(a: Array) -> Any:
    if not isinstance(a, np.ndarray) or a.ndim == 0:
        return fmt(a if not isinstance(a, np.ndarray) else a[()])
    return [exact_strings_all(a[i]) for i in range(a.shape[0])]


def _csv_number(v: Any) -> str:
    """A number other tools read: integers as integers, anything else as the shortest float that
    round-trips (7/9 → 0.7777777777777778), never ``7/9``."""
    n = normalize(v)
    return str(n) if isinstance(n, int) else repr(float(n))


def _encode(a: Array, suffix: str) -> bytes:
    if suffix == ".json":
        return (json.dumps(_json_value(a)) + "\n").encode()
    if suffix in (".csv", ".txt"):
        rows = a.reshape(-1, a.shape[-1]) if a.ndim > 1 else a[None]
        return "".join(",".join(_csv_cell(v) if is_symbolic(normalize(v)) else _csv_number(v) for v in row) + "\n"
                       for row in rows).encode()
    import io

    buf = io.BytesIO()
    kind = kind_of(a)
    if kind is Kind.SYMBOLIC:
        raise ConvcalcError("a .npy file holds numbers; a result in letters goes to .json or .csv", "--output")
    data = a.astype(np.float64) if kind is Kind.RATIONAL or (a.dtype == object and kind is Kind.FLOAT) else a
    if data.dtype == object:  # Python ints: into int64 when they fit; beyond it, not exactly
        limits = np.iinfo(np.int64)
        if not all(limits.min <= int(v) <= limits.max for v in data.flat):
            raise ConvcalcError("integers this large cannot be stored in .npy; use .json or .csv", "--output")
        data = data.astype(np.int64)
    np.save(buf, data, allow_pickle=False)
    return buf.getvalue()


def write_text(target: str, text: str, flag: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` whole or not at all (convcalc.atomic), as :func:`save` does."""
    shown = target if len(target) <= 80 else target[:60] + f"… ({len(target)} characters)"
    path = Path(target)
    try:
        folder, is_folder = path.parent.is_dir(), path.is_dir()
    except (OSError, ValueError):  # a name too long for the OS, a NUL byte: writing it says so
        folder, is_folder = True, False
    if not folder:
        raise ConvcalcError(f"no such folder: {path.parent if len(str(path.parent)) <= 80 else shown}", flag)
    if is_folder:
        raise ConvcalcError(f"{shown} is a folder", flag)
    try:
        write_bytes(target, text.encode("utf-8"), flag)
    except ConvcalcError as e:  # the message names the file: a long name shortened
        raise ConvcalcError(e.message.replace(target, shown), flag) from None
