"""Reading matrices and tensors in every input form (CONVENTIONS.md, Input).

A file (.csv/.txt, .npy, .json), ``-`` for standard input, or inline text such as
``"4 5 2; 3 3 2"`` or ``"[[4,5],[3,3]]"``. Entries may be integers, decimals or fractions.
Every problem is reported as a ConvcalcError naming the flag, file, row and column.
"""

from __future__ import annotations

import math
import re
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.numbers import Array

MAX_ENTRY_CHARS = 40
MAX_ENTRIES = 10_000_000
MAX_TEXT_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 8
_FILE_SUFFIXES = (".csv", ".txt", ".tsv", ".npy", ".json")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?\d+/[+-]?\d+$")


def read_tensor(source: str, flag: str, exact: bool = False) -> Array:
    """Read ``source`` (a path, ``-`` or inline text) into an array of one number kind.

    Integers give int64 (or Python ints if larger), fractions give ``Fraction`` objects,
    decimals give float64 — or ``Fraction`` too when ``exact`` (for answers, so that a
    claimed ``0.25`` is exactly 1/4).
    """
    text = source.strip()
    if not text:
        raise ConvcalcError("is empty", flag)
    if text == "-":
        if sys.stdin is None:
            raise ConvcalcError("no standard input to read", flag)
        try:
            text_in = sys.stdin.read(MAX_TEXT_BYTES)
        except (OSError, UnicodeDecodeError) as e:
            raise ConvcalcError(f"cannot read standard input ({e})", flag) from None
        return parse_text(text_in, f"{flag} (stdin)", exact)
    path = Path(text)
    if _looks_like_path(text):
        if not _is_file(text):
            raise ConvcalcError(f"no such file: {text}", flag)
        return _read_file(path, f"{flag} ({text})", exact)
    return parse_text(text, flag, exact)


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long for the OS, or with a NUL byte
        return False


def _looks_like_path(text: str) -> bool:
    if "\n" in text or ";" in text or text.startswith("["):
        return False
    if _is_file(text):
        return True
    if re.fullmatch(r"[-+0-9./eE\s,\u2212]+", text):
        return False  # numbers such as "1/3 2" are inline text, not a path
    return text.lower().endswith(_FILE_SUFFIXES) or "/" in text


def _read_file(path: Path, where: str, exact: bool) -> Array:
    if path.suffix.lower() == ".npy":
        return _read_npy(path, where)
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise ConvcalcError(f"text file larger than {MAX_TEXT_BYTES // 2**20} MiB (use .npy)", where)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConvcalcError("is not a text file (not UTF-8)", where) from None
    except OSError as e:
        raise ConvcalcError(f"cannot read: {e.strerror}", where) from None
    if path.suffix.lower() == ".json":
        return _parse_json(text, where, exact)
    return parse_text(text, where, exact)


def _read_npy(path: Path, where: str) -> Array:
    try:
        a = np.load(path, allow_pickle=False, mmap_mode="r")
        if a.size > MAX_ENTRIES:
            raise ConvcalcError(f"has {a.size} entries; at most {MAX_ENTRIES}", where)
        a = np.asarray(a)
    except (ValueError, OSError, EOFError) as e:
        raise ConvcalcError(f"not a readable .npy file ({e})", where) from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
        raise ConvcalcError("a .npy file must hold a numeric array", where)
    if a.size == 0:
        raise ConvcalcError("is empty", where)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise ConvcalcError("contains NaN or infinity", where)
        return a.astype(np.float64)
    if a.dtype.kind == "u" and int(a.max()) > np.iinfo(np.int64).max:
        return a.astype(object)  # Python ints: a uint64 beyond int64 must not wrap to a negative number
    return a.astype(np.int64)


def parse_text(text: str, where: str, exact: bool = False) -> Array:
    """Inline or file text: JSON if it starts with ``[``, else rows and 2-D slices."""
    stripped = text.strip()
    if not stripped:
        raise ConvcalcError("is empty", where)
    if stripped.startswith("["):
        return _parse_json(stripped, where, exact)
    slices = _split_slices(stripped)
    if not slices:
        raise ConvcalcError("is empty (no rows with numbers)", where)
    parsed = [_parse_rows(rows, where, first) for rows, first in slices]
    widths = {len(s[0]) for s in parsed}
    heights = {len(s) for s in parsed}
    if len(parsed) > 1 and (len(widths) > 1 or len(heights) > 1):
        raise ConvcalcError("the 2-D slices separated by blank lines differ in shape", where)
    entries = [e for s in parsed for row in s for e in row]
    shape = (len(parsed[0]), len(parsed[0][0])) if len(parsed) == 1 else (len(parsed), len(parsed[0]), len(parsed[0][0]))
    return _to_array(entries, shape, exact)


def _split_slices(text: str) -> list[tuple[list[tuple[int, str]], int]]:
    """Rows (with 1-based line numbers) grouped into 2-D slices at blank lines."""
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) == 1 and ";" in lines[0]:
        lines = lines[0].split(";")
        if lines and not lines[-1].strip():
            lines.pop()
    slices: list[tuple[list[tuple[int, str]], int]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        content = line.split("#", 1)[0].strip()
        if content:
            current.append((number, content))
        elif current:
            slices.append((current, current[0][0]))
            current = []
    if current:
        slices.append((current, current[0][0]))
    return slices


def _parse_rows(rows: list[tuple[int, str]], where: str, first: int) -> list[list[Fraction | float]]:
    out: list[list[Fraction | float]] = []
    for number, content in rows:
        cells = [c for c in re.split(r"[,\t ]+", content.strip(" ,")) if c]
        out.append([parse_entry(c, f"{where}: row {number}, column {col}") for col, c in enumerate(cells, 1)])
        if len(out[-1]) != len(out[0]):
            raise ConvcalcError(
                f"row {number} has {len(out[-1])} entries but row {rows[0][0]} has {len(out[0])} (ragged rows)", where)
    return out


def parse_entry(cell: str, where: str) -> Fraction | float:
    """One number: ``4``, ``-2.5``, ``1e-3``, ``1/3``. Decimals come back as float."""
    s = cell.strip().replace("\u2212", "-")
    if len(s) > MAX_ENTRY_CHARS:
        raise ConvcalcError(f"number too long ({len(s)} characters; at most {MAX_ENTRY_CHARS})", where)
    if s.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ConvcalcError(f"{cell!r} is not allowed (NaN and infinity have no place in a worked solution)", where)
    if not _NUMBER.match(s):
        raise ConvcalcError(f"{cell!r} is not a number", where)
    if "/" in s:
        num, den = s.split("/")
        if int(den) == 0:
            raise ConvcalcError(f"{cell!r} divides by zero", where)
        return Fraction(int(num), int(den))
    if re.fullmatch(r"[+-]?\d+", s):
        return Fraction(int(s))
    value = float(s)
    if not math.isfinite(value):
        raise ConvcalcError(f"{cell!r} is out of range", where)
    return value


def _to_array(entries: list[Any], shape: tuple[int, ...], exact: bool) -> Array:
    if not entries:
        raise ConvcalcError("is empty", "input")
    if len(entries) > MAX_ENTRIES:
        raise ConvcalcError(f"has {len(entries)} entries; at most {MAX_ENTRIES}", "input")
    if any(isinstance(e, float) for e in entries):
        if exact:
            entries = [Fraction(str(e)) if isinstance(e, float) else e for e in entries]
        else:
            return np.array([float(e) for e in entries], dtype=np.float64).reshape(shape)
    if all(e.denominator == 1 for e in entries):
        ints = [int(e) for e in entries]
        if all(-(2**62) < v < 2**62 for v in ints):
            return np.array(ints, dtype=np.int64).reshape(shape)
        out = np.empty(len(ints), dtype=object)
        out[:] = ints
        return out.reshape(shape)
    arr = np.empty(len(entries), dtype=object)
    arr[:] = [e.numerator if e.denominator == 1 else e for e in entries]
    return arr.reshape(shape)


def _parse_json(text: str, where: str, exact: bool) -> Array:
    """Nested lists like ``[[4, 5], [3, 1/3]]`` (JSON, plus fractions), parsed iteratively."""
    tokens = re.findall(r"\[|\]|,|[^\s\[\],]+", text)
    root: list[Any] = []
    stack: list[list[Any]] = [root]
    for i, tok in enumerate(tokens):
        if tok == "[":
            if len(stack) > MAX_JSON_DEPTH:
                raise ConvcalcError(f"nested deeper than {MAX_JSON_DEPTH} levels", where)
            child: list[Any] = []
            stack[-1].append(child)
            stack.append(child)
        elif tok == "]":
            if len(stack) == 1:
                raise ConvcalcError(f"unbalanced ']' (token {i + 1})", where)
            stack.pop()
        elif tok != ",":
            stack[-1].append(tok.strip('"'))
    if len(stack) != 1:
        raise ConvcalcError("unbalanced '[': a list is not closed", where)
    if len(root) != 1 or not isinstance(root[0], list):
        raise ConvcalcError("expected one bracketed list such as [[1, 2], [3, 4]]", where)
    entries: list[Any] = []
    shape = _nested_shape(root[0], where, entries, path="")
    return _to_array(entries, shape, exact)


def _nested_shape(node: Any, where: str, entries: list[Any], path: str) -> tuple[int, ...]:
    if isinstance(node, list):
        if not node:
            raise ConvcalcError(f"empty list at {path or 'top level'}", where)
        shapes = [_nested_shape(x, where, entries, f"{path}[{i}]") for i, x in enumerate(node)]
        if any(s != shapes[0] for s in shapes):
            bad = next(i for i, s in enumerate(shapes) if s != shapes[0])
            raise ConvcalcError(f"ragged: {path}[{bad}] has a different shape than {path}[0]", where)
        return (len(node), *shapes[0])
    entries.append(parse_entry(node, f"{where}: at {path or 'top level'}"))
    return ()
