"""Slip diagnosis against an independent oracle.

A wrong answer is made with torch by committing a slip (stride taken as 1, padding
forgotten, ...); convcalc must name a slip, and the settings it names, fed back to torch,
must give exactly that wrong answer. Nothing here restates convcalc's own formulas.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional


def text(m: np.ndarray) -> str:
    return "; ".join(" ".join(str(int(x)) for x in row) for row in m)


def answer_json(cli: Any, *argv: str) -> dict[str, Any]:
    res = cli(*argv, "--format", "json")
    assert res.code == 1, res.err
    return json.loads(res.out)


def conv_torch(x: np.ndarray, w: np.ndarray, stride: int, padding: int, dilation: int, flip: bool,
               bias: int | None) -> np.ndarray:
    wt = torch.tensor(w, dtype=torch.float64)[None, None]
    if flip:
        wt = torch.flip(wt, dims=(2, 3))
    b = None if bias is None else torch.tensor([float(bias)], dtype=torch.float64)
    y = F.conv2d(torch.tensor(x, dtype=torch.float64)[None, None], wt, b, stride=stride, padding=padding,
                 dilation=dilation)
    return y[0, 0].numpy().round().astype(np.int64)


SLIPS = {"stride": 1, "padding": 0, "dilation": 1, "flip": True, "bias": None}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(5, 8), k=st.integers(2, 3), stride=st.integers(1, 3), padding=st.integers(0, 2),
       dilation=st.integers(1, 2), bias=st.one_of(st.none(), st.integers(-3, 3)),
       slipped=st.sets(st.sampled_from(sorted(SLIPS)), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_conv_slip_named_and_reproduced_by_torch(cli, size, k, stride, padding, dilation, bias, slipped, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, (size, size))
    w = rng.integers(-3, 4, (k, k))
    assume(dilation * (k - 1) + 1 <= size)
    truth = dict(stride=stride, padding=padding, dilation=dilation, flip=False, bias=bias)
    wrong = {**truth, **{s: SLIPS[s] for s in slipped}}
    right = conv_torch(x, w, **truth)
    claim = conv_torch(x, w, **wrong)
    assume(claim.shape != right.shape or not np.array_equal(claim, right))
    argv = ["conv", "--input", text(x), "--kernel", text(w), "--stride", str(stride), "--padding", str(padding),
            "--dilation", str(dilation), "--answer", text(claim)]
    if bias is not None:
        argv += ["--bias", str(bias)]
    got = answer_json(cli, *argv)
    assert got["slip"] is not None, f"no slip found for {sorted(slipped)}"
    named = got["slip_settings"]
    assert len(named) <= len(slipped)  # the smallest explanation, never a bigger one
    redo = dict(truth)
    for key, value in named.items():
        redo[{"stride": "stride", "padding": "padding", "dilation": "dilation", "flip": "flip", "bias": "bias"}[key]] = (
            value if key in ("flip", "bias") else int(value))
    assert np.array_equal(conv_torch(x, w, **redo), claim)


def test_transposed_seed_slip_is_stride_padding_and_output_padding(cli) -> None:
    """Seed 004 §3.3(2): the claimed 5×5 is torch's conv_transpose2d with stride 1, no padding."""
    y = np.array([[9, 8, 7], [6, 5, 4], [3, 2, 1]])
    w = np.array([[-1, 2, -3], [1, -2, 3], [3, 2, -1]])
    slipped = F.conv_transpose2d(torch.tensor(y, dtype=torch.float64)[None, None],
                                 torch.tensor(w, dtype=torch.float64)[None, None])[0, 0].numpy().astype(np.int64)
    got = answer_json(cli, "transposed-conv", "--input", text(y), "--kernel", text(w), "--stride", "2",
                      "--padding", "1", "--output-padding", "1", "--answer", text(slipped))
    assert got["slip_settings"] == {"stride": "1", "padding": "0", "output-padding": "0"}
    assert "stride 1" in got["slip"] and "no padding" in got["slip"] and "output padding 0" in got["slip"]


def test_transposed_padding_added_instead_of_cropped(cli) -> None:
    y = np.array([[1, 2], [3, 4]])
    w = np.array([[1, -1, 2], [0, 1, 1], [2, 0, -1]])
    full = F.conv_transpose2d(torch.tensor(y, dtype=torch.float64)[None, None],
                              torch.tensor(w, dtype=torch.float64)[None, None], stride=2)[0, 0].numpy()
    claim = np.pad(full.astype(np.int64), 1)  # padding 1 added around instead of cropped from each side
    got = answer_json(cli, "transposed-conv", "--input", text(y), "--kernel", text(w), "--stride", "2",
                      "--padding", "1", "--answer", text(claim))
    assert "padding added instead of cropped" in got["slip"]


def test_bias_left_out_and_flip(cli) -> None:
    x = np.arange(16).reshape(4, 4) % 5 - 2
    w = np.array([[1, 2], [0, -1]])
    no_bias = conv_torch(x, w, 1, 0, 1, False, None)
    got = answer_json(cli, "conv", "--input", text(x), "--kernel", text(w), "--bias", "3", "--answer", text(no_bias))
    assert got["slip_settings"] == {"bias": None} and "no bias" in got["slip"]
    flipped = conv_torch(x, w, 1, 0, 1, True, None)
    got = answer_json(cli, "conv", "--input", text(x), "--kernel", text(w), "--answer", text(flipped))
    assert got["slip_settings"] == {"flip": True} and "flipped" in got["slip"]


def test_pool_ceil_mode_slip(cli) -> None:
    x = np.arange(25).reshape(5, 5) % 7
    ceil = F.max_pool2d(torch.tensor(x, dtype=torch.float64)[None, None], 2, 2, ceil_mode=True)[0, 0].numpy()
    got = answer_json(cli, "pool", "--input", text(x), "--kernel-size", "2", "--answer", text(ceil.astype(np.int64)))
    assert got["slip_settings"] == {"ceil-mode": True}


def test_output_size_plus_one_left_out(cli) -> None:
    out = F.conv2d(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 5, 5), stride=3).shape[-1]
    got = answer_json(cli, "output-size", "--input-size", "32", "--kernel-size", "5", "--stride", "3",
                      "--answer", str(out - 1))
    assert "+ 1 left out" in got["slip"]


def test_macs_reported_as_flops(cli) -> None:
    """MACs counted by brute force from torch's output shape; the claim gives them as FLOPs."""
    out = F.conv2d(torch.zeros(1, 3, 32, 32), torch.zeros(16, 3, 3, 3), stride=2, padding=1)
    macs = out.numel() * 3 * 3 * 3
    got = answer_json(cli, "params", "--in-channels", "3", "--out-channels", "16", "--kernel-size", "3",
                      "--input-size", "32", "--stride", "2", "--padding", "1", "--answer", f"{macs} FLOPs")
    assert "MACs and FLOPs swapped" in got["slip"]


def test_no_slip_when_none_reproduces(cli) -> None:
    got = answer_json(cli, "conv", "--input", "1 2; 3 4", "--kernel", "1", "--answer", "9 9; 9 9")
    assert got["slip"] is None and got["slip_settings"] is None


def test_slip_in_text_output(cli) -> None:
    res = cli("conv", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 0; 0 1", "--padding", "1",
              "--answer", "6 8; 12 14")
    assert res.code == 1
    assert "Likely slip" in res.out and "no padding" in res.out
