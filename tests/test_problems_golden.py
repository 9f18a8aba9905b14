"""Golden tests over problems/: every problem's result against a stored file and PyTorch.

Set CONVCALC_UPDATE_GOLDEN=1 to rewrite the stored files after a deliberate change (then
read the diff: a golden file is only as good as the review of its change).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convcalc.io import read_tensor
from convcalc.problems import load, problem_files
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


CONV_PROBLEMS = [p for p in PROBLEMS if p.command in ("conv", "dilated")]


@pytest.mark.parametrize("problem", CONV_PROBLEMS, ids=lambda p: p.id)
def test_conv_problem_agrees_with_torch(problem, cli) -> None:
    torch = pytest.importorskip("torch")
    o = problem.options
    x = torch.tensor(read_tensor(o["input"], "input").astype(float))[None, None]
    w = torch.tensor(read_tensor(o["kernel"], "kernel").astype(float))[None, None]
    default_d = 2 if problem.command == "dilated" else 1
    want = torch.nn.functional.conv2d(x, w, stride=int(o.get("stride", 1)), padding=int(o.get("padding", 0)),
                                      dilation=int(o.get("dilation", default_d)))[0, 0].numpy()
    got = np.array(json.loads(cli(*problem.argv("json")).out)["output"])
    assert np.array_equal(got, want.round().astype(int))


def test_claims_are_checked(cli) -> None:
    """Every claim in the bank is run through --answer; the exit code is the verdict."""
    verdicts = {}
    for p in PROBLEMS:
        if p.claimed is not None:
            verdicts[p.id] = cli(*p.argv("json", check=p.claimed)).code
    assert set(verdicts.values()) <= {0, 1}
    assert verdicts["nyu20-hw2-1.1c"] == 0
    assert verdicts["cpen455-hw2-4.1"] == 0


def test_rendered_text_golden(cli) -> None:
    """The full text rendering of one problem, byte for byte (piped: no colour)."""
    problem = next(p for p in PROBLEMS if p.id == "cs231n-s3-2b")
    res = cli(*problem.argv("text"), "--steps", "all")
    path = GOLDEN / "cs231n-s3-2b.txt"
    if UPDATE_GOLDEN or not path.exists():
        path.write_text(res.out, encoding="utf-8")
    assert res.out == Path(path).read_text(encoding="utf-8")
