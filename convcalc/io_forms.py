"""Matrices as people paste them, brought to convcalc's own text form before it is parsed
(``convcalc.io``): MATLAB ``[1 2; 3 4]``, LaTeX ``\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}``
or a bare ``1 & 2 \\\\ 3 & 4``, ``;``-separated CSV rows, a byte-order mark, a header row of names;
and ``.npz`` archives (one array, or ``file.npz:name``).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from convcalc.errors import ConvcalcError

FORMS = ("accepted forms: '1 2; 3 4', [[1, 2], [3, 4]], MATLAB [1 2; 3 4], LaTeX 1 & 2 \\\\ 3 & 4 (or a bmatrix), "
         "or a file (.csv .txt .npy .npz .json)")
_LATEX_ENV = re.compile(r"\\(?:begin|end)\{[a-zA-Z*]*\}(?:\{[^{}]*\})?|\\left[\[(]|\\right[\])]|\\hline")
_NPZ_MEMBER = re.compile(r"^(?P<path>.+\.npz):(?P<name>[A-Za-z_][A-Za-z0-9_]{0,60})$", re.IGNORECASE)


def normalized(text: str) -> str:
    """``text`` in convcalc's own form: rows on lines (or split by ``;``), cells split by spaces
    or commas, nested lists in brackets."""
    s = text.lstrip("\ufeff")
    if "&" in s or "\\\\" in s or "\\begin" in s:
        s = _LATEX_ENV.sub(" ", s)
        s = "\n".join(row.replace("&", " ") for row in s.split("\\\\"))
        return s.strip()
    stripped = s.strip()
    if stripped.startswith("[") and stripped.endswith("]") and stripped.count("[") == 1 and ";" in stripped:
        return stripped[1:-1].replace(";", "\n")  # MATLAB: one bracket, rows split by ;
    if "\n" in stripped and ";" in stripped:
        return "\n".join(line.replace(";", ",") for line in s.splitlines())  # CSV with ; between cells
    return s


def without_header(text: str, is_number: Any) -> str:
    """A file's text without its header row of names (``x1,x2,x3`` above rows of numbers); a
    first row of letters above more letters is a matrix of letters, and stays."""
    body = text.lstrip("\ufeff")
    first, sep, rest = body.lstrip("\r\n").partition("\n")
    second = rest.lstrip("\r\n").partition("\n")[0]
    cells = [c for c in re.split(r"[,;\t ]+", first.strip()) if c]
    below = [c for c in re.split(r"[,;\t ]+", second.strip()) if c]
    names = bool(cells) and all(not is_number(c) and re.fullmatch(r"[A-Za-z_\"'][\w\"' .\-]*", c) for c in cells)
    return rest if sep and names and below and all(is_number(c) for c in below) else text


def npz_member(text: str) -> tuple[str, str | None] | None:
    """``("file.npz", "name")`` for ``file.npz:name``, ``("file.npz", None)`` for ``file.npz``."""
    m = _NPZ_MEMBER.match(text)
    if m is not None:
        return m.group("path"), m.group("name")
    return (text, None) if text.lower().endswith(".npz") else None


def npz_array_path(path: Path, name: str | None, where: str) -> tuple[zipfile.ZipFile, str]:
    """The open archive and the member (``name.npy``) to read: the one array, or the one named."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ConvcalcError(f"not a readable .npz file ({e})", where) from None
    names = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
    if name is None:
        if len(names) != 1:
            archive.close()
            listed = ", ".join(names[:20]) or "none"
            raise ConvcalcError(f"holds {len(names)} arrays ({listed}); name one as FILE.npz:NAME", where)
        name = names[0]
    elif name not in names:
        archive.close()
        raise ConvcalcError(f"has no array {name!r} (it holds {', '.join(names[:20]) or 'none'})", where)
    return archive, name + ".npy"
