"""Scanning MLPs and CNNs, both ways (the CMU course's §6 and §8.1).

* An MLP that reads ``window`` time steps of a C-channel input (flattened time-major: the
  window's first vector of C, then the next, ...) and strides ``stride`` steps is the CNN
  Conv1d(C, H1, window, stride), then Conv1d(H_l, H_l+1, 1) for each later Linear;
  its weights are the Linear weights reshaped (out, window, C) and transposed to (out, C, window).
* A CNN of Conv1d layers is a scanning MLP whose window is the last layer's receptive field,
  whose stride is its jump, and whose neurons are each filter once per position it is needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from itertools import chain

import numpy as np

from convcalc.core import stack
from convcalc.derive.backprop_net import NetProblem, param_names, resolve
from convcalc.derive.records import Block, Heading, Note, Solution, Table
from convcalc.derive.scan_plan import Plan, layer_plans, plain_plan
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.net import parse_network, propagate
from convcalc.net.layers import ElementwiseLayer, FlattenLayer, Layer, LinearLayer
from convcalc.numbers import Array

MAX_INPUT = 10_000_000  # numbers of the input both networks are run on to check converted weights


@dataclass(frozen=True)
class MlpToCnn:
    input_shape: tuple[int, int, int]  # (N, C, T)
    mlp: tuple[Layer, ...]
    window: int
    stride: int
    weights: Mapping[str, Array] | None = None
    x: Array | None = None  # the input the two are run on; default random (seed 0)
    unique: tuple[int, ...] | None = None  # distinct neurons per Linear layer (a distributed MLP)


def _mlp_body(mlp: tuple[Layer, ...]) -> tuple[Layer, ...]:
    body = mlp[1:] if mlp and isinstance(mlp[0], FlattenLayer) else mlp
    for layer in body:
        if not isinstance(layer, LinearLayer) and not (isinstance(layer, ElementwiseLayer)
                                                       and layer.kind in stack.ACTIVATIONS):
            raise ConvcalcError(f"a scanning MLP here is Linear layers and activations ({', '.join(stack.ACTIVATIONS)}) "
                                "after an optional leading Flatten()", layer.where)
    if not any(isinstance(layer, LinearLayer) for layer in body):
        raise ConvcalcError("the MLP has no Linear layer", "--mlp")
    return body


def plans(p: MlpToCnn) -> list[Plan]:
    """The CNN layouts (filters, kernel, stride per Linear) that scan like the MLP; the first is used."""
    c = p.input_shape[1]
    linears = [layer for layer in _mlp_body(p.mlp) if isinstance(layer, LinearLayer)]
    if linears[0].in_features != p.window * c:
        raise ConvcalcError(f"the first Linear takes {linears[0].in_features} inputs, but a window of {p.window} steps "
                            f"of {c} channels is {p.window}·{c} = {p.window * c}", linears[0].where)
    widths = [layer.out_features for layer in linears]
    if p.unique is None:
        return [plain_plan(widths, p.window, p.stride)]
    return layer_plans(widths, p.unique, p.window, p.stride)


def cnn_spec(p: MlpToCnn, plan: Plan) -> str:
    """The equivalent CNN as a layer list."""
    parts, c_prev, i = [], p.input_shape[1], 0
    for layer in _mlp_body(p.mlp):
        if isinstance(layer, LinearLayer):
            f, k, s = plan[i]
            extra = (f", stride={s}" if s != 1 else "") + ("" if layer.bias else ", bias=False")
            parts.append(f"Conv1d({c_prev}, {f}, {k}{extra})")
            c_prev, i = f, i + 1
        else:
            parts.append(layer.text)
    return ", ".join([*parts, "Flatten()"])


def _mlp_input(p: MlpToCnn) -> tuple[int, ...]:
    c = p.input_shape[1]
    return (1, p.window, c) if isinstance(p.mlp[0], FlattenLayer) else (1, p.window * c)


def mlp_params(p: MlpToCnn, weights: Mapping[str, Array]) -> dict[int, dict[str, Array]]:
    """The MLP's parameters per layer index, names and shapes checked."""
    params, _ = resolve(NetProblem(p.mlp, np.zeros(_mlp_input(p)), weights, None))
    return params


def convert_weights(p: MlpToCnn, cnn: tuple[Layer, ...], plan: Plan) -> dict[str, Array]:
    """The MLP's state_dict turned into the CNN's, layer by layer.

    A layer of f filters of width K over c channels is the MLP's first f neurons (position 0),
    reading the first K·c inputs of the layer below (time-major: position 0's c values first):
    W[:f, :K·c].reshape(f, K, c).transpose(0, 2, 1) → (C_out, C_in, K); bias b[:f].
    """
    n, c, t = p.input_shape
    assert p.weights is not None
    mlp = mlp_params(p, p.weights)
    cnn_names = param_names(cnn, (n, c, t), None)
    out: dict[str, Array] = {}
    c_prev = c
    for (mi, ci), (f, k, _s) in zip(zip(sorted(mlp), sorted(cnn_names), strict=True), plan, strict=True):
        for kind, a in mlp[mi].items():
            a = a[:f, : k * c_prev].reshape(f, k, c_prev).transpose(0, 2, 1) if kind == "weight" else a[:f]
            out[cnn_names[ci][kind]] = np.ascontiguousarray(a)
        c_prev = f
    return out


def scan(p: MlpToCnn, x: Array, weights: Mapping[str, Array]) -> Array:
    """The MLP run on each window (time-major flattening) → (N, positions, outputs)."""
    n, _c, t = x.shape
    body = _mlp_body(p.mlp)
    params = mlp_params(p, weights)
    offset = len(p.mlp) - len(body)
    outs = []
    for start in range(0, t - p.window + 1, p.stride):
        v = x[:, :, start:start + p.window].transpose(0, 2, 1).reshape(n, -1)  # time-major: step 0's C values first
        for i, layer in enumerate(body):
            v = stack.forward(layer, v, params.get(i + offset, {}))
        outs.append(v)
    return np.stack(outs, axis=1)


def mlp_to_cnn(p: MlpToCnn, seed: int = 0) -> tuple[Solution, dict[str, Array] | None]:
    n, c, t = p.input_shape
    if p.window > t:
        raise ConvcalcError(f"a window of {p.window} is longer than the input's {t} steps", "--window")
    found = plans(p)
    plan = found[0]
    spec = cnn_spec(p, plan)
    cnn = parse_network(spec)
    positions = (t - p.window) // p.stride + 1
    last = plan[-1][0]
    cnn_shape = list(propagate(cnn[:-1], (n, c, t)).output_shape)
    data: dict[str, object] = {"cnn": spec, "cnn_layers": [layer.text for layer in cnn], "positions": positions,
                               "output_shape": [positions, last], "cnn_output_shape": cnn_shape,
                               "flattened": positions * last}
    if p.unique is not None:
        data["plan"] = [{"filters": f, "kernel": k, "stride": st} for f, k, st in plan]
        data["alternatives"] = [cnn_spec(p, other) for other in found[1:]]
    converted = None
    if p.weights is not None:
        if cnn_shape[2] != positions:
            raise ConvcalcError(f"the CNN gives {cnn_shape[2]} positions where the scan gives {positions}; "
                                "the weights cannot be checked", "--unique")
        if n * c * t > MAX_INPUT:
            raise ConvcalcError(f"checking the weights runs both networks on an input of {n}×{c}×{t} numbers; "
                                f"at most {MAX_INPUT} are run", "--input-shape")
        converted = convert_weights(p, cnn, plan)
        x = p.x if p.x is not None else np.random.default_rng(seed).normal(size=(n, c, t))
        if x.shape != (n, c, t):
            raise ConvcalcError(f"has shape {x.shape}, but --input-shape says {(n, c, t)}", "--input")
        scanned = scan(p, x, p.weights)
        z = x
        names = param_names(cnn, (n, c, t), None)
        for i, layer in enumerate(cnn[:-1]):
            z = stack.forward(layer, z, {k: converted[v] for k, v in names.get(i, {}).items()})
        diff = float(np.max(np.abs(z.transpose(0, 2, 1) - scanned))) if z.size else 0.0
        data.update({"weights": {k: list(v.shape) for k, v in converted.items()}, "max_difference": diff,
                     "agree": bool(diff <= 1e-9 * max(1.0, float(np.max(np.abs(scanned), initial=0.0)))),
                     "output": z.reshape(n, -1)})
    settings = {"input_shape": list(p.input_shape), "window": p.window, "stride": p.stride}
    return Solution("scan-mlp", "A scanning MLP as a CNN", settings, data, _blocks(p, cnn, data)), converted


def _blocks(p: MlpToCnn, cnn: tuple[Layer, ...], data: dict[str, object]) -> Iterator[Block]:
    _n, c, t = p.input_shape
    k, s = p.window, p.stride
    yield Heading("The scan")
    yield Note(f"The MLP reads {k} consecutive steps of {c} channels ({k}·{c} = {k * c} inputs, step 0's {c} values "
               f"first, then step 1's, …) and moves {s} steps each time, without padding: "
               f"({t} − {k})//{s} + 1 = {data['positions']} positions.")
    if (t - k) % s:
        yield Note(f"The last {(t - k) % s} step(s) of the input are never read (({t} − {k}) is not a multiple of {s}).",
                   "warn")
    yield Heading("The equivalent CNN")
    body = _mlp_body(p.mlp)
    rows = tuple((m.text, cl.text) for m, cl in zip(body, cnn, strict=False))
    yield Table(("MLP layer", "CNN layer"), (*rows, ("(one output per position)", cnn[-1].text)),
                left=("MLP layer", "CNN layer"))
    if p.unique is None:
        yield Note(f"The first Linear becomes a filter bank {k} steps wide moving {s} steps: each of its neurons is "
                   f"one filter. Each later neuron sees only the neurons of the same window, so its layer is a "
                   f"1-wide convolution (kernel 1, stride 1).")
    else:
        yield from _distributed_notes(p, data)
    out_shape = data["cnn_output_shape"]
    assert isinstance(out_shape, list)
    yield Note(f"Output: {data['positions']} positions × {out_shape[1]} outputs; the CNN's Flatten of "
               f"(N, {out_shape[1]}, {data['positions']}) gives {data['flattened']} values per sample, all positions "
               f"of output 1 first (channel-major).")
    if "weights" not in data:
        return
    first = next(layer for layer in body if isinstance(layer, LinearLayer))
    h = first.out_features
    yield Heading("The weights")
    if p.unique is not None:
        yield Note("Each layer's filters are its first f neurons (those at position 0, reading the first K positions "
                   "of the layer below, position 0's values first): W[:f, :K·c].reshape(f, K, c).transpose(0, 2, 1) "
                   "gives (C_out, C_in, K); the bias b[:f]. The other neurons repeat them, shifted.")
        yield from _verdict(data)
        return
    yield Note(f"First Linear: PyTorch stores W as (out, in) = ({h}, {k * c}); input index j = t·{c} + ch (time-major). "
               f"W.reshape({h}, {k}, {c}) is (out, time, channel); .transpose(0, 2, 1) gives Conv1d's "
               f"(C_out, C_in, K) = ({h}, {c}, {k}).")
    yield Note(f"In MCQ 7's layout W_MLP(in, out) = ({k * c}, {h}): W_MLP.reshape(kernel_size, in_channel, "
               f"out_channel) = ({k}, {c}, {h}), then .transpose() reverses the axes to ({h}, {c}, {k}): option (B).")
    yield Note("Each later Linear (out, in) gets a kernel axis of 1: W[:, :, None]. Biases carry over unchanged.")
    yield from _verdict(data)


def _verdict(data: dict[str, object]) -> Iterator[Block]:
    verdict = "agree" if data["agree"] else "DIFFER (do the MLP's weights really share as --unique says?)"
    yield Note(f"Checked: the MLP run window by window and the CNN with the converted weights {verdict} "
               f"(largest difference {data['max_difference']:.3g}).", "ok" if data["agree"] else "error")


def _distributed_notes(p: MlpToCnn, data: dict[str, object]) -> Iterator[Block]:
    plan = data["plan"]
    assert isinstance(plan, list) and p.unique is not None
    widths = [layer.out_features for layer in _mlp_body(p.mlp) if isinstance(layer, LinearLayer)]
    for i, (w, step) in enumerate(zip(widths, plan, strict=True)):
        f, k, st = step["filters"], step["kernel"], step["stride"]
        yield Note(f"Layer {i + 1}: {w} neurons = {f} distinct × {w // f} position(s): {f} filter(s) {k} wide, "
                   f"stride {st}.")
    yield Note("The positions fit: (P_l − 1)·s_l + K_l = P_(l−1) under each layer, (P_1 − 1)·s_1 + K_1 = the "
               f"window {p.window}, and ∏ s_l = the MLP's stride {p.stride}.")
    others = data.get("alternatives") or []
    assert isinstance(others, list)
    if others:
        yield Note(f"{len(others)} other layout(s) fit the same counts (shown: the one whose kernels equal their "
                   f"strides, as a distributed MLP is drawn): {'; '.join(others[:3])}"
                   + (" …" if len(others) > 3 else ""), "warn")


def with_answer(sol: Solution, answer: str | None) -> Solution:
    """The solution with a claimed count judged: flattened size (MLP → CNN); neurons[,unique] (CNN → MLP)."""
    if answer is None:
        return sol
    parts = [v.strip() for v in answer.split(",")]
    if not 1 <= len(parts) <= 2 or not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in parts):
        raise ConvcalcError(f"expected a whole number (or neurons,unique with --cnn), got {answer[:40]!r}", "--answer")
    claimed = [int(v) for v in parts]
    keys = ["neurons", "unique_neurons"] if "neurons" in sol.data else ["flattened"]
    if len(claimed) > len(keys):
        raise ConvcalcError("with --mlp the answer is one number, the flattened output size", "--answer")
    computed = [sol.data[k] for k in keys[: len(claimed)]]
    ok = claimed == computed
    what = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in zip(keys, computed, strict=False))
    note = Note(f"Your answer {answer.strip()} is {'right' if ok else 'wrong'}: {what}.", "ok" if ok else "error")
    data = {**sol.data, "answer_correct": ok, "answer_of": keys[0]}
    return replace(sol, data=data, blocks=chain(sol.blocks, [Heading("Checking your answer"), note]),
                   status=ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER)
