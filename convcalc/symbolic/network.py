"""A network's shapes and counts for an input given in letters (``Bx3xHxW``).

Each layer's output size is ``convcalc.symbolic.sizes``' (floors kept unless provably exact);
parameters and MACs are ``convcalc.formulas``' own counts applied to the expressions. Besides
PyTorch's sizes, a second pass carries the floor-free sizes (every earlier floor taken as
exact) and collects, layer by layer, the divisibility that makes each floor exact; the
smallest input meeting all of them is found by search, each condition checked exactly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import sympy as sp

from convcalc import formulas
from convcalc.errors import ConvcalcError
from convcalc.net.layers import (
    AdaptivePoolLayer,
    BatchNormLayer,
    ConvLayer,
    ElementwiseLayer,
    FlattenLayer,
    Layer,
    LinearLayer,
    PoolLayer,
)
from convcalc.net.shapes import flatten_dims
from convcalc.symbolic import evaluate, printing
from convcalc.symbolic.settings import parse_settings
from convcalc.symbolic.sizes import Axis, Condition, axis_size, relation

AXES = {1: ("W",), 2: ("H", "W")}
SEARCH = 1 << 16  # the smallest input is looked for up to this size


@dataclass(frozen=True)
class SymRow:
    layer: Layer
    output_shape: tuple[Any, ...]  # PyTorch's sizes (floors kept)
    exact_shape: tuple[Any, ...]  # the floor-free sizes, every floor so far taken as exact
    weights: Any = 0
    biases: Any = 0
    macs: Any = 0
    exact_macs: Any = 0
    tiles: tuple[Condition, ...] = ()  # what makes this layer's floors exact (on floor-free inputs)
    requires: tuple[Condition, ...] = ()

    @property
    def params(self) -> Any:
        return self.weights + self.biases


def parse_symbolic_shape(text: str, where: str = "--input-shape") -> tuple[Any, ...]:
    """``Bx3xHxW``, ``1,3,H,W``, ``(B, 3, 2n, 2n)``: numbers and letters (a letter named x:
    write the shape with commas)."""
    body = text.strip().strip("()[]")
    parts = [p for p in re.split(r"[,\s]+" if "," in body else r"[x×,\s]+", body) if p]
    if not 2 <= len(parts) <= 4:
        raise ConvcalcError(f"expected N,C,H,W or N,C,W (e.g. Bx3xHxW), got {text[:60]!r}", where)
    parsed = parse_settings({a: (p, "positive_int", where) for a, p in enumerate(parts)})
    shape = tuple(parsed[a] for a in range(len(parts)))
    if not shape[1].is_Integer:
        raise ConvcalcError("the channel count must be a number (letters go in N, H and W)", where)
    return shape


def _conv(layer: ConvLayer, shape: tuple[Any, ...], free: tuple[Any, ...]) -> SymRow:
    c_in = int(shape[1])
    if layer.in_channels is not None and layer.in_channels != c_in:
        raise ConvcalcError(f"in_channels={layer.in_channels} but the input has {c_in} channels", layer.where)
    if c_in % layer.groups:
        raise ConvcalcError(f"in_channels={c_in} is not divisible by groups={layer.groups}", layer.where)
    kind = "transposed" if layer.transposed else "conv"
    out, exact, tiles, requires = [], [], [], []
    for n, m, k, s, (lo, hi), d, q in zip(shape[2:], free[2:], layer.kernel, layer.stride, layer.padding,
                                          layer.dilation, layer.output_padding, strict=True):
        p = sp.Rational(lo + hi, 2)
        size = axis_size(kind, Axis(n, sp.Integer(k), sp.Integer(s), p, sp.Integer(d), sp.Integer(q)))
        free_size = axis_size(kind, Axis(m, sp.Integer(k), sp.Integer(s), p, sp.Integer(d), sp.Integer(q)))
        out.append(size.value)
        exact.append(free_size.exact)
        requires += size.requires
        if free_size.tiles is False:
            tiles.append(relation(sp.Eq(sp.Integer(1), 0, evaluate=False)))  # never: stated below
        elif free_size.when is not None and s != 1:  # with stride 1 the size is whole once its input is
            tiles.append(free_size.when)
    if layer.transposed:
        weights = formulas.transposed_weight_count(c_in, layer.out_channels, layer.kernel, layer.groups)
        macs = formulas.transposed_macs(shape[0], c_in, layer.out_channels, shape[2:], layer.kernel, layer.groups)
        exact_macs = formulas.transposed_macs(free[0], c_in, layer.out_channels, free[2:], layer.kernel, layer.groups)
    else:
        weights = formulas.conv_weight_count(c_in, layer.out_channels, layer.kernel, layer.groups)
        macs = formulas.conv_macs(shape[0], c_in, layer.out_channels, tuple(out), layer.kernel, layer.groups)
        exact_macs = formulas.conv_macs(free[0], c_in, layer.out_channels, tuple(exact), layer.kernel, layer.groups)
    head = (shape[0], layer.out_channels)
    return SymRow(layer, (*head, *out), (free[0], layer.out_channels, *exact), weights,
                  layer.out_channels if layer.bias else 0, macs, exact_macs, tuple(tiles), tuple(requires))


def _pool(layer: PoolLayer, shape: tuple[Any, ...], free: tuple[Any, ...]) -> SymRow:
    kind = "pool_ceil" if layer.ceil_mode else "pool"
    out, exact, tiles, requires = [], [], [], []
    for n, m, k, s, p, d in zip(shape[2:], free[2:], layer.kernel, layer.stride, layer.padding, layer.dilation,
                                strict=True):
        axis = (sp.Integer(k), sp.Integer(s), sp.Integer(p), sp.Integer(d), sp.Integer(0))
        size, free_size = axis_size(kind, Axis(n, *axis)), axis_size(kind, Axis(m, *axis))
        out.append(size.value)
        exact.append(free_size.exact)
        requires += size.requires
        if free_size.when is not None and s != 1:
            tiles.append(free_size.when)
    return SymRow(layer, (*shape[:2], *out), (*free[:2], *exact), tiles=tuple(tiles), requires=tuple(requires))


def _adaptive(layer: AdaptivePoolLayer, shape: tuple[Any, ...], free: tuple[Any, ...]) -> SymRow:
    def fix(s: tuple[Any, ...]) -> tuple[Any, ...]:
        return (*s[:2], *(n if o is None else sp.Integer(o) for n, o in zip(s[2:], layer.output_size, strict=True)))

    return SymRow(layer, fix(shape), fix(free))


def _batchnorm(layer: BatchNormLayer, shape: tuple[Any, ...], free: tuple[Any, ...]) -> SymRow:
    c = int(shape[1])
    return SymRow(layer, shape, free, formulas.batchnorm_param_count(c, layer.weight, False),
                  formulas.batchnorm_param_count(c, False, layer.bias))


def _linear(layer: LinearLayer, shape: tuple[Any, ...], free: tuple[Any, ...]) -> SymRow:
    width = shape[-1]
    requires = ()
    if layer.in_features is not None and sp.simplify(width - layer.in_features) != 0:
        rel = sp.Eq(width, layer.in_features)
        if rel is sp.false:
            raise ConvcalcError(f"in_features={layer.in_features} but its input's last axis is "
                                f"{printing.text(width)}", layer.where)
        requires = (relation(rel),)
    rows = math.prod(shape[:-1])
    out = layer.out_features
    return SymRow(layer, (*shape[:-1], out), (*free[:-1], out), width * out, out if layer.bias else 0,
                  formulas.linear_macs(rows, width, out), formulas.linear_macs(math.prod(free[:-1]), free[-1], out),
                  requires=requires)


def _flatten(layer: FlattenLayer, shape: tuple[Any, ...], free: tuple[Any, ...]) -> SymRow:
    start, end = flatten_dims(layer, len(shape))

    def flat(s: tuple[Any, ...]) -> tuple[Any, ...]:
        return (*s[:start], math.prod(s[start: end + 1]), *s[end + 1:])

    return SymRow(layer, flat(shape), flat(free))


def _elementwise(layer: ElementwiseLayer, shape: tuple[Any, ...], free: tuple[Any, ...]) -> SymRow:
    return SymRow(layer, shape, free, layer.num_parameters or 0)


_HANDLERS = {ConvLayer: _conv, PoolLayer: _pool, AdaptivePoolLayer: _adaptive, BatchNormLayer: _batchnorm,
             LinearLayer: _linear, FlattenLayer: _flatten, ElementwiseLayer: _elementwise}


def propagate(layers: tuple[Layer, ...], shape: tuple[Any, ...]) -> list[SymRow]:
    from convcalc.limits import check_letter_layers

    check_letter_layers(sum(isinstance(layer, ConvLayer | PoolLayer) for layer in layers), "a network in letters")
    rows: list[SymRow] = []
    now, free = shape, shape
    for layer in layers:
        handler = _HANDLERS.get(type(layer))
        if handler is None:
            raise ConvcalcError(f"{layer.kind} is not worked in letters yet: give the input shape in numbers",
                                layer.where)
        row = handler(layer, now, free)  # type: ignore[operator]
        rows.append(row)
        now, free = row.output_shape, row.exact_shape
    return rows


def smallest_input(rows: list[SymRow], shape: tuple[Any, ...]) -> dict[Any, int] | None:
    """The smallest value of each letter (all letters equal if several) for which every floor
    is exact and every size is at least 1; None when no value up to SEARCH does it."""
    letters = spatial_letters(shape)
    if not letters:
        return None
    tiles = [c.expr for r in rows for c in r.tiles]
    sizes = [n for r in rows for n in r.output_shape[2:] if getattr(n, "free_symbols", None)]
    found: dict[Any, int] = {}
    for letter in letters:  # letters of different axes are independent; others held at the found/large value
        mine = [e for e in tiles if letter in e.free_symbols]  # once, not per value tried
        my_sizes = [n for n in sizes if letter in n.free_symbols]
        for v in range(1, SEARCH + 1):
            env = {s: found.get(s, v if s == letter else 4096) for s in letters}
            try:
                if all(evaluate.value(e, env) for e in mine) and all(evaluate.value(n, env) >= 1 for n in my_sizes):
                    found[letter] = v
                    break
            except (ZeroDivisionError, TypeError):
                continue
        else:
            return None
    return found


def spatial_letters(shape: tuple[Any, ...]) -> list[Any]:
    return sorted({s for n in shape[2:] for s in getattr(n, "free_symbols", ())}, key=lambda s: s.name)


def period(layers: tuple[Layer, ...]) -> int:
    """A period of every tiling condition: the product of the strides of the layers that floor."""
    strides = [s for layer in layers if isinstance(layer, PoolLayer | ConvLayer)
               and not getattr(layer, "transposed", False) for s in layer.stride]
    return math.prod(strides)


def residues(rows: list[SymRow], letter: Any, modulus: int) -> list[int] | None:
    """The residues r mod ``modulus`` at which every floor is exact (the conditions are
    periodic in the input size with that period); None when the period is too large to list."""
    if modulus > SEARCH:
        return None
    tiles = [c.expr for r in rows for c in r.tiles if letter in c.expr.free_symbols]
    others = {s for c in tiles for s in c.free_symbols} - {letter}
    out = []
    for r in range(modulus):
        env = {s: modulus * 64 for s in others} | {letter: r + modulus * 64}
        try:
            if all(evaluate.value(e, env) for e in tiles):
                out.append(r)
        except (ZeroDivisionError, TypeError):
            continue
    return out


def congruence(letter: Any, modulus: int, rs: list[int]) -> Condition | None:
    """'m divides H − r' when the residues are one r (mod m)."""
    from convcalc.symbolic.sizes import divides

    for m in (d for d in range(2, modulus + 1) if modulus % d == 0):  # the smallest period of the set
        if len(rs) == modulus // m and all((r - rs[0]) % m == 0 for r in rs):
            return divides(sp.Integer(m), letter - rs[0] % m)
    return None
