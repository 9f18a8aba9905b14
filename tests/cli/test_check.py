"""``convcalc check`` over problem files and folders: verdicts, exit codes, documents."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.problems import load, problem_files
from tests.conftest import ROOT
from tests.test_problems_golden import COMMAND_GAPS, WRONG_CLAIMS

BANK = ROOT / "problems"

HOMEWORK = '''
[[problem]]
id = "mine-1"
source = "my homework"
asks = "a 2×2 kernel over a 3×3 input, padding 1"
command = "conv"
input = "1 2 3; 4 5 6; 7 8 9"
kernel = "1 0; 0 1"
padding = 1
answer = "6 8; 12 14"

[[problem]]
id = "mine-2"
command = "output-size"
input_size = 32
kernel_size = 5
stride = 1
answer = "28"

[[problem]]
id = "mine-3"
command = "pool"
input = "1 2; 3 4"
kernel_size = 2
'''


def test_check_bank_flags_exactly_the_wrong_claims(cli) -> None:
    res = cli("check", str(BANK), "--format", "json")
    got = json.loads(res.out)
    assert got["command"] == "check"
    verdicts = {p["id"]: p for p in got["problems"]}
    ids = {p.id for f in problem_files([str(BANK)]) for p in load(f)}
    assert set(verdicts) == ids
    for pid, p in verdicts.items():
        assert set(p) >= {"id", "verdict", "claimed", "computed", "slip"}
        if pid in COMMAND_GAPS:
            continue  # a command that cannot take that claim yet (the golden test pins these)
        if pid in WRONG_CLAIMS:
            assert p["verdict"] == "differs", pid
        elif p["claimed"] is None:
            assert p["verdict"] == "no-claim", pid
        else:
            assert p["verdict"] == "agrees", (pid, p)
    assert got["differ"] == sum(p["verdict"] == "differs" for p in got["problems"])
    assert got["agree"] == sum(p["verdict"] == "agrees" for p in got["problems"])
    assert res.code in (1, 2) and (res.code == 2) == any(p["verdict"] == "error" for p in got["problems"])


def test_seed_transposed_claim_differs_with_slip_and_side_by_side(cli) -> None:
    res = cli("check", str(BANK / "cpen455-2025-hw2.toml"), "--id", "cpen455-hw2-3.3-2")
    assert res.code == 1
    assert "DIFFERS" in res.out
    assert "Likely slip" in res.out or "stride 1, no padding and output padding 0" in res.out
    assert "claimed (the claim, 5×5)" in res.out
    assert "computed (what convcalc computes, 6×6)" in res.out
    assert "Scatter" in res.out  # the worked derivation that shows why


def test_students_answer_key_is_checked(cli, tmp_path: Path) -> None:
    hw = tmp_path / "hw.toml"
    hw.write_text(HOMEWORK, encoding="utf-8")
    res = cli("check", str(hw), "--format", "json")
    assert res.code == 1
    got = {p["id"]: p for p in json.loads(res.out)["problems"]}
    assert got["mine-1"]["verdict"] == "differs"
    assert got["mine-1"]["slip"] == "your answer is what you get with no padding"
    assert got["mine-1"]["claimed"] == [[6, 8], [12, 14]]
    assert got["mine-1"]["computed"] == [[1, 2, 3, 0], [4, 6, 8, 3], [7, 12, 14, 6], [0, 7, 8, 9]]
    assert got["mine-2"] == {**got["mine-2"], "verdict": "agrees", "claimed": 28, "computed": 28, "slip": None}
    assert got["mine-3"]["verdict"] == "no-claim" and got["mine-3"]["computed"] == [[4]]


def test_all_agree_exits_zero(cli, tmp_path: Path) -> None:
    hw = tmp_path / "ok.toml"
    hw.write_text(HOMEWORK.replace('answer = "6 8; 12 14"', 'answer = "1 2 3 0; 4 6 8 3; 7 12 14 6; 0 7 8 9"'),
                  encoding="utf-8")
    res = cli("check", str(hw))
    assert res.code == 0, res.err
    assert "2 agree, 0 differ, 1 without a claim" in res.out


def test_malformed_problem_named_and_the_others_still_run(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(HOMEWORK.replace("kernel_size = 5", "kernel_size = 99"), encoding="utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[problem]]\nid = 3\n", encoding="utf-8")
    res = cli("check", str(tmp_path), "--format", "json")
    assert res.code == 2
    lines = res.err.strip().splitlines()
    assert any("broken.toml" in line and "'id'" in line for line in lines), lines
    assert any("bad.toml" in line and "mine-2" in line and "--kernel-size" in line for line in lines), lines
    got = {p["id"]: p["verdict"] for p in json.loads(res.out)["problems"]}
    assert got == {"mine-1": "differs", "mine-2": "error", "mine-3": "no-claim"}


def test_markdown_report_is_one_document(cli, tmp_path: Path) -> None:
    hw = tmp_path / "hw.toml"
    hw.write_text(HOMEWORK, encoding="utf-8")
    res = cli("check", str(hw), "--format", "markdown")
    assert res.out.startswith("# convcalc check: ")
    assert res.out.count("# convcalc check") == 1
    assert "mine-1: the claim DIFFERS" in res.out


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("command", ["check", "solve"])
def test_latex_document_compiles(cli, tmp_path: Path, command: str) -> None:
    res = cli(command, str(BANK), "--format", "latex")
    assert res.out.startswith("\\documentclass") and res.out.rstrip().endswith("\\end{document}")
    tex = tmp_path / "doc.tex"
    tex.write_text(res.out, encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, timeout=300)
    # pdflatex echoes overfull lines in the font's encoding (§ is byte 0x9F in T1): not UTF-8
    assert done.returncode == 0, done.stdout.decode("utf-8", "replace")[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


def test_receptive_field_claim_of_the_layer_before_the_linear(cli) -> None:
    """Seed 004 §2.6: 29 is the field before the Linear layer (pinned against autograd by the
    golden tests); the Linear layer itself sees the whole input."""
    res = cli("check", str(BANK / "cpen455-2025-hw2.toml"), "--id", "cpen455-hw2-2.6-y", "--format", "json")
    (p,) = json.loads(res.out)["problems"]
    assert p["verdict"] == "differs" and p["computed"] == "global"
    assert p["slip"] == "the claim is what you get with the last layer, Linear(16384, 10), left out"


PROBLEM_KEYS = ["id", "command", "input", "kernel", "stride", "padding", "answer", "claimed", "layer", "args",
                "input_size", "kernel_size", "dilation", "flip", "output_padding"]
VALUES = ['"conv"', '"transposed-conv"', '"backprop expr"', '"__import__(\'os\')"', "-1", "0", "99999999999999",
          '"1 2; 3"', '"1 2; 3 4"', "[]", '["a", 1]', "true", "1.5", '"x"', '["Conv2d(1,1,3)"]', '"sum(x)"']


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables=st.lists(st.dictionaries(st.sampled_from(PROBLEM_KEYS), st.sampled_from(VALUES), max_size=8),
                       min_size=1, max_size=3),
       garbage=st.one_of(st.just(""), st.text(max_size=40)))
def test_hostile_problem_files(cli, tmp_path_factory, tables, garbage) -> None:
    """Random problem tables (and trailing garbage): exit 0, 1 or 2, each error on its own line."""
    body = "\n".join("[[problem]]\n" + "\n".join(f"{k} = {v}" for k, v in t.items()) for t in tables)
    path = tmp_path_factory.mktemp("hostile") / "p.toml"
    path.write_text(body + "\n" + garbage, encoding="utf-8")
    res = cli("check", str(path), "--format", "json")
    assert res.code in (0, 1, 2), res.err
    assert "Traceback" not in res.err + res.out
    if res.code == 2:
        assert res.err.strip() and all(line.startswith("error: ") for line in res.err.strip().splitlines())
    else:
        json.loads(res.out)
