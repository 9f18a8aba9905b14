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


# ---------------------------------------------------------------------------------------
# Whole-network sizing (convcalc.net): multiply-accumulates, BatchNorm parameters and the
# receptive-field recurrence. Appended as one section; each formula still written once.
# ---------------------------------------------------------------------------------------


def conv_macs(n: int, c_in: int, c_out: int, out_spatial: tuple[int, ...], kernel: tuple[int, ...],
              groups: int = 1) -> int:
    """Multiply-accumulates of a (grouped) convolution: N·C_out·∏O·(C_in/g)·∏k.

    The dense count: every output value takes one product per kernel tap and input channel
    of its group, taps that land on padding included.
    """
    return n * c_out * math.prod(out_spatial) * (c_in // groups) * math.prod(kernel)


def transposed_macs(n: int, c_in: int, c_out: int, in_spatial: tuple[int, ...], kernel: tuple[int, ...],
                    groups: int = 1) -> int:
    """Multiply-accumulates of a transposed convolution, counted on the input grid.

    N·C_in·(C_out/g)·∏k·∏H_in: every input value meets every kernel tap once (products that
    land in the cropped ``padding`` border included).
    """
    return n * c_in * (c_out // groups) * math.prod(kernel) * math.prod(in_spatial)


def linear_macs(rows: int, in_features: int, out_features: int) -> int:
    """Multiply-accumulates of a Linear layer applied to ``rows`` vectors: rows·in·out."""
    return rows * in_features * out_features


def batchnorm_param_count(channels: int, weight: bool = True, bias: bool = True) -> int:
    """Learnable BatchNorm parameters: γ and β per channel (2C); running stats are buffers."""
    return channels * (int(weight) + int(bias))


def receptive_field_step(r: Any, j: Any, k: Any, d: Any = 1) -> Any:
    """r_l = r_{l−1} + (k_l − 1)·d_l·j_{l−1}: a window of k taps d apart, each j input pixels apart."""
    return r + (k - 1) * d * j


def jump_step(j: Any, s: Any) -> Any:
    """j_l = j_{l−1}·s_l: input pixels between neighbouring units (divide by s for transposed)."""
    return j * s


def start_step(start: Any, j: Any, k: Any, d: Any, p: Any) -> Any:
    """start_l = start_{l−1} + ((k_l − 1)·d_l/2 − p_l)·j_{l−1}: centre of the first unit."""
    return start + (Fraction((k - 1) * d, 2) - p) * j


def transposed_start_step(start: Any, j: Any, k: Any, d: Any, p: Any, s: Any) -> Any:
    """Centre of a transposed conv's first output unit: start + (p − (k−1)·d/2)/s · j.

    Input unit i scatters to outputs i·s − p + t·d (t = 0..k−1), centred on i·s − p + (k−1)d/2;
    output 0 therefore sits at input unit (p − (k−1)d/2)/s.
    """
    return start + (p - Fraction((k - 1) * d, 2)) / s * j


def transposed_taps(k: int, s: int, d: int = 1) -> tuple[int, int, Fraction]:
    """How many input units feed one output unit of a transposed conv, over the s phases.

    Output o takes input i where i·s + t·d = o + p for a tap t in 0..k−1, so only taps with
    t·d ≡ o + p (mod s) contribute. Returns (most, fewest, spacing): the largest and
    smallest count over phases (fewest may be 0: that output sees only the bias) and the
    distance, in input units, between the units one output sees (d / gcd(d, s)).
    """
    counts = [sum(1 for t in range(k) if (t * d) % s == phase) for phase in range(s)]
    return max(counts), min(counts), Fraction(d, math.gcd(d, s))


def adaptive_window(u: int, n: int, o: int) -> tuple[int, int]:
    """Window [begin, end) of adaptive pooling's unit u: ⌊u·n/o⌋ to ⌈(u+1)·n/o⌉ (PyTorch's rule)."""
    return (u * n) // o, -((-(u + 1) * n) // o)


def adaptive_widths(n: int, o: int) -> tuple[int, int]:
    """(narrowest, widest) window of adaptive pooling from n to o units, without listing the o windows.

    Unit u's window is ⌈(r + n)/o⌉ wide, r = u·n mod o; r is 0 for u = 0 (the first window is
    a narrowest one) and takes every multiple of g = gcd(n, o) below o, so at most o − g.
    """
    return -(-n // o), -(-(o - math.gcd(n, o) + n) // o)
