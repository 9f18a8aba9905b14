"""Per-layer tables of a whole network: ``params --net`` and ``receptive-field``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from convcalc.derive.records import Block, Heading, Note, Solution, Table
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.net import AxisField, ConvLayer, Layer, PoolLayer
from convcalc.net.graph import Graph
from convcalc.net.receptive import graph_fields
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


def _indent(depth: int, name: str) -> str:
    return "  " * max(depth - 1, 0) + ("└ " if depth > 0 else "") + name


def params_table(graph: Graph, answer: str | None = None, depth: int = 3, exact: bool = False) -> Solution:
    """torchinfo's table: one row per module (to ``depth``) and per operation in forward; totals, memory."""
    from convcalc.derive import network_table as nt

    rows = []
    for e in nt.entries(graph, depth):
        frozen = "" if not e.frozen else " (frozen)" if e.frozen == e.params else f" ({nt.grouped(e.frozen)} frozen)"
        rows.append((_indent(e.depth, e.name), e.kind, e.kernel, _shape(e.output), nt.grouped(e.params) + frozen,
                     nt.grouped(e.macs)))
    total, trainable = graph.params, graph.trainable_params
    macs = graph.macs
    ops = sum(n.row.ops for n in graph.nodes)
    rows.append(("total", "", "", _shape(graph.output_shape), nt.grouped(total), nt.grouped(macs)))
    blocks: list[Block] = [Heading(f"Layers on input {_shape(graph.input_shape)}"),
                           Table(("layer", "type", "kernel", "output shape", "params", "MACs"), tuple(rows),
                                 "Parameters and multiply-accumulates per layer", ("layer", "type", "kernel",
                                                                                   "output shape"))]
    blocks.extend(Note(f"assumed: {a}", "warn") for a in graph.assumptions)
    for n in graph.nodes:
        blocks.extend(Note(f"{n.name or n.layer.where}: {note}") for note in n.row.notes
                      if not note.startswith("0 MACs"))
    mem = nt.memory(graph)
    blocks += [
        Note(f"total params: {nt.grouped(total)} ({nt.human(total)}) = "
             f"{nt.grouped(sum(n.row.weights for n in graph.nodes))} weights + "
             f"{nt.grouped(sum(n.row.biases for n in graph.nodes))} biases", "ok"),
        Note(f"trainable params: {nt.grouped(trainable)}; non-trainable (frozen): {nt.grouped(total - trainable)}"),
        Note(f"total MACs: {nt.grouped(macs)} ({nt.human(macs)}); FLOPs = 2·MACs + {nt.grouped(ops)} elementwise "
             f"operations = {nt.grouped(2 * macs + ops)} ({nt.human(2 * macs + ops)})"),
        Note("MACs for the whole batch as torch's FlopCounterMode counts them (conv, transposed conv, Linear, "
             "matmul); bias adds, normalization, pooling, activations and interpolation not counted"),
        Note(f"memory (torchinfo's estimate, float32, MB = 10⁶ bytes): input {nt.megabytes(mem.input_bytes)}, "
             f"forward/backward pass {nt.megabytes(mem.forward_backward_bytes)} (outputs of layers with parameters, "
             f"×2 for their gradients), params {nt.megabytes(mem.params_bytes)}, total {nt.megabytes(mem.total)}"),
    ]
    layer_data = [{"name": n.name, "layer": n.layer.text, "type": n.layer.kind, "module": n.module,
                   "inputs": list(n.inputs), "output_shape": list(n.row.output_shape), "weights": n.row.weights,
                   "biases": n.row.biases, "params": n.row.params, "trainable": n.trainable, "macs": n.row.macs,
                   "ops": n.row.ops} for n in graph.nodes]
    data: dict[str, Any] = {"layers": layer_data, "total_params": total, "trainable_params": trainable,
                            "total_macs": macs, "total_flops": 2 * macs + ops, "output_shape": list(graph.output_shape),
                            "assumptions": list(graph.assumptions),
                            "memory_bytes": {"input": mem.input_bytes, "forward_backward": mem.forward_backward_bytes,
                                             "params": mem.params_bytes, "total": mem.total}}
    if exact:
        blocks.extend(_exact_ops(graph, data))
    status = ExitStatus.OK
    if answer is not None:
        try:
            claim = int(answer.strip().replace(",", "").replace("_", ""))
        except ValueError:
            raise ConvcalcError(f"expected a whole number of parameters, got {answer!r}", "--answer") from None
        ok = claim == total
        data["answer_correct"] = ok
        blocks += [Heading("Your answer"), Note(f"claimed {answer.strip()}, computed {nt.grouped(total)}: "
                                                f"{'right' if ok else 'wrong'}", "ok" if ok else "error")]
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    return Solution("params", "Network parameters", {"input_shape": list(graph.input_shape)}, data, blocks,
                    status=status)


def _exact_ops(graph: Graph, data: dict[str, Any]) -> list[Block]:
    from convcalc.derive import network_table as nt

    rows, mults, adds, missing = [], 0, 0, []
    for n in graph.nodes:
        counted = nt.exact_ops(n)
        if counted is None:
            missing.append(n.name or n.layer.where)
            continue
        m, a = counted
        mults, adds = mults + m, adds + a
        if m or a:
            rows.append((n.name, n.layer.kind, nt.grouped(m), nt.grouped(a), nt.grouped(m + a)))
    rows.append(("total", "", nt.grouped(mults), nt.grouped(adds), nt.grouped(mults + adds)))
    data.update({"multiplications": mults, "additions": adds, "exact_ops": mults + adds})
    out: list[Block] = [Heading("Exact operations (--exact-ops)"),
                        Table(("layer", "type", "multiplications", "additions", "total"), tuple(rows),
                              "each conv/Linear output: taps multiplications, taps − 1 additions, + 1 for a bias",
                              ("layer", "type"))]
    if missing:
        data["exact_ops_not_counted"] = missing
        out.append(Note(f"not counted exactly here (transposed convs, matmuls): {', '.join(missing[:8])}"
                        f"{' …' if len(missing) > 8 else ''}", "warn"))
    return out


def _field(f: AxisField) -> str:
    if f.is_global:
        return f"{f.input_size}*"
    return fmt(f.receptive_field) if f.receptive_field == f.receptive_field_min else \
        f"{fmt(f.receptive_field_min)}–{fmt(f.receptive_field)}"


def _recurrence(layer: Layer, prev: tuple[AxisField, ...] | None, now: tuple[AxisField, ...]) -> Iterator[Note]:
    """The textbook recurrence with this layer's numbers, per axis."""
    if not isinstance(layer, (ConvLayer, PoolLayer)):
        return
    for a, f in enumerate(now):
        r0 = prev[a].recurrence if prev else 1
        j0 = prev[a].jump if prev else 1
        k, d, s = layer.kernel[a], layer.dilation[a], layer.stride[a]
        if isinstance(layer, ConvLayer) and layer.transposed:
            yield Note(f"{layer.where} {f.axis}: transposed conv: j = {fmt(j0)}/{s} = {fmt(f.jump)}; its units see "
                       f"different numbers of inputs (units differ), r = {_field(f)}", "warn")
            continue
        yield Note(f"{layer.where} {f.axis}: r = {fmt(r0)} + ({k}−1)·{d}·{fmt(j0)} = {fmt(f.recurrence)}, "
                   f"j = {fmt(j0)}·{s} = {fmt(f.jump)}")


def _label(graph: Graph, i: int) -> str:
    node = graph.nodes[i]
    return node.layer.text if not graph.groups else f"{node.name} ({node.layer.kind})"


MODE_WORDS = {False: "interior units (every unit whose window stays inside the input; --exact for every unit, "
                     "border included)",
              True: "every unit, border included (--exact)"}


def receptive_table(graph: Graph, exact: bool = False, answer: str | None = None) -> Solution:
    """Receptive field (largest, smallest), jump, start and globality per layer, recurrence worked."""
    shape = graph.input_shape
    if len(shape) < 3:
        raise ConvcalcError("needs a spatial input: N,C,H,W or N,C,W", "--input-shape")
    rf = graph_fields(graph, exact)
    exact = rf.exact  # every unit's fields where interior ones could not be followed (a note says so)
    rows = []
    notes: list[Block] = [Note(f"fields are exact for {MODE_WORDS[exact]}"),
                          Note("r_l = r_{l−1} + (k_l − 1)·d_l·j_{l−1},  j_l = j_{l−1}·s_l  (r, j in input pixels)")]
    notes.extend(Note(f"assumed: {a}", "warn") for a in graph.assumptions)
    layer_data = []
    last: tuple[AxisField, ...] | None = None
    for i, (node, frow) in enumerate(zip(graph.nodes, rf.rows, strict=True)):
        axes = frow.axes
        first = node.inputs[0] if node.inputs else -1
        prev = rf.rows[first].axes if first >= 0 else None
        glob = all(f.is_global for f in axes)
        where = node.layer.where if not graph.groups else f"{node.name} ({node.layer.kind})"
        rows.append((_label(graph, i), _shape(node.row.output_shape), " × ".join(_field(f) for f in axes),
                     " × ".join(fmt(f.jump) for f in axes), " × ".join(fmt(f.start) for f in axes),
                     "yes" if glob else ("partly" if any(f.is_global for f in axes) else "")))
        if any(f.is_global for f in axes) and not any("global: *" in str(n) for n in notes):
            notes.append(Note("global: * marks a field that is the whole input along that axis"))
        notes.extend(_recurrence(node.layer, prev, axes))
        notes.extend(Note(f"{where}: {n}", "warn") for n in frow.notes)
        notes.extend(Note(f"{where} {f.axis}: a widest unit sees {f.seen} of the {fmt(f.receptive_field)} pixels "
                          "its field spans (dilation leaves holes: the gridding effect)", "warn")
                     for f in axes if not f.is_global and not exact and f.seen < f.receptive_field)
        if glob:
            notes.append(Note(f"{where}: every output sees the whole input "
                              f"({'×'.join(str(f.input_size) for f in axes)})", "ok"))
        item: dict[str, Any] = {"layer": node.layer.text, "output_shape": list(node.row.output_shape),
                                "weights": node.row.weights, "biases": node.row.biases, "params": node.row.params,
                                "macs": node.row.macs}
        if graph.groups:
            item = {"name": node.name, "type": node.layer.kind, "inputs": list(node.inputs), **item}
        _json_num([f.receptive_field for f in axes], "receptive_field", item)
        _json_num([f.receptive_field_min for f in axes], "receptive_field_min", item)
        _json_num([f.jump for f in axes], "jump", item)
        _json_num([f.start for f in axes], "start", item)
        if any(not f.is_global and f.seen < f.receptive_field for f in axes) and not exact:
            _json_num([f.seen for f in axes], "pixels_seen", item)
        item["global"] = glob
        item["approximate"] = any(f.approximate for f in axes)
        layer_data.append(item)
        last = axes
    table = Table(("layer", "output shape", "receptive field", "jump", "start", "global"), tuple(rows),
                  "Receptive field per layer" + (" (exact spans, every unit)" if exact else " (interior units)"),
                  ("layer", "output shape"))
    data: dict[str, Any] = {"layers": layer_data, "total_params": graph.params, "exact": exact,
                            "field_of": "every_unit" if exact else "interior_units"}
    if graph.assumptions:
        data["assumptions"] = list(graph.assumptions)
    blocks: list[Block] = [Heading(f"Layers on input {_shape(shape)}"), table, Heading("The recurrence, worked"),
                           *notes]
    status = ExitStatus.OK
    if answer is not None and last is not None:
        ok, verdict = _check_field(answer, last)
        data["answer_correct"] = ok
        data["answer_of"] = "last_field"
        data["last_field"] = _scalar_field(last)
        blocks += [Heading(f"Your answer (the last layer's receptive field, {MODE_WORDS[exact].split(' (')[0]})"),
                   verdict]
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
    return ok, Note(f"claimed {answer.strip()}, computed {got}: {'right' if ok else 'wrong'}", "ok" if ok else "error")


def _field_matches(claim: str, f: AxisField) -> bool:
    if f.is_global:
        return claim in ("global", "all", "whole") or claim == str(f.input_size)
    if "-" in claim:
        lo, hi = (int(t) for t in claim.split("-"))
        return lo == f.receptive_field_min and hi == f.receptive_field
    return claim.isdigit() and int(claim) == f.receptive_field
