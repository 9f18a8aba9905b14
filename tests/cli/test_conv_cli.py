"""`convcalc conv` and `convcalc dilated` end to end: formats, answers, cells, errors.

Most tests go through ``convcalc.cli.run(argv)`` (the real entry point, with its error
mapping) and capsys; a few run ``python -m convcalc`` as a real process.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from typer.testing import CliRunner

from convcalc.cli import app, run
from tests.test_conv_reference import naive_conv, problems

A = "4 5 2 2 1; 3 3 2 2 4; 4 3 4 1 1; 5 1 4 1 2; 5 1 3 1 4"
B = "4 3 3; 5 5 5; 2 4 3"
C = [[109, 92, 72], [108, 85, 74], [110, 74, 79]]
X = "3 1 2 6 5; 6 8 1 7 9; 2 7 4 2 3; 8 3 5 4 1; 1 5 2 7 6"
W = "-1 2 -3; 1 -2 3; 3 2 -1"


def call(capsys, *argv: str) -> tuple[int, str, str]:
    rc = run(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def as_json(capsys, *argv: str) -> dict:
    rc, out, err = call(capsys, *argv, "-f", "json")
    assert rc == 0, err
    return json.loads(out)


def mat(rows) -> str:
    return "; ".join(" ".join(str(v) for v in r) for r in rows)


# --- the four formats on seed 000's example --------------------------------------------------


def test_json_format(capsys):
    rc, out, err = call(capsys, "conv", "-i", A, "-k", B, "-f", "json")
    assert rc == 0 and err == ""
    assert out.count("\n") == 1  # one object, one line, nothing else
    data = json.loads(out)
    assert {"command", "output", "shape", "settings"} <= data.keys()
    assert data["command"] == "conv"
    assert data["output"] == C
    assert all(type(v) is int for r in data["output"] for v in r)
    assert data["shape"] == [3, 3]
    s = data["settings"]
    assert s["stride"] == [1, 1] and s["dilation"] == [1, 1] and s["groups"] == 1
    assert s["padding_mode"] == "zeros" and s["flip"] is False and s["kernel_size"] == [3, 3]


def test_text_format(capsys):
    rc, out, err = call(capsys, "conv", "-i", A, "-k", B)
    assert rc == 0 and err == ""
    assert "C[1,1]  window A[1..3,1..3]" in out
    assert "= 4·4 + 3·5 + 3·2 + 5·3 + 5·3 + 5·2 + 2·4 + 4·3 + 3·4 = 109" in out
    assert "C[3,3]  window A[3..5,3..5]" in out
    assert "109.0" not in out
    assert "\x1b[" not in out  # no colour codes when not a terminal
    # the result matrix at the end holds every value
    result = out[out.index("Result"):]
    for v in (109, 92, 72, 108, 85, 74, 110, 79):
        assert str(v) in result


def test_markdown_format(capsys):
    rc, out, _ = call(capsys, "conv", "-i", A, "-k", B, "-f", "markdown")
    assert rc == 0
    assert r"\begin{bmatrix}" in out and r"\end{bmatrix}" in out
    assert (r"C_{11} &= 4 \cdot 4 + 3 \cdot 5 + 3 \cdot 2 + 5 \cdot 3 + 5 \cdot 3 + 5 \cdot 2 + 2 \cdot 4"
            r" + 4 \cdot 3 + 3 \cdot 4 = 109") in out
    assert r"A = \begin{bmatrix} 4 & 5 & 2 & 2 & 1 \\" in out
    assert out.lstrip().startswith("#")


def test_latex_format(capsys):
    rc, out, _ = call(capsys, "conv", "-i", A, "-k", B, "-f", "latex")
    assert rc == 0
    assert r"\begin{align*}" in out and r"\end{align*}" in out
    assert out.count(r"\begin{align*}") == out.count(r"\end{align*}")
    assert r"\begin{bmatrix}" in out
    assert r"\left\lfloor" in out and r"\right\rfloor" in out
    assert r"C_{33} &= " in out and "= 79" in out


# --- answers -----------------------------------------------------------------------------------


def test_right_answer_exit_0(capsys):
    rc, out, _ = call(capsys, "conv", "-i", A, "-k", B, "--answer", mat(C))
    assert rc == 0
    check = out[out.index("Checking your answer"):]
    assert check.count("✓ ") == 9 + 1  # nine cells and the legend
    assert check.count("✗ ") == 1  # the legend only
    assert "Every cell of your answer is right." in check


def test_wrong_answer_exit_1_with_the_wrong_cells_derivation(capsys):
    wrong = [r[:] for r in C]
    wrong[2][2] = 80
    rc, out, _ = call(capsys, "conv", "-i", A, "-k", B, "--answer", mat(wrong))
    assert rc == 1
    check = out[out.index("Checking your answer"):]
    assert "✗ 80 (79)" in check
    assert "C[3,3]  window A[3..5,3..5]" in check
    assert "= 4·4 + 3·1 + 3·1 + 5·4 + 5·1 + 5·2 + 2·3 + 4·1 + 3·4 = 79" in check
    assert "C[1,1]  window" not in check  # only the wrong cell is worked again


def test_wrong_answer_json(capsys):
    wrong = [r[:] for r in C]
    wrong[0][1] = 93
    rc, out, _ = call(capsys, "conv", "-i", A, "-k", B, "--answer", mat(wrong), "-f", "json")
    assert rc == 1
    data = json.loads(out)
    assert data["answer_correct"] is False
    assert data["wrong_cells"] == [[1, 2]]


def test_answer_of_wrong_shape_is_wrong(capsys):
    rc, _, _ = call(capsys, "conv", "-i", A, "-k", B, "--answer", "109 92; 108 85")
    assert rc == 1


# --- cells, index base, caps ---------------------------------------------------------------------


def test_index_0_names_c00(capsys):
    rc, out, _ = call(capsys, "conv", "-i", A, "-k", B, "--index", "0")
    assert rc == 0
    assert "C[0,0]  window A[0..2,0..2]" in out
    assert "C[2,2]  window A[2..4,2..4]" in out
    assert "C[1,1]  window A[1..3,1..3]" in out  # 0-based: the centre cell
    assert "C[3,3]" not in out


def test_cell_works_only_that_cell(capsys):
    rc, out, _ = call(capsys, "conv", "-i", A, "-k", B, "--cell", "2,3")
    assert rc == 0
    assert out.count("  window ") == 1
    assert "C[2,3]  window A[2..4,3..5]" in out and "= 74" in out


def test_cell_repeatable(capsys):
    rc, out, _ = call(capsys, "conv", "-i", A, "-k", B, "--cell", "1,1", "--cell", "3,2")
    assert rc == 0
    assert out.count("  window ") == 2 and "C[3,2]" in out


BIG = np.arange(144).reshape(12, 12) % 7


def test_default_cap_and_how_to_see_more(capsys):
    rc, out, _ = call(capsys, "conv", "-i", mat(BIG), "-k", "1 0 1; 0 1 0; 1 0 1")
    assert rc == 0
    assert out.count("  window ") == 25
    assert "25 of 100" in out
    assert "--steps all" in out and "--cell" in out


def test_steps_all_and_steps_n(capsys):
    _, out, _ = call(capsys, "conv", "-i", mat(BIG), "-k", "1 0 1; 0 1 0; 1 0 1", "--steps", "all")
    assert out.count("  window ") == 100 and "of 100" not in out
    _, out, _ = call(capsys, "conv", "-i", mat(BIG), "-k", "1 0 1; 0 1 0; 1 0 1", "--steps", "3")
    assert out.count("  window ") == 3 and "3 of 100" in out


# --- semantics through the CLI -------------------------------------------------------------------


def test_flip_is_conv_with_kernel_rotated_180(capsys):
    k = np.array([[1, 2, 0], [-1, 3, 4], [5, 0, -2]])
    flipped = as_json(capsys, "conv", "-i", A, "-k", mat(k), "--flip")
    rotated = as_json(capsys, "conv", "-i", A, "-k", mat(k[::-1, ::-1]))
    plain = as_json(capsys, "conv", "-i", A, "-k", mat(k))
    assert flipped["output"] == rotated["output"]
    assert flipped["output"] != plain["output"]
    assert flipped["settings"]["flip"] is True
    rc, out, _ = call(capsys, "conv", "-i", A, "-k", mat(k), "--flip")
    assert rc == 0 and "flip" in out.lower()


def test_multi_channel_per_channel_partial_sums_and_bias(capsys):
    x = "[[[1,2,3],[4,5,6],[7,8,9]],[[1,0,1],[0,1,0],[1,0,1]]]"
    k = "[[[1,0],[0,1]],[[2,0],[0,2]]]"
    rc, out, _ = call(capsys, "conv", "-i", x, "-k", k, "--bias", "10", "--cell", "1,1")
    assert rc == 0
    assert "channel 1: 1·1 + 0·2 + 0·4 + 1·5 = 6" in out
    assert "channel 2: 2·1 + 0·0 + 0·0 + 2·1 = 4" in out
    assert "= 6 + 4 + 10 = 20" in out
    data = as_json(capsys, "conv", "-i", x, "-k", k, "--bias", "10")
    # (1+5 + 2·(1+1)) + 10 = 20 etc., computed by hand
    assert np.asarray(data["output"]).reshape(-1).tolist() == [20, 18, 22, 28]


def test_bias_adds_per_output_channel(capsys):
    k2 = "[[[[1,0],[0,0]]],[[[0,0],[0,1]]]]"  # two output channels, (2, 1, 2, 2)
    base = as_json(capsys, "conv", "-i", A, "-k", k2)
    biased = as_json(capsys, "conv", "-i", A, "-k", k2, "--bias", "[100, -1]")
    assert np.asarray(base["output"]).shape == (2, 4, 4)
    got, want = np.asarray(biased["output"]), np.asarray(base["output"])
    assert (got[0] - want[0] == 100).all() and (got[1] - want[1] == -1).all()
    rc, _, err = call(capsys, "conv", "-i", A, "-k", k2, "--bias", "1 2 3")
    assert rc == 2 and "--bias" in err


def test_dim_1(capsys):
    data = as_json(capsys, "conv", "--dim", "1", "-i", "1 2 3 4 5", "-k", "1 0 -1")
    assert data["output"] == [-2, -2, -2]
    assert data["shape"] == [3]
    assert data["settings"]["dim"] == 1 and data["settings"]["kernel_size"] == 3
    data = as_json(capsys, "conv", "--dim", "1", "-i", "1 2 3 4 5", "-k", "1 2", "-s", "2", "-p", "1")
    assert data["output"] == [2, 8, 14]  # padded 0 1 2 3 4 5 0, taps at 0, 2, 4: 0+2·1, 2+2·3, 4+2·5
    rc, out, _ = call(capsys, "conv", "--dim", "1", "-i", "1 2 3 4 5", "-k", "1 0 -1")
    assert rc == 0 and "= -2" in out


def test_fractions_inline_exact_in_text(capsys):
    rc, out, err = call(capsys, "conv", "-i", "1/3 2; -2/5 1", "-k", "1 1")
    assert rc == 0, err
    assert "7/3" in out and "3/5" in out


def test_fractions_json_has_exact_strings(capsys):
    rc, out, err = call(capsys, "conv", "-i", "1/3 2; -2/5 1", "-k", "1 1", "-f", "json")
    assert rc == 0, err
    data = json.loads(out)
    assert np.allclose(data["output"], [[7 / 3], [3 / 5]], rtol=1e-15, atol=0)
    assert data["output_exact"] == [["7/3"], ["3/5"]]


def test_huge_integers_exact_in_text(capsys):
    big = 2**40
    rc, out, err = call(capsys, "conv", "-i", mat([[big] * 3] * 3), "-k", mat([[big] * 3] * 3))
    assert rc == 0, err
    assert str(9 * 2**80) in out


def test_huge_integers_exact_in_json(capsys):
    big = 2**40
    rc, out, err = call(capsys, "conv", "-i", mat([[big] * 3] * 3), "-k", mat([[big] * 3] * 3), "-f", "json")
    assert rc == 0, err
    assert json.loads(out)["output"] == [[9 * 2**80]]


def test_dilated_command(capsys):
    rc, out, _ = call(capsys, "dilated", "-i", X, "-k", W, "--dilation", "2", "--stride", "2", "--padding", "2")
    assert rc == 0
    assert "2·(3−1)+1 = 5" in out  # effective kernel size
    assert "Y[1,1]" in out and "X_pad" in out
    data = as_json(capsys, "dilated", "-i", X, "-k", W, "-d", "2", "-s", "2", "-p", "2")
    assert data["command"] == "dilated"
    assert data["settings"]["dilation"] == [2, 2]
    assert data["shape"] == [3, 3]


def test_dilated_default_dilation_is_2(capsys):
    a = as_json(capsys, "dilated", "-i", X, "-k", W)
    b = as_json(capsys, "conv", "-i", X, "-k", W, "-d", "2")
    assert a["output"] == b["output"] and a["settings"]["dilation"] == [2, 2]


def test_stdin_via_run(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(A.replace("; ", "\n")))
    data = as_json(capsys, "conv", "-i", "-", "-k", B)
    assert data["output"] == C


def test_clirunner_success_path():
    from convcalc.cli import conv as _conv  # noqa: F401  (registers the commands)

    result = CliRunner().invoke(app, ["conv", "-i", A, "-k", B, "-f", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["output"] == C


# --- bad input: exit 2, one line on stderr, no traceback ----------------------------------------

THREE_CH = "[[[1,2],[3,4]],[[1,2],[3,4]],[[1,2],[3,4]]]"

BAD = [
    (["-i", "1 2 3; 4 5", "-k", "1"], ["--input", "ragged"]),
    (["-i", "1 2; 3 x!", "-k", "1"], ["--input", "row 2", "column 2"]),
    (["-i", "", "-k", "1"], ["--input", "empty"]),
    (["-i", "1 nan; 2 3", "-k", "1"], ["--input", "NaN"]),
    (["-i", "1 2; inf 3", "-k", "1"], ["--input", "row 2", "column 1"]),
    (["-i", "1 2; 3 4", "-k", B], ["--kernel", "larger"]),
    (["-i", "[[[1,2],[3,4]],[[1,2],[3,4]]]", "-k", "[[[1]],[[1]],[[1]]]"], ["channels"]),
    (["-i", THREE_CH, "-k", "[[[[1]]],[[[1]]]]", "-g", "2"], ["--groups", "divide"]),
    (["-i", A, "-k", B, "-s", "0"], ["--stride"]),
    (["-i", A, "-k", B, "-s", "-1"], ["--stride"]),
    (["-i", A, "-k", B, "-d", "0"], ["--dilation"]),
    (["-i", A, "-k", B, "-p", "-1"], ["--padding", "negative"]),
    (["-i", "no/such/file.csv", "-k", B], ["--input", "no such file"]),
    (["-i", A, "-k", B, "--stride", "abc"], ["--stride", "abc"]),
    (["-i", A, "-k", B, "--padding", "same", "--stride", "2"], ["--padding", "same"]),
    (["-i", A, "-k", B, "-p", "5", "--padding-mode", "reflect"], ["--padding", "reflect"]),
    (["-i", A, "-k", B, "--format", "nope"], ["--format", "nope"]),
    (["-i", A, "-k", B, "--cell", "9,9"], ["--cell", "9,9", "outside"]),
    (["-i", A, "-k", B, "--cell", "a,b"], ["--cell"]),
    (["-i", A, "-k", B, "--padding-mode", "mirror"], ["--padding-mode"]),
    (["-i", A, "-k", B, "--dim", "3"], ["--dim"]),
    (["-i", A, "-k", B, "--index", "2"], ["--index"]),
    (["-i", A, "-k", B, "--steps", "many"], ["--steps"]),
    (["-i", A, "-k", B, "--groups", "0"], ["--groups"]),
]


@pytest.mark.parametrize("command", ["conv", "dilated"])
@pytest.mark.parametrize(("args", "pieces"), BAD, ids=[" ".join(a[2:] or a[:2])[:40] for a, _ in BAD])
def test_bad_input_exit_2_one_line(capsys, monkeypatch, command, args, pieces):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    if command == "dilated" and "-d" not in args:
        args = [*args, "-d", "1"]  # keep dilation out of the way of the error under test
    rc, out, err = call(capsys, command, *args)
    assert rc == 2, (out, err)
    assert out == ""
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    for p in pieces:
        assert p in err, err


def test_missing_kernel_without_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a tty
    rc, out, err = call(capsys, "conv", "-i", A)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "--kernel" in err and "missing" in err


# --- a real process --------------------------------------------------------------------------------


def _proc(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "convcalc", *argv], input=stdin, capture_output=True,
                          text=True, timeout=60, stdin=None if stdin is not None else subprocess.DEVNULL)


def test_process_json_only_json_on_stdout():
    p = _proc("dilated", "-i", X, "-k", W, "-d", "2", "-s", "2", "-p", "2", "-f", "json")
    assert p.returncode == 0 and p.stderr == ""
    assert json.loads(p.stdout)["shape"] == [3, 3]


@pytest.mark.parametrize(
    ("args", "piece"),
    [
        (["conv", "-i", "1 2; 3 x!", "-k", "1"], "column 2"),
        (["conv", "-i", A], "--kernel"),  # no terminal on stdin
        (["conv", "-i", A, "-k", B, "--stride", "abc"], "--stride"),
    ],
)
def test_process_bad_input(args, piece):
    p = _proc(*args)
    assert p.returncode == 2
    assert p.stdout == ""
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and piece in p.stderr


def test_process_stdin_dash():
    p = _proc("conv", "-i", "-", "-k", B, "-f", "json", stdin=A.replace("; ", "\n") + "\n")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["output"] == C


# --- the CLI against the naive loop on random problems (layouts, settings, bias) -----------------


@settings(max_examples=30, deadline=None)
@given(problems())
def test_cli_json_matches_naive_loop(pr):
    rng = np.random.default_rng(pr["seed"])
    x = rng.integers(-4, 5, size=pr["x_shape"])
    w = rng.integers(-4, 5, size=pr["w_shape"])
    b = rng.integers(-9, 10, size=pr["w_shape"][0]) if pr["bias"] else None
    c_out, cg = w.shape[:2]
    canon = x if pr["batched"] else x[None]
    want = np.asarray(naive_conv(canon, w, None if b is None else b.tolist(), pr["stride"], pr["pads"],
                                 pr["dilation"], pr["groups"], pr["mode"]), dtype=object)
    shown_x = x
    has_channel = True
    if not pr["batched"] and x.shape[0] == 1 and (pr["seed"] % 2 or pr["nsp"] == 1):
        shown_x, has_channel = x[0], False  # the user typed a plain matrix/signal
    shown_w = w[0, 0] if (c_out, cg) == (1, 1) and pr["seed"] % 3 == 0 else w
    if not pr["batched"]:
        want = want[0]
        if not has_channel and c_out == 1:
            want = want[0]
    pad = pr["padding"]
    pad_arg = pad if isinstance(pad, str) else ",".join(map(str, pad)) if isinstance(pad, tuple) else str(pad)
    argv = ["conv", "--dim", str(pr["nsp"]), "-i", json.dumps(shown_x.tolist()), "-k", json.dumps(shown_w.tolist()),
            "-s", ",".join(map(str, pr["stride"])), "-p", pad_arg, "-d", ",".join(map(str, pr["dilation"])),
            "-g", str(pr["groups"]), "--padding-mode", pr["mode"], "-f", "json"]
    if b is not None:
        argv += ["--bias", json.dumps(b.tolist())]
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        rc = run(argv)
    finally:
        sys.stdout, sys.stderr = old
    assert rc == 0, err.getvalue()
    data = json.loads(out.getvalue())
    assert data["shape"] == list(want.shape)
    assert data["output"] == want.tolist()
