"""Receptive fields through skips, concatenations and phases, against torch.autograd.

Weights are 1 and biases 0, the input all ones, in float64 (nothing cancels, nothing
underflows): an input pixel has a nonzero gradient for an output unit exactly when it can
affect it. Max pools are measured as average pools of the same geometry (the gradient of a
max reaches one pixel). Fields are measured along W with a short H, which per-axis
separability allows.
"""

from __future__ import annotations

import functools

import pytest

from convcalc.net.read import read_network
from convcalc.net.receptive import graph_fields

from .networks import build, printout, source

torch = pytest.importorskip("torch")


def ones_model(model, weight: float = 1.0):
    """Weights ``weight``, biases 0, max pools as average pools, float64, eval mode."""
    model = model.double().eval()
    for m in list(model.modules()):
        for child_name, child in list(m.named_children()):
            if isinstance(child, (torch.nn.MaxPool1d, torch.nn.MaxPool2d)):
                avg = torch.nn.AvgPool2d if isinstance(child, torch.nn.MaxPool2d) else torch.nn.AvgPool1d
                setattr(m, child_name, avg(child.kernel_size, child.stride, child.padding, child.ceil_mode))
        for name, p in m.named_parameters(recurse=False):
            torch.nn.init.zeros_(p) if name == "bias" else torch.nn.init.constant_(p, weight)
    return model


def spans_along_w(model, shape, units=None, at=None):
    """Per output unit along W: (lo, hi, pixels) of the input columns its gradient reaches.

    One backward pass for all units: the input is repeated along the batch (eval mode keeps the
    samples apart) and sample b's output unit units[b] is summed.
    """
    out = {}
    if at is not None:
        at.register_forward_hook(lambda m, i, o: out.__setitem__("y", o))
    with torch.no_grad():
        probe = model(torch.ones(shape, dtype=torch.float64))
    width = out.get("y", probe).shape[-1]
    units = list(range(width) if units is None else units)
    x = torch.ones((len(units), *shape[1:]), dtype=torch.float64, requires_grad=True)
    y = model(x)
    y = out.get("y", y)
    mask = torch.zeros_like(y)
    for b, u in enumerate(units):
        mask[b, ..., u] = 1
    (g,) = torch.autograd.grad((y * mask).sum(), x)
    result = []
    for b in range(len(units)):
        cols = torch.nonzero(g[b].abs().sum(dim=tuple(range(g.dim() - 2))) != 0).flatten()
        result.append((int(cols.min()), int(cols.max()), len(cols)) if len(cols) else (1, 0, 0))
    return result


def test_resnet18_field_is_435_by_autograd() -> None:
    model = ones_model(build("resnet18"))
    shape = (1, 3, 32, 640)
    lo, hi, seen = spans_along_w(model, shape, units=[10], at=model.layer4)[0]
    assert lo > 0 and hi < shape[-1] - 1  # an interior unit
    graph = read_network(source("resnet18"), shape)
    last = next(r for r in reversed(graph_fields(graph).rows) if r.name.startswith("layer4"))
    w = last.axes[1]
    assert (hi - lo + 1, w.receptive_field, w.receptive_field_min, w.seen) == (435, 435, 435, seen)
    printed = read_network(printout("resnet18"), shape)
    last = next(r for r in reversed(graph_fields(printed).rows) if r.name.startswith("layer4"))
    assert last.axes[1].receptive_field == 435


@functools.cache
def unet_truth() -> tuple[list, list]:
    """Every unit along W on a 32-wide input, and the 8 central units (one per phase) on a 256-wide one."""
    model = ones_model(build("unet_small"))
    return spans_along_w(model, (1, 3, 8, 32)), spans_along_w(model, (1, 3, 8, 256), units=range(124, 132))


@pytest.mark.parametrize("form", ["source", "printout"])
def test_unet_fields_through_concatenations(form: str) -> None:
    text = source("unet_small") if form == "source" else printout("unet_small")
    shape = (1, 3, 8, 32)
    truth, central = unet_truth()
    exact = graph_fields(read_network(text, shape), exact=True).rows[-1].axes[1]
    spans = [hi - lo + 1 if seen else 0 for lo, hi, seen in truth]
    assert (exact.receptive_field, exact.receptive_field_min) == (max(spans), min(spans))
    interior = graph_fields(read_network(text, (1, 3, 8, 256))).rows[-1].axes[1]
    assert all(lo > 0 and hi < 255 for lo, hi, _ in central)
    widths = [hi - lo + 1 for lo, hi, _ in central]
    assert (interior.receptive_field, interior.receptive_field_min, interior.phases) == (max(widths), min(widths), 8)


def test_dcgan_fields_are_whole_numbers_and_exact() -> None:
    text = source("dcgan_generator").replace("nz = 100", "nz = 4").replace("ngf = 64", "ngf = 2")
    model = ones_model(build("dcgan_generator", text), weight=1e-3)  # tanh must not saturate
    shape = (1, 4, 1, 2)
    truth = spans_along_w(model, shape)
    fields = graph_fields(read_network(text, shape), exact=True).rows
    spans = [hi - lo + 1 if seen else 0 for lo, hi, seen in truth]
    assert (fields[-1].axes[1].receptive_field, fields[-1].axes[1].receptive_field_min) == (max(spans), min(spans))
    for row in graph_fields(read_network(text, shape)).rows:
        assert all(isinstance(f.receptive_field, int) and isinstance(f.receptive_field_min, int) for f in row.axes)


def test_dilated_stack_sees_5_of_9_pixels() -> None:
    spec = "Conv1d(1, 1, 3, dilation=2)\nConv1d(1, 1, 3, dilation=2)"
    model = ones_model(torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3, dilation=2), torch.nn.Conv1d(1, 1, 3, dilation=2)))
    lo, hi, seen = spans_along_w(model, (1, 1, 30), units=[10])[0]
    field = graph_fields(read_network(spec, (1, 1, 30))).rows[-1].axes[0]
    assert (field.receptive_field, field.seen) == (hi - lo + 1, seen) == (9, 5)


def test_batchnorm_without_running_stats_mixes_batch_and_plane() -> None:
    bn = torch.nn.BatchNorm1d(1, track_running_stats=False).double()
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3, padding=1).double(), bn)
    x = torch.randn(3, 1, 12, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(model(x)[0, 0, 5], x)
    assert (g[1:] != 0).any() and (g[0, 0] != 0).all()  # other samples, and every position
    rows = graph_fields(read_network("Conv1d(1, 1, 3, padding=1)\nBatchNorm1d(1, track_running_stats=False)",
                                     (3, 1, 12))).rows
    assert rows[-1].axes[0].is_global and any("batch" in n for n in rows[-1].notes)


SECTION_7 = ["Conv2d(3, 32, 5, stride=2, padding=2)", "ReLU()", "Conv2d(32, 32, 5, stride=2, padding=2, groups=32)",
             "ReLU()", "Conv2d(32, 64, 1)", "ReLU()", "ConvTranspose2d(64, 32, 3, stride=2, padding=0)", "ReLU()",
             "AvgPool2d(2, 2)"]


@pytest.mark.parametrize(("extra", "answer", "code"), [([], "17", 0), ([], "19", 1), (["--exact"], "17", 0),
                                                       (["--exact"], "7-17", 0)])
def test_cpen455_h5_default_is_exact_for_interior_units(cli, extra: list[str], answer: str, code: int) -> None:
    argv = ["receptive-field", *[a for layer in SECTION_7 for a in ("--layer", layer)], "--input-shape",
            "100x3x512x512", "--answer", answer, *extra]
    r = cli(*argv)
    assert r.code == code, r.out + r.err
    assert ("every unit" if extra else "interior units") in r.out


# name: (a model line appended to the source — same layers, fewer channels where the full widths
# would make autograd slow; receptive fields do not depend on widths —, the module whose output
# is measured, input shape: a short H, a W wide enough for interior units)
INTERIOR = {
    "alexnet": ("", "features", (1, 3, 63, 420)),
    "vgg16": ('model = VGG(make_layers([4, 4, "M", 4, 4, "M", 4, 4, 4, "M", 4, 4, 4, "M", 4, 4, 512, "M"]))',
              "features", (1, 3, 32, 480)),
    "mobilenet_v2": ("model = MobileNetV2(width_mult=0.25)", "features", (1, 3, 32, 1120)),
    "conv1d_stack": ("", "conv3", (1, 24, 128)),
}


def _model_line(text: str):
    ns: dict = {}
    exec(compile(text, "net.py", "exec"), ns)
    return ns["model"]


@pytest.mark.parametrize("name", list(INTERIOR))
def test_interior_fields_of_the_examples_match_autograd(name: str) -> None:
    extra, at, shape = INTERIOR[name]
    text = source(name) + ("\n" + extra + "\n" if extra else "")
    with torch.device("meta"):  # no memory for the classifiers, which the fields never reach
        model = build(name, text) if not extra else _model_line(text)
    if hasattr(model, "classifier"):
        model.classifier = torch.nn.Identity()
    model = model.to_empty(device="cpu")
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
    for parent in list(model.modules()):  # clipping activations would stop gradients: the oracle drops them
        for child_name, child in list(parent.named_children()):
            if isinstance(child, (torch.nn.ReLU6, torch.nn.Hardtanh, torch.nn.Dropout)):
                setattr(parent, child_name, torch.nn.Identity())
    model = ones_model(model, weight=1e-2)
    graph = read_network(text, shape)
    row = next(r for r in reversed(graph_fields(graph).rows) if r.name.startswith(at))
    field = row.axes[-1]
    probe = {}
    handle = model.get_submodule(at).register_forward_hook(lambda m, i, o: probe.__setitem__("w", o.shape[-1]))
    with torch.no_grad():
        model(torch.ones(shape, dtype=torch.float64))
    handle.remove()
    middle = probe["w"] // 2
    units = range(middle, middle + field.phases)
    central = spans_along_w(model, shape, units=units, at=model.get_submodule(at))
    assert all(lo > 0 and hi < shape[-1] - 1 for lo, hi, _ in central), central  # interior units
    widths = [hi - lo + 1 for lo, hi, _ in central]
    assert (field.receptive_field, field.receptive_field_min) == (max(widths), min(widths))
    assert field.seen == max(central, key=lambda t: t[1] - t[0])[2]
