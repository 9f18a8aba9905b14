"""The general cell on the command line: ``--input X`` (a bare letter, an input of unknown size)
sends conv, dilated, transposed-conv, pool and backprop conv to convcalc.symbolic.general_derive."""

from __future__ import annotations

import re
from pathlib import Path

from convcalc.errors import ConvcalcError
from convcalc.numbers import Array
from convcalc.specs import parse_ints, positive

_BARE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,29}")


def bare_letter(value: str | None) -> str | None:
    """``"X"``: a matrix of unknown size (not a file of that name, not ``X:4x4``)."""
    if value is None:
        return None
    text = value.strip()
    if not _BARE.fullmatch(text) or Path(text).exists():
        return None
    return text


def kernel_shape(kernel_size: str | None, dim: int, needed_for: str) -> tuple[int, ...]:
    if kernel_size is None:
        raise ConvcalcError(f"{needed_for} needs the kernel's size (--kernel-size 3)", "--kernel-size")
    return positive(parse_ints(kernel_size, dim, "--kernel-size"), "--kernel-size")


def named_taps(letter: str, shape: tuple[int, ...], base: int) -> Array:
    """A kernel given as a bare letter B with --kernel-size: taps B[m,n] counted from ``base``."""
    from convcalc.symbolic.matrix import indexed_taps

    return indexed_taps(letter, shape, base)


def no_answer_for_general_cell(answer: str | None, output: str | None = None, cell: list[str] | None = None) -> None:
    """A general cell is one formula, no matrix: say so rather than ignore --answer, --output, --cell."""
    if output is not None:
        raise ConvcalcError("with --input as a letter the result is a formula, not a matrix to write "
                            "(--format json gives it)", "--output")
    if cell:
        raise ConvcalcError("with --input as a letter the formula is every cell's (i, j)", "--cell")
    if answer is not None:
        raise ConvcalcError("with --input as a letter there is no matrix to check; --answer judges a kernel with "
                            "conv --target, or a matrix of letters (--input X:4x4)", "--answer")
