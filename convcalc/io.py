"""Reading matrices and tensors in every input form.

A file (.csv/.txt, .npy, .json), ``-`` for standard input, or inline text such as
``"4 5 2; 3 3 2"`` or ``"[[4,5],[3,3]]"``. Entries may be integers, decimals or fractions.
Every problem is reported as a ConvcalcError naming the flag, file, row and column.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import sys
import tokenize
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from convcalc import paths
from convcalc.errors import ConvcalcError
from convcalc.io_forms import FORMS, normalized, npz_array_path, npz_member, without_header
from convcalc.numbers import Array, Written

MAX_ENTRY_CHARS = 40
MAX_ENTRIES = 10_000_000  # a .npy file
MAX_TEXT_ENTRIES = 1_000_000  # text (inline, .csv/.txt/.json, stdin): each number is parsed, ~2 µs apiece
MAX_TEXT_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 8
_FILE_SUFFIXES = (".csv", ".txt", ".tsv", ".npy", ".npz", ".json")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?\d+/[+-]?\d+$", re.ASCII)  # "١٢" is no number
_CELL = re.compile(r"[^,\t ]+")
_FILE_NAME = re.compile(r"[\w\-~ ]+\.[A-Za-z][A-Za-z0-9]{0,4}")  # one backtracking run: linear in the length
_JSON_TOKEN = re.compile(r"\[|\]|,|[^\s\[\],]+")
_TOO_MANY = f"has more than {MAX_TEXT_ENTRIES} numbers, the most a text may hold (use a .npy file for more)"


class _NotANumber(ValueError):
    """A cell that is not a number; the caller adds where it is."""


class _HasLetters(Exception):
    """A cell with a letter in it: the text is a matrix of letters, read by convcalc.symbolic."""


_LETTER = re.compile(r"[A-Za-z_]")


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
            text_in = sys.stdin.read(MAX_TEXT_BYTES + 1)  # a cap on what is read: /dev/zero ends here
        except (OSError, UnicodeDecodeError) as e:
            raise ConvcalcError(f"cannot read standard input ({e})", flag) from None
        if len(text_in) > MAX_TEXT_BYTES:  # never parse a silently cut-off part of it
            raise ConvcalcError(f"standard input is larger than {MAX_TEXT_BYTES // 2**20} MiB (use a .npy file)", flag)
        return parse_text(text_in, f"{flag} (stdin)", exact)
    member = npz_member(text)
    if member is not None and not _is_file(text):
        path = paths.check_inside(member[0], flag)
        if not _is_file(member[0]):
            raise ConvcalcError(f"no such file: {member[0]}", flag)
        return _read_npz(path, member[1], f"{flag} ({text})")
    if _looks_like_path(text):
        path = paths.check_inside(text, flag)  # inside a problem file: only its own folder
        if not _is_file(text):
            raise ConvcalcError(f"no such file: {text}", flag)
        return _read_file(path, f"{flag} ({text})", exact)
    return parse_text(text, flag, exact)


def _is_file(text: str) -> bool:
    """Something that is not a folder is there (a FIFO or a device too: reading refuses those)."""
    try:
        path = paths.locate(text)
        return path.exists() and not path.is_dir()
    except (OSError, ValueError):  # a name too long for the OS, or with a NUL byte
        return False


def _looks_like_path(text: str) -> bool:
    if "\n" in text or ";" in text or text.startswith("["):
        return False
    if _is_file(text):
        return True
    if re.fullmatch(r"[-+0-9./eE\s,\u2212]+", text):
        return False  # numbers such as "1/3 2" are inline text, not a path
    # a name with a file's ending (data.mat, A.CSV): a missing file, not a matrix of one bad number
    return text.lower().endswith(_FILE_SUFFIXES) or "/" in text or (_FILE_NAME.fullmatch(text[:256]) is not None \
        and len(text) <= 255 and any(ch.isalpha() for ch in text.rpartition(".")[0]))


def _read_file(path: Path, where: str, exact: bool) -> Array:
    if path.suffix.lower() == ".npy":
        return _read_npy(path, where)
    if path.suffix.lower() == ".npz":
        return _read_npz(path, None, where)
    text = without_header(paths.read_text(path, MAX_TEXT_BYTES, where, "text file (use .npy for more)"),
                          lambda c: _NUMBER.match(c.strip()) is not None)
    if path.suffix.lower() == ".json":
        return _numbers_or_letters(text.strip(), where, exact, json_only=True)
    return parse_text(text, where, exact)


# How NumPy's .npy header reader reports a malformed header: it parses the header text with
# ast.literal_eval and, failing that, tokenize; a hostile header reaches each of these.
_NPY_HEADER_ERRORS = (ValueError, SyntaxError, OverflowError, MemoryError, RecursionError, tokenize.TokenError,
                      EOFError, OSError)


def _check_npy_header(f: BinaryIO, where: str) -> None:
    """Check the shape and dtype a .npy file declares before NumPy reads any data."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy warns about Python 2 headers it had to repair
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ConvcalcError(f".npy format version {version[0]}.{version[1]} is not supported", where)
    except _NPY_HEADER_ERRORS as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConvcalcError(f"not a readable .npy file ({message[:200]})", where) from None
    if any(n < 0 for n in shape):
        raise ConvcalcError(f"the header's shape {shape} has a negative size", where)
    size = math.prod(shape)
    if size > MAX_ENTRIES:
        raise ConvcalcError(f"has {size} entries; at most {MAX_ENTRIES}", where)
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise ConvcalcError(f"a .npy file must hold a numeric array, not {str(dtype)[:40]}", where)


def _read_npy(path: Path, where: str) -> Array:
    # the whole file, capped as it is read (16-byte entries at most, and a header)
    data = paths.read_bytes(path, 16 * MAX_ENTRIES + 2**20, where, ".npy file")
    _check_npy_header(io.BytesIO(data), where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the Python 2 header warning again: exit 2 is one line, 0 none
            a = np.asarray(np.load(io.BytesIO(data), allow_pickle=False))
    except (ValueError, OSError, EOFError) as e:
        raise ConvcalcError(f"not a readable .npy file ({str(e)[:200]})", where) from None
    return _checked_array(a, where)


def _read_npz(path: Path, name: str | None, where: str) -> Array:
    """One array of a .npz archive: its header checked first, then read (never unpickled)."""
    archive, member = npz_array_path(path, name, where)
    with archive:
        try:
            with archive.open(member) as f:
                _check_npy_header(f, where)
            with archive.open(member) as f:
                a = np.asarray(np.lib.format.read_array(f, allow_pickle=False))
        except (ValueError, OSError, EOFError, KeyError) as e:
            raise ConvcalcError(f"not a readable .npz member ({str(e)[:200]})", where) from None
    return _checked_array(a, where)


def _checked_array(a: Array, where: str) -> Array:
    if a.size == 0:
        raise ConvcalcError("is empty", where)
    if a.dtype.kind == "f":
        a = a.astype(np.float64)  # a long double beyond float64 becomes inf here, and is refused
        if not np.all(np.isfinite(a)):
            raise ConvcalcError("contains NaN or infinity (or a number beyond float64)", where)
        return a
    if a.dtype.kind == "u" and int(a.max()) > np.iinfo(np.int64).max:
        return a.astype(object)  # Python ints: a uint64 beyond int64 must not wrap to a negative number
    return a.astype(np.int64)


def parse_text(text: str, where: str, exact: bool = False) -> Array:
    """Inline or file text: JSON if it starts with ``[``, else rows and 2-D slices.

    At most MAX_TEXT_ENTRIES numbers: more is refused as soon as they are counted, before
    they are parsed, so a huge text costs no more than the limit.
    """
    stripped = normalized(text).strip()
    if not stripped:
        raise ConvcalcError("is empty", where)
    return _numbers_or_letters(stripped, where, exact)


def _numbers_or_letters(text: str, where: str, exact: bool, json_only: bool = False) -> Array:
    try:
        return _parse_json(text, where, exact) if json_only else _parse_numbers(text, where, exact)
    except _HasLetters:  # only now is SymPy imported: numeric matrices never pay for it
        from convcalc.symbolic.matrix import read_symbolic

        return read_symbolic(text, where)


def _parse_numbers(stripped: str, where: str, exact: bool) -> Array:
    if stripped.startswith("["):
        return _parse_json(stripped, where, exact)
    slices = split_slices(stripped)
    if not slices:
        raise ConvcalcError("is empty (no rows with numbers)", where)
    budget = [MAX_TEXT_ENTRIES]
    parsed = [_parse_rows(rows, where, budget, exact) for rows in slices]
    widths = {len(s[0]) for s in parsed}
    heights = {len(s) for s in parsed}
    if len(parsed) > 1 and (len(widths) > 1 or len(heights) > 1):
        raise ConvcalcError("the 2-D slices separated by blank lines differ in shape", where)
    entries = [e for s in parsed for row in s for e in row]
    shape = (len(parsed[0]), len(parsed[0][0])) if len(parsed) == 1 else (len(parsed), len(parsed[0]), len(parsed[0][0]))
    return _to_array(entries, shape, exact, where)


def split_slices(text: str) -> list[list[tuple[int, str]]]:
    """Rows (with 1-based line numbers) grouped into 2-D slices at blank lines."""
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) == 1 and ";" in lines[0]:
        lines = lines[0].split(";")
        if lines and not lines[-1].strip():
            lines.pop()
    slices: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        content = line.split("#", 1)[0].strip()
        if content:
            current.append((number, content))
        elif current:
            slices.append(current)
            current = []
    if current:
        slices.append(current)
    return slices


def _cells(content: str, budget: list[int], where: str) -> list[str]:
    """The cells of one row, counted against ``budget`` (numbers still allowed) before parsing."""
    if (len(content) + 1) // 2 <= budget[0]:  # cannot hold more cells than that: split at C speed
        cells = [c for c in re.split(r"[,\t ]+", content) if c]
    else:  # a huge row: take one more cell than allowed, and stop there
        cells = [m.group() for m in itertools.islice(_CELL.finditer(content), budget[0] + 1)]
    budget[0] -= len(cells)
    if budget[0] < 0:
        raise ConvcalcError(_TOO_MANY, where)
    return cells


def _parse_rows(rows: list[tuple[int, str]], where: str, budget: list[int],
                exact: bool = False) -> list[list[Fraction | int | float]]:
    out: list[list[Fraction | int | float]] = []
    entry = _written_entry if exact else _entry
    for number, content in rows:
        cells = _cells(content, budget, where)
        try:
            out.append([entry(c) for c in cells])
        except _NotANumber as e:
            col = next(i for i, c in enumerate(cells, 1) if _is_bad(c))
            raise ConvcalcError(str(e), f"{where}: row {number}, column {col}") from None
        if len(out[-1]) != len(out[0]):
            raise ConvcalcError(
                f"row {number} has {len(out[-1])} entries but row {rows[0][0]} has {len(out[0])} (ragged rows)", where)
    return out


def _is_bad(cell: str) -> bool:
    try:
        _entry(cell)
    except _NotANumber:
        return True
    return False


def parse_entry(cell: str, where: str) -> Fraction | float:
    """One number: ``4``, ``-2.5``, ``1e-3``, ``1/3``. Decimals come back as float."""
    try:
        value = _entry(cell)
    except _NotANumber as e:
        raise ConvcalcError(str(e), where) from None
    except _HasLetters:
        raise ConvcalcError(f"{cell!r} is not a number", where) from None
    return Fraction(value) if isinstance(value, int) else value


def _entry(cell: str) -> Fraction | int | float:
    """``parse_entry`` without the location, and plain integers as ``int`` (the common case, fast)."""
    body = cell[1:] if cell[:1] in ("+", "-") else cell
    if len(body) <= 18 and body.isascii() and body.isdecimal():
        return int(cell)
    s = cell.strip().replace("\u2212", "-")
    if len(s) > MAX_ENTRY_CHARS and _LETTER.search(s) and s.lower().lstrip("+-") not in ("nan", "inf", "infinity"):
        raise _HasLetters(s)  # an expression: convcalc.symbolic bounds its length
    if len(s) > MAX_ENTRY_CHARS:
        raise _NotANumber(f"number too long ({len(s)} characters; at most {MAX_ENTRY_CHARS})")
    if s.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise _NotANumber(f"{cell!r} is not allowed (NaN and infinity have no place in a worked solution)")
    if not _NUMBER.match(s):
        if _LETTER.search(s):
            raise _HasLetters(s)
        raise _NotANumber(f"{cell!r} is not a number ({FORMS})")
    if "/" in s:
        num, den = s.split("/")
        if int(den) == 0:
            raise _NotANumber(f"{cell!r} divides by zero")
        return Fraction(int(num), int(den))
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s)
    value = float(s)
    if not math.isfinite(value):
        raise _NotANumber(f"{cell!r} is out of range")
    if value == 0 and any(c in "123456789" for c in s.lower().partition("e")[0]):
        raise _NotANumber(f"{cell!r} underflows to 0 in float64 (the smallest is about 4.9e-324)")
    return value


def _written_entry(cell: str) -> Fraction | int | float:
    """``_entry`` for an answer: a decimal keeps the text typed (:class:`Written`), so that it is
    judged at the precision written and shown back as typed."""
    value = _entry(cell)
    if isinstance(value, float):
        written = Written(cell.strip().replace("\u2212", "-"))
        # beyond float64's reach (1e-999): the float it reads as, as before, not a 1000-digit fraction
        return written if value != 0 or written == 0 else Fraction(value)
    return value


def _to_array(entries: list[Any], shape: tuple[int, ...], exact: bool, where: str) -> Array:
    if not entries:
        raise ConvcalcError("is empty", where)
    if exact and any(isinstance(e, Written) for e in entries):
        arr = np.empty(len(entries), dtype=object)
        arr[:] = [e if isinstance(e, Written) or e.denominator != 1 else int(e) for e in entries]
        return arr.reshape(shape)
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
    """Nested lists like ``[[4, 5], [3, 1/3]]`` (JSON, plus fractions), parsed iteratively.

    Depth, lists, empty lists, missing values and the count of numbers are refused as they
    are met, so a hostile text (10⁵ brackets, 10⁷ commas) stops at once. Commas between
    numbers may be left out (NumPy prints ``[[1 2] [3 4]]``).
    """
    if text.count("[") > 2 * MAX_TEXT_ENTRIES:
        raise ConvcalcError(f"has more than {2 * MAX_TEXT_ENTRIES} lists", where)
    root: list[Any] = []
    stack: list[list[Any]] = [root]
    budget = MAX_TEXT_ENTRIES
    previous = ""
    for i, m in enumerate(_JSON_TOKEN.finditer(text), 1):
        tok = m.group()
        if tok == "[":
            if len(stack) > MAX_JSON_DEPTH:
                raise ConvcalcError(f"nested deeper than {MAX_JSON_DEPTH} levels", where)
            child: list[Any] = []
            stack[-1].append(child)
            stack.append(child)
        elif tok == "]":
            if len(stack) == 1:
                raise ConvcalcError(f"unbalanced ']' (token {i})", where)
            if previous == "[":
                raise ConvcalcError(f"empty list (token {i})", where)
            stack.pop()
        elif tok == ",":
            if previous in ("", "[", ","):
                raise ConvcalcError(f"a value is missing before ',' (token {i})", where)
        else:
            budget -= 1
            if budget < 0:
                raise ConvcalcError(_TOO_MANY, where)
            stack[-1].append(tok.strip('"'))
        previous = tok if tok in ("[", "]", ",") else "0"
    if len(stack) != 1:
        raise ConvcalcError("unbalanced '[': a list is not closed", where)
    if len(root) != 1 or not isinstance(root[0], list):
        raise ConvcalcError("expected one bracketed list such as [[1, 2], [3, 4]]", where)
    entries: list[Any] = []
    shape = _nested_shape(root[0], where, entries, path="", exact=exact)
    return _to_array(entries, shape, exact, where)


def _nested_shape(node: list[Any], where: str, entries: list[Any], path: str,
                  exact: bool = False) -> tuple[int, ...]:
    """The shape of a nested list (every item a list of one shape, or every item a number)."""
    if not node:
        raise ConvcalcError(f"empty list at {path or 'top level'}", where)
    lists = [isinstance(x, list) for x in node]
    if not all(lists) and any(lists):
        bad = next(i for i, is_list in enumerate(lists) if is_list != lists[0])
        raise ConvcalcError(f"ragged: {path}[{bad}] has a different shape than {path}[0]", where)
    if not lists[0]:  # a list of numbers (the bulk of the work): no location built per number
        try:
            entries += [(_written_entry if exact else _entry)(x) for x in node]
        except _NotANumber as e:
            bad = next(i for i, x in enumerate(node) if _is_bad(x))
            raise ConvcalcError(str(e), f"{where}: at {path}[{bad}]") from None
        return (len(node),)
    shapes = [_nested_shape(x, where, entries, f"{path}[{i}]", exact) for i, x in enumerate(node)]
    if any(s != shapes[0] for s in shapes):
        bad = next(i for i, s in enumerate(shapes) if s != shapes[0])
        raise ConvcalcError(f"ragged: {path}[{bad}] has a different shape than {path}[0]", where)
    return (len(node), *shapes[0])
