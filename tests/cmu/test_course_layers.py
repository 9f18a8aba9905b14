"""The course's Upsample/Downsample/MeanPool in layer lists: sizes and receptive fields."""

from __future__ import annotations

import json

import pytest


def _fields(cli, layers: list[str], shape: str) -> list[tuple]:
    argv = ["receptive-field", *[a for layer in layers for a in ("--layer", layer)], "--input-shape", shape, "--exact",
            "-f", "json"]
    res = cli(*argv)
    assert res.code == 0, res.err
    return [(r["output_shape"], r["receptive_field"], r["jump"]) for r in json.loads(res.out)["layers"]]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_downsample_is_a_one_wide_strided_pool(cli, k):
    course = _fields(cli, ["Conv1d(1, 2, 3)", f"Downsample1d({k})", "Conv1d(2, 1, 3)"], "1x1x20")
    same = _fields(cli, ["Conv1d(1, 2, 3)", f"MaxPool1d(1, {k})", "Conv1d(2, 1, 3)"], "1x1x20")
    assert course == same


def test_meanpool_is_avgpool(cli):
    course = _fields(cli, ["Conv2d(1, 2, 3)", "MeanPool2d(2, 2)"], "1x1x9x9")
    same = _fields(cli, ["Conv2d(1, 2, 3)", "AvgPool2d(2, 2)"], "1x1x9x9")
    assert course == same


def test_upsample_sizes(cli):
    res = cli("params", "--layer", "Upsample2d(3)", "--layer", "Downsample2d(2)", "--input-shape", "1x1x4x5",
              "-f", "json")
    shapes = [r["output_shape"] for r in json.loads(res.out)["layers"]]
    assert shapes == [[1, 1, 10, 13], [1, 1, 5, 7]]  # 4·3 − 2 = 10, 5·3 − 2 = 13; (10−1)//2 + 1 = 5, (13−1)//2 + 1 = 7
