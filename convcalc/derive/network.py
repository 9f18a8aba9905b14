"""Per-layer tables of a whole network: ``params --net`` and ``receptive-field``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from convcalc.derive.records import Block, Equation, Heading, Note, Solution, Table
from convcalc.derive.texify import sentence_tex
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.net import AxisField, ConvLayer, Layer, PoolLayer, propagate, receptive_fields
from convcalc.numbers import fmt, to_json_value


def _shape(shape: tuple[int, ...]) -> str:
    return " × ".join(map(str, shape))


def _per_axis(values: list[Any]) -> Any:
    """One value when every axis agrees, else the per-axis list."""
    return values[0] if len(set(map(str, values))) == 1 else values


def _json_num(values: list[Any], key: str, out: dict[str, Any]) -> None:
    """ints stay ints; Fractions become floats with an ``*_exact`` string beside."""
    v = _per_axis(values)
    vals = v if isinstance(v, list) else [v]
    out[key] = [float(x) if isinstance(x, Fraction) else x for x in vals] if isinstance(v, list) else (
        float(v) if isinstance(v, Fraction) else v)
    if any(isinstance(x, Fraction) for x in vals):
        out[f"{key}_exact"] = [str(x) for x in vals] if isinstance(v, list) else str(v)


def params_table(layers: tuple[Layer, ...], shape: tuple[int, ...], answer: str | None = None) -> Solution:
    """One row per layer: output shape, weights, biases, params, MACs; totals last."""
    net = propagate(layers, shape)
    rows = [(r.layer.text, _shape(r.output_shape), r.weights, r.biases, r.params, r.macs) for r in net.rows]
    rows.append(("total", _shape(net.output_shape), net.weights, net.biases, net.params, net.macs))
    blocks: list[Block] = [Heading(f"Layers on input {_shape(shape)}"),
                           Table(("layer", "output shape", "weights", "biases", "params", "MACs"), tuple(rows),
                                 "Parameters and multiply-accumulates per layer", ("layer", "output shape"))]
    for r in net.rows:
        blocks.extend(Note(f"{r.layer.where}: {n}") for n in r.notes)
    blocks.append(Note("MACs are multiply-accumulates for the whole batch (1 MAC = 2 FLOPs; bias adds not counted)"))
    blocks.append(Note(f"total parameters: {net.params} ({net.weights} weights + {net.biases} biases)", "ok"))
    layer_data = [{"layer": r.layer.text, "output_shape": list(r.output_shape), "weights": r.weights,
                   "biases": r.biases, "params": r.params, "macs": r.macs} for r in net.rows]
    data: dict[str, Any] = {"layers": layer_data, "total_params": net.params, "total_macs": net.macs,
                            "output_shape": list(net.output_shape)}
    status = ExitStatus.OK
    if answer is not None:
        from convcalc.derive.sizes import count_verdict

        data["total_flops"] = 2 * net.macs
        blocks += count_verdict(answer, data, {"total": "total_params", "macs": "total_macs",
                                                "flops": "total_flops"})
        status = ExitStatus.OK if data["answer_correct"] else ExitStatus.WRONG_ANSWER
    return Solution("params", "Network parameters", {"input_shape": list(shape)}, data, blocks, status=status)


def _field(f: AxisField) -> str:
    if f.is_global:
        return f"{f.input_size}*"
    return fmt(f.receptive_field) if f.receptive_field == f.receptive_field_min else \
        f"{fmt(f.receptive_field_min)}–{fmt(f.receptive_field)}"


def _recurrence(layer: Layer, prev: tuple[AxisField, ...] | None, now: tuple[AxisField, ...]) -> Iterator[Block]:
    """The textbook recurrence with this layer's numbers, per axis."""
    if not isinstance(layer, (ConvLayer, PoolLayer)):
        return
    for a, f in enumerate(now):
        r0 = prev[a].recurrence if prev else 1
        j0 = prev[a].jump if prev else 1
        k, d, s = layer.kernel[a], layer.dilation[a], layer.stride[a]
        if isinstance(layer, ConvLayer) and layer.transposed:
            yield Note(f"{layer.where} {f.axis}: transposed conv: j = {fmt(j0)}/{s} = {fmt(f.jump)}; its units see "
                       f"different numbers of inputs (units differ), r = {_field(f)}", "warn")  # words: a Note
            continue
        text = (f"{layer.where} {f.axis}: r = {fmt(r0)} + ({k}−1)·{d}·{fmt(j0)} = {fmt(f.recurrence)}, "
                f"j = {fmt(j0)}·{s} = {fmt(f.jump)}")
        yield Equation(text, sentence_tex(text))


def receptive_table(layers: tuple[Layer, ...], shape: tuple[int, ...], exact: bool = False,
                    answer: str | None = None) -> Solution:
    """Receptive field (largest, smallest), jump, start and globality per layer, recurrence worked."""
    if len(shape) < 3:
        raise ConvcalcError("needs a spatial input: N,C,H,W or N,C,W", "--input-shape")
    net = propagate(layers, shape)
    rf = receptive_fields(layers, shape, exact, net)
    rows = []
    notes: list[Block] = [Equation(
        "r_l = r_{l−1} + (k_l − 1)·d_l·j_{l−1},  j_l = j_{l−1}·s_l  (r, j in input pixels)",
        r"r_l = r_{l-1} + (k_l - 1)\, d_l\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l \qquad "
        r"(\text{$r$, $j$ in input pixels})")]
    layer_data = []
    prev: tuple[AxisField, ...] | None = None
    for srow, frow in zip(net.rows, rf.rows, strict=True):
        axes = frow.axes
        glob = all(f.is_global for f in axes)
        rows.append((frow.layer.text, _shape(srow.output_shape), " × ".join(_field(f) for f in axes),
                     " × ".join(fmt(f.jump) for f in axes), " × ".join(fmt(f.start) for f in axes),
                     "yes" if glob else ("partly" if any(f.is_global for f in axes) else "")))
        if any(f.is_global for f in axes) and not any("global: *" in str(n) for n in notes):
            notes.append(Note("global: * marks a field that is the whole input along that axis"))
        notes.extend(_recurrence(frow.layer, prev, axes))
        notes.extend(Note(f"{frow.layer.where}: {n}", "warn") for n in frow.notes)
        if glob:
            notes.append(Note(f"{frow.layer.where}: every output sees the whole input "
                              f"({'×'.join(str(f.input_size) for f in axes)})", "ok"))
        item: dict[str, Any] = {"layer": frow.layer.text, "output_shape": list(srow.output_shape),
                                "weights": srow.weights, "biases": srow.biases, "params": srow.params,
                                "macs": srow.macs}
        _json_num([f.receptive_field for f in axes], "receptive_field", item)
        _json_num([f.receptive_field_min for f in axes], "receptive_field_min", item)
        _json_num([f.jump for f in axes], "jump", item)
        _json_num([f.start for f in axes], "start", item)
        item["global"] = glob
        item["approximate"] = any(f.approximate for f in axes)
        layer_data.append(item)
        prev = axes
    table = Table(("layer", "output shape", "receptive field", "jump", "start", "global"), tuple(rows),
                  "Receptive field per layer" + (" (exact spans)" if exact else ""), ("layer", "output shape"))
    data: dict[str, Any] = {"layers": layer_data, "total_params": net.params, "exact": exact}
    blocks: list[Block] = [Heading(f"Layers on input {_shape(shape)}"), table, Heading("The recurrence, worked"),
                           *notes]
    status = ExitStatus.OK
    if answer is not None and prev is not None:
        ok, verdict = _check_field(answer, prev)
        data["answer_correct"] = ok
        data["answer_of"] = "last_field"
        data["last_field"] = _scalar_field(prev)
        from convcalc.derive import grading

        blocks += [Heading(f"Checking {grading.whose()} (the last layer's receptive field)"), verdict]
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    return Solution("receptive-field", "Receptive fields", {"input_shape": list(shape), "exact": exact}, data,
                    blocks, status=status)


def _scalar_field(axes: tuple[AxisField, ...]) -> Any:
    values = ["global" if f.is_global else to_json_value(f.receptive_field) for f in axes]
    return values[0] if len(set(map(str, values))) == 1 else values


def _check_field(answer: str, axes: tuple[AxisField, ...]) -> tuple[bool, Note]:
    """A claimed field: ``n`` (every axis), ``h,w``, ``lo-hi`` for units that differ, or ``global``.

    A field that covers the whole input is right as ``global`` or as the input's size; where
    units differ (after a transposed conv) the widest unit's span is the field, and a range
    ``lo-hi`` must name both ends.
    """
    text = answer.strip().lower().replace("×", ",").replace("x", ",")
    parts = [t.strip() for t in text.split(",") if t.strip()]
    if len(parts) == 1:
        parts = parts * len(axes)
    if len(parts) != len(axes) or not all(re.fullmatch(r"global|all|whole|\d{1,12}(-\d{1,12})?", t) for t in parts):
        raise ConvcalcError(f"expected a field like 13, 13,13, 13-17 or 'global' (one per axis: {len(axes)}), "
                            f"got {answer!r}", "--answer")
    ok = all(_field_matches(t, f) for t, f in zip(parts, axes, strict=True))
    got = " × ".join(_field(f) for f in axes)
    from convcalc.derive import grading

    return ok, Note(f"{'✓' if ok else '✗'} {grading.whose()} {answer.strip()}, computed {got}: "
                    f"{'right' if ok else 'wrong'}", "ok" if ok else "error")


def _field_matches(claim: str, f: AxisField) -> bool:
    if f.is_global:
        return claim in ("global", "all", "whole") or claim == str(f.input_size)
    if "-" in claim:
        lo, hi = (int(t) for t in claim.split("-"))
        return lo == f.receptive_field_min and hi == f.receptive_field
    return claim.isdigit() and int(claim) == f.receptive_field
