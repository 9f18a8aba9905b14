"""The seven example networks, pasted as class source and as print(model) printout, against torch.

The oracle builds each model from the same source file (on torch's meta device: shapes only,
no memory for the weights), hooks every leaf module's output shape, counts ``numel()`` of its
own parameters, and measures FLOPs with ``torch.utils.flop_counter.FlopCounterMode``.
"""

from __future__ import annotations

import pytest

from convcalc.net.graph import Graph
from convcalc.net.read import read_network

from .networks import NETWORKS, build, printout, source

torch = pytest.importorskip("torch")


def torch_facts(name: str) -> tuple[list[tuple[str, tuple[int, ...]]], dict[str, int], dict[str, int], int, tuple]:
    """(leaf calls in order with output shape, params per leaf module, MACs per leaf module, total MACs, output)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = build(name).eval()
    calls: list[tuple[str, tuple[int, ...]]] = []
    params: dict[str, int] = {}
    for path, module in model.named_modules():
        if not list(module.children()):
            params[path] = sum(p.numel() for p in module.parameters(recurse=False))
            module.register_forward_hook(lambda m, i, o, path=path: calls.append((path, tuple(o.shape))))
    x = torch.zeros(NETWORKS[name][1], device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(x)
    root = type(model).__name__
    macs = {k[len(root) + 1 :]: sum(v.values()) // 2 for k, v in counter.get_flop_counts().items()
            if k.startswith(root + ".")}
    return calls, params, macs, counter.get_total_flops() // 2, tuple(out.shape)


def convcalc_facts(graph: Graph) -> tuple[list[tuple[str, tuple[int, ...]]], dict[str, int], dict[str, int]]:
    calls = [(n.name, n.row.output_shape) for n in graph.nodes if n.module]
    params: dict[str, int] = {}
    macs: dict[str, int] = {}
    for n in graph.nodes:
        if n.module:
            params.setdefault(n.name, n.row.params)
            macs[n.name] = macs.get(n.name, 0) + n.row.macs
    return calls, params, macs


@pytest.mark.parametrize("name", list(NETWORKS))
def test_source_matches_torch_layer_by_layer(name: str) -> None:
    t_calls, t_params, t_macs, t_total, t_out = torch_facts(name)
    graph = read_network(source(name), NETWORKS[name][1])
    calls, params, macs = convcalc_facts(graph)
    assert calls == t_calls  # every module call, in order, with its output shape
    assert params == {k: t_params[k] for k in params} and set(params) == set(t_params)
    assert {k: v for k, v in macs.items() if v} == {k: v for k, v in t_macs.items() if k in t_params and v}
    assert graph.macs == t_total and graph.output_shape == t_out
    assert graph.params == sum(t_params.values())


@pytest.mark.parametrize("name", list(NETWORKS))
def test_printout_matches_torch(name: str) -> None:
    """A printout cannot say the order forward calls modules in: each module's shape, params and MACs agree."""
    t_calls, t_params, t_macs, t_total, t_out = torch_facts(name)
    graph = read_network(printout(name), NETWORKS[name][1])
    calls, params, macs = convcalc_facts(graph)
    # Conv1dStack registers relu after the convs but calls it between them: from a printout the relu
    # is assumed to run where it is printed (said in the assumptions), so its shape there differs
    unknowable = {"conv1d_stack": {"relu"}}.get(name, set())
    assert {k: v for k, v in calls if k not in unknowable} == {k: v for k, v in t_calls if k not in unknowable}
    assert params == t_params
    assert {k: v for k, v in macs.items() if v} == {k: v for k, v in t_macs.items() if k in t_params and v}
    assert graph.macs == t_total and graph.output_shape == t_out


@pytest.mark.parametrize("name", list(NETWORKS))
def test_stored_printouts_are_what_torch_prints(name: str) -> None:
    with torch.device("meta"):
        assert printout(name) == str(build(name)) + "\n"


def test_printout_states_the_assumed_flow() -> None:
    resnet = read_network(printout("resnet18"), (1, 3, 64, 64))
    assert any("BasicBlock" in a and "downsample" in a for a in resnet.assumptions)
    assert any("flattens" in a for a in resnet.assumptions)
    mobilenet = read_network(printout("mobilenet_v2"), (1, 3, 64, 64))
    assert any("pools" in a for a in mobilenet.assumptions)
    assert any("use_res_connect" in a for a in mobilenet.assumptions)
    unet = read_network(printout("unet_small"), (1, 3, 64, 64))
    assert sum("torch.cat" in a for a in unet.assumptions) == 3


def test_problem_file_is_generated_from_the_examples() -> None:
    from .networks import ROOT, problems_toml

    assert (ROOT / "problems" / "networks.toml").read_text(encoding="utf-8") == problems_toml()


@pytest.mark.parametrize("form", ["source", "printout"])
def test_resnet50_of_the_benchmark_matches_torch(form: str) -> None:
    from .networks import DIR

    text = source("resnet18").replace("model = ResNet(BasicBlock, [2, 2, 2, 2])",
                                      "model = ResNet(Bottleneck, [3, 4, 6, 3])")
    if form == "printout":
        text = (DIR / "resnet50.txt").read_text(encoding="utf-8")
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        ns: dict = {}
        exec(compile(source("resnet18"), "resnet18.py", "exec"), ns)
        model = ns["ResNet"](ns["Bottleneck"], [3, 4, 6, 3]).eval()
        if form == "printout":
            assert text == str(model) + "\n"
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            out = model(torch.zeros(1, 3, 224, 224))
    graph = read_network(text, (1, 3, 224, 224))
    assert graph.params == sum(p.numel() for p in model.parameters()) == 25_557_032
    assert graph.macs * 2 == counter.get_total_flops() and graph.output_shape == tuple(out.shape)


def test_table_columns_depth_memory_and_exact_ops(cli) -> None:
    """--depth folds rows into their containers; memory as torchinfo counts it, from torch's own tensors."""
    import json

    from .networks import DIR

    path = str(DIR / "resnet18.py")
    shallow = cli("params", "--net", path, "--input-shape", "1x3x64x64", "--depth", "1")
    deep = cli("params", "--net", path, "--input-shape", "1x3x64x64", "--depth", "3")
    assert "layer1.0.conv1" in deep.out and "layer1.0.conv1" not in shallow.out and "└ layer1 " in shallow.out
    assert "11,689,512" in shallow.out and "11.69M" in shallow.out
    data = json.loads(cli("params", "--net", path, "--input-shape", "1x3x64x64", "--format", "json",
                          "--exact-ops").out)
    with torch.device("meta"):
        model = build("resnet18").eval()
    outputs = []
    for m in model.modules():
        if not list(m.children()) and any(True for _ in m.parameters(recurse=False)):
            m.register_forward_hook(lambda mod, i, o: outputs.append(o.numel()))
    with torch.no_grad():
        model(torch.zeros(1, 3, 64, 64, device="meta"))
    mem = data["memory_bytes"]
    assert mem["forward_backward"] == sum(2 * 4 * n for n in outputs)
    assert mem["params"] == 4 * sum(p.numel() for p in model.parameters()) and mem["input"] == 4 * 3 * 64 * 64
    assert data["exact_ops"] == data["multiplications"] + data["additions"]


def test_exact_ops_with_net_count_what_a_naive_loop_does(cli) -> None:
    """--exact-ops on a network: every * and + of a literal loop over the outputs (bias add included)."""
    import json

    def naive(c_in: int, c_out: int, k: int, n: int, bias: bool) -> tuple[int, int]:
        mults = adds = 0
        for _ in range(c_out):
            for _ in range(n - k + 1):
                for _ in range(n - k + 1):
                    acc_terms = 0
                    for _ in range(c_in * k * k):
                        mults += 1
                        acc_terms += 1
                    adds += acc_terms - 1 + int(bias)
        return mults, adds

    conv = naive(2, 3, 3, 6, True)
    conv_nb = naive(3, 2, 2, 4, False)
    fc = naive(18, 5, 1, 1, True)  # Linear(18, 5) is a 1×1 conv on a 1×1 input
    data = json.loads(cli("params", "--layer", "Conv2d(2, 3, 3)", "--layer", "Conv2d(3, 2, 2, bias=False)",
                          "--layer", "Flatten()", "--layer", "Linear(18, 5)", "--input-shape", "1x2x6x6",
                          "--exact-ops", "--format", "json").out)
    assert (data["multiplications"], data["additions"]) == tuple(map(sum, zip(conv, conv_nb, fc, strict=True)))
