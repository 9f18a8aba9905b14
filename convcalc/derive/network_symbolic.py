"""``convcalc params --net FILE --input-shape Bx3xHxW`` and ``receptive-field`` in letters:
every layer's output shape as an expression, MACs as polynomials, the condition under which
every floor is exact and the smallest input that meets it (``convcalc.symbolic.network``)."""

from __future__ import annotations

from typing import Any

from convcalc.derive.records import Block, Equation, Heading, Note, Solution, Table
from convcalc.errors import ExitStatus
from convcalc.net.layers import Layer
from convcalc.symbolic import printing
from convcalc.symbolic.counts import tidy
from convcalc.symbolic.network import (
    SymRow,
    congruence,
    parse_symbolic_shape,
    period,
    propagate,
    residues,
    smallest_input,
    spatial_letters,
)


def _shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(printing.text(n) if hasattr(n, "free_symbols") else str(n) for n in shape) + ")"


def _json(v: Any) -> Any:
    return int(v) if isinstance(v, int) or getattr(v, "is_Integer", False) else printing.sympy_syntax(v)


def tiling(rows: list[SymRow], layers: tuple[Layer, ...], shape: tuple[Any, ...]) -> tuple[list[Block], dict[str, Any]]:
    """The notes and JSON keys on when every floor is exact, and the smallest such input."""
    conds = {c.sympy: c for r in rows for c in r.tiles}
    requires = {c.sympy: c for r in rows for c in r.requires}
    blocks: list[Block] = []
    data: dict[str, Any] = {"exact_when": list(conds), "conditions": list(requires)}
    if not conds:
        blocks.append(Note("every layer's size is exact for every input size (no floor ever drops a pixel)", "ok"))
    else:
        blocks.append(Note("every floor is exact when " + "; ".join(c.text for c in conds.values())))
        modulus = period(layers)
        simple = []
        for letter in spatial_letters(shape):
            rs = residues(rows, letter, modulus)
            cond = congruence(letter, modulus, rs) if rs else None
            if rs == []:
                blocks.append(Note(f"no value of {printing.text(letter)} makes every floor exact", "warn"))
            elif cond is not None:
                simple.append(cond)
        if simple:
            blocks.append(Note("that is, every floor is exact when " + " and ".join(c.text for c in simple), "ok"))
            data["exact_when_simple"] = [c.sympy for c in simple]
        found = smallest_input(rows, shape)
        if found:
            said = ", ".join(f"{printing.text(s)} = {v}" for s, v in found.items())
            blocks.append(Note(f"the smallest input size with every floor exact (and no empty output): {said}", "ok"))
            data["smallest_input"] = {s.name: v for s, v in found.items()}
    if requires:
        blocks.append(Note("assuming " + "; ".join(c.text for c in requires.values())))
    return blocks, data


def params_table(layers: tuple[Layer, ...], shape_text: str, answer: str | None = None) -> Solution:
    shape = parse_symbolic_shape(shape_text)
    rows = propagate(layers, shape)
    total_params = tidy(sum((r.params for r in rows), start=0) + 0 * shape[1])
    total_macs = tidy(sum((r.macs for r in rows), start=0) + 0 * shape[1])
    exact_macs = tidy(sum((r.exact_macs for r in rows), start=0) + 0 * shape[1], factor=True)
    table = tuple((r.layer.text, _shape(r.output_shape), printing.text(tidy(r.params + 0 * shape[1]))) for r in rows)
    out = rows[-1].output_shape if rows else shape
    blocks: list[Block] = [
        Heading(f"Layers on input {_shape(shape)}"),
        Table(("layer", "output shape", "params"), (*table, ("total", _shape(out), printing.text(total_params))),
              "Output shapes and parameters per layer", ("layer", "output shape")),
        Heading("Multiply-accumulates"),
    ]
    for r in rows:  # one line per layer that multiplies: a formula is too wide for a table cell
        macs = tidy(r.macs + 0 * shape[1])
        if macs != 0:
            blocks.append(Equation(f"{r.layer.where}: {printing.text(macs)}",
                                   rf"	ext{{{r.layer.where}}}: \quad {printing.latex(macs)}"))
    blocks.append(Equation(f"MACs = {printing.text(total_macs)}", rf"	ext{{MACs}} = {printing.latex(total_macs)}"))
    if exact_macs != total_macs:
        blocks.append(Equation(f"when every floor is exact: MACs = {printing.text(exact_macs)}",
                               rf"\text{{MACs (every floor exact)}} = {printing.latex(exact_macs)}"))
    notes, extra = tiling(rows, layers, shape)
    blocks += notes
    blocks.append(Note("MACs are multiply-accumulates for the whole batch (1 MAC = 2 FLOPs; bias adds not counted)"))
    blocks.append(Note(f"total parameters: {printing.text(total_params)}", "ok"))
    layer_data = [{"layer": r.layer.text, "output_shape": [_json(n) for n in r.output_shape],
                   "weights": _json(r.weights), "biases": _json(r.biases), "params": _json(tidy(r.params + 0 * shape[1])),
                   "macs": _json(tidy(r.macs + 0 * shape[1]))} for r in rows]
    data: dict[str, Any] = {"layers": layer_data, "total_params": _json(total_params), "total_macs": _json(total_macs),
                            "total_macs_exact": _json(exact_macs), "output_shape": [_json(n) for n in out],
                            **extra, "symbolic": True}
    status = ExitStatus.OK
    if answer is not None:
        from convcalc.symbolic.judge import equivalent, read_claim

        claim = read_claim(answer, set(getattr(total_params, "free_symbols", set())) | set(spatial_letters(shape)))
        same, _ = equivalent(claim, total_params + 0 * shape[1])
        ok = same is not False
        data["answer_correct"] = ok
        blocks += [Heading("Your answer"), Note(f"{'right' if ok else 'wrong'}: your {answer.strip()} "
                                                f"{'equals' if ok else 'differs from'} the total parameters "
                                                f"{printing.text(total_params)}", "ok" if ok else "error")]
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    return Solution("params", "Network parameters", {"input_shape": [_json(n) for n in shape]}, data, blocks,
                    status=status)


def receptive_table(layers: tuple[Layer, ...], shape_text: str, exact: bool = False,
                    answer: str | None = None) -> Solution:
    """Receptive fields for an input in letters: r, j and start do not depend on the input size
    (they are worked at a stand-in size that tiles exactly); the shapes are expressions."""
    from dataclasses import replace

    from convcalc.derive import network
    from convcalc.net.graph import chain
    from convcalc.net.layers import AdaptivePoolLayer

    shape = parse_symbolic_shape(shape_text)
    rows = propagate(layers, shape)
    found = smallest_input(rows, shape) or {}
    step = max(period(layers), 1)
    stand_in = {s: found.get(s, 1) + step * max(1, -(-256 // step)) for s in spatial_letters(shape)}
    batch = int(shape[0]) if getattr(shape[0], "is_Integer", True) else 1  # a batch in letters: fields do not depend on it
    numbers = (batch, *(int(n.xreplace(stand_in)) if hasattr(n, "xreplace") else int(n) for n in shape[1:]))
    sol = network.receptive_table(chain(layers, numbers), exact, answer)
    blocks = [Heading(f"Layers on input {_shape(shape)}"), *list(sol.blocks)[1:]]
    for i, block in enumerate(blocks):
        if isinstance(block, Table):
            shown = tuple((r[0], _shape(s.output_shape), *r[2:]) for r, s in zip(block.rows, rows, strict=True))
            blocks[i] = replace(block, rows=shown)
    at = ", ".join(f"{printing.text(s)} = {v}" for s, v in stand_in.items())
    depends = any(isinstance(layer, AdaptivePoolLayer) for layer in layers) or \
        any(item.get("global") for item in sol.data["layers"])
    said = (f"receptive fields, jumps and starts do not depend on the input size: worked at {at}, which tiles "
            f"exactly" if not depends else f"worked at {at}: a field that is global, or follows adaptive pooling, "
            f"depends on the input size")
    notes, extra = tiling(rows, layers, shape)
    blocks[1:1] = [Note(said, "warn" if depends else "info"), *notes]
    layers_data = [{**item, "output_shape": [_json(n) for n in r.output_shape], "macs": _json(tidy(r.macs + 0 * shape[1]))}
                   for item, r in zip(sol.data["layers"], rows, strict=True)]
    data = {**sol.data, "layers": layers_data, **extra, "worked_at": {s.name: v for s, v in stand_in.items()},
            "symbolic": True}
    settings = {**sol.settings, "input_shape": [_json(n) for n in shape]}
    return replace(sol, blocks=blocks, data=data, settings=settings)
