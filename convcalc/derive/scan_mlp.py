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
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.formulas import jump_step, receptive_field_step
from convcalc.net import parse_network
from convcalc.net.layers import ConvLayer, ElementwiseLayer, FlattenLayer, Layer, LinearLayer
from convcalc.numbers import Array


@dataclass(frozen=True)
class MlpToCnn:
    input_shape: tuple[int, int, int]  # (N, C, T)
    mlp: tuple[Layer, ...]
    window: int
    stride: int
    weights: Mapping[str, Array] | None = None
    x: Array | None = None  # the input the two are run on; default random (seed 0)


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


def cnn_spec(p: MlpToCnn) -> str:
    """The equivalent CNN as a layer list."""
    c = p.input_shape[1]
    body = _mlp_body(p.mlp)
    first = next(layer for layer in body if isinstance(layer, LinearLayer))
    if first.in_features != p.window * c:
        raise ConvcalcError(f"the first Linear takes {first.in_features} inputs, but a window of {p.window} steps of "
                            f"{c} channels is {p.window}·{c} = {p.window * c}", first.where)
    parts = []
    for layer in body:
        if isinstance(layer, LinearLayer):
            b = "" if layer.bias else ", bias=False"
            if layer is first:
                parts.append(f"Conv1d({c}, {layer.out_features}, {p.window}, stride={p.stride}{b})")
            else:
                parts.append(f"Conv1d({layer.in_features}, {layer.out_features}, 1{b})")
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


def convert_weights(p: MlpToCnn, cnn: tuple[Layer, ...]) -> dict[str, Array]:
    """The MLP's state_dict turned into the CNN's: first Linear (out, window·C) → (out, C, window); others (out, in, 1)."""
    n, c, t = p.input_shape
    assert p.weights is not None
    mlp = mlp_params(p, p.weights)
    cnn_names = param_names(cnn, (n, c, t), None)
    out: dict[str, Array] = {}
    for pos, (mi, ci) in enumerate(zip(sorted(mlp), sorted(cnn_names), strict=True)):
        for kind, a in mlp[mi].items():
            if kind == "weight":
                a = a.reshape(a.shape[0], p.window, c).transpose(0, 2, 1) if pos == 0 else a[:, :, None]
            out[cnn_names[ci][kind]] = np.ascontiguousarray(a)
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
    spec = cnn_spec(p)
    cnn = parse_network(spec)
    positions = (t - p.window) // p.stride + 1
    last = [layer for layer in _mlp_body(p.mlp) if isinstance(layer, LinearLayer)][-1].out_features
    data: dict[str, object] = {"cnn": spec, "cnn_layers": [layer.text for layer in cnn], "positions": positions,
                               "output_shape": [positions, last], "cnn_output_shape": [n, last, positions],
                               "flattened": positions * last}
    converted = None
    if p.weights is not None:
        converted = convert_weights(p, cnn)
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
    yield Note(f"The first Linear becomes a filter bank {k} steps wide moving {s} steps: each of its neurons is one "
               f"filter. Each later neuron sees only the neurons of the same window, so its layer is a 1-wide "
               f"convolution (kernel 1, stride 1).")
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
    yield Note(f"First Linear: PyTorch stores W as (out, in) = ({h}, {k * c}); in index j = t·{c} + ch (time-major). "
               f"W.reshape({h}, {k}, {c}) is (out, time, channel); .transpose(0, 2, 1) gives Conv1d's "
               f"(C_out, C_in, K) = ({h}, {c}, {k}).")
    yield Note(f"In MCQ 7's layout W_MLP(in, out) = ({k * c}, {h}): W_MLP.reshape(kernel_size, in_channel, "
               f"out_channel) = ({k}, {c}, {h}), then .transpose() reverses the axes to ({h}, {c}, {k}): option (B).")
    yield Note("Each later Linear (out, in) gets a kernel axis of 1: W[:, :, None]. Biases carry over unchanged.")
    verdict = "agree" if data["agree"] else "DIFFER"
    yield Note(f"Checked: the MLP run window by window and the CNN with the converted weights {verdict} "
               f"(largest difference {data['max_difference']:.3g}).", "ok" if data["agree"] else "error")


def cnn_to_mlp(cnn: tuple[Layer, ...]) -> Solution:
    """The scanning MLP a CNN of Conv1d layers equals: window, stride, neurons, unique neurons."""
    convs = [layer for layer in cnn if isinstance(layer, ConvLayer)]
    for layer in cnn:
        ok = (isinstance(layer, ConvLayer) and layer.ndim == 1 and not layer.transposed
              and all(lo == hi == 0 for lo, hi in layer.padding) and layer.groups == 1) \
            or isinstance(layer, FlattenLayer) or (isinstance(layer, ElementwiseLayer) and layer.role == "activation")
        if not ok:
            raise ConvcalcError("a scanning MLP is Conv1d layers without padding or groups, activations and Flatten",
                                layer.where)
    if not convs:
        raise ConvcalcError("no Conv1d layer", "--cnn")
    r, j = 1, 1
    for layer in convs:
        r, j = receptive_field_step(r, j, layer.kernel[0], layer.dilation[0]), jump_step(j, layer.stride[0])
    need = _positions(convs)
    neurons = [layer.out_channels * m for layer, m in zip(convs, need, strict=True)]
    rows = [{"layer": layer.text, "filters": layer.out_channels, "positions": m, "neurons": nn}
            for layer, m, nn in zip(convs, need, neurons, strict=True)]
    data = {"window": r, "stride": j, "neurons": sum(neurons), "unique_neurons": sum(cl.out_channels for cl in convs),
            "layers": rows, "mlp_widths": neurons}
    return Solution("scan-mlp", "A CNN as a scanning MLP", {"cnn": ", ".join(layer.text for layer in cnn)}, data,
                    _cnn_blocks(convs, need, neurons, r, j))


MAX_POSITIONS = 1_000_000


def _positions(convs: list[ConvLayer]) -> list[int]:
    """How many positions of each layer one top output depends on, top down.

    Contiguous when every kernel covers its stride: (P − 1)·s + d(K − 1) + 1 below P positions.
    Otherwise (K < s, or dilation gaps) the positions have holes and are counted one by one.
    """
    need = [1] * len(convs)
    gaps = any(cl.kernel[0] < cl.stride[0] or cl.dilation[0] > 1 for cl in convs[1:])
    reach = [0]
    for i in range(len(convs) - 1, 0, -1):
        top = convs[i]
        k, st, d = top.kernel[0], top.stride[0], top.dilation[0]
        if not gaps:
            need[i - 1] = (need[i] - 1) * st + d * (k - 1) + 1
            continue
        if len(reach) * k > MAX_POSITIONS:
            raise ConvcalcError(f"one output depends on more than {MAX_POSITIONS} positions of layer {i}", top.where)
        reach = sorted({p * st + t * d for p in reach for t in range(k)})
        need[i - 1] = len(reach)
    return need


def _cnn_blocks(convs: list[ConvLayer], need: list[int], neurons: list[int], r: int, j: int) -> Iterator[Block]:
    yield Heading("Window and stride of the scanning MLP")
    yield Note(f"Window = the last layer's receptive field r = 1 + Σ (K_l − 1)·d_l·j_(l−1) = {r}; stride = its jump "
               f"j = ∏ s_l = {' · '.join(str(cl.stride[0]) for cl in convs)} = {j}.")
    yield Heading("Neurons of one MLP evaluation")
    yield Note("The top layer is needed at 1 position; layer l−1 at (P_l − 1)·s_l + d_l(K_l − 1) + 1 positions (fewer "
               "when a kernel is narrower than its stride: only the positions read count); each position of a layer "
               "holds one neuron per filter.")
    rows = tuple((str(i + 1), cl.text, str(cl.out_channels), str(m), str(nn))
                 for i, (cl, m, nn) in enumerate(zip(convs, need, neurons, strict=True)))
    yield Table(("#", "layer", "filters", "positions", "neurons"), rows, left=("layer",))
    yield Note(f"{' + '.join(map(str, neurons))} = {sum(neurons)} neurons, sharing "
               f"{' + '.join(str(cl.out_channels) for cl in convs)} = {sum(cl.out_channels for cl in convs)} distinct "
               f"parameter sets (one per filter).")


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
