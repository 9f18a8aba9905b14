"""Worked solutions for an input of unknown size (a bare letter: ``--input X``): the general
cell of a convolution, and a kernel from its formula (``--target``). Records only; the
renderers draw them as they draw every other solution.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from convcalc.core.conv import conv_nd
from convcalc.derive.answer import check_matrix
from convcalc.derive.records import Block, Equation, Heading, MatrixView, Note, Solution, Table
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.numbers import Array, Kind, fmt, normalize
from convcalc.specs import ConvSpec
from convcalc.symbolic.cells import equation, latex, text, to_symbolic_array
from convcalc.symbolic.general_cell import AxisRange, GeneralCell, conv_cell, index_symbols, size_symbols
from convcalc.symbolic.kernel_solve import Target, parse_target, solve_kernel, unreachable

MAX_GENERAL_TAPS = 1024  # one term per tap in the formula
AXES = {1: ("columns",), 2: ("rows", "columns")}
OUTPUT_NAME = {"X": "Y", "A": "C", "Y": "Z"}
KERNEL_NAME = {"X": "K", "A": "B"}  # not W: W is the width


@dataclass(frozen=True)
class Letters:
    """The input's letter and the names derived from it (X → W, Y; A → B, C)."""

    input: str
    kernel: str
    output: str


def letters_for(x_name: str, names: tuple[str, str, str] | None) -> Letters:
    if names is not None:
        return Letters(x_name, names[1], names[2])
    return Letters(x_name, KERNEL_NAME.get(x_name, "K"), OUTPUT_NAME.get(x_name, "Y"))


def _check_spec(spec: ConvSpec) -> None:
    if spec.padding_mode != "zeros":
        raise ConvcalcError("the general cell is worked with zero padding only", "--padding-mode")
    if spec.groups != 1:
        raise ConvcalcError("the general cell is worked for one input and one output channel", "--groups")


def _pads(spec: ConvSpec) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return tuple(lo for lo, _ in spec.padding), tuple(hi for _, hi in spec.padding)


def generic_formula(spec: ConvSpec, base: int, ln: Letters) -> tuple[str, str]:
    """Y[i,j] = Σ_{m,n} W[m,n]·X[s·(i−b)+b+d·(m−b)−p, …], in the course's base."""
    n = spec.dim
    idx = index_symbols(n)
    taps = tuple(sympy.Symbol(t, integer=True) for t in ("m", "n")[:n])
    pads, _ = _pads(spec)
    x, w, y = (sympy.IndexedBase(v) for v in (ln.input, ln.kernel, ln.output))
    at = tuple(s * (i - base) + base + d * (t - base) - p
               for i, t, s, d, p in zip(idx, taps, spec.stride, spec.dilation, pads, strict=True))
    body = sympy.Sum(w[taps] * x[at], *((t, base, base + k - 1) for t, k in zip(taps, spec.kernel_size, strict=True)))
    return equation(y[idx], body)


def conv_general(kernel: Array, spec: ConvSpec, base: int, ln: Letters, command: str = "conv",
                 bias: Array | None = None) -> Solution:
    """The general cell of a convolution with a known kernel (numbers or letters), plus the bias."""
    _check_spec(spec)
    if bias is not None and bias.size != 1:
        raise ConvcalcError("the general cell has one output channel: one bias", "--bias")
    if kernel.size > MAX_GENERAL_TAPS:
        raise ConvcalcError(f"the kernel has {kernel.size} taps; the general cell is worked for at most "
                            f"{MAX_GENERAL_TAPS}", "--kernel")
    w = np.flip(kernel) if spec.flip else kernel
    pads, after = _pads(spec)
    cell = conv_cell(to_symbolic_array(w), spec.stride, pads, spec.dilation, base, ln.input, ln.output,
                     padding_after=after)
    if bias is not None:
        cell = GeneralCell(cell.lhs, sympy.Add(*sympy.Add.make_args(cell.rhs), to_symbolic_array(bias.reshape(1))[0],
                                                  evaluate=False),
                           cell.ranges)
    data: dict[str, Any] = {"formula": str(cell.rhs), "cell": str(cell.lhs), "formula_latex": latex(cell.rhs),
                            "holds": _holds_json(cell.ranges), "symbolic": True, "index_base": base}

    def blocks() -> Iterator[Block]:
        yield Heading("The general cell")
        sizes = "×".join(s.name for s in size_symbols(spec.dim))
        yield Note(f"{ln.input} is an input of unknown size ({sizes}); "
                   f"{text(cell.lhs)} is any output cell, indices counted from {base}. Each tap of {ln.kernel} reads "
                   "one shifted entry of the input (cross-correlation, as in PyTorch):")
        yield Equation(*generic_formula(spec, base, ln))
        if spec.flip:
            yield Note("True convolution: the kernel is flipped first.")
        yield MatrixView(ln.kernel, "kernel" + (" (flipped)" if spec.flip else ""), w)
        yield from _tap_table(w, cell, spec, base, ln)
        yield Note("Adding the taps that are not 0:")
        yield Equation(*equation(cell.lhs, cell.rhs))
        yield from where_it_holds(cell, ln, spec.dim)

    return Solution(command, "The general cell" + (" of a dilated convolution" if command == "dilated" else ""),
                    spec.settings(), data, blocks(), base)


def _tap_table(w: Array, cell: GeneralCell, spec: ConvSpec, base: int, ln: Letters) -> Iterator[Block]:
    idx = index_symbols(spec.dim)
    pads, _ = _pads(spec)
    x = sympy.IndexedBase(ln.input)
    rows = []
    for tap in itertools.product(*(range(k) for k in w.shape)):
        if sympy.sympify(w[tap]) == 0:
            continue
        at = tuple(s * (i - base) + base + d * t - p for i, s, d, t, p in zip(idx, spec.stride, spec.dilation, tap,
                                                                           pads, strict=True))
        rows.append((f"{ln.kernel}[{','.join(str(t + base) for t in tap)}]", fmt(w[tap]), text(x[at])))
    if rows:
        yield Table(("tap", "weight", "reads"), tuple(rows), "the taps that are not 0", left=("tap", "reads"))


def where_it_holds(cell: GeneralCell, ln: Letters, dim: int) -> Iterator[Block]:
    """Per axis: the output cells whose terms all read inside the input, and the border ones."""
    yield Heading("Where it holds")
    sizes = size_symbols(dim)
    for rng, axis, size in zip(cell.ranges, AXES[dim], sizes, strict=True):
        yield Note(_axis_sentence(rng, axis, size.name, ln))
    yield Note("Outside the input the entries are the zero padding: a term that reads one is 0 there, and the formula "
               "still gives the cell with that term left out.")


def _axis_sentence(r: AxisRange, axis: str, size: str, ln: Letters) -> str:
    i = r.index.name
    reads = f"{ln.input}'s {axis} {text(r.low)}..{text(r.high)}" if r.low != r.high else \
        f"{ln.input}'s {axis[:-1]} {text(r.low)}"
    parts = [f"{axis}: {text(sympy.Symbol(i))} = {r.out_first}..{text(r.out_last)}; the terms read {reads}"]
    inside = f"every term reads inside {ln.input} for {text(r.first)} ≤ {i} ≤ {text(r.last)}"
    edge = text(sympy.Symbol(size, positive=True, integer=True) + r.out_first - 1)  # the input's last index
    before = int(r.first) - r.out_first
    after = sympy.simplify(r.out_last - r.last)
    notes = []
    if before > 0:
        notes.append(f"{i} = {r.out_first}" + (f"..{int(r.first) - 1}" if before > 1 else "")
                     + f" read{'s' if before == 1 else ''} the padding before {axis[:-1]} {r.out_first}")
    if after.is_number and after > 0:
        last = r.out_last
        notes.append(f"{i} = {text(last - after + 1)}" + (f"..{text(last)}" if after > 1 else "")
                     + f" read{'s' if after == 1 else ''} the padding after {axis[:-1]} {edge}")
    elif not after.is_number:
        notes.append(f"the last cells (up to {text(r.out_last)}) may read the padding after {axis[:-1]} {edge}, "
                     "depending on the size")
    return "; ".join([*parts, inside, *(notes or ["no cell reads padding"])]) + "."


def _holds_json(ranges: Sequence[AxisRange]) -> list[dict[str, str | int]]:
    return [{"index": r.index.name, "first": str(r.first), "last": str(r.last), "output_first": r.out_first,
             "output_last": str(r.out_last)} for r in ranges]


# --- a kernel from its formula -----------------------------------------------------------------


def kernel_from_formula(target_text: str, shape: tuple[int, ...], spec: ConvSpec, base: int, ln: Letters,
                        claimed: Array | None = None) -> Solution:
    """Solve for the taps whose general cell is ``target_text``; judge ``claimed`` when given."""
    _check_spec(spec)
    pads, _ = _pads(spec)
    target = parse_target(target_text, ln.input, spec.dim)
    y = sympy.IndexedBase(ln.output)[index_symbols(spec.dim)]
    sol = solve_kernel(target, shape, spec.stride, pads, spec.dilation, base, ln.input)
    data: dict[str, Any] = {"target": str(target.rhs), "kernel": None, "solutions": 0, "symbolic": True,
                            "answer_of": "kernel"}
    claim_cell = None
    if claimed is not None:
        claimed = claimed.reshape(shape) if claimed.size == int(np.prod(shape)) else claimed
        if claimed.shape != shape:
            raise ConvcalcError(f"a {'×'.join(map(str, shape))} kernel was asked for; the claim is "
                                f"{'×'.join(map(str, claimed.shape))}", "--answer")
        claim_cell = conv_cell(to_symbolic_array(claimed), spec.stride, pads, spec.dilation, base, ln.input)
        right = sympy.expand(claim_cell.rhs + (sol.bias if sol else 0) - target.rhs) == 0
        data["answer_correct"] = bool(right)
        data["answer_formula"] = str(claim_cell.rhs)
    if sol is not None:
        data["kernel"] = sol.taps
        data["solutions"] = "family" if sol.free else 1
        data["bias"] = normalize(sol.bias)
        if sol.free:
            data["free"] = [s.name for s in sol.free]
    status = ExitStatus.WRONG_ANSWER if data.get("answer_correct") is False else ExitStatus.OK

    def blocks() -> Iterator[Block]:
        yield Heading("The formula asked for")
        yield Equation(*equation(y, target.rhs))
        yield Heading(f"A {'×'.join(map(str, shape))} kernel of unknown taps")
        from convcalc.symbolic.kernel_solve import unknown_kernel

        w = unknown_kernel(shape)
        model = conv_cell(w, spec.stride, pads, spec.dilation, base, ln.input)
        yield MatrixView(ln.kernel, "unknown taps", w)
        yield Note(f"With stride {','.join(map(str, spec.stride))}, padding {','.join(map(str, pads))}"
                   f" and dilation {','.join(map(str, spec.dilation))}, its general cell is")
        yield Equation(*equation(y, model.rhs))
        yield Note(f"Equating the coefficient of every entry of {ln.input} on both sides (a linear system in the "
                   f"taps, solved by SymPy's linsolve):")
        expanded = sympy.expand(model.rhs)
        refs = [e for v in w.flat for e in [expanded.coeff(v)] if e != 0]  # tap order: one entry per tap
        refs += [r for r in target.refs if r not in refs]
        refs = [r.atoms(sympy.Indexed).pop() if not isinstance(r, sympy.Indexed) else r for r in refs]
        yield Table((f"entry of {ln.input}", "kernel gives", "formula needs"),
                    tuple((text(r), text(expanded.coeff(r)), text(target.rhs.coeff(r))) for r in refs),
                    left=(f"entry of {ln.input}",))
        yield Heading("The kernel")
        if sol is None:
            missing = unreachable(target, shape, spec.stride, pads, spec.dilation, base, ln.input)
            yield Note(f"No {'×'.join(map(str, shape))} kernel does this: "
                       + ("no tap reads " + ", ".join(text(r) for r in missing) if missing else
                          "the coefficients cannot all match") + " with these settings.", "error")
        else:
            yield MatrixView(ln.kernel, "the kernel" if not sol.free else "every kernel of this form does it",
                             sol.taps)
            if sol.free:
                yield Note(f"A family: {', '.join(text(s) for s in sol.free)} may be anything.", "warn")
            if sol.bias != 0:
                yield Note(f"with bias b = {text(sol.bias)}")
            yield Note(random_check(sol.taps, target, spec, base, ln.input), "ok")
        if claim_cell is not None and claimed is not None:
            yield from _judge(claimed, claim_cell, sol, target, y, ln)

    return Solution("conv", "A kernel from its formula", spec.settings(), data, blocks(), base, status)


def _judge(claimed: Array, cell: GeneralCell, sol: Any, target: Target, y: Any, ln: Letters) -> Iterator[Block]:
    yield Heading("Checking your kernel")
    yield MatrixView(ln.kernel + "_yours", "your kernel", claimed)
    yield Note("Your kernel's general cell, with the same settings:")
    yield Equation(*equation(y, cell.rhs))
    if sympy.expand(cell.rhs + (sol.bias if sol else 0) - target.rhs) == 0:
        yield Note("It is the formula asked for: your kernel is right.", "ok")
        return
    yield Note(f"It is not {text(target.rhs)}: your kernel is wrong with these settings.", "error")
    if sol is not None and not sol.free:
        yield check_matrix(ln.kernel, claimed, sol.taps, Kind.SYMBOLIC)


def random_check(taps: Array, target: Target, spec: ConvSpec, base: int, x_name: str, seed: int = 0) -> str:
    """Apply the kernel to a random integer X with the numeric core; compare with the formula on
    every output cell whose entries all lie inside X."""
    rng = random.Random(seed)
    letters = sorted(set().union(*(sympy.sympify(v).free_symbols for v in taps.flat)), key=lambda s: s.name)
    values = {s: rng.randint(2, 9) for s in letters}
    w = np.array([int(sympy.sympify(v).subs(values)) if sympy.sympify(v).subs(values).is_Integer else
                  float(sympy.sympify(v).subs(values)) for v in taps.flat], dtype=object).reshape(taps.shape)
    size = max(6, 2 * max(taps.shape) + 2)
    x = np.array([[rng.randint(-9, 9) for _ in range(size)] for _ in range(size)] if spec.dim == 2 else
                 [rng.randint(-9, 9) for _ in range(size)], dtype=object)
    out = conv_nd(x[None, None], w[None, None], None, spec.stride, spec.padding, spec.dilation)[0, 0]
    idx = index_symbols(spec.dim)
    checked = 0
    for cell in np.ndindex(out.shape):
        at = {i: c + base for i, c in zip(idx, cell, strict=True)}
        entries = {r: r.subs(at) for r in target.refs}
        pos = [tuple(int(v) - base for v in e.indices) for e in entries.values()]
        if not all(0 <= p < size for q in pos for p in q):
            continue
        want = target.rhs.subs(values).xreplace({r: int(x[q]) for r, q in zip(entries, pos, strict=True)})
        if sympy.simplify(want - out[cell]) != 0:
            return f"Checked on a random {size}×{size} input: it DIFFERS at cell {cell} (please report this)."
        checked += 1
    return (f"Checked with the numeric core on a random {'×'.join([str(size)] * spec.dim)} input of integers: "
            f"it equals the formula on all {checked} output cells whose entries lie inside the input.")


__all__ = ["Letters", "conv_general", "kernel_from_formula", "letters_for"]
