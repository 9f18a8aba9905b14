"""Reading a matrix whose entries are letters or expressions of them.

``convcalc.io`` hands a text here as soon as one of its cells holds a letter, so numeric
matrices never import SymPy. Two forms:

- rows of entries, as for numbers: ``"a b c; d e f"``, ``"w11 w12; w21 w22"``, ``"1/k^2 0; 0 1"``
  (a space separates entries: ``a b`` is two entries, ``2a`` or ``2*a`` one), or nested
  lists ``[[a, b], [c, d]]``; each entry goes through convcalc's own allow-list parser;
- a matrix of named entries, ``X:4x4`` (also ``X:3x4x4`` for channels, ``x:5`` for a
  signal): entry (i, j) is the symbol ``X_i_j``, counted from 1, printed X₁₁.

Entries are real numbers (a letter in a matrix is a real number).
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.io import split_slices
from convcalc.numbers import Array
from convcalc.symbolic.cells import to_sympy
from convcalc.symbolic.parse import parse_expr, symbol

# A matrix of letters is worked cell by cell in SymPy, about a thousand times slower than
# numbers: this many entries (a 32×32 input) is the most one matrix may hold.
MAX_SYMBOLIC_ENTRIES = 1024
MAX_DEPTH = 4
_SHORTHAND = re.compile(r"^([A-Za-z]+)\s*:\s*(\d{1,6}(?:\s*[x×]\s*\d{1,6}){0,3})$")
_JSON_TOKEN = re.compile(r"\[|\]|,|[^\s\[\],]+")


def read_symbolic(text: str, where: str) -> Array:
    """The matrix of SymPy expressions ``text`` describes, as an object array."""
    m = _SHORTHAND.match(text.strip())
    if m:
        return named_matrix(m.group(1), tuple(int(n) for n in re.split(r"\s*[x×]\s*", m.group(2))), where)
    if ":" in text:
        raise ConvcalcError(f"{text.strip()[:40]!r}: a matrix of named entries is written like X:4x4", where)
    if text.lstrip().startswith("["):
        entries, shape = _nested(text, where)
    else:
        entries, shape = _rows(text, where)
    out = np.empty(len(entries), dtype=object)
    out[:] = [to_sympy(e) for e in entries]
    return out.reshape(shape)


def named_matrix(name: str, shape: tuple[int, ...], where: str) -> Array:
    """``X:4x4``: entry (i, j) is the real symbol X_i_j, indices from 1."""
    if any(n < 1 for n in shape):
        raise ConvcalcError(f"{name}:{'x'.join(map(str, shape))} has an empty axis", where)
    size = math.prod(shape)
    _check_count(size, where)
    out = np.empty(size, dtype=object)
    out[:] = [symbol(name + "".join(f"_{i + 1}" for i in idx), "real")
              for idx in itertools.product(*(range(n) for n in shape))]
    return out.reshape(shape)


def _check_count(n: int, where: str) -> None:
    if n > MAX_SYMBOLIC_ENTRIES:
        raise ConvcalcError(f"a matrix of letters has {n} entries; at most {MAX_SYMBOLIC_ENTRIES} "
                            "(each cell is worked in symbols)", where)


def _entry(cell: str, where: str) -> Any:
    if cell.lower().lstrip("+-").strip('"') in ("nan", "inf", "infinity"):
        raise ConvcalcError(f"{cell!r} is not allowed (NaN and infinity have no place in a worked solution)", where)
    return parse_expr(cell.replace("\u2212", "-"), domain="real", where=where)


def _rows(text: str, where: str) -> tuple[list[Any], tuple[int, ...]]:
    slices = split_slices(text)
    if not slices:
        raise ConvcalcError("is empty (no rows)", where)
    parsed: list[list[list[Any]]] = []
    count = 0
    for rows in slices:
        block = []
        for number, content in rows:
            cells = [c for c in re.split(r"[,\t ]+", content) if c]
            count += len(cells)
            _check_count(count, where)
            block.append([_entry(c, f"{where}: row {number}, column {col}") for col, c in enumerate(cells, 1)])
            if len(block[-1]) != len(block[0]):
                raise ConvcalcError(f"row {number} has {len(block[-1])} entries but row {rows[0][0]} has "
                                    f"{len(block[0])} (ragged rows)", where)
        parsed.append(block)
    if len({(len(b), len(b[0])) for b in parsed}) > 1:
        raise ConvcalcError("the 2-D slices separated by blank lines differ in shape", where)
    entries = [e for b in parsed for row in b for e in row]
    h, w = len(parsed[0]), len(parsed[0][0])
    return entries, ((h, w) if len(parsed) == 1 else (len(parsed), h, w))


def _nested(text: str, where: str) -> tuple[list[Any], tuple[int, ...]]:
    """``[[a, b], [c, d]]``: nested lists of entries, at most MAX_DEPTH deep."""
    root: list[Any] = []
    stack = [root]
    count = 0
    for tok in _JSON_TOKEN.findall(text):
        if tok == "[":
            if len(stack) > MAX_DEPTH:
                raise ConvcalcError(f"nested deeper than {MAX_DEPTH} levels", where)
            stack[-1].append([])
            stack.append(stack[-1][-1])
        elif tok == "]":
            if len(stack) == 1:
                raise ConvcalcError("unbalanced ']'", where)
            stack.pop()
        elif tok != ",":
            count += 1
            _check_count(count, where)
            stack[-1].append(_entry(tok.strip('"'), f"{where}: entry {count}"))
    if len(stack) != 1 or len(root) != 1 or not isinstance(root[0], list):
        raise ConvcalcError("expected one bracketed list such as [[a, b], [c, d]]", where)
    try:
        arr = np.array(root[0], dtype=object)
    except ValueError:
        arr = None
    if arr is None or arr.size == 0 or any(isinstance(x, list) for x in arr.flat):
        raise ConvcalcError("ragged or empty nested lists", where)
    return list(arr.flat), arr.shape


def indexed_taps(letter: str, shape: tuple[int, ...], base: int) -> Array:
    """Taps ``B[m,n]`` of a kernel named by a bare letter, indices counted from ``base``."""
    import sympy

    b = sympy.IndexedBase(letter)
    out = np.empty(shape, dtype=object)
    for tap in np.ndindex(shape):
        out[tap] = b[tuple(t + base for t in tap)]
    return out
