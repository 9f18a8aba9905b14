"""Every size formula, written once.

Each function works on any numbers that support ``+ - * /``: ints and ``Fraction`` give
the exact (unfloored) value, and SymPy symbols give the expression to render. Flooring and
validity are decided by the callers from the exact value, so nothing is silently floored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

T = TypeVar("T")


def effective_kernel(k: T, d: Any) -> T:
    """Span of a kernel of size ``k`` with dilation ``d``: d(k−1)+1 (PyTorch: dilation=1 is none)."""
    return d * (k - 1) + 1  # type: ignore[no-any-return, operator]


def conv_quotient(i: Any, k: Any, s: Any, p_total: Any, d: Any) -> Any:
    """(I + P_total − d(K−1) − 1)/S + 1: the exact conv/pool output size before flooring.

    ``p_total`` is the padding on both sides together (2P for symmetric padding).
    """
    return (i + p_total - effective_kernel(k, d)) / s + 1


def transposed_size(i: Any, k: Any, s: Any, p: Any, d: Any, op: Any) -> Any:
    """(I−1)·S − 2P + d(K−1) + output_padding + 1 (PyTorch's ConvTranspose output size)."""
    return (i - 1) * s - 2 * p + effective_kernel(k, d) + op


def upsample_size(w: Any, k: Any) -> Any:
    """W·k − (k−1): zeros inserted between samples (seed 002's upsampling)."""
    return w * k - (k - 1)


def downsample_size(w: int, k: int) -> int:
    """(W−1)//k + 1: every k-th sample kept."""
    return (w - 1) // k + 1


@dataclass(frozen=True)
class SizeResult:
    """An output size worked out exactly.

    ``exact`` is the unfloored value; ``value`` what PyTorch uses; ``valid`` whether the
    windows tile the input exactly (a course's "valid configuration").
    """

    exact: Fraction
    value: int
    valid: bool
    ceil_adjusted: bool = False

    @property
    def integral(self) -> bool:
        return self.exact.denominator == 1


def conv_output_size(i: int, k: int, s: int = 1, p_total: int = 0, d: int = 1) -> SizeResult:
    """Output length of a convolution along one axis, floored as PyTorch does."""
    exact = Fraction(conv_quotient(Fraction(i), k, s, p_total, d))
    return SizeResult(exact, math.floor(exact), exact.denominator == 1)


def pool_output_size(
    i: int, k: int, s: int, p: int, d: int = 1, ceil_mode: bool = False
) -> SizeResult:
    """Pooling output length with PyTorch's ``ceil_mode`` rule.

    With ceil_mode the size rounds up, but the last window must start inside the input or
    the left padding: if it would start in the right padding, it is dropped.
    """
    exact = Fraction(conv_quotient(Fraction(i), k, s, 2 * p, d))
    if not ceil_mode:
        return SizeResult(exact, math.floor(exact), exact.denominator == 1)
    out = math.ceil(exact)
    adjusted = False
    if (out - 1) * s >= i + p:
        out -= 1
        adjusted = True
    return SizeResult(exact, out, exact.denominator == 1, adjusted)


def same_padding(k: int, d: int = 1) -> tuple[int, int]:
    """PyTorch's ``padding='same'`` split for stride 1: the odd extra pixel goes right/bottom."""
    total = d * (k - 1)
    return total // 2, total - total // 2


def conv_weight_count(c_in: int, c_out: int, kernel: tuple[int, ...], groups: int = 1) -> int:
    """Weights of a (grouped) convolution: C_out · (C_in/g) · ∏k."""
    return c_out * (c_in // groups) * math.prod(kernel)


def transposed_weight_count(
    c_in: int, c_out: int, kernel: tuple[int, ...], groups: int = 1
) -> int:
    """Weights of a transposed convolution, laid out (C_in, C_out/g, k...): divided by g once."""
    return c_in * (c_out // groups) * math.prod(kernel)
