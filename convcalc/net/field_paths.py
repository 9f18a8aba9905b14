"""Which input pixels one unit sees, and along how many paths: the receptive field with its holes.

``convcalc.net.connectivity`` carries each unit's span (lo, hi); a figure needs the set
itself, since a dilated stack sees a lattice with holes, and how many paths reach each pixel
(the centre of a stack of 3×3 convolutions is reached most often). One unit is followed
back down the layers, one spatial axis at a time: every layer here connects units
separately per axis, so the 2-D field is the outer product of the two axes' counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convcalc.net.layers import BatchNormLayer, ConvLayer, ElementwiseLayer, Layer, PoolLayer
from convcalc.net.shapes import NetworkShapes

MAX_UNITS = 100_000  # positions on one axis followed back; beyond that a picture is no use anyway


@dataclass(frozen=True)
class AxisStep:
    """One layer along one axis: window (conv, pool), scatter (transposed conv) or identity."""

    kind: str  # "window", "transposed" or "same"
    n_in: int
    n_out: int
    k: int = 1
    s: int = 1
    pad: int = 0
    d: int = 1
    mode: str = "zeros"


def axis_steps(layers: tuple[Layer, ...], shapes: NetworkShapes, axis: int) -> list[AxisStep]:
    """The layers along spatial axis ``axis`` while they keep the axes apart; stops at the first that mixes them."""
    steps: list[AxisStep] = []
    for layer, row in zip(layers, shapes.rows, strict=True):
        if len(row.input_shape) < 3 + axis or len(row.output_shape) != len(row.input_shape):
            break
        n_in, n_out = row.input_shape[2 + axis], row.output_shape[2 + axis]
        if isinstance(layer, ConvLayer):
            kind = "transposed" if layer.transposed else "window"
            steps.append(AxisStep(kind, n_in, n_out, layer.kernel[axis], layer.stride[axis],
                                  layer.padding[axis][0], layer.dilation[axis], layer.padding_mode))
        elif isinstance(layer, PoolLayer):
            steps.append(AxisStep("window", n_in, n_out, layer.kernel[axis], layer.stride[axis],
                                  layer.padding[axis], layer.dilation[axis]))
        elif isinstance(layer, BatchNormLayer | ElementwiseLayer) and n_in == n_out and \
                layer.kind not in ("Softmax", "LogSoftmax"):
            steps.append(AxisStep("same", n_in, n_out))
        else:
            break
    return steps


def back(v_out: np.ndarray, step: AxisStep) -> np.ndarray:
    """Path counts one layer down: each output position hands its count to every input it reads."""
    v_in = np.zeros(step.n_in, dtype=np.float64)
    if step.kind == "same":
        return v_out.astype(np.float64)
    if step.kind == "window":
        q = np.arange(step.n_out)[:, None] * step.s - step.pad + np.arange(step.k)[None, :] * step.d
        n = step.n_in
        if step.mode == "reflect":
            q = np.where(q < 0, -q, q)
            q = np.where(q >= n, 2 * (n - 1) - q, q)
        elif step.mode == "replicate":
            q = np.clip(q, 0, n - 1)
        elif step.mode == "circular":
            q = q % n
        valid = (q >= 0) & (q < n)
        np.add.at(v_in, q[valid], np.broadcast_to(v_out[:, None], q.shape)[valid])
        return v_in
    o = np.arange(step.n_in)[:, None] * step.s - step.pad + np.arange(step.k)[None, :] * step.d  # transposed
    valid = (o >= 0) & (o < step.n_out)
    rows = np.broadcast_to(np.arange(step.n_in)[:, None], o.shape)[valid]
    np.add.at(v_in, rows, v_out[o[valid]])
    return v_in


def unit_paths(steps: list[AxisStep], upto: int, unit: int) -> np.ndarray:
    """Path counts on the input (per position) from output ``unit`` of layer ``upto`` (1-based)."""
    v = np.zeros(steps[upto - 1].n_out, dtype=np.float64)
    v[unit] = 1.0
    for step in reversed(steps[:upto]):
        v = back(v, step)
    return v
