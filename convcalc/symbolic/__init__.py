"""Letters as well as numbers: everything convcalc does with SymPy lives in this package.

Importing this package does NOT import SymPy (numeric answers keep their speed); only its
modules do, and they are imported when a letter appears. ``looks_symbolic`` is the pure
string check a command makes to decide that.
"""

from __future__ import annotations

import re

__all__ = ["looks_symbolic"]

# What a number may look like, so that the "e" of 1e-3 and the letters of inf/nan are not
# taken for letters.
_NUMBER = re.compile(r"(?<![A-Za-z_])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORDS = re.compile(r"(?<![A-Za-z_])[+-]?(?:infinity|inf|nan)(?![A-Za-z0-9_])", re.IGNORECASE)


def looks_symbolic(text: str) -> bool:
    """Does ``text`` hold a letter that is not part of a number (``1e-3``, ``inf``, ``nan``)?

    A pure string check: ``"2n+1"``, ``"H"``, ``"a b; c d"`` are symbolic; ``"32"``,
    ``"1e-3"``, ``"-inf"``, ``"1/3"`` are not. A caller that also accepts a file name must
    look for the file first (``"data.csv"`` has letters).
    """
    rest = _WORDS.sub(" ", _NUMBER.sub(" ", text))
    return any(ch.isalpha() for ch in rest)
