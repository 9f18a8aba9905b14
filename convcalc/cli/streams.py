"""Output streams that cannot encode convcalc's symbols (a cp1252 console, a Windows redirect,
``PYTHONIOENCODING=ascii``): each symbol the stream cannot take is written in ASCII instead
(``┌`` as ``+``, ``⌊x⌋`` as ``floor(x)``, ``·`` as ``*``), never an encoding error."""

from __future__ import annotations

import codecs
import contextlib
import unicodedata
from typing import Any

HANDLER = "convcalc-ascii"
ASCII = {
    "┌": "+", "┐": "+", "└": "+", "┘": "+", "│": "|", "─": "-", "━": "-", "┃": "|", "╇": "+", "┼": "+", "╸": "-",
    "⌊": "floor(", "⌋": ")", "⌈": "ceil(", "⌉": ")", "·": "*", "×": "x", "−": "-", "–": "-", "—": "--",
    "∇": "grad", "∂": "d", "✓": "ok", "✗": "X", "⊙": "(.)", "ᵀ": "^T", "…": "...", "≤": "<=", "≥": ">=",
    "→": "->", "⇒": "=>", "Σ": "sum", "∑": "sum", "σ": "sigma", "‖": "||", "∞": "inf", "≈": "~", "≠": "!=",
    "±": "+/-", "⋮": ":", "⋱": "\\", "𝟏": "1", "′": "'", "²": "^2", "³": "^3", "√": "sqrt", "∏": "prod",
    "ⁱ": "^i", "γ": "gamma", "β": "beta", "μ": "mu", "ε": "eps", "≡": "==", "∈": " in ", "⌀": "o", "§": "S",
    "\u202f": " ", "\u2009": " ", "\u00a0": " ",
}


def _fallback(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeEncodeError):
        raise err
    bad = err.object[err.start:err.end]
    return "".join(ASCII.get(ch) or _plain(ch) for ch in bad), err.end


def _plain(ch: str) -> str:
    if "\u2080" <= ch <= "\u2089":  # subscript digits
        return str(ord(ch) - 0x2080)
    decomposed = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    return decomposed or "?"


codecs.register_error(HANDLER, _fallback)


def ascii_fallback(*streams: Any) -> None:
    """Give each text stream that is not UTF-8 the ASCII fallback for what it cannot encode."""
    for s in streams:
        encoding = (getattr(s, "encoding", None) or "utf-8").lower().replace("_", "-")
        if encoding in ("utf-8", "utf8", "utf-16", "utf-32") or not hasattr(s, "reconfigure"):
            continue
        with contextlib.suppress(ValueError, OSError, AttributeError):  # a closed or detached stream
            s.reconfigure(errors=HANDLER)
