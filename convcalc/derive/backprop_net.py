"""``backprop net``: a whole stack forward (each layer's shape and values) and backward
(each layer's dL/d(input) and its weights' gradients), with weights named as PyTorch's
state_dict names them (``0.weight`` for ``nn.Sequential``'s first layer)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import chain

import numpy as np

from convcalc.core import stack
from convcalc.derive.answer import check_matrix, verdict_steps, wrong_cell_indices
from convcalc.derive.conv import show
from convcalc.derive.records import Block, Heading, Note, Solution, Table
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.net.graph import OpLayer
from convcalc.net.layers import Layer
from convcalc.net.shapes import layer_shape
from convcalc.numbers import Array, Kind

PREVIEW_SLICES = 2  # 2-D slices of each array shown per layer unless --layer asks for all of it
_INDEXED = re.compile(r"^(?:.*\.)?(\d+)\.(weight|bias)$")


@dataclass(frozen=True)
class NetProblem:
    layers: tuple[Layer, ...]
    x: Array  # (N, ...) float64, as the first layer takes it
    weights: Mapping[str, Array]  # state_dict name -> array
    grad: Array | None  # dL/d(output); default all ones (L = the sum of the outputs)
    layer: int | None = None  # 1-based: show all of this layer's arrays
    answer: Array | None = None  # the user's dL/dA of the whole stack, to check
    prefixes: tuple[str, ...] | None = None  # state_dict prefix per layer (a class source's attribute names)


def input_shapes(layers: tuple[Layer, ...], shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Each layer's input shape (checked as PyTorch checks it); a traced reshape keeps its own target."""
    out = []
    for layer in layers:
        out.append(shape)
        if isinstance(layer, OpLayer):
            known = math.prod(v for v in layer.target if v != -1)
            shape = tuple(math.prod(shape) // max(known, 1) if v == -1 else v for v in layer.target)
        else:
            shape = layer_shape(layer, shape).output_shape
    return out


def param_names(layers: tuple[Layer, ...], input_shape: tuple[int, ...], given: Mapping[str, Array] | None,
                prefixes: tuple[str, ...] | None = None) -> dict[int, dict[str, str]]:
    """For each layer index with parameters: {"weight": state_dict name, ...}.

    With ``prefixes`` (a class source's or printout's module names) those are the names. Otherwise
    ``<i>.weight`` (an nn.Sequential, any prefix like ``layers.``) match layer i; other names
    (``conv1.weight``) are matched in the file's order to the layers that have parameters.
    """
    needs = {i: stack.param_shapes(layer, shape) for i, (layer, shape) in enumerate(zip(layers,
                                                                                        input_shapes(layers, input_shape),
                                                                                        strict=True))}
    needs = {i: s for i, s in needs.items() if s}
    if prefixes is not None:  # the model's own names, as its state_dict has them
        return {i: {p: f"{prefixes[i]}.{p}" for p in s} for i, s in needs.items()}
    keys = list(given or {})
    matches = [_INDEXED.match(k) for k in keys]
    leads = {k[: m.start(1)] for k, m in zip(keys, matches, strict=True) if m}
    if all(matches) and len(leads) <= 1:  # nn.Sequential's names: "0.weight", or "layers.0.weight"
        lead = next(iter(leads), "")
        return {i: {p: f"{lead}{i}.{p}" for p in s} for i, s in needs.items()}
    groups: list[str] = []
    for k in keys:
        head = k.rsplit(".", 1)[0]
        if head not in groups:
            groups.append(head)
    if len(groups) != len(needs):
        raise ConvcalcError(f"has {len(groups)} named layer(s) ({', '.join(groups)[:200]}) but the network has "
                            f"{len(needs)} layer(s) with weights", "--weights")
    return {i: {p: f"{g}.{p}" for p in s} for (i, s), g in zip(needs.items(), groups, strict=True)}


def resolve(p: NetProblem) -> tuple[dict[int, dict[str, Array]], dict[int, dict[str, str]]]:
    """Each layer's parameters from the file, shapes checked against the layer."""
    names = param_names(p.layers, p.x.shape, p.weights, p.prefixes)
    shapes = input_shapes(p.layers, p.x.shape)
    out: dict[int, dict[str, Array]] = {}
    for i, per in names.items():
        want = stack.param_shapes(p.layers[i], shapes[i])
        out[i] = {}
        for kind, name in per.items():
            if name not in p.weights:
                raise ConvcalcError(f"has no array {name!r} for line {p.layers[i].line} ({p.layers[i].kind}); "
                                    f"it holds {', '.join(p.weights)[:200] or 'nothing'}", "--weights")
            a = p.weights[name]
            if a.shape != want[kind]:
                raise ConvcalcError(f"{name!r} has shape {a.shape}, but {p.layers[i].text} needs {want[kind]}",
                                    "--weights")
            out[i][kind] = a
    used = {n for per in names.values() for n in per.values()}
    extra = [k for k in p.weights if k not in used]
    if extra:
        raise ConvcalcError(f"has array(s) no layer uses: {', '.join(extra)[:200]}", "--weights")
    return out, names


def solve(p: NetProblem, base: int = 1) -> Solution:
    for layer in p.layers:
        stack.check_supported(layer)
    params, names = resolve(p)
    if p.layer is not None and not 1 <= p.layer <= len(p.layers):
        raise ConvcalcError(f"must be between 1 and {len(p.layers)}, got {p.layer}", "--layer")
    acts = [p.x]
    for i, layer in enumerate(p.layers):
        acts.append(stack.forward(layer, acts[-1], params.get(i, {})))
    g = np.ones_like(acts[-1]) if p.grad is None else p.grad
    if g.shape != acts[-1].shape:
        raise ConvcalcError(f"has shape {g.shape}, but the network's output has shape {acts[-1].shape}",
                            "--grad-output")
    grads: list[tuple[Array, dict[str, Array]]] = []
    for i in reversed(range(len(p.layers))):
        gi, gw = stack.backward(p.layers[i], acts[i], acts[i + 1], params.get(i, {}), g)
        grads.append((gi, gw))
        g = gi
    grads.reverse()
    rows = []
    for i, layer in enumerate(p.layers):
        row: dict[str, object] = {"index": i + base, "layer": layer.text, "output_shape": list(acts[i + 1].shape),
                                  "output": acts[i + 1], "grad_input": grads[i][0]}
        for kind, ga in grads[i][1].items():
            row[f"grad_{kind}"] = ga
            row[f"{kind}_name"] = names[i][kind]
        rows.append(row)
    data = {"layers": rows, "output": acts[-1], "output_shape": list(acts[-1].shape),
            "grad_output": np.ones_like(acts[-1]) if p.grad is None else p.grad, "grad_input": grads[0][0]}
    settings = {"input_shape": list(p.x.shape), "layers": len(p.layers),
                "loss": "sum of the outputs" if p.grad is None else "given dL/d(output)"}
    blocks = _blocks(p, acts, grads, params, names, base)
    status = ExitStatus.OK
    if p.answer is not None:
        check = check_matrix("dLdA", p.answer, grads[0][0], Kind.FLOAT)
        data.update({"answer_correct": bool(check.ok.all()), "wrong_cells": wrong_cell_indices(check, base),
                     "answer_of": "grad_input"})
        status = ExitStatus.OK if check.ok.all() else ExitStatus.WRONG_ANSWER
        blocks = chain(blocks, verdict_steps(check, "dL/dA", "the layers' gradients above show where it goes wrong",
                                             lambda _i: []))
    return Solution("backprop net", "A whole network, forward and backward", settings, data, blocks, base, status)


def _arrays(symbol: str, caption: str, a: Array, base: int, every: bool) -> Iterator[Block]:
    views = list(show(symbol, caption, a, base))
    yield from views if every else views[:PREVIEW_SLICES]
    if not every and len(views) > PREVIEW_SLICES:
        yield Note(f"… {len(views) - PREVIEW_SLICES} more slice(s) of {symbol}: --layer shows all of a layer, "
                   "--format json every value.")


def _blocks(p: NetProblem, acts: list[Array], grads: list[tuple[Array, dict[str, Array]]],
            params: dict[int, dict[str, Array]], names: dict[int, dict[str, str]], base: int) -> Iterator[Block]:
    rows = tuple((str(i + base), layer.text, "×".join(map(str, acts[i].shape)), "×".join(map(str, acts[i + 1].shape)),
                  ", ".join(names.get(i, {}).values()) or "—") for i, layer in enumerate(p.layers))
    yield Table(("#", "layer", "input", "output", "weights"), rows, left=("layer", "weights"))
    chosen = [p.layer - 1] if p.layer is not None else range(len(p.layers))
    yield Heading("Forward")
    yield from _arrays("A", "input", acts[0], base, p.layer == 1)
    for i in chosen:
        yield Note(f"Layer {i + base}: {p.layers[i].text} → output {'×'.join(map(str, acts[i + 1].shape))}")
        yield from _arrays(f"Z{i + base}", "output", acts[i + 1], base, p.layer is not None)
    yield Heading("Backward")
    g = np.ones_like(acts[-1]) if p.grad is None else p.grad
    yield Note("dL/d(output): all ones (L = the sum of the outputs)." if p.grad is None else "dL/d(output) as given.")
    yield from _arrays("dLdZ", "upstream gradient", g, base, p.layer is not None)
    for i in reversed(chosen):
        yield Note(f"Layer {i + base}: {p.layers[i].text}, back to its input ({'×'.join(map(str, acts[i].shape))})")
        yield from _arrays(f"dLdA{i + base}", "gradient w.r.t. the layer's input", grads[i][0], base,
                           p.layer is not None)
        for kind, ga in grads[i][1].items():
            symbol = f"dLd{'W' if kind == 'weight' else 'b'}{i + base}"
            yield from _arrays(symbol, f"gradient of {names[i][kind]}", ga, base, p.layer is not None)
