"""Worked solutions of ``convcalc output-size`` and ``convcalc params`` (single layers).

Every formula comes from ``convcalc.formulas``; SymPy is imported only for ``--solve``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcalc import formulas
from convcalc.derive.records import Block, Heading, Note, SizeFormula, Solution, Table
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.formulas import SizeResult
from convcalc.limits import check_tries
from convcalc.numbers import fmt

SOLVABLE = ("padding", "stride", "output-padding", "kernel-size")


@dataclass(frozen=True)
class SizeProblem:
    """One layer's size settings, one tuple entry per spatial axis."""

    input: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    output_padding: tuple[int, ...]
    kind: str  # conv, pool, pool_ceil, transposed
    axes: tuple[str, ...]  # "H", "W" or one merged label such as "H, W"
    channels: int | None = None


def axis_size(kind: str, i: int, k: int, s: int, p: int, d: int, op: int) -> SizeResult:
    """The size along one axis, from the one formula of its kind."""
    if kind == "transposed":
        v = formulas.transposed_size(i, k, s, p, d, op)
        return SizeResult(Fraction(v), v, True)
    if kind in ("pool", "pool_ceil"):
        return formulas.pool_output_size(i, k, s, p, d, kind == "pool_ceil")
    return formulas.conv_output_size(i, k, s, 2 * p, d)


def _values(p: SizeProblem, a: int) -> dict[str, int]:
    v = {"I": p.input[a], "K": p.kernel[a], "S": p.stride[a], "P": p.padding[a], "d": p.dilation[a]}
    if p.kind == "transposed":
        v["P_out"] = p.output_padding[a]
    return v


def _result(p: SizeProblem, a: int) -> SizeResult:
    return axis_size(p.kind, p.input[a], p.kernel[a], p.stride[a], p.padding[a], p.dilation[a],
                     p.output_padding[a])


def _check(p: SizeProblem, a: int, res: SizeResult) -> None:
    if res.value < 1:
        raise ConvcalcError(f"the output would be empty along {p.axes[a]} (size {fmt(res.exact)}): the kernel "
                            f"span d(K−1)+1 = {formulas.effective_kernel(p.kernel[a], p.dilation[a])} exceeds the "
                            f"padded input", "--kernel-size")


def scalar(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def output_size(p: SizeProblem, solve: str | None = None, target: int | None = None,
                answer: str | None = None) -> Solution:
    """The size per axis worked from the formula; optionally solve for a setting or check a claim."""
    from convcalc.render.formula import symbolic_latex

    results = [_result(p, a) for a in range(len(p.axes))]
    if solve is None:
        for a, res in enumerate(results):
            _check(p, a, res)
    exact = [None if r.integral else str(r.exact) for r in results]
    data: dict[str, Any] = {
        "output_size": scalar([r.value for r in results]),
        "exact": scalar(exact) if any(exact) else None,
        "valid": all(r.valid for r in results),
        "formula": symbolic_latex(p.kind, _values(p, 0)),  # the formula the renderers print
    }
    blocks: list[Block] = [Heading("Output size")]
    for a, res in enumerate(results):
        blocks.append(SizeFormula(p.axes[a], p.kind, _values(p, a), res))
        blocks.extend(_verdict(p, a, res))
    shape = [r.value for r in results] * (2 if p.axes == ("H, W",) else 1)
    if p.channels is not None:
        blocks.append(Note(f"output volume: {' × '.join(map(str, shape))} × {p.channels} "
                           f"({p.channels} channels, one per filter)"))
    status = ExitStatus.OK
    if solve is not None:
        if target is None:
            raise ConvcalcError("--solve needs --target N, the output size wanted", "--target")
        ranges = [_search_range(p, a, solve) for a in range(len(p.axes))]
        check_tries(sum(hi - lo + 1 for lo, hi in ranges), f"--solve {solve} (every value in its range is tried)")
        sols = [_solve_axis(p, a, solve, target) for a in range(len(p.axes))]
        data["solutions"] = scalar([s[0] for s in sols])
        blocks.append(Heading(f"Solving for {solve} with output size {target}"))
        for s in sols:
            blocks.extend(s[1])
    if answer is not None:
        ok, lines = _check_answer(answer, results)
        data["answer_correct"] = ok
        blocks.append(Heading("Your answer"))
        blocks.extend(lines)
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    title = {"conv": "Convolution output size", "pool": "Pooling output size",
             "pool_ceil": "Pooling output size (ceil_mode)", "transposed": "Transposed-convolution output size"}
    return Solution("output-size", title[p.kind], _settings(p), data, blocks, status=status)


def _settings(p: SizeProblem) -> dict[str, Any]:
    s: dict[str, Any] = {"input_size": scalar(list(p.input)), "kernel_size": scalar(list(p.kernel)),
                         "stride": scalar(list(p.stride)), "padding": scalar(list(p.padding)),
                         "dilation": scalar(list(p.dilation)), "kind": p.kind}
    if p.kind == "transposed":
        s["output_padding"] = scalar(list(p.output_padding))
    if p.channels is not None:
        s["channels"] = p.channels
    return s


def _verdict(p: SizeProblem, a: int, res: SizeResult) -> Iterator[Block]:
    ax = p.axes[a]
    if not res.integral:
        q = res.exact - 1
        shown = f"{float(q):g} + 1 = {float(res.exact):g}"
        yield Note(f"{ax}: invalid for an exact tiling ({shown}); PyTorch "
                   f"{'rounds it up' if p.kind == 'pool_ceil' else 'floors it'} to {res.value}", "warn")
    if res.ceil_adjusted:
        yield Note(f"{ax}: ceil_mode drops the last window because it would start in the right padding", "warn")
    yield Note(f"{ax}: output size {res.value}" + ("" if res.integral else f" (exact {fmt(res.exact)})"),
               "ok" if res.integral else "warn")


_RANGES = {"padding": "0..K", "stride": "1..I", "kernel-size": "1..I+2P", "output-padding": "0..max(S,d)−1"}


def _solve_axis(p: SizeProblem, a: int, unknown: str, target: int) -> tuple[list[int], list[Block]]:
    """Every integer value of ``unknown`` in its range whose exact size is ``target``."""
    if unknown not in SOLVABLE:
        raise ConvcalcError(f"expected one of {', '.join(SOLVABLE)}, got {unknown!r}", "--solve")
    if unknown == "output-padding" and p.kind != "transposed":
        raise ConvcalcError("output-padding exists only with --transposed", "--solve")
    i, k, s, pad, d, op = (p.input[a], p.kernel[a], p.stride[a], p.padding[a], p.dilation[a], p.output_padding[a])
    equation, roots = _equation(p, a, unknown, target)
    lo, hi = _search_range(p, a, unknown)
    exact_hits: list[int] = []
    floored: list[int] = []
    refused: list[int] = []
    for v in range(lo, hi + 1):
        vals = {"padding": pad, "stride": s, "kernel-size": k, "output-padding": op, unknown: v}
        res = axis_size(p.kind, i, vals["kernel-size"], vals["stride"], vals["padding"], d, vals["output-padding"])
        if res.value != target:
            continue
        if p.kind.startswith("pool") and 2 * vals["padding"] > vals["kernel-size"]:
            refused.append(v)  # PyTorch: pad should be at most half of effective kernel size
        elif res.integral:
            exact_hits.append(v)
        else:
            floored.append(v)
    ax = p.axes[a]
    blocks: list[Block] = [Note(f"{ax}: solve {equation} for {_SYMBOL[unknown]}: {roots}")]
    if refused:
        blocks.append(Note(f"{ax}: {unknown} = {', '.join(map(str, refused))} would give {target}, but PyTorch "
                           f"refuses a pooling padding above half the kernel size", "warn"))
    if exact_hits:
        blocks.append(Note(f"{ax}: {unknown} = {', '.join(map(str, exact_hits))} gives exactly {target} "
                           f"(searched {_RANGES[unknown]})", "ok"))
    else:
        blocks.append(Note(f"{ax}: no integer {unknown} in {_RANGES[unknown]} = {lo}..{hi} gives exactly "
                           f"{target}", "warn"))
    if floored:
        blocks.append(Note(f"{ax}: PyTorch's flooring also gives {target} for {unknown} = "
                           f"{', '.join(map(str, floored))}, but those do not tile exactly", "warn"))
    return exact_hits, blocks


def _search_range(p: SizeProblem, a: int, unknown: str) -> tuple[int, int]:
    """The values of ``unknown`` tried on axis ``a`` (``_RANGES`` says them in words)."""
    i, k, s, pad, d = p.input[a], p.kernel[a], p.stride[a], p.padding[a], p.dilation[a]
    return {"padding": (0, k), "stride": (1, i), "kernel-size": (1, i + 2 * pad),
            "output-padding": (0, max(s, d) - 1)}.get(unknown, (0, 0))


_SYMBOL = {"padding": "P", "stride": "S", "kernel-size": "K", "output-padding": "P_out"}


def _equation(p: SizeProblem, a: int, unknown: str, target: int) -> tuple[str, str]:
    """The exact size as an equation in the unknown, and its solution, in exact numbers.

    The exact size is affine in every setting (g = α·x + β), except a conv's or pool's stride:
    g = A/S + 1. So two evaluations of the size formula give the equation.
    """
    x = _SYMBOL[unknown]
    settings = {"padding": p.padding[a], "stride": p.stride[a], "kernel-size": p.kernel[a],
                "output-padding": p.output_padding[a]}

    def size(value: Fraction) -> Fraction:
        v = settings | {unknown: value}
        if p.kind == "transposed":
            return Fraction(formulas.transposed_size(Fraction(p.input[a]), v["kernel-size"], v["stride"],
                                                     v["padding"], p.dilation[a], v["output-padding"]))
        return Fraction(formulas.conv_quotient(Fraction(p.input[a]), v["kernel-size"], v["stride"],
                                               2 * v["padding"], p.dilation[a]))

    if unknown == "stride" and p.kind != "transposed":
        span = size(Fraction(1)) - 1  # A in A/S + 1
        equation = f"{fmt(span)}/{x} + 1 = {target}"
        if target == 1:
            return equation, "any value" if span == 0 else "no solution"
        return equation, f"{x} = {fmt(span / (target - 1))}" if span != 0 else "no solution"
    beta = size(Fraction(0))
    alpha = size(Fraction(1)) - beta
    if alpha == 0:
        return f"{fmt(beta)} = {target}", "any value" if beta == target else "no solution"
    term = x if alpha == 1 else f"−{x}" if alpha == -1 else f"{_factor(alpha)}·{x}"
    constant = "" if beta == 0 else f" + {fmt(beta)}" if beta > 0 else f" − {fmt(-beta)}"
    return f"{term}{constant} = {target}", f"{x} = {fmt((target - beta) / alpha)}"


def _factor(v: Fraction) -> str:
    return f"({fmt(v)})" if v.denominator != 1 else fmt(v)


def _check_answer(answer: str, results: list[SizeResult]) -> tuple[bool, list[Block]]:
    text = answer.strip().lower()
    if text == "invalid":
        ok = not all(r.valid for r in results)
        return ok, [Note(f"claimed: invalid — {'right' if ok else 'wrong'}: the setting "
                         f"{'does not tile' if ok else 'tiles'} exactly", "ok" if ok else "error")]
    try:
        claim = [int(t) for t in text.replace("x", ",").replace("×", ",").split(",")]
    except ValueError:
        raise ConvcalcError(f"expected a size like 28, 28,28 or 'invalid', got {answer!r}", "--answer") from None
    if len(claim) == 1:
        claim = claim * len(results)
    if len(results) == 1 and len(claim) > 1:  # one formula served both axes: "3,3" claims it for each
        results = results * len(claim)
    if len(claim) != len(results):
        raise ConvcalcError(f"expected {len(results)} sizes, got {answer!r}", "--answer")
    ok = all(c == r.value for c, r in zip(claim, results, strict=True))
    got = ", ".join(str(r.value) if r.integral else f"{fmt(r.exact)} (PyTorch: {r.value})" for r in results)
    extra = "" if all(r.integral for r in results) else \
        ("; PyTorch floors the size to that, though the setting does not tile exactly (a course that asks for "
         "exact tiling calls it invalid)" if ok else "; the setting does not tile exactly")
    return ok, [Note(f"claimed {answer}, computed {got}: {'right' if ok else 'wrong'}{extra}",
                     "ok" if ok else "error")]


# ----------------------------------------------------------------------------------- params


@dataclass(frozen=True)
class ParamsProblem:
    """One conv layer's parameter and operation count settings."""

    c_in: int
    c_out: int
    kernel: tuple[int, ...]
    groups: int = 1
    bias: bool = True
    transposed: bool = False
    separable: bool = False
    input: tuple[int, ...] | None = None
    stride: tuple[int, ...] = (1,)
    padding: tuple[int, ...] = (0,)
    dilation: tuple[int, ...] = (1,)
    output_padding: tuple[int, ...] = (0,)
    batch: int = 1
    exact_ops: bool = False


def weights_of(c_in: int, c_out: int, kernel: tuple[int, ...], groups: int, transposed: bool) -> int:
    if transposed:
        return formulas.transposed_weight_count(c_in, c_out, kernel, groups)
    return formulas.conv_weight_count(c_in, c_out, kernel, groups)


def params(p: ParamsProblem, answer: str | None = None) -> Solution:
    """Weights, biases (and MACs/FLOPs with an input size), worked in both notations."""
    for name, c in (("--in-channels", p.c_in), ("--out-channels", p.c_out)):
        if c % p.groups:
            raise ConvcalcError(f"{c} channels are not divisible by groups={p.groups}", name)
    if p.separable:
        from convcalc.derive import separable

        return separable.params(p, answer)
    weights = weights_of(p.c_in, p.c_out, p.kernel, p.groups, p.transposed)
    biases = p.c_out if p.bias else 0
    total = weights + biases
    kprod = " · ".join(map(str, p.kernel))
    blocks: list[Block] = [Heading("Parameters")]
    if p.transposed:
        blocks.append(Note(f"weights = C_in · (C_out/g) · ∏k = {p.c_in} · ({p.c_out}/{p.groups}) · {kprod} = "
                           f"{weights} (PyTorch lays a transposed kernel out as (C_in, C_out/g, k...))"))
    else:
        blocks.append(Note(f"weights = C_out · (C_in/g) · ∏k = {p.c_out} · ({p.c_in}/{p.groups}) · {kprod} = "
                           f"{weights}"))
    blocks.append(Note(f"biases = {'C_out = ' + str(p.c_out) if p.bias else '0 (bias=False)'}"))
    if not p.transposed and p.groups == 1 and len(set(p.kernel)) == 1:
        f = p.kernel[0]
        power = "F²" if len(p.kernel) == 2 else ("F" if len(p.kernel) == 1 else f"F^{len(p.kernel)}")
        b = " + 1" if p.bias else ""
        blocks.append(Note(f"in the course's letters (K filters of size F, C input channels): K({power}C{b}) = "
                           f"{p.c_out}({f}{'²' if len(p.kernel) == 2 else ''}·{p.c_in}{b}) = {total}"))
    blocks.append(Note(f"total = {weights} + {biases} = {total}", "ok"))
    data: dict[str, Any] = {"weights": weights, "biases": biases, "total": total}
    if p.separable or p.groups > 1:
        blocks.extend(comparison(p))
    if p.input is not None:
        blocks.extend(_ops(p, data))
    status = ExitStatus.OK
    if answer is not None:
        quantity, claim = count_claim(answer)
        if quantity not in data:
            raise ConvcalcError(f"{quantity} are counted only with --input-size", "--answer")
        ok = claim == data[quantity]
        data["answer_correct"] = ok
        data["answer_of"] = quantity
        label = {"total": "parameters", "macs": "MACs", "flops": "FLOPs"}[quantity]
        blocks += [Heading("Your answer"), Note(f"claimed {claim} {label}, computed {data[quantity]}: "
                                                f"{'right' if ok else 'wrong'}", "ok" if ok else "error")]
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    settings = {"in_channels": p.c_in, "out_channels": p.c_out, "kernel_size": scalar(list(p.kernel)),
                "groups": p.groups, "bias": p.bias, "transposed": p.transposed}
    return Solution("params", "Parameters" + (" and operations" if p.input else ""), settings, data, blocks,
                    status=status)


_COUNT = re.compile(r"^\s*([0-9][0-9_,]{0,39})\s*(params?|parameters|macs?|flops?)?\s*$", re.IGNORECASE)


def count_claim(answer: str) -> tuple[str, int]:
    """``34944``, ``34944 params``, ``105705600 MACs`` or ``211411200 FLOPs``: what is counted, and the count."""
    m = _COUNT.match(answer)
    if m is None:
        raise ConvcalcError(f"expected a whole number, optionally followed by params, MACs or FLOPs; got {answer!r}",
                            "--answer")
    unit = (m.group(2) or "params").lower()
    quantity = "macs" if unit.startswith("mac") else "flops" if unit.startswith("flop") else "total"
    return quantity, int(m.group(1).replace(",", "").replace("_", ""))


def comparison(p: ParamsProblem) -> Iterator[Block]:
    """Plain, grouped, depthwise and depthwise-separable side by side, with the ratio to plain."""
    b = 1 if p.bias else 0
    rows = []
    plain = weights_of(p.c_in, p.c_out, p.kernel, 1, False) + b * p.c_out
    kinds = [("plain conv", 1)]
    if p.groups > 1:
        kinds.append((f"grouped (g={p.groups})", p.groups))
    for label, g in kinds:
        t = weights_of(p.c_in, p.c_out, p.kernel, g, False) + b * p.c_out
        rows.append((label, f"{p.c_out}·{p.c_in // g}·{'·'.join(map(str, p.kernel))} + {b * p.c_out}", t,
                     f"{t / plain:.4g}"))
    dw = weights_of(p.c_in, p.c_in, p.kernel, p.c_in, False) + b * p.c_in
    pw = weights_of(p.c_in, p.c_out, (1,) * len(p.kernel), 1, False) + b * p.c_out
    rows.append(("depthwise (g=C_in)", f"{p.c_in}·1·{'·'.join(map(str, p.kernel))} + {b * p.c_in}", dw,
                 f"{dw / plain:.4g}"))
    rows.append(("depthwise-separable", f"{dw} + pointwise {p.c_out}·{p.c_in} + {b * p.c_out}", dw + pw,
                 f"{(dw + pw) / plain:.4g}"))
    yield Table(("layer", "count", "params", "ratio to plain"), tuple(rows), "Compared with a plain convolution",
                ("layer", "count"))


def _ops(p: ParamsProblem, data: dict[str, Any]) -> Iterator[Block]:
    n = len(p.kernel)
    pick = [p.input, p.stride, p.padding, p.dilation, p.output_padding]
    i, s, pad, d, op = (t if len(t) == n else t * n for t in pick)  # type: ignore[operator]
    kind = "transposed" if p.transposed else "conv"
    out = tuple(axis_size(kind, *args).value for args in zip(i, p.kernel, s, pad, d, op, strict=True))
    if min(out) < 1:
        raise ConvcalcError(f"the output would be empty ({out})", "--input-size")
    yield Heading("Operations")
    cells = p.batch * p.c_out * math.prod(out)
    if p.transposed:
        macs = formulas.transposed_macs(p.batch, p.c_in, p.c_out, tuple(i), p.kernel, p.groups)
        yield Note(f"MACs on the input grid: N · C_in · (C_out/g) · ∏k · ∏H_in = {p.batch} · {p.c_in} · "
                   f"({p.c_out}/{p.groups}) · {'·'.join(map(str, p.kernel))} · {'·'.join(map(str, i))} = {macs}")
    else:
        macs = formulas.conv_macs(p.batch, p.c_in, p.c_out, out, p.kernel, p.groups)
        yield Note(f"output {' × '.join(map(str, out))}; MACs = N · C_out · ∏O · (C_in/g) · ∏k = {p.batch} · "
                   f"{p.c_out} · {'·'.join(map(str, out))} · {p.c_in // p.groups} · "
                   f"{'·'.join(map(str, p.kernel))} = {macs}")
    flops = 2 * macs
    yield Note(f"FLOPs = 2 · MACs = {flops} (convention: 1 MAC = 2 FLOPs, one multiply and one add; "
               f"bias additions not counted)")
    data.update({"output_size": scalar(list(out)), "macs": macs, "flops": flops})
    if p.exact_ops:
        if p.transposed:
            raise ConvcalcError("--exact-ops counts a convolution's sums; not defined here for --transposed",
                                "--exact-ops")
        taps = (p.c_in // p.groups) * math.prod(p.kernel)
        mults, adds = cells * taps, cells * (taps - 1 + (1 if p.bias else 0))
        yield Note(f"exact count: each of the {cells} outputs takes {taps} multiplications and {taps - 1} "
                   f"additions{' + 1 bias addition' if p.bias else ''} = {2 * taps - 1 + (1 if p.bias else 0)} "
                   f"operations ((2CK²−1){' + 1' if p.bias else ''}); total {mults} + {adds} = {mults + adds}")
        data.update({"multiplications": mults, "additions": adds, "exact_ops": mults + adds})
