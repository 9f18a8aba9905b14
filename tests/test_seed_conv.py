"""Golden problems from the seed homework sheets (/work/shared/seeds).

The truth is computed here by the independent naive loop (and PyTorch when installed), never
taken from the sheet; the sheet's claim is then compared with that truth, and convcalc (the
library and the CLI) with both.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from convcalc import functional as F
from convcalc.cli import run
from tests.test_conv_reference import naive_conv


def truth(x, w, stride, padding, dilation):
    """The naive loop's answer, cross-checked with PyTorch in float64 when it is installed."""
    xs, ws = np.array(x, dtype=np.int64)[None, None], np.array(w, dtype=np.int64)[None, None]
    pads = ((padding, padding), (padding, padding))
    got = naive_conv(xs, ws, None, (stride, stride), pads, (dilation, dilation), 1, "zeros")[0][0]
    try:
        import torch
    except ImportError:
        return got
    ref = torch.nn.functional.conv2d(torch.tensor(xs, dtype=torch.float64), torch.tensor(ws, dtype=torch.float64),
                                     stride=stride, padding=padding, dilation=dilation)
    assert np.rint(ref.numpy()[0, 0]).astype(int).tolist() == got
    return got


def convcalc_both(capsys, command, x, w, stride, padding, dilation):
    """convcalc's answer from the library and from the CLI's JSON; they must agree."""
    lib = F.conv2d(np.array(x)[None, None], np.array(w)[None, None], stride=stride, padding=padding,
                   dilation=dilation)[0, 0].tolist()
    mat = "; ".join(" ".join(map(str, r)) for r in x)
    ker = "; ".join(" ".join(map(str, r)) for r in w)
    rc = run([command, "-i", mat, "-k", ker, "-s", str(stride), "-p", str(padding), "-d", str(dilation),
              "-f", "json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    cli = json.loads(out)["output"]
    assert cli == lib
    return lib


# --- seed 000, §1.1(c): A (5×5) ⋆ B (3×3), no padding, stride 1 -------------------------------

A = [[4, 5, 2, 2, 1], [3, 3, 2, 2, 4], [4, 3, 4, 1, 1], [5, 1, 4, 1, 2], [5, 1, 3, 1, 4]]
B = [[4, 3, 3], [5, 5, 5], [2, 4, 3]]


def test_seed000_1_1c(capsys):
    t = truth(A, B, 1, 0, 1)
    # the sheet's C = [[109, 92, 72], [108, 85, 74], [110, 74, 79]] is right
    assert t == [[109, 92, 72], [108, 85, 74], [110, 74, 79]]
    assert convcalc_both(capsys, "conv", A, B, 1, 0, 1) == t


def test_seed000_1_1c_worked_c11_matches_the_sheet(capsys):
    # the sheet: C11 = 4*4 + 3*(5 + 2) + 5*(3 + 3 + 2) + 2*4 + 4*3 + 3*4 = 109
    assert 4 * 4 + 3 * (5 + 2) + 5 * (3 + 3 + 2) + 2 * 4 + 4 * 3 + 3 * 4 == 109
    mat = "; ".join(" ".join(map(str, r)) for r in A)
    ker = "; ".join(" ".join(map(str, r)) for r in B)
    assert run(["conv", "-i", mat, "-k", ker, "--cell", "1,1"]) == 0
    out = capsys.readouterr().out
    assert "= 4·4 + 3·5 + 3·2 + 5·3 + 5·3 + 5·2 + 2·4 + 4·3 + 3·4 = 109" in out


def test_seed000_answer_check_accepts_the_sheet(capsys):
    mat = "; ".join(" ".join(map(str, r)) for r in A)
    ker = "; ".join(" ".join(map(str, r)) for r in B)
    assert run(["conv", "-i", mat, "-k", ker, "--answer", "109 92 72; 108 85 74; 110 74 79"]) == 0
    capsys.readouterr()


# --- seed 001, §2 "Kernel of Truth": I (4×4) ⋆ F (2×2) ---------------------------------------

I_ = [[1, 2, 3, 4], [4, 3, 2, 1], [-1, 0, 1, 2], [0, -2, 4, 0]]
F_ = [[1, -1], [0, 2]]


def test_seed001_2a_padding0_stride1(capsys):
    t = truth(I_, F_, 1, 0, 1)
    # the course's claim [[5, 3, 1], [1, 3, 5], [-5, 7, -1]] is right
    assert t == [[5, 3, 1], [1, 3, 5], [-5, 7, -1]]
    assert convcalc_both(capsys, "conv", I_, F_, 1, 0, 1) == t


def test_seed001_2b_padding1_stride2(capsys):
    t = truth(I_, F_, 2, 1, 1)
    # the course's claim [[2, 6, 0], [-6, 3, 1], [0, -6, 0]] is right: with padding 1 the
    # 6×6 padded input gives floor((4 - 2 + 2)/2) + 1 = 3 rows and columns
    assert t == [[2, 6, 0], [-6, 3, 1], [0, -6, 0]]
    assert convcalc_both(capsys, "conv", I_, F_, 2, 1, 1) == t


# --- seed 004, §4.1: dilated convolution, D=2, S=2, P=2 -----------------------------------------

X = [[3, 1, 2, 6, 5], [6, 8, 1, 7, 9], [2, 7, 4, 2, 3], [8, 3, 5, 4, 1], [1, 5, 2, 7, 6]]
W = [[-1, 2, -3], [1, -2, 3], [3, 2, -1]]


def test_seed004_4_1_dilated(capsys):
    t = truth(X, W, 2, 2, 2)
    # the course's claim Y = [[0, 25, 10], [8, -10, 24], [-4, 12, -8]] is right (0-based
    # Y_{row,col} in its working; e.g. Y_{1,0} samples padded rows 2,4,6 and columns 0,2,4 → 8)
    assert t == [[0, 25, 10], [8, -10, 24], [-4, 12, -8]]
    assert convcalc_both(capsys, "dilated", X, W, 2, 2, 2) == t


def test_seed004_4_1_worked_cells(capsys):
    mat = "; ".join(" ".join(map(str, r)) for r in X)
    ker = "; ".join(" ".join(map(str, r)) for r in W)
    assert run(["dilated", "-i", mat, "-k", ker, "-d", "2", "-s", "2", "-p", "2", "--steps", "all"]) == 0
    out = capsys.readouterr().out
    assert "d(K−1)+1" in out and "= 5" in out
    # (the padded input is 9×9: 5 + 2·2)
    assert "9×9" in out
    for v in ("= 0", "= 25", "= 10", "= 8", "= -10", "= 24", "= -4", "= 12", "= -8"):
        assert v in out, v


@pytest.mark.parametrize(
    ("stride", "padding", "dilation"), [(1, 0, 1), (2, 1, 1), (1, 2, 2), (2, 2, 2), (3, 1, 2)])
def test_seed_inputs_under_other_settings(capsys, stride, padding, dilation):
    for x, w in ((A, B), (I_, F_), (X, W)):
        if (len(w) - 1) * dilation + 1 > len(x) + 2 * padding:
            continue
        assert convcalc_both(capsys, "conv", x, w, stride, padding, dilation) == truth(x, w, stride, padding, dilation)
