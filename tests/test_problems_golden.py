"""Golden tests over problems/: every problem's result against a stored file and PyTorch.

Set CONVCALC_UPDATE_GOLDEN=1 to rewrite the stored files after a deliberate change (then
read the diff: a golden file is only as good as the review of its change).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from convcalc.io import read_tensor
from convcalc.problems import load, problem_files
from convcalc.symbolic import looks_symbolic
from tests.conftest import ROOT, UPDATE_GOLDEN

GOLDEN = ROOT / "tests" / "golden"
PROBLEMS = [p for f in problem_files([str(ROOT / "problems")]) for p in load(f)]


def test_bank_is_not_empty_and_ids_are_unique() -> None:
    ids = [p.id for p in PROBLEMS]
    assert len(ids) >= 4
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_problem_json_matches_golden(problem, cli) -> None:
    res = cli(*problem.argv("json"))
    assert res.code == 0, res.err
    payload = json.loads(res.out)
    path = GOLDEN / f"{problem.id}.json"
    if UPDATE_GOLDEN or not path.exists():
        path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert payload == json.loads(path.read_text(encoding="utf-8"))


CONV_PROBLEMS = [p for p in PROBLEMS if p.command in ("conv", "dilated") and "kernel" in p.options
                 and "X:" not in p.options["input"]]  # numbers: letters and --target are checked in tests/symbolic


@pytest.mark.parametrize("problem", CONV_PROBLEMS, ids=lambda p: p.id)
def test_conv_problem_agrees_with_torch(problem, cli) -> None:
    torch = pytest.importorskip("torch")
    o = problem.options
    x = read_tensor(o["input"], "input")
    w = read_tensor(o["kernel"], "kernel")
    tx = torch.tensor(x.astype(float)).reshape(1, -1, *x.shape[-2:])  # (H,W) or (C,H,W): one channel or C
    tw = torch.tensor(w.astype(float)).reshape(1, -1, *w.shape[-2:])  # one output channel
    default_d = 2 if problem.command == "dilated" else 1
    want = torch.nn.functional.conv2d(tx, tw, stride=int(o.get("stride", 1)), padding=int(o.get("padding", 0)),
                                      dilation=int(o.get("dilation", default_d)))[0, 0].numpy()
    got = np.array(json.loads(cli(*problem.argv("json")).out)["output"])
    if x.dtype.kind in "iu" and w.dtype.kind in "iu":
        assert np.array_equal(got, want.round().astype(int))
    else:
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12)


def _golden(problem) -> dict:
    return json.loads((GOLDEN / f"{problem.id}.json").read_text(encoding="utf-8"))


def _modules(problem):
    """The problem's layer list as torch modules (the bank's own PyTorch text, names from nn only)."""
    nn = pytest.importorskip("torch").nn
    out = []
    for text in problem.options["layer"]:
        call = ast.parse(text, mode="eval").body
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name), text
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        out.append(getattr(nn, call.func.id)(*args, **kwargs))
    return out


BACKPROP_CONV = [p for p in PROBLEMS if p.command == "backprop conv"
                 and not looks_symbolic(p.options["input"] + p.options["kernel"])]  # letters: tests/symbolic


@pytest.mark.parametrize("problem", BACKPROP_CONV, ids=lambda p: p.id)
def test_backprop_conv_golden_agrees_with_autograd(problem) -> None:
    torch = pytest.importorskip("torch")
    o = problem.options
    x = torch.tensor(read_tensor(o["input"], "input").astype(float), requires_grad=True)
    w = torch.tensor(read_tensor(o["kernel"], "kernel").astype(float), requires_grad=True)
    y = torch.nn.functional.conv2d(x[None, None], w[None, None], stride=int(o.get("stride", 1)),
                                   padding=int(o.get("padding", 0)))[0, 0]
    g = torch.tensor(read_tensor(o["grad_output"], "grad_output").astype(float)) if "grad_output" in o else torch.ones_like(y)
    y.backward(g)
    gold = _golden(problem)
    assert np.array_equal(np.array(gold["grad_input"]), x.grad.numpy())
    assert np.array_equal(np.array(gold["grad_weight"]), w.grad.numpy())


# layer lists (the networks of networks.toml are checked against torch in tests/net/test_networks_torch.py)
NETWORKS = [p for p in PROBLEMS if p.command == "params" and "layer" in p.options and not p.id.startswith("net-")]


@pytest.mark.parametrize("problem", NETWORKS, ids=lambda p: p.id)
def test_network_golden_agrees_with_torch(problem) -> None:
    """Every layer's output shape and parameter count, and the total, as torch has them (batch 1, meta tensors)."""
    torch = pytest.importorskip("torch")
    shape = [int(n) for n in problem.options["input_shape"].split("x")]
    x = torch.zeros(1, *shape[1:], device="meta")
    rows = _golden(problem)["layers"]
    modules = _modules(problem)
    assert len(rows) == len(modules)
    for row, m in zip(rows, modules, strict=True):
        x = m.to("meta")(x)
        assert row["output_shape"] == [shape[0], *x.shape[1:]], row["layer"]
        assert row["params"] == sum(p.numel() for p in m.parameters()), row["layer"]
    assert _golden(problem)["total_params"] == sum(p.numel() for m in modules for p in m.parameters())


SIZES = [p for p in PROBLEMS if p.command == "output-size" and str(p.options["input_size"]).replace(",", "").isdigit()]


@pytest.mark.parametrize("problem", SIZES, ids=lambda p: p.id)
def test_output_size_golden_agrees_with_torch(problem) -> None:
    torch = pytest.importorskip("torch")
    o = problem.options
    n, k = int(str(o["input_size"]).split(",")[0]), int(o["kernel_size"])
    s, pad = int(o.get("stride", k if o.get("pool") else 1)), int(o.get("padding", 0))
    if o.get("pool"):
        got = torch.nn.functional.max_pool1d(torch.zeros(1, 1, n), k, s, pad).shape[-1]
    else:
        got = torch.nn.functional.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=pad).shape[-1]
    assert _golden(problem)["output_size"] == got


# layer lists (the networks of networks.toml are checked by autograd in tests/net/test_fields_graph.py)
FIELDS = [p for p in PROBLEMS if p.command == "receptive-field" and not p.id.startswith("net-")]


def _field_1d(modules, length: int) -> tuple[list[int], bool]:
    """Spans (first to last input pixel with a non-zero derivative) of every output unit of the
    1-D analogue of a layer list (all-ones kernels, so nothing cancels), and whether a dense
    layer made every unit see everything."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    y = torch.eye(length, dtype=torch.float64)[:, None, :]   # one basis vector per batch row: y = Jacobian
    for m in modules:
        if isinstance(m, nn.ReLU):
            continue                                         # ones in, ones kernels: ReLU is the identity
        if isinstance(m, nn.Flatten | nn.Linear | nn.LazyLinear):
            return [length], True
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            cls = nn.Conv1d if isinstance(m, nn.Conv2d) else nn.ConvTranspose1d
            extra = {"output_padding": m.output_padding[0]} if isinstance(m, nn.ConvTranspose2d) else {}
            one = cls(1, 1, m.kernel_size[0], m.stride[0], m.padding[0], dilation=m.dilation[0], bias=False, **extra).double()
            nn.init.ones_(one.weight)
            y = one(y)
        elif isinstance(m, nn.AvgPool2d | nn.MaxPool2d):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            st = m.stride if isinstance(m.stride, int) else m.stride[0]
            y = torch.nn.functional.avg_pool1d(y, k, st)
        else:
            raise AssertionError(f"no 1-D analogue for {m}")
    jac = y[:, 0, :].detach().numpy() != 0                  # (input pixel, output unit)
    spans = []
    for u in range(jac.shape[1]):
        idx = np.flatnonzero(jac[:, u])
        spans.append(int(idx[-1] - idx[0] + 1))
    return spans, False


@pytest.mark.parametrize("problem", FIELDS, ids=lambda p: p.id)
def test_receptive_field_golden_agrees_with_autograd(problem) -> None:
    """The last layer's field: the widest unit's span (and, exact, the narrowest) along one axis."""
    spans, dense = _field_1d(_modules(problem), int(problem.options["input_shape"].split("x")[-1]))
    last = _golden(problem)["layers"][-1]
    assert last["global"] is dense
    assert last["receptive_field"] == max(spans)
    if problem.options.get("exact"):
        assert last["receptive_field_min"] == min(spans)


# The truth about each claim, found independently of convcalc (by hand, torch or autograd):
# 0 = the claim is right, 1 = it is wrong. Every claim of the bank is listed here.
WRONG_CLAIMS = {
    "cpen455-hw2-3.3-2": "the 5×5 stride-1 unpadded result; stride 2, padding 1, output padding 1 give 6×6",
    "cpen455-hw2-2.6-y": "a linear layer sees the whole 512-pixel input, not 29",
    "cpen455-hw2-7-h4": "after the transposed conv a unit sees 13 or 17 pixels, not 27",
    "cpen455-hw2-7-h5": "after the pool a unit sees 17 pixels (7 to 17 at the border), not 29",
    "cpen455-hw2-7-y": "a linear layer sees the whole 512-pixel input, not 29",
    "mathdnn-hw4-1-y1": "with padding 1 the −1 sits at the centre tap and the 1 below it (the claim is padding 0's)",
    "mathdnn-hw4-1-y2": "with padding 1 the −1 sits at the centre tap and the 1 right of it (the claim is padding 0's)",
    "cpen455-hw2-6-pair-ops-letters": "2BCHW(K² + N) is the approximation; exact is BCHW(2K² − 1) + BHWN(2C − 1)",
}
# Claims a command cannot check yet (exit 2) or judges against the source's own rule: expected to
# fail until the command changes; strict, so the day it passes this list must shrink.
COMMAND_GAPS: dict[str, str] = {}
CLAIMED = [p for p in PROBLEMS if p.claimed is not None]


def test_every_claim_has_a_known_truth() -> None:
    assert set(WRONG_CLAIMS) <= {p.id for p in CLAIMED}
    assert set(COMMAND_GAPS) <= {p.id for p in CLAIMED}


@pytest.mark.parametrize("problem", [
    pytest.param(p, marks=pytest.mark.xfail(reason=COMMAND_GAPS[p.id], strict=True)) if p.id in COMMAND_GAPS else p
    for p in CLAIMED], ids=lambda p: p.id)
def test_claim_verdict(problem, cli) -> None:
    """Every claim in the bank is run through --answer; the exit code is the verdict."""
    res = cli(*problem.argv("json", check=problem.claimed))
    assert res.code == (1 if problem.id in WRONG_CLAIMS else 0), res.err


def test_rendered_text_golden(cli) -> None:
    """The full text rendering of one problem, byte for byte (piped: no colour)."""
    problem = next(p for p in PROBLEMS if p.id == "cs231n-s3-2b")
    res = cli(*problem.argv("text"), "--steps", "all")
    path = GOLDEN / "cs231n-s3-2b.txt"
    if UPDATE_GOLDEN or not path.exists():
        path.write_text(res.out, encoding="utf-8")
    assert res.out == Path(path).read_text(encoding="utf-8")
