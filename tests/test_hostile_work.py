"""Small inputs asking for big work are refused up front, with the estimate (issue 15, §4).

Each case of the issue is a few bytes of input; each must end as one stderr line, exit 2,
nothing on standard output, and a message that says how much was asked and the limit (with
the CONVCALC_MAX_* setting that raises it). Whether it is quick is measured in
benchmarks/, not asserted here: the refusal happening before the work is what is tested.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ONES = {n: ";".join(" ".join(["1"] * c) for _ in range(r)) for n, (r, c) in
        {"250x1": (250, 1), "1x200": (1, 200), "200x1": (200, 1), "1x1000": (1, 1000)}.items()}


def _refused(r, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert r.code == 2 and r.out == "", (r.code, r.out[:300], r.err)
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, r.err
    assert re.search(r"needs about [\d,.]+|would write about [\d.]+ MB", r.err), r.err  # the estimate
    assert "the limit is" in r.err and "CONVCALC_MAX_" in r.err, r.err
    for w in words:
        assert w in r.err, (w, r.err)


def test_padding_11000_on_one_cell(cli) -> None:
    _refused(cli("conv", "--input", "1", "--kernel", "1", "--padding", "11000"), "484,044,001 cells")


def test_padding_3000_as_json(cli) -> None:
    _refused(cli("conv", "--input", "1", "--kernel", "1", "--padding", "3000", "--format", "json"), "cells")


def test_json_output_size_is_estimated(cli) -> None:
    """Under the cell limit, but more JSON than one run may write: --output FILE.npy is the way."""
    _refused(cli("conv", "--input", "1", "--kernel", "1", "--padding", "1500", "--format", "json"),
             "MiB of JSON", "--output FILE.npy")


def test_the_limits_are_settings(cli, monkeypatch) -> None:
    monkeypatch.setenv("CONVCALC_MAX_CELLS", "100")
    _refused(cli("conv", "--input", "1", "--kernel", "1", "--padding", "5"), "121 cells", "100")
    monkeypatch.setenv("CONVCALC_MAX_CELLS", "inf")
    assert cli("conv", "--input", "1", "--kernel", "1", "--padding", "5", "--format", "json").code == 0


def test_backprop_conv_counts_its_gradients(cli) -> None:
    _refused(cli("backprop", "conv", "--input", "4 5 2; 3 3 2; 1 2 3", "--kernel", "1 0; 0 1",
                 "--padding", "999999,1"), "and its gradients")


def test_exact_expression_with_big_ones(cli) -> None:
    r = cli("backprop", "expr", "sum((a*b) @ (c*d))", "--var", f"a={ONES['250x1']}", "--var", f"b={ONES['1x200']}",
            "--var", f"c={ONES['200x1']}", "--var", f"d={ONES['1x1000']}")
    _refused(r, "multiply-adds", "forward and backward")


def test_a_small_exact_expression_still_runs(cli) -> None:
    """(a·b)@(c·d) of ones: every entry is the inner size; summed over a 3×4 result (a loop's count)."""
    r = cli("backprop", "expr", "sum((a*b) @ (c*d))", "--var", "a=1;1;1", "--var", "b=1 1", "--var", "c=1;1",
            "--var", "d=1 1 1 1", "--format", "json")
    assert r.code == 0, r.err
    import json

    assert json.loads(r.out)["value"] == sum(2 for _ in range(3) for _ in range(4))


def test_exact_receptive_fields_of_forty_wide_convs(cli) -> None:
    layers = [w for _ in range(40) for w in ("--layer", "Conv2d(1,1,49)")]
    _refused(cli("receptive-field", "--exact", *layers, "--input-shape", "1x1x200000x200000"), "unit/tap")
    assert cli("receptive-field", "--exact", *layers, "--input-shape", "1x1x1930x1930").code == 0


@pytest.mark.parametrize("page", ["x.svg", "x.html", None])
def test_every_step_of_a_padded_cell(tmp_path: Path, cli, page: str | None) -> None:
    export = ["--export", str(tmp_path / page)] if page else []
    _refused(cli("conv", "--input", "1", "--kernel", "1", "--padding", "200", "--steps", "all", *export),
             "160,801 cells", "--cell i,j")
    assert list(tmp_path.iterdir()) == []


def test_json_writes_no_worked_cells_so_steps_all_costs_nothing(cli) -> None:
    assert cli("conv", "--input", "1", "--kernel", "1", "--padding", "200", "--steps", "all", "--format", "json").code == 0


def test_solving_for_a_kernel_size_over_a_huge_range(cli) -> None:
    _refused(cli("output-size", "--input-size", "1000000", "--kernel-size", "3", "--padding", "1000000",
                 "--solve", "kernel-size", "--target", "5"), "trials")


def test_upsampling_and_transposed_results(cli) -> None:
    _refused(cli("resample", "--input", "1 2; 3 4", "--up", "5000", "--dim", "2"), "25,010,001 cells")
    _refused(cli("transposed-conv", "--input", "1 2; 3 4", "--kernel", "1", "--stride", "5000"), "cells")


HEAVY = '[[problem]]\nid = "h{i}"\ncommand = "conv"\ninput = "1"\nkernel = "1"\npadding = 600\n'


@pytest.mark.parametrize("command", ["solve", "check"])
def test_a_file_of_heavy_problems_is_refused_as_a_whole(tmp_path: Path, cli, command: str) -> None:
    f = tmp_path / "heavy.toml"
    f.write_text("".join(HEAVY.format(i=i) for i in range(120)))
    r = cli(command, str(f))
    assert r.code == 2 and r.out == "" and len(r.err.strip().splitlines()) == 1, r.err
    assert "these 120 problems together need about" in r.err and "--id" in r.err
    r = cli(command, str(f), "--id", "h7")  # one of them alone is within the limits
    assert r.code == 0, r.err


def test_the_bank_is_well_within_the_limits(cli) -> None:
    from tests.conftest import ROOT

    assert cli("check", str(ROOT / "problems")).code in (0, 1)


def test_export_streams_its_page(tmp_path: Path, cli, monkeypatch) -> None:
    """What the recording console holds at once does not grow with the number of worked cells."""
    from convcalc.render import interactive

    held: list[int] = []
    drain = interactive.Recorder.drain

    def counting(self):  # type: ignore[no-untyped-def]
        held.append(len(self.console._record_buffer))
        drain(self)

    monkeypatch.setattr(interactive.Recorder, "drain", counting)
    peaks = []
    for n in (6, 24):
        held.clear()
        grid = ";".join(" ".join(str((i * j) % 7) for j in range(n)) for i in range(n))
        r = cli("conv", "--input", grid, "--kernel", "1 0; 0 1", "--steps", "all", "--export", str(tmp_path / "x.svg"))
        assert r.code == 0 and r.out.count("window") == (n - 1) ** 2
        peaks.append(max(held))
    assert peaks[1] <= peaks[0] * 2, peaks  # 16 times the cells, not 16 times the recording
