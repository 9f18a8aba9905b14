"""Parameter and operation counts in letters, as polynomials.

The counts are ``convcalc.formulas``' own, applied to SymPy expressions. Those formulas
divide channels by groups with ``//``; here a channel count C is written M·c (c = C/M, a
whole number: "M divides C" is stated as a condition), so that the floor vanishes exactly
and c is put back as C/M afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sympy as sp

from convcalc import formulas
from convcalc.symbolic.parse import MAX_TERMS, expanded_size
from convcalc.symbolic.sizes import Axis, Condition, axis_size, divides


@dataclass(frozen=True)
class Counts:
    """One layer's (or one depthwise-separable pair's) counts; ``out`` and the operation
    counts are None without an input size."""

    weights: Any
    biases: Any
    out: tuple[Any, ...] | None = None
    macs: Any = None
    multiplications: Any = None
    additions: Any = None
    requires: tuple[Condition, ...] = ()

    @cached_property
    def total(self) -> Any:
        return self.weights + self.biases

    @cached_property
    def flops(self) -> Any:
        return None if self.macs is None else tidy(2 * self.macs)

    @cached_property
    def exact_ops(self) -> Any:
        return None if self.multiplications is None else tidy(self.multiplications + self.additions)


def tidy(expr: Any, factor: bool = False) -> Any:
    """The shortest of a few equal forms: N(CK² + 1) rather than CK²N + N."""
    if expr is None or expr.has(sp.floor, sp.ceiling):  # expanding products of floors only lengthens them
        return expr
    if expanded_size(expr)[1] > MAX_TERMS:  # a product of long sums: expanding it is longer and slow
        return expr
    forms = [expr, sp.expand(expr), sp.factor_terms(sp.expand(expr))]
    if factor and sp.count_ops(forms[1]) < 40:  # 1368B(H + 1)², not 1368B(H² + 2H + 1)
        forms.append(sp.factor(forms[1]))
    return min(forms, key=lambda e: (sp.count_ops(e), len(str(e))))


def _per_group(channels: Any, groups: Any) -> tuple[Any, Any, dict[Any, Any], tuple[Condition, ...]]:
    """(channels written as groups·c, c, {c: channels/groups}, the condition 'groups divides channels')."""
    if groups == 1:
        return channels, channels, {}, ()
    c = sp.Dummy("c", integer=True, positive=True)
    ratio = channels / groups
    needs = () if ratio.is_integer else (divides(groups, channels),)
    if ratio.is_integer is False and not ratio.free_symbols:
        from convcalc.errors import ConvcalcError

        raise ConvcalcError(f"{channels} channels are not divisible by groups={groups}", "--groups")
    return groups * c, c, {c: ratio}, needs


def output_sizes(axes: tuple[Axis, ...], transposed: bool) -> tuple[tuple[Any, ...], tuple[Condition, ...]]:
    kind = "transposed" if transposed else "conv"
    sizes = [axis_size(kind, ax) for ax in axes]
    return tuple(s.value for s in sizes), tuple(c for s in sizes for c in s.requires)


def layer(c_in: Any, c_out: Any, kernel: tuple[Any, ...], groups: Any, bias: bool, transposed: bool,
          axes: tuple[Axis, ...] | None = None, batch: Any = 1) -> Counts:
    """A (grouped, possibly transposed) convolution's counts."""
    if transposed:
        c_out_g, _, back, needs = _per_group(c_out, groups)
        weights = formulas.transposed_weight_count(c_in, c_out_g, kernel, groups)
        needs += _per_group(c_in, groups)[3]
    else:
        c_in_g, _, back, needs = _per_group(c_in, groups)
        weights = formulas.conv_weight_count(c_in_g, c_out, kernel, groups)
        needs += _per_group(c_out, groups)[3]
    weights = tidy(weights.xreplace(back))
    biases = c_out if bias else sp.Integer(0)
    if axes is None:
        return Counts(weights, biases, requires=needs)
    out, size_needs = output_sizes(axes, transposed)
    if transposed:
        macs = formulas.transposed_macs(batch, c_in, c_out_g, tuple(ax.i for ax in axes), kernel, groups)
        return Counts(weights, biases, out, tidy(macs.xreplace(back)), requires=needs + size_needs)
    macs = formulas.conv_macs(batch, c_in_g, c_out, out, kernel, groups).xreplace(back)
    cells = batch * c_out * math.prod(out)
    taps = c_in / groups * math.prod(kernel)
    adds = cells * (taps - 1 + (1 if bias else 0))
    return Counts(weights, biases, out, tidy(macs), tidy(cells * taps), tidy(adds), needs + size_needs)


def separable(c_in: Any, c_out: Any, kernel: tuple[Any, ...], bias: bool, axes: tuple[Axis, ...] | None = None,
              batch: Any = 1) -> tuple[Counts, Counts]:
    """The depthwise (groups = C_in) and pointwise (1×1) layers of a depthwise-separable pair."""
    depthwise = layer(c_in, c_in, kernel, c_in, bias, False, axes, batch)
    if axes is None:
        return depthwise, layer(c_in, c_out, (1,) * len(kernel), 1, bias, False)
    assert depthwise.out is not None
    one = sp.Integer(1)
    pointwise_axes = tuple(Axis(o, one, one, sp.Integer(0), one, sp.Integer(0)) for o in depthwise.out)
    return depthwise, layer(c_in, c_out, (one,) * len(kernel), 1, bias, False, pointwise_axes, batch)


def pair_total(depthwise: Counts, pointwise: Counts) -> Counts:
    """The pair as one: every count added."""
    def add(a: Any, b: Any) -> Any:
        return None if a is None or b is None else tidy(a + b)

    return Counts(tidy(depthwise.weights + pointwise.weights), tidy(depthwise.biases + pointwise.biases),
                  depthwise.out, add(depthwise.macs, pointwise.macs), add(depthwise.multiplications,
                  pointwise.multiplications), add(depthwise.additions, pointwise.additions),
                  depthwise.requires + pointwise.requires)
