"""A command line that behaves like its neighbours (issue 14 §3), driven through Typer's
CliRunner on the whole command line (and real processes where the stream itself matters:
a cp1252 standard output, a pipe's width, a terminal's colours)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli.clirunner import invoke
from tests.conftest import ROOT

A = "1 2 3; 4 5 6; 7 8 9"
K = "1 0; 0 1"
RIGHT = [[6, 8], [12, 14]]  # A ⋆ K, by hand


def _json(*argv: str) -> dict:
    r = invoke(*argv, "--format", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _proc(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONIOENCODING")}
    return subprocess.run([sys.executable, "-m", "convcalc", *argv], cwd=ROOT, capture_output=True, timeout=120,
                          env={**base, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **(env or {})})


def test_bare_commands_print_the_usage_and_the_command_list() -> None:
    for argv in ([], ["backprop"]):
        r = invoke(*argv)
        assert r.exit_code == 2
        assert r.stderr.startswith("Usage: convcalc") and "Commands:" in r.stderr and "error:" not in r.stderr
        assert "conv" in r.stderr.split("Commands:")[1]


def test_version_and_short_help() -> None:
    from convcalc import __version__

    r = invoke("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"convcalc {__version__}"
    for argv in (["-h"], ["conv", "-h"], ["backprop", "conv", "-h"]):
        r = invoke(*argv)
        assert r.exit_code == 0 and "Usage:" in r.stdout
    top = invoke("--help").stdout
    assert "--install-completion" in top and "--show-completion" in top


def test_every_command_help_names_the_shared_options() -> None:
    for argv in (["conv"], ["pool"], ["params"], ["check"], ["backprop", "expr"], ["quiz"]):
        text = " ".join(invoke(*argv, "--help").stdout.split())
        assert "--reveal" in text and "--export FILE.svg|FILE.html" in text and "--tolerance" in text, argv
        assert "--step, its old name, still works" in text


def test_reveal_and_its_old_name() -> None:
    for flag in ("--reveal", "--step"):
        r = invoke("conv", "-i", A, "-k", K, flag, input="")
        assert r.exit_code == 0 and "Result" in r.stdout and "--reveal needs a terminal" in r.stderr


def test_backprop_help_keeps_with_respect_to_whole() -> None:
    text = " ".join(invoke("backprop", "--help").stdout.split())
    assert "w.r.t." not in text and "Gradients of a convolution with respect to" in text


def test_one_name_per_thing() -> None:
    lp = ("pool", "-i", A, "-m", "lp", "-k", "2", "-s", "1")
    assert _json(*lp, "--norm-type", "3")["output"] == _json(*lp, "--p", "3")["output"]
    assert _json(*lp, "--norm-type", "3")["output"] != _json(*lp, "--norm-type", "2")["output"]
    back = ("backprop", "pool", "-i", A, "-m", "avg", "-s", "1")
    assert _json(*back, "-k", "2")["grad_input"] == _json(*back, "--kernel-size", "2")["grad_input"]


def test_resample_takes_its_rank_from_the_input() -> None:
    assert _json("resample", "-i", "1 2; 3 4", "--up", "2")["output"] == [[1, 0, 2], [0, 0, 0], [3, 0, 4]]
    assert _json("resample", "-i", "1 2 3", "--up", "2")["output"] == [1, 0, 2, 0, 3]
    assert _json("resample", "-i", "1 2; 3 4", "--up", "2", "--dim", "1")["output"] == [[1, 0, 2], [3, 0, 4]]


def test_a_cp1252_stdout_gets_ascii_forms_not_a_crash() -> None:
    for argv in (["conv", "-i", A, "-k", K, "--answer", "6 8; 12 15"], ["check", "problems/"],
                 ["backprop", "expr", "sum(sigmoid(W @ x))", "--var", "W=1 2; 3 4", "--var", "x=1; 2"]):
        for encoding in ("cp1252", "ascii"):
            r = _proc(*argv, env={"PYTHONIOENCODING": encoding})
            assert r.returncode in (0, 1), (argv, encoding, r.stderr.decode(errors="replace"))
            out = r.stdout.decode(encoding)
            assert "internal error" not in r.stderr.decode(errors="replace")
            assert any(word in out for word in ("Result", "Verdicts", "Closed forms")), (argv, encoding)
            if argv[0] == "conv":  # the matrix brackets ┌ ┐ └ ┘ in ASCII
                assert "+  6  8 +" in out and "+ 12 14 +" in out and "┌" not in out, out[-400:]


def test_piped_output_is_80_columns_unless_columns_says() -> None:
    wide = ["receptive-field", "--layer", "Conv2d(3, 128, 5, stride=2, padding=2)", "--layer", "MaxPool2d(2)",
            "--input-shape", "100x3x512x512"]
    plain = _proc(*wide).stdout.decode()
    assert max(len(line) for line in plain.splitlines()) <= 80
    assert max(len(line) for line in plain.splitlines()) > 60
    narrow = _proc(*wide, env={"COLUMNS": "60"}).stdout.decode()
    assert max(len(line) for line in narrow.splitlines()) <= 60


@pytest.mark.parametrize("text", [
    "[1 2 3; 4 5 6; 7 8 9]", "\\begin{bmatrix} 1 & 2 & 3 \\\\ 4 & 5 & 6 \\\\ 7 & 8 & 9 \\end{bmatrix}",
    "1 & 2 & 3 \\\\ 4 & 5 & 6 \\\\ 7 & 8 & 9", "\ufeff1 2 3; 4 5 6; 7 8 9",
])
def test_matrices_as_pasted(text: str) -> None:
    assert _json("conv", "-i", text, "-k", K)["output"] == RIGHT


def test_matrix_files_as_people_have_them(tmp_path: Path) -> None:
    (tmp_path / "semi.csv").write_text("1;2;3\n4;5;6\n7;8;9\n")
    (tmp_path / "head.csv").write_bytes("\ufeffx1,x2,x3\n1,2,3\n4,5,6\n7,8,9\n".encode())
    np.savez(tmp_path / "one.npz", a=np.arange(1, 10).reshape(3, 3))
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 2)), b=np.arange(1, 10).reshape(3, 3))
    for name in ("semi.csv", "head.csv", "one.npz", "two.npz:b"):
        assert _json("conv", "-i", str(tmp_path / name), "-k", K)["output"] == RIGHT, name
    r = invoke("conv", "-i", str(tmp_path / "two.npz"), "-k", K)
    assert r.exit_code == 2 and "holds 2 arrays (a, b); name one as FILE.npz:NAME" in r.stderr
    r = invoke("conv", "-i", str(tmp_path / "two.npz:c"), "-k", K)
    assert r.exit_code == 2 and "has no array 'c'" in r.stderr
    for missing in ("nothere.csv", "nothere.npz:a", "data/x.txt", "homework.mat", "A.CSV"):
        r = invoke("conv", "-i", missing, "-k", K)
        assert r.exit_code == 2 and "no such file" in r.stderr, missing
    r = invoke("conv", "-i", "1 2?; 3 4", "-k", K)  # (letters are a matrix of letters, not a mistake)
    assert r.exit_code == 2 and "'2?' is not a number" in r.stderr and "MATLAB [1 2; 3 4]" in r.stderr
    assert r.stderr.count("\n") == 1


def test_errors_that_tell_the_fix() -> None:
    two = "[[[1,2,3],[4,5,6],[7,8,9]],[[1,2,3],[4,5,6],[7,8,9]]]"
    r = invoke("conv", "-i", two, "-k", "1 0 0; 0 1 0; 0 0 1")
    assert r.exit_code == 2 and "give a (2,3,3) kernel" in r.stderr and "--groups 2" in r.stderr
    r = invoke("conv", "-i", A, "-k", K, "--bias", "1,2")
    assert r.exit_code == 2 and "has 2 values, but the layer has one output channel" in r.stderr
    assert "give one number" in r.stderr
    for cmd in (["conv", "-i", A, "-k", K], ["pool", "-i", A, "-k", "2", "-s", "1"]):
        r = invoke(*cmd, "--cell", "1,1,1")
        assert r.exit_code == 2 and "the output is 2-D: give 2, like 1,1" in r.stderr


def test_output_files_other_tools_read(tmp_path: Path) -> None:
    avg = ("pool", "-i", "1 2 0; 0 0 1; 1 1 1", "--mode", "avg", "-k", "3")
    for suffix in (".csv", ".txt"):
        target = tmp_path / f"p{suffix}"
        assert invoke(*avg, "--output", str(target)).exit_code == 0
        assert target.read_text() == "0.7777777777777778\n"
        assert np.loadtxt(target, delimiter=",") == pytest.approx(7 / 9, rel=0, abs=0)
    target = tmp_path / "p.json"
    assert invoke(*avg, "--output", str(target)).exit_code == 0
    assert json.loads(target.read_text()) == {"values": [[7 / 9]], "exact": [["7/9"]]}
    ints = tmp_path / "c.json"
    assert invoke("conv", "-i", A, "-k", K, "--output", str(ints)).exit_code == 0
    assert json.loads(ints.read_text()) == RIGHT


def test_thousands_separators_in_tables_never_in_json() -> None:
    net = ("params", "--layer", "Linear(9216, 6629)", "--input-shape", "1x9216")
    assert "61,099,493" in invoke(*net).stdout
    assert _json(*net)["total_params"] == 61099493
    one = ("params", "--in-channels", "32", "--out-channels", "64", "--kernel-size", "5", "--input-size", "128")
    assert "= 51,264" in invoke(*one).stdout and _json(*one)["total"] == 51264


def test_check_verdicts_are_coloured_on_a_terminal() -> None:
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    child = pexpect.spawn(sys.executable, ["-m", "convcalc", "check", "problems/cpen455-2025-hw2.toml"],
                          cwd=ROOT, env={**env, "TERM": "xterm-256color", "COLUMNS": "120", "PYTHONPATH": str(ROOT)},
                          encoding="utf-8", timeout=120)
    child.expect(pexpect.EOF)
    out = child.before
    line = next(row for row in out.splitlines() if "DIFFERS" in row and "cpen455" in row)
    assert "\x1b[" in line.split("DIFFERS")[0][-20:]  # the verdict cell carries a colour
    agrees = next(row for row in out.splitlines() if "agrees" in row)
    assert "\x1b[32m" in agrees or "\x1b[32;" in agrees or "\x1b[38;5;2m" in agrees


def test_shell_completion_completes_commands_and_options() -> None:
    r = _proc(env={"_CONVCALC_COMPLETE": "complete_bash", "COMP_WORDS": "convcalc pool --norm", "COMP_CWORD": "2"})
    assert r.returncode == 0 and r.stdout.decode().split() == ["--norm-type"]
    script = _proc("--show-completion", "bash").stdout.decode()
    assert "_convcalc_completion" in script and "complete" in script
