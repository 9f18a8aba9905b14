"""Hostile settings together (issue 7): one setting alone is checked, two can still conspire.

A padding as large as the stride keeps the output and the work small but the padded input
huge; a window of 10⁶ with half of it as padding frames 10¹² cells around a 1×1 input; an
adaptive pooling to 10⁶×10⁶ cells; a small input padded to ten million output cells in JSON.
Listed cases that once crashed or hung, and Hypothesis drawing several settings at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_hostile_inputs import BASE, _check, _options, commands


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a fresh folder: a hostile value may name a file that can be made."""
    monkeypatch.chdir(tmp_path)


M = "4 5 2; 3 3 2; 1 2 3"
LISTED = [
    ["conv", "--input", "1", "--kernel", "1", "--padding", "999999", "--stride", "999999"],
    ["conv", "--input", M, "--kernel", "1 0; 0 1", "--padding", "999999", "--stride", "1,999999"],
    ["dilated", "--input", "1", "--kernel", "1", "--padding", "99999", "--stride", "99999"],
    ["backprop", "conv", "--input", M, "--kernel", "1 0; 0 1", "--padding", "999999", "--stride", "1,999999"],
    ["backprop", "conv", "--input", M, "--kernel", "1 0; 0 1", "--padding", "999999,1"],  # 8·10⁶ products per tap
    ["backprop", "conv", "--input", M, "--kernel", "1 0; 0 1", "--padding", "999999,1", "--stride", "2,3"],
    ["backprop", "conv", "--input", M, "--kernel", "1 0; 0 1", "--padding", "1,999999", "--format", "json"],
    ["backprop", "transposed-conv", "--input", M, "--kernel", "1 0; 0 1", "--dilation", "999999,1"],
    ["backprop", "transposed-conv", "--input", M, "--kernel", "1 0; 0 1", "--stride", "999999,1", "--padding", "1"],
    ["transposed-conv", "--input", M, "--kernel", "1 0; 0 1", "--stride", "999999,1", "--format", "json"],
    ["transposed-conv", "--input", "1; 1", "--kernel", "1", "--stride", "999999", "--output-padding", "999998"],
    ["pool", "--input", "1", "--kernel-size", "999999", "--padding", "499999"],
    ["pool", "--input", "1", "--kernel-size", "999999", "--padding", "499999", "--stride", "999999", "--mode", "avg"],
    ["pool", "--input", "1", "--kernel-size", "999999", "--padding", "499999", "--dilation", "2"],
    ["pool", "--input", "1", "--kernel-size", "1", "--mode", "adaptive-avg", "--output-size", "999999"],
    ["pool", "--input", "1", "--kernel-size", "1", "--mode", "adaptive-max", "--output-size", "1000,1000"],
    ["pool", "--input", M, "--kernel-size", "999999,1", "--padding", "499999,0", "--ceil-mode"],
    ["backprop", "pool", "--input", "1", "--kernel-size", "999999", "--padding", "499999", "--stride", "999999"],
    ["backprop", "pool", "--input", "1.5", "--kernel-size", "999999", "--padding", "499999", "--mode", "avg"],
    ["backprop", "pool", "--input", M, "--kernel-size", "2", "--mode", "lp", "--norm-type", "1e308"],
    ["resample", "--input", M, "--up", "999999", "--dim", "2"],
    ["resample", "--input", M, "--up", "999999,999999", "--dim", "2"],
    ["output-size", "--input-size", "1000000", "--kernel-size", "1000000", "--padding", "1000000", "--dilation",
     "1000000", "--transposed", "--stride", "1000000", "--output-padding", "999999"],
    ["params", "--in-channels", "1000000", "--out-channels", "1000000", "--kernel-size", "1000000",
     "--input-size", "1000000", "--batch", "1000000", "--exact-ops"],
]  # fmt: skip


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lower the memory limit so that what the limits allow is also cheap to run here."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("CONVCALC_MAX_BYTES", str(256 * 2**20))


@pytest.mark.parametrize("argv", LISTED, ids=lambda a: " ".join(x[:12] for x in a[:8]))
def test_listed_combinations(argv: list[str], capsys) -> None:
    _check(argv, capsys)


def test_listed_combinations_within_the_default_limits(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVCALC_MAX_BYTES")
    for argv in LISTED[:4] + LISTED[11:15]:
        _check(argv, capsys)


_VALUES = ["0", "1", "2", "3", "-1", "5", "2,3", "1,2", "0,1", "7,0", "1000", "1000,1", "99999", "999999",
           "1000000", "1,999999", "999999,1", "same", "valid", "all", "1e308", "max", "avg", "lp", "adaptive-max",
           "adaptive-avg", "input", "kernel", "bias", "scatter", "gather", "reflect", "circular", "1.5"]
_SKIP = {"--input", "--kernel", "--bias", "--answer", "--grad-output", "--output", "--net", "--layer", "--var",
         "--format", "--names", "--id"}
SETTINGS = {name: [f for f in _options(cmd) if f not in _SKIP] for name, cmd in commands()}
_FLAGS = {name: [p.opts[0] for p in cmd.params if getattr(p, "is_flag", False) and p.opts[0].startswith("--")]
          for name, cmd in commands()}


@st.composite
def _combinations(draw: st.DrawFn) -> list[str]:
    name = draw(st.sampled_from(sorted(n for n, flags in SETTINGS.items() if flags)))
    base = list(BASE[name])
    chosen = draw(st.lists(st.sampled_from(SETTINGS[name]), min_size=1, max_size=4, unique=True))
    for flag in chosen:
        value = draw(st.sampled_from(_VALUES))
        if flag in base:
            base[base.index(flag) + 1] = value
        else:
            base += [flag, value]
    base += draw(st.lists(st.sampled_from(_FLAGS[name]), max_size=2, unique=True)) if _FLAGS[name] else []
    return [*name.split(), *base, "--format", draw(st.sampled_from(["text", "json"]))]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_combinations())
def test_generated_combinations(capsys, argv: list[str]) -> None:
    _check(argv, capsys)
