"""``receptive-field --figure``: the field of one unit growing over the input, layer by layer.

As Araujo et al. draw it (Distill, 2019): frame l shades the input pixels that the centre
unit of layer l sees, darker where more paths reach them, the field's span dashed around
them; a dilated stack leaves holes inside the span. The counts come from
:mod:`convcalc.net.field_paths`.
"""

from __future__ import annotations

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.net.field_paths import AxisStep, axis_steps, unit_paths
from convcalc.net.graph import Graph
from convcalc.net.layers import Layer
from convcalc.net.shapes import propagate
from convcalc.render.figure import MAX_CELLS, Figure, Frame, Grid, Mark, cell_text

FLAG = "--figure"


def field_figure(graph: Graph, base: int = 1) -> Figure:
    """The centre unit's field per layer of a chain of layers (skips and concatenations are in the text)."""
    if any(node.inputs != (i - 1,) for i, node in enumerate(graph.nodes)):
        raise ConvcalcError("draws a chain of layers, one after another; this network branches (skips, "
                            "concatenations): its fields are in the text", FLAG)
    layers = tuple(node.layer for node in graph.nodes)
    input_shape = graph.input_shape
    shapes = propagate(layers, input_shape)
    nsp = len(input_shape) - 2
    if nsp not in (1, 2):
        raise ConvcalcError("draws 1-D and 2-D inputs", FLAG)
    steps = [axis_steps(layers, shapes, a) for a in range(nsp)]
    depth = min(len(s) for s in steps)
    if depth == 0:
        raise ConvcalcError("the first layer mixes the whole input (or is not a conv, pool or elementwise layer): "
                            "there is no field to draw", FLAG)
    counts = [_counts(steps, layer) for layer in range(1, depth + 1)]
    reached = np.any(np.stack([c > 0 for c in counts]), axis=0)
    rows, cols = np.nonzero(reached)
    r0, r1 = max(rows.min() - 1, 0), min(rows.max() + 2, reached.shape[0])  # one cell of margin, inside the input
    c0, c1 = max(cols.min() - 1, 0), min(cols.max() + 2, reached.shape[1])
    if r1 - r0 > MAX_CELLS or c1 - c0 > MAX_CELLS:
        raise ConvcalcError(f"the fields span {r1 - r0}×{c1 - c0} input cells; the figure draws at most "
                            f"{MAX_CELLS}×{MAX_CELLS}", FLAG)
    shown = reached[r0:r1, c0:c1].shape
    blank = np.full(shown, "", dtype=object)
    frames = []
    for layer, count in enumerate(counts, 1):
        frames.append(_frame(layers[layer - 1], layer, count[r0:r1, c0:c1], (r0, c0), steps, base))
    where = f"rows {r0 + base}..{r1 - 1 + base}, columns {c0 + base}..{c1 - 1 + base}" if nsp == 2 \
        else f"positions {c0 + base}..{c1 - 1 + base}"
    notes = [f"The input, {where} (the rest is never reached); each cell's number is how many paths reach it."]
    if depth < len(layers):
        notes.append(f"Layer {depth + 1} ({layers[depth].text.strip()}) mixes a whole axis or the axes: "
                     "the figure stops before it.")
    grid = Grid("input", "(the part the fields cover)", blank, base=base, first=(int(r0), int(c0)))
    return Figure("Receptive field of the centre unit, layer by layer", grid, None, tuple(frames), None,
                  tuple(notes))


def _counts(steps: list[list[AxisStep]], layer: int) -> np.ndarray:
    """Path counts on the input (H, W) from the centre unit of ``layer``'s output."""
    per_axis = [unit_paths(s, layer, (s[layer - 1].n_out - 1) // 2) for s in steps]
    if len(per_axis) == 1:
        return per_axis[0][None, :]
    return np.outer(per_axis[0], per_axis[1])


def _frame(layer: Layer, number: int, count: np.ndarray, origin: tuple[int, int], steps: list[list[AxisStep]],
           base: int) -> Frame:
    top = float(count.max()) or 1.0
    cells = list(zip(*np.nonzero(count), strict=True))
    marks = tuple(Mark((int(r), int(c)), cell_text(int(count[r, c])) if count[r, c] < 1e15 else "many",
                       0.3 + 0.7 * float(count[r, c]) / top) for r, c in cells)
    if not cells:
        return Frame(f"layer {number}: the centre unit sees no input pixel (only padding)", (), (), ())
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    span = ((min(rows), max(rows)), (min(cols), max(cols)))
    area = (span[0][1] - span[0][0] + 1) * (span[1][1] - span[1][0] + 1)
    units = ",".join(str((s[number - 1].n_out - 1) // 2 + base) for s in steps)
    size = f"{span[0][1] - span[0][0] + 1}×{span[1][1] - span[1][0] + 1}" if len(steps) == 2 \
        else str(span[1][1] - span[1][0] + 1)
    holes = area - len(cells)
    title = f"after layer {number}, {layer.text.strip()}: unit [{units}] sees a {size} field"
    most = f"at most {int(top)} paths reach one cell" if top > 1 else "one path reaches each"
    lines = (f"{len(cells)} input cells reached" + (f", {holes} holes inside the span (dilation)" if holes else
                                                   ", no holes") + f"; {most}",)
    return Frame(title, marks, (), lines, span)
