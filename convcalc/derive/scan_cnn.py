"""A CNN of Conv1d layers as a scanning MLP (the CMU course's §8.1): its window is the last
layer's receptive field, its stride the jump, and its neurons each filter once per position
one evaluation needs; the unique neurons are the filters."""

from __future__ import annotations

from collections.abc import Iterator

from convcalc.derive.records import Block, Heading, Note, Solution, Table
from convcalc.errors import ConvcalcError
from convcalc.formulas import jump_step, receptive_field_step
from convcalc.net.layers import ConvLayer, ElementwiseLayer, FlattenLayer, Layer


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
