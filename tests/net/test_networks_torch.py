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
