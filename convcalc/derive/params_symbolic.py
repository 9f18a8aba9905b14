"""``convcalc params`` in letters: weights, biases, MACs, FLOPs and exact operation counts as
polynomials (``convcalc.symbolic.counts`` does the algebra; this module lays it out)."""

from __future__ import annotations

import re
from typing import Any

from convcalc.derive.records import Block, Equation, Heading, Note, Solution
from convcalc.derive.sizes_symbolic import read
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.symbolic import printing
from convcalc.symbolic.counts import Counts, layer, pair_total, separable
from convcalc.symbolic.settings import parse_settings, split_pair
from convcalc.symbolic.sizes import Condition, settings_requirements

LABELS = {"weights": "weights", "biases": "biases", "total": "total", "macs": "MACs", "flops": "FLOPs",
          "multiplications": "multiplications", "additions": "additions", "exact_ops": "exact operations"}


def read_counts(texts: dict[str, str | None], dim: int) -> dict[str, Any]:
    """The channel, group and batch flags, and the kernel per axis, read together."""
    items = {}
    for flag in ("--in-channels", "--out-channels", "--groups", "--batch"):
        text = texts.get(flag)
        if text is None:
            raise ConvcalcError(f"missing: give {flag} N or a letter (or --net FILE)", flag)
        items[(flag, 0)] = (text, "positive_int", flag)
    kernel = texts.get("--kernel-size")
    if kernel is None:
        raise ConvcalcError("missing: give --kernel-size K (a number or letters)", "--kernel-size")
    parts = split_pair(kernel)
    parts = parts * dim if len(parts) == 1 else parts
    if len(parts) != dim:
        raise ConvcalcError(f"expected {dim} value(s) for --dim {dim}, got {kernel!r}", "--kernel-size")
    for a, part in enumerate(parts):
        items[("--kernel-size", a)] = (part, "positive_int", "--kernel-size")
    parsed = parse_settings(items)
    settings_requirements({key: parsed[key] for key in parsed}, {key: "positive_int" for key in parsed})
    return {"c_in": parsed[("--in-channels", 0)], "c_out": parsed[("--out-channels", 0)],
            "groups": parsed[("--groups", 0)], "batch": parsed[("--batch", 0)],
            "kernel": tuple(parsed[("--kernel-size", a)] for a in range(dim))}


def params(texts: dict[str, str | None], dim: int, bias: bool, transposed: bool, pair: bool, exact_ops: bool,
           answer: str | None) -> Solution:
    """The counts in letters, worked; ``pair``: the depthwise-separable pair's counts are the answer."""
    v = read_counts(texts, dim)
    axes = None
    requires: tuple[Condition, ...] = ()
    if texts.get("--input-size") is not None:
        sizes = read({**texts}, "transposed" if transposed else "conv", dim)
        axes, requires = sizes.axes if len(sizes.axes) == dim else sizes.axes * dim, sizes.requires
        axes = _unify(axes, v)
    blocks: list[Block] = []
    if pair:
        if transposed:
            raise ConvcalcError("a depthwise-separable pair is counted for a plain convolution", "--depthwise-separable")
        dw, pw = separable(v["c_in"], v["c_out"], v["kernel"], bias, axes, v["batch"])
        counts = pair_total(dw, pw)
        blocks += [Heading("Depthwise layer (groups = C_in)"), *_lines(dw, exact_ops),
                   Heading("Pointwise layer (1×1)"), *_lines(pw, exact_ops), Heading("The pair")]
        plain = layer(v["c_in"], v["c_out"], v["kernel"], 1, bias, False, axes, v["batch"])
    else:
        counts = layer(v["c_in"], v["c_out"], v["kernel"], v["groups"], bias, transposed, axes, v["batch"])
        blocks.append(Heading("Parameters" + (" and operations" if axes else "")))
    blocks += _lines(counts, exact_ops)
    if pair:
        blocks.append(Note(f"a plain convolution would have {printing.text(plain.total)} parameters"
                           + (f" and {printing.text(plain.macs)} MACs" if plain.macs is not None else "")))
    conds = {c.sympy: c for c in (*requires, *counts.requires)}
    if conds:
        blocks.append(Note("assuming " + "; ".join(c.text for c in conds.values())))
    data = _data(counts, exact_ops, list(conds.values()))
    status = ExitStatus.OK
    if answer is not None:
        ok, line = _judge(answer, data, counts, exact_ops, [c.expr for c in conds.values()])
        data["answer_correct"] = ok
        blocks += [Heading("Your answer"), line]
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    settings = {"in_channels": _plain(v["c_in"]), "out_channels": _plain(v["c_out"]),
                "kernel_size": [_plain(k) for k in v["kernel"]] if dim > 1 else _plain(v["kernel"][0]),
                "groups": _plain(v["groups"]), "bias": bias, "transposed": transposed}
    if pair:
        settings["depthwise_separable"] = True
    title = ("Depthwise-separable convolution: parameters" if pair else "Parameters") + \
        (" and operations" if axes else "")
    return Solution("params", title, settings, data, blocks, status=status)


def _unify(axes: tuple[Any, ...], v: dict[str, Any]) -> tuple[Any, ...]:
    """The size flags' letters and the count flags' letters as the same Symbols."""
    from convcalc.symbolic.settings import adopt, letters

    known = letters(*v["kernel"], v["c_in"], v["c_out"], v["groups"], v["batch"])
    kernel = v["kernel"] * (len(axes) if len(v["kernel"]) == 1 else 1)
    return tuple(type(ax)(adopt(ax.i, known.values()), k, *(adopt(x, known.values()) for x in (ax.s, ax.p, ax.d, ax.q)))
                 for ax, k in zip(axes, kernel, strict=True))


def _lines(c: Counts, exact_ops: bool) -> list[Block]:
    rows: list[tuple[str, Any]] = [("weights", c.weights), ("biases", c.biases), ("total", c.total)]
    if c.out is not None:
        rows.append(("output size", " × ".join(printing.text(o) for o in c.out)))
        rows += [("MACs", c.macs), ("FLOPs = 2 · MACs", c.flops)]
        if exact_ops and c.multiplications is not None:
            rows += [("multiplications", c.multiplications), ("additions", c.additions),
                     ("exact operations", c.exact_ops)]
    out: list[Block] = []
    for name, value in rows:
        if isinstance(value, str):
            out.append(Note(f"{name}: {value}"))
        else:
            out.append(Equation(f"{name} = {printing.text(value)}",
                                rf"\text{{{name.replace('·', '').replace('  ', ' ')}}} = {printing.latex(value)}"))
    return out


def _data(c: Counts, exact_ops: bool, conds: list[Condition]) -> dict[str, Any]:
    data: dict[str, Any] = {"weights": _plain(c.weights), "biases": _plain(c.biases), "total": _plain(c.total)}
    if c.out is not None:
        data["output_size"] = [_plain(o) for o in c.out] if len(c.out) > 1 else _plain(c.out[0])
        data.update({"macs": _plain(c.macs), "flops": _plain(c.flops)})
        if exact_ops and c.multiplications is not None:
            data.update({"multiplications": _plain(c.multiplications), "additions": _plain(c.additions),
                         "exact_ops": _plain(c.exact_ops)})
    data["conditions"] = [x.sympy for x in conds]
    data["symbolic"] = True
    return data


def _plain(v: Any) -> Any:
    return int(v) if getattr(v, "is_Integer", False) else printing.sympy_syntax(v)


_UNIT = re.compile(r"\s*(params?|parameters|macs?|flops?|weights|biases|ops|operations)\s*$", re.IGNORECASE)


def _judge(answer: str, data: dict[str, Any], c: Counts, exact_ops: bool, conds: list[Any]) -> tuple[bool, Note]:
    from convcalc.symbolic.judge import SAMPLES, equivalent, read_claim

    m = _UNIT.search(answer)
    unit = (m.group(1).lower() if m else "params")
    text = answer[:m.start()] if m else answer
    quantity = ("macs" if unit.startswith("mac") else "flops" if unit.startswith("flop") else
                "weights" if unit == "weights" else "biases" if unit == "biases" else
                "exact_ops" if unit in ("ops", "operations") else "total")
    computed = {"total": c.total, "weights": c.weights, "biases": c.biases, "macs": c.macs, "flops": c.flops,
                "exact_ops": c.exact_ops if exact_ops else None}[quantity]
    if computed is None:
        raise ConvcalcError(f"{LABELS[quantity]} are counted only with --input-size"
                            + (" and --exact-ops" if quantity == "exact_ops" else ""), "--answer")
    known = computed.free_symbols | {s for x in conds for s in x.free_symbols}
    claim = read_claim(text, known)
    same, env = equivalent(claim, computed, conds)
    data["answer_of"] = quantity
    if same is not False:
        how = "" if same else f" (at {SAMPLES} random values of the letters; SymPy could not prove it)"
        return True, Note(f"right: your {text.strip()} equals the {LABELS[quantity]} "
                          f"{printing.text(computed)}{how}", "ok")
    at = ", ".join(f"{printing.text(s)} = {x}" for s, x in sorted(env.items(), key=lambda kv: kv[0].name))
    return False, Note(f"wrong: your {text.strip()} differs from the {LABELS[quantity]} {printing.text(computed)}"
                       + (f" (at {at}: {claim.xreplace(env)} against {computed.xreplace(env)})" if env else ""),
                       "error")
