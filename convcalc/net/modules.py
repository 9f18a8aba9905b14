"""A module tree (what ``print(model)`` shows, or what a class's ``__init__`` builds) and how
data flows through it when the text does not say: containers run their children in order,
and torchvision's common blocks and classifier heads are known by name, with the flow that
was assumed said in plain words (``Graph.assumptions``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.net.graph import T, Tracer
from convcalc.net.layers import ConvLayer, FlattenLayer, Layer, LinearLayer
from convcalc.net.shapes import show_shape

CHAINS = {"Sequential", "ModuleList", "ModuleDict", "Conv2dNormActivation", "ConvBNReLU", "ConvBNActivation",
          "Conv1dNormActivation", "Conv3dNormActivation"}


@dataclass
class Leaf:
    layer: Layer
    trainable: bool = True


@dataclass
class Container:
    """A module with children: its class name, the line it starts on, and the named children."""

    kind: str
    line: int
    children: list[tuple[str, Any]] = field(default_factory=list)
    trainable: bool = True

    def child(self, name: str) -> Any:
        return dict(self.children).get(name)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _flatten(tracer: Tracer, x: T, path: str, why: str, line: int) -> T:
    layer = FlattenLayer(line, "torch.flatten(x, 1)", "flatten", (("start_dim", 1), ("end_dim", -1)), 1, -1)
    tracer.assumptions.append(why)
    return tracer.apply(layer, x, _join(path, "flatten"), module=False)


def _global_pool(tracer: Tracer, x: T, path: str, why: str, line: int) -> T:
    from convcalc.net.layers import AdaptivePoolLayer

    nd = len(x.shape) - 2
    layer = AdaptivePoolLayer(line, "adaptive_avg_pool(x, 1)", f"adaptive_avg_pool{nd}d", (("output_size", 1),),
                              ndim=nd, op="avg", output_size=(1,) * nd)
    tracer.assumptions.append(why)
    return tracer.apply(layer, x, _join(path, "pool"), module=False)


def _first_layer(spec: Any) -> Layer | None:
    """The first layer data meets in a module, past dropout and activations."""
    if isinstance(spec, Leaf):
        return None if spec.layer.family == "elementwise" else spec.layer
    if isinstance(spec, Container):
        for _, child in spec.children:
            found = _first_layer(child)
            if found is not None:
                return found
    return None


def _before_linear(tracer: Tracer, spec: Any, x: T, path: str, name: str, owner: str) -> T:
    """A Linear meeting a feature map: add the flatten (and pooling) its forward does in code."""
    first = _first_layer(spec)
    if not isinstance(first, LinearLayer) or len(x.shape) <= 2 or first.in_features is None:
        return x
    line = first.line
    if first.in_features == math.prod(x.shape[1:]):
        return _flatten(tracer, x, path, f"{owner}: forward flattens {show_shape(x.shape)} before '{name}' "
                        "(torch.flatten(x, 1), not shown in a printout)", line)
    if len(x.shape) > 2 and first.in_features == x.shape[1]:
        x = _global_pool(tracer, x, path, f"{owner}: forward pools {show_shape(x.shape)} to 1×1 before '{name}' "
                         "(adaptive_avg_pool, not shown in a printout)", line)
        return _flatten(tracer, x, path, f"{owner}: forward flattens before '{name}'", line)
    return x


def _residual(tracer: Tracer, body: list[str], spec: Container, x: T, path: str, relu_after: bool,
              run: Callable) -> T:
    from convcalc.net.graph import OpLayer

    identity = x
    for name in body:
        child = spec.child(name)
        if child is not None:
            x = run(tracer, child, x, _join(path, name))
    down = spec.child("downsample")
    if down is not None:
        identity = run(tracer, down, identity, _join(path, "downsample"))
    add = OpLayer(spec.line, "out + identity", "add", (), op="add")
    x = tracer.op(add, [x, identity], _join(path, "add"))
    if relu_after and spec.child("relu") is not None:
        x = run(tracer, spec.child("relu"), x, _join(path, "relu"))
    return x


def _block(tracer: Tracer, spec: Container, x: T, path: str, run: Callable) -> T | None:
    """torchvision's blocks known by name; None when the name is not one of them."""
    if spec.kind == "BasicBlock":
        tracer.assumptions.append(f"{path} (BasicBlock): relu(bn2(conv2(relu(bn1(conv1(x))))) + "
                                  "downsample(x) or x), as torchvision's forward")
        return _residual(tracer, ["conv1", "bn1", "relu", "conv2", "bn2"], spec, x, path, True, run)
    if spec.kind == "Bottleneck":
        tracer.assumptions.append(f"{path} (Bottleneck): conv1-bn1-relu-conv2-bn2-relu-conv3-bn3, + downsample(x) "
                                  "or x, then relu, as torchvision's forward")
        identity = x
        for name in ("conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"):
            x = run(tracer, spec.child(name), x, _join(path, name)) if spec.child(name) is not None else x
        from convcalc.net.graph import OpLayer

        down = spec.child("downsample")
        if down is not None:
            identity = run(tracer, down, identity, _join(path, "downsample"))
        x = tracer.op(OpLayer(spec.line, "out + identity", "add", (), op="add"), [x, identity], _join(path, "add"))
        return run(tracer, spec.child("relu"), x, _join(path, "relu")) if spec.child("relu") is not None else x
    if spec.kind == "SqueezeExcitation":
        from convcalc.net.graph import OpLayer

        tracer.assumptions.append(f"{path} (SqueezeExcitation): x * scale_activation(fc2(activation(fc1(avgpool(x)))))"
                                  ", as torchvision's forward")
        scale = x
        for name, child in spec.children:
            scale = run(tracer, child, scale, _join(path, name))
        return tracer.op(OpLayer(spec.line, "scale * input", "mul", (), op="mul"), [scale, x], _join(path, "mul"))
    if spec.kind == "InvertedResidual":
        from convcalc.net.graph import OpLayer

        identity = x
        for name, child in spec.children:
            x = run(tracer, child, x, _join(path, name))
        if x.shape == identity.shape:
            tracer.assumptions.append(f"{path} (InvertedResidual): x + conv(x), since stride is 1 and the channels "
                                      "match (torchvision's use_res_connect)")
            x = tracer.op(OpLayer(spec.line, "x + conv(x)", "add", (), op="add"), [identity, x], _join(path, "add"))
        return x
    return None


def run_module(tracer: Tracer, spec: Any, x: T, path: str, owner: str = "") -> T:
    """Data through one module of a tree whose forward is not given."""
    if isinstance(spec, Leaf):
        return tracer.apply(spec.layer, x, path, spec.trainable)
    if not isinstance(spec, Container):
        raise ConvcalcError(f"'{path}' is not a module", "network")
    tracer.enter(path, spec.kind)
    try:
        done = _block(tracer, spec, x, path, run_module)
        if done is not None:
            return done
        if spec.kind not in CHAINS and not owner:
            tracer.assumptions.append(f"{path or 'the model'} ({spec.kind}): children run in the printed order "
                                      "(a printout does not show forward)")
        for name, child in spec.children:
            x = _before_linear(tracer, child, x, path, name, spec.kind)
            x = _concat_if_needed(tracer, child, x, _join(path, name))
            x = run_module(tracer, child, x, _join(path, name), spec.kind)
        return x
    finally:
        tracer.leave()


def _concat_if_needed(tracer: Tracer, spec: Any, x: T, path: str) -> T:
    """A conv wanting more channels than it gets, with an earlier map of the same size holding exactly
    the difference: the skip concatenation of a U-Net, which a printout cannot show."""
    from convcalc.net.graph import OpLayer

    first = _first_layer(spec)
    if not isinstance(first, ConvLayer) or first.in_channels is None or len(x.shape) < 3:
        return x
    need = first.in_channels - x.shape[1]
    if need <= 0:
        return x
    for i in range(len(tracer.nodes) - 1, -1, -1):
        if i == x.node:
            continue
        shape = tracer.nodes[i].row.output_shape
        if len(shape) == len(x.shape) and shape[2:] == x.shape[2:] and shape[1] == need and shape[0] == x.shape[0]:
            skip = T(i, shape)
            tracer.assumptions.append(f"{path}: torch.cat([{tracer.nodes[i].name}, x], dim=1) assumed: it needs "
                                      f"{first.in_channels} channels, x has {x.shape[1]}, and '{tracer.nodes[i].name}' "
                                      f"has the other {need} at the same size (a U-Net skip)")
            cat = OpLayer(first.line, "torch.cat([skip, x], 1)", "cat", (), op="cat", dim=1)
            return tracer.op(cat, [skip, x], path + ".cat")
    return x


def run_model(tracer: Tracer, spec: Any, x: T) -> T:
    """The root: a known torchvision model's head flow is named, other roots run in order."""
    return run_module(tracer, spec, x, "")
