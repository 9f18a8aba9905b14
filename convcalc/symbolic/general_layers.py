"""The general cell of pooling, of a transposed convolution (by phase) and of a convolution's
gradients (the chain rule over the windows that read an input cell), for an input of unknown
size (``--input X``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import sympy

from convcalc.derive.records import Block, Equation, Heading, MatrixView, Note, Solution
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array
from convcalc.symbolic.cells import equation, latex, text, to_symbolic_array
from convcalc.symbolic.general_cell import conv_cell, index_symbols, pool_as_conv, pool_cell, transposed_cells
from convcalc.symbolic.general_derive import MAX_GENERAL_TAPS, where_it_holds
from convcalc.symbolic.parse import parse_expr, symbol


def reads_inside(expr: sympy.Expr, name: str, sizes: Sequence[str], base: int) -> str:
    """Where every term of ``expr`` reads inside ``name`` (sizes ``sizes``): per axis, the index range."""
    idx = index_symbols(len(sizes))
    refs = [r for r in expr.atoms(sympy.Indexed) if r.base.label.name == name]
    if not refs:
        return ""
    parts = []
    for a, (i, size) in enumerate(zip(idx, sizes, strict=True)):
        offsets = [sympy.expand(r.indices[a] - i) for r in refs]
        if not all(o.is_number for o in offsets):
            return ""
        lo, hi = min(offsets), max(offsets)
        first, last = max(base, base - lo), sympy.Symbol(size) + base - 1 - hi
        parts.append(f"{text(first)} ≤ {i} ≤ {text(last)}")
    return (f"Every term reads inside {name} ({' × '.join(sizes)}) for {' and '.join(parts)}; past its edges "
            f"{name} is 0 and those terms drop out.")


def _json(cells: Sequence[Any]) -> list[dict[str, str]]:
    return [{"cell": str(c.lhs), "formula": str(c.rhs), "formula_latex": latex(c.rhs)} for c in cells]


def pool_general(mode: str, kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int], base: int,
                 x_name: str, y_name: str, settings: dict[str, Any]) -> Solution:
    """Y[i,j] of max or average pooling: max(…) or (1/∏K) Σ … over the window."""
    if mode not in ("avg", "max"):
        raise ConvcalcError("the general cell of pooling is worked for max and avg", "--mode")
    if int(np.prod(kernel)) > MAX_GENERAL_TAPS:
        raise ConvcalcError(f"a window of more than {MAX_GENERAL_TAPS} cells is too long to write out", "--kernel-size")
    cell = pool_cell(mode, kernel, stride, padding, base, x_name, y_name)
    data = {"formula": str(cell.rhs), "cell": str(cell.lhs), "formula_latex": latex(cell.rhs), "symbolic": True}

    def blocks() -> Iterator[Block]:
        yield Heading("The general cell")
        what = "the largest entry of its window" if mode == "max" else \
            f"the mean of the {int(np.prod(kernel))} entries of its window"
        yield Note(f"{x_name} is an input of unknown size; output cell {text(cell.lhs)} is {what} (indices from "
                   f"{base}):")
        yield Equation(*equation(cell.lhs, cell.rhs))
        if mode == "max":
            yield Note("Which entry is largest depends on the values: the maximum stays a maximum.")
        yield from where_it_holds(cell, _letters(x_name), len(kernel))

    return Solution("pool", "The general cell of " + ("max" if mode == "max" else "average") + " pooling",
                    settings, data, blocks(), base)


def pool_general_letters(mode: str, kernel_text: str, base: int, x_name: str, y_name: str,
                         settings: dict[str, Any]) -> Solution:
    """A window of k×k letters (stride k, no padding): Y[i,j] = (1/k²) Σ_{α,β} X[k(i−b)+α+b−1, …],
    or the max over the same window."""
    if mode not in ("avg", "max"):
        raise ConvcalcError("a window in letters is worked for max and avg", "--mode")
    k = parse_expr(kernel_text, domain="positive_int", where="--kernel-size")
    i, j = index_symbols(2)
    al, be = sympy.Symbol("alpha", integer=True), sympy.Symbol("beta", integer=True)
    x, y = sympy.IndexedBase(x_name), sympy.IndexedBase(y_name)
    entry = x[k * (i - base) + al + base - 1, k * (j - base) + be + base - 1]
    window = ((al, 1, k), (be, 1, k))
    rhs = sympy.Sum(entry, *window) / k**2
    eq = equation(y[i, j], rhs) if mode == "avg" else (
        f"{text(y[i, j])} = max over 1 ≤ α, β ≤ {text(k)} of {text(entry)}",
        rf"{latex(y[i, j])} = \max_{{1 \le \alpha, \beta \le {latex(k)}}} {latex(entry)}")
    data = {"formula": str(rhs) if mode == "avg" else eq[0], "cell": str(y[i, j]), "symbolic": True}

    def blocks() -> Iterator[Block]:
        yield Heading("The general cell")
        yield Note(f"{x_name} is an input of unknown size; the window is {text(k)}×{text(k)} with stride {text(k)} "
                   f"(PyTorch's default) and no padding, so the windows tile {x_name} (indices from {base}):")
        yield Equation(*eq)
        yield Note(f"Every window lies inside {x_name}: ⌊(H − {text(k)})/{text(k)}⌋ + 1 = ⌊H/{text(k)}⌋ rows of "
                   f"windows, and the last H mod {text(k)} rows are never read.")

    return Solution("pool", "The general cell of " + ("max" if mode == "max" else "average") + " pooling",
                    settings, data, blocks(), base)


def _letters(x_name: str) -> Any:
    from convcalc.symbolic.general_derive import Letters

    return Letters(x_name, "W", "Y")


def pool_as_conv_general(kernel_text: str, channels_text: str, base: int, x_name: str, y_name: str,
                         settings: dict[str, Any]) -> Solution:
    """Average pooling (window k, stride k) as a C×C×k×k convolution, in symbols."""
    k = parse_expr(kernel_text, domain="positive_int", where="--kernel-size")
    c = parse_expr(channels_text, domain="positive_int", where="--channels")
    for value, flag in ((k, "--kernel-size"), (c, "--channels")):
        if not (value.is_integer and value.is_positive):
            raise ConvcalcError(f"must be a positive whole number or a letter, got {text(value)}", flag)
    steps = pool_as_conv(k, c, base, x_name, y_name)
    data = {"weights": str(steps[1][1].rhs), "formula": str(steps[-1][1].rhs), "symbolic": True}
    h, w = symbol("H", "positive_int"), symbol("W", "positive_int")

    def blocks() -> Iterator[Block]:
        yield Heading("Average pooling as a convolution, in symbols")
        yield Note(f"{x_name} has {text(c)} channels; the pool's window and stride are {text(k)}, no padding. A "
                   f"convolution with C_in = C_out = {text(c)}, a {text(k)}×{text(k)} kernel, stride {text(k)}, no "
                   "bias and no padding reads (indices from 1, as the course writes them):")
        for label, eq in steps:
            yield Note(label[0].upper() + label[1:] + ":")
            yield Equation(*equation(eq.lhs, eq.rhs))
        yield Note(f"which is the average pool of channel l (for 1 ≤ l ≤ {text(c)}: the channel exists, so the "
                   "Kronecker delta keeps exactly one term of the sum over γ).", "ok")
        yield Heading("Sizes")
        out = sympy.floor((h - k) / k) + 1
        yield Note(f"Both give ⌊(H − {text(k)})/{text(k)}⌋ + 1 = {text(sympy.simplify(out))} rows (H = m gives "
                   f"m/{text(k)} when {text(k)} divides m), and the same for the columns ({text(w)}).")

    return Solution("pool", "Average pooling as a convolution", settings, data, blocks(), base)


def transposed_general(kernel: Array, stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int],
                       base: int, x_name: str, y_name: str, w_name: str, settings: dict[str, Any]) -> Solution:
    """Y by phase: which input cells reach Y[s·(i−b)+r+b] and through which taps."""
    if kernel.size > MAX_GENERAL_TAPS:
        raise ConvcalcError(f"the kernel has {kernel.size} taps; at most {MAX_GENERAL_TAPS}", "--kernel")
    cells = transposed_cells(to_symbolic_array(kernel), stride, padding, dilation, base, x_name, y_name)
    data = {"phases": _json(cells), "symbolic": True}

    def blocks() -> Iterator[Block]:
        yield Heading("The general cell, by phase")
        yield Note(f"A transposed convolution stamps {w_name}·{x_name}[q] at {y_name}[s·q + d·t − p] (0-based): "
                   f"output cells fall into {int(np.prod(stride))} phase(s), one per remainder of the index by the "
                   f"stride {','.join(map(str, stride))}, and each phase gathers its own taps (indices from {base}; "
                   f"{x_name} read as 0 outside the input):")
        yield MatrixView(w_name, "kernel", kernel)
        sizes = ("H", "W")[-kernel.ndim:] if kernel.ndim == 2 else ("W",)
        for cell in cells:
            yield Equation(*equation(cell.lhs, cell.rhs if cell.rhs != 0 else sympy.Integer(0)))
            where = reads_inside(cell.rhs, x_name, sizes, base)
            if where:
                yield Note(where)

    return Solution("transposed-conv", "The general cell of a transposed convolution", settings, data, blocks(),
                    base)


def backprop_conv_general(kernel: Array, stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int],
                          base: int, names: tuple[str, str, str], wrt: str, settings: dict[str, Any]) -> Solution:
    """∂E/∂A[i,j] as a sum over the windows that read A[i,j] (taps B[k,l]); ∂E/∂B[k,l] as a sum
    over the output cells."""
    a, b, c = names
    if kernel.size > MAX_GENERAL_TAPS:
        raise ConvcalcError(f"the kernel has {kernel.size} taps; at most {MAX_GENERAL_TAPS}", "--kernel")
    da, dc = f"d{a}", f"d{c}"
    idx = index_symbols(kernel.ndim)
    r = tuple(sympy.Symbol(v, integer=True) for v in ("r", "q")[:kernel.ndim])
    forward = conv_cell(to_symbolic_array(kernel), stride, padding, dilation, base, a, c)
    grads = transposed_cells(to_symbolic_array(kernel), stride, padding, dilation, base, dc, da)
    chain_text = (f"∂E/∂{a}[{','.join(map(str, idx))}] = Σ_{{{','.join(map(str, r))}}} ∂E/∂{c}[{','.join(map(str, r))}]"
                  f" · ∂{c}[{','.join(map(str, r))}]/∂{a}[{','.join(map(str, idx))}]")
    ai, cr = sympy.IndexedBase(a)[idx], sympy.IndexedBase(c)[r]
    chain_tex = (rf"\frac{{\partial E}}{{\partial {latex(ai)}}} = \sum_{{{','.join(map(str, r))}}} "
                 rf"\frac{{\partial E}}{{\partial {latex(cr)}}} \frac{{\partial {latex(cr)}}}{{\partial {latex(ai)}}}")
    data: dict[str, Any] = {"chain_rule": chain_text, "forward": str(forward.rhs), "grad_input": _json(grads),
                            "symbolic": True}
    taps = tuple(sympy.Symbol(v, integer=True) for v in ("k", "l")[:kernel.ndim])
    out_last = [rg.out_last for rg in forward.ranges]
    src = sympy.IndexedBase(a)[tuple(s * (q - base) + base + d * (t - base) - p
                                    for q, t, s, d, p in zip(r, taps, stride, dilation, padding, strict=True))]
    dw = sympy.Sum(sympy.IndexedBase(dc)[r] * src, *((q, base, last) for q, last in zip(r, out_last, strict=True)))
    data["grad_weight"] = str(dw)

    def blocks() -> Iterator[Block]:
        yield Heading("The forward cell")
        yield Equation(*equation(forward.lhs, forward.rhs))
        if wrt in ("input", "all"):
            yield Heading(f"The gradient w.r.t. the input, ∂E/∂{a}[i,j] (written d{a})")
            yield Note("The chain rule over every output cell:")
            yield Equation(chain_text, chain_tex)
            yield Note(f"∂{c}[r,q]/∂{a}[i,j] is the tap of {b} that window (r,q) lays on {a}[i,j], and 0 when the "
                       f"window does not cover {a}[i,j]; so only the windows that read {a}[i,j] count, one tap each "
                       f"(d{c} = ∂E/∂{c}, read as 0 outside the output):")
            sizes = ("H_out", "W_out") if kernel.ndim == 2 else ("W_out",)
            for g in grads:
                yield Equation(*equation(g.lhs, g.rhs if g.rhs != 0 else sympy.Integer(0)))
                where = reads_inside(g.rhs, dc, sizes, base)
                if where:
                    yield Note(where.replace("past its edges", f"elsewhere no window reads {a}[i,j] through that "
                                             "tap:"))
        if wrt in ("kernel", "all"):
            yield Heading(f"The gradient w.r.t. the kernel, ∂E/∂{b}[k,l] (written d{b})")
            yield Note(f"Tap (k,l) meets {a} once per output cell: d{b} is d{c} correlated with {a}:")
            yield Equation(*equation(sympy.IndexedBase(f"d{b}")[taps], dw))

    return Solution("backprop conv", "The general cell of a convolution's gradients", settings, data, blocks(), base)


def backprop_conv_letters(kernel_text: str, padding: int, base: int, names: tuple[str, str, str],
                          settings: dict[str, Any]) -> Solution:
    """Stride 1, a K×K kernel with K a letter: ∂E/∂A[i,j] = Σ_{k,l} B[k,l]·dC[i − k + b + p, …] and
    ∂E/∂B[k,l] = Σ_{r,q} dC[r,q]·A[r + k − b − p, …], with dC read as 0 outside the output."""
    a, b, c = names
    big_k = parse_expr(kernel_text, domain="positive_int", where="--kernel-size")
    i, j = index_symbols(2)
    k, tl, r, q = (sympy.Symbol(v, integer=True) for v in ("k", "l", "r", "q"))
    bb, dc, aa = sympy.IndexedBase(b), sympy.IndexedBase(f"d{c}"), sympy.IndexedBase(a)
    da = sympy.Sum(bb[k, tl] * dc[i - k + base + padding, j - tl + base + padding], (k, base, big_k + base - 1),
                   (tl, base, big_k + base - 1))
    h, w = symbol("H", "positive_int"), symbol("W", "positive_int")
    out_h, out_w = h + 2 * padding - big_k + 1, w + 2 * padding - big_k + 1
    db = sympy.Sum(dc[r, q] * aa[r + k - base - padding, q + tl - base - padding], (r, base, out_h + base - 1),
                   (q, base, out_w + base - 1))
    forward = sympy.Sum(bb[k, tl] * aa[i + k - base - padding, j + tl - base - padding], (k, base, big_k + base - 1),
                        (tl, base, big_k + base - 1))
    data = {"forward": str(forward), "grad_input": str(da), "grad_weight": str(db), "symbolic": True}

    def blocks() -> Iterator[Block]:
        yield Heading("The forward cell")
        yield Equation(*equation(sympy.IndexedBase(c)[i, j], forward))
        yield Heading(f"The gradient w.r.t. the input, ∂E/∂{a}[i,j] (written d{a})")
        yield Note(f"By the chain rule, ∂E/∂{a}[i,j] = Σ_(r,q) ∂E/∂{c}[r,q] · ∂{c}[r,q]/∂{a}[i,j]; window (r,q) lays "
                   f"tap (k,l) on {a}[i,j] when r = i − k + {base + padding}, q = j − l + {base + padding}, so one "
                   f"term per tap (d{c} = ∂E/∂{c}, 0 outside its ({text(out_h)})×({text(out_w)}) cells):")
        yield Equation(*equation(sympy.IndexedBase(f"d{a}")[i, j], da))
        yield Heading(f"The gradient w.r.t. the kernel, ∂E/∂{b}[k,l] (written d{b})")
        yield Equation(*equation(sympy.IndexedBase(f"d{b}")[k, tl], db))

    return Solution("backprop conv", "The general cell of a convolution's gradients", settings, data, blocks(),
                    base)
