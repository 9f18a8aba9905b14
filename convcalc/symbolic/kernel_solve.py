"""A kernel from its formula: which k×k taps make Y[i,j] equal a given combination of shifted
entries of X, e.g. ``X[i+1,j] - X[i,j]``.

The general cell of a kernel of unknown taps w_{m,n} is Σ w_{m,n}·X[…]; equating its
coefficient of every X[…] with the target's gives a linear system over the taps, solved by
SymPy's ``linsolve``: no solution ("no k×k kernel does this"), one kernel, or a family.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from convcalc.errors import ConvcalcError
from convcalc.numbers import Array
from convcalc.symbolic.general_cell import GeneralCell, conv_cell, index_symbols
from convcalc.symbolic.parse import parse_expr

MAX_TARGET_CHARS = 300
MAX_KERNEL_TAPS = 49  # a 7×7 kernel: the system has one unknown per tap
_REF = re.compile(r"([A-Za-z][A-Za-z0-9]*)\s*\[([^\[\]]*)\]")


@dataclass(frozen=True)
class Target:
    """The formula asked for: Y[i,j] = ``rhs`` (in X[…] entries), with the input's name."""

    text: str
    rhs: sympy.Expr
    refs: tuple[sympy.Indexed, ...]


@dataclass(frozen=True)
class KernelSolution:
    taps: Array                   # (kh, kw) of SymPy expressions (the family's parameters free)
    free: tuple[sympy.Symbol, ...]  # parameters of a family; () when the kernel is unique
    bias: sympy.Expr              # the target's constant term


def parse_target(text: str, x_name: str, dims: int, where: str = "--target") -> Target:
    """``"X[i+1,j] - X[i,j]"`` → a SymPy expression in X[…] (Indexed) with index symbols i, j."""
    if len(text) > MAX_TARGET_CHARS:
        raise ConvcalcError(f"too long: {len(text)} characters (at most {MAX_TARGET_CHARS})", where)
    idx = index_symbols(dims)
    x = sympy.IndexedBase(x_name)
    refs: dict[str, sympy.Indexed] = {}

    def placeholder(m: re.Match[str]) -> str:
        if m.group(1) != x_name:
            raise ConvcalcError(f"{m.group(0)!r}: the formula reads the input {x_name}, not {m.group(1)}", where)
        parts = [p.strip() for p in m.group(2).split(",")]
        if len(parts) != dims:
            raise ConvcalcError(f"{m.group(0)!r} needs {dims} index(es), like {x_name}[{','.join(map(str, idx))}]",
                                where)
        at = tuple(_index(p, idx, where) for p in parts)
        name = f"zzref{len(refs)}"
        refs[name] = x[at]
        return name

    body = _REF.sub(placeholder, text)
    if "[" in body or "]" in body:
        raise ConvcalcError("unbalanced brackets: write entries as X[i+1,j]", where)
    expr = parse_expr(body, domain="real", where=where)
    subs = {s: refs[s.name] for s in expr.free_symbols if s.name in refs}
    if any(s.name in idx_names(idx) for s in expr.free_symbols):
        raise ConvcalcError("a coefficient depends on the cell's index: no kernel (the same taps for every "
                            "cell) can do that", where)
    rhs = sympy.expand(expr.xreplace(subs))
    if not rhs.atoms(sympy.Indexed):
        raise ConvcalcError(f"the formula reads no entry of {x_name}", where)
    return Target(text, rhs, tuple(sorted(rhs.atoms(sympy.Indexed), key=sympy.default_sort_key)))


def idx_names(idx: Sequence[sympy.Symbol]) -> set[str]:
    return {s.name for s in idx}


def _index(text: str, idx: Sequence[sympy.Symbol], where: str) -> sympy.Expr:
    e = parse_expr(text, domain="positive_int", where=where)
    names = {s.name: s for s in idx}
    bad = sorted(s.name for s in e.free_symbols if s.name not in names)
    if bad:
        raise ConvcalcError(f"index {text!r} uses {', '.join(bad)}; an index is {' or '.join(names)} plus or minus "
                            "a whole number", where)
    return sympy.expand(e.xreplace({s: names[s.name] for s in e.free_symbols}))


def unknown_kernel(shape: tuple[int, ...]) -> Array:
    """A kernel of unknown taps w_{m,n} (counted from 1, as a course names them)."""
    if int(np.prod(shape)) > MAX_KERNEL_TAPS:
        raise ConvcalcError(f"a {'×'.join(map(str, shape))} kernel has more than {MAX_KERNEL_TAPS} taps to solve for",
                            "--kernel-size")
    out = np.empty(shape, dtype=object)
    for tap in itertools.product(*(range(k) for k in shape)):
        out[tap] = sympy.Symbol("w" + "".join(f"_{t + 1}" for t in tap), real=True)  # printed w₁₁
    return out


def coefficients(expr: sympy.Expr, refs: Sequence[sympy.Indexed]) -> dict[sympy.Indexed, sympy.Expr]:
    e = sympy.expand(expr)
    return {r: e.coeff(r) for r in refs}


def solve_kernel(target: Target, shape: tuple[int, ...], stride: Sequence[int], padding: Sequence[int],
                 dilation: Sequence[int], base: int, x_name: str) -> KernelSolution | None:
    """The taps whose general cell is the target (None when no kernel of this shape gives it)."""
    w = unknown_kernel(shape)
    model = conv_cell(w, stride, padding, dilation, base, x_name).rhs
    refs = sorted(set(target.refs) | model.atoms(sympy.Indexed), key=sympy.default_sort_key)
    have, want = coefficients(model, refs), coefficients(target.rhs, refs)
    unknowns = list(w.flat)
    equations = [have[r] - want[r] for r in refs]
    solutions = sympy.linsolve(equations, unknowns)
    if not solutions:
        return None
    (values,) = list(solutions)
    taps = np.empty(shape, dtype=object)
    taps.flat[:] = list(values)
    free = tuple(sorted(set().union(*(sympy.sympify(v).free_symbols for v in values)) & set(unknowns),
                        key=lambda s: s.name))
    bias = sympy.expand(target.rhs.subs({r: 0 for r in target.refs}))
    return KernelSolution(taps, free, bias)


def unreachable(target: Target, shape: tuple[int, ...], stride: Sequence[int], padding: Sequence[int],
                dilation: Sequence[int], base: int, x_name: str) -> list[sympy.Indexed]:
    """The target's entries no tap of this kernel reads (why no kernel does it)."""
    reads = conv_cell(unknown_kernel(shape), stride, padding, dilation, base, x_name).rhs.atoms(sympy.Indexed)
    return [r for r in target.refs if r not in reads]


def kernel_cell(kernel: Array, stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int], base: int,
                x_name: str) -> GeneralCell:
    return conv_cell(kernel, stride, padding, dilation, base, x_name)


def same_formula(a: sympy.Expr, b: sympy.Expr) -> bool:
    return sympy.expand(a - b) == 0
