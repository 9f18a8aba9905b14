"""The limits are settings: a number, "inf" for none; bad values are one line and exit 2."""

from __future__ import annotations

import pytest

from convcalc.limits import MAX_THREADS, threads

A = "1 2 3; 4 5 6; 7 8 9"


def test_a_low_limit_refuses_and_inf_lifts_it(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVCALC_MAX_MACS", "3")
    refused = cli("conv", "--input", A, "--kernel", "1 0; 0 1")
    assert refused.code == 2 and "the limit is 3" in refused.err
    monkeypatch.setenv("CONVCALC_MAX_MACS", "inf")
    assert cli("conv", "--input", A, "--kernel", "1 0; 0 1").code == 0


def test_backprop_counts_the_gradients_passes_too(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # 4 output cells × 4 products: 16 for the forward pass, 48 with the two gradients
    monkeypatch.setenv("CONVCALC_MAX_MACS", "20")
    assert cli("conv", "--input", A, "--kernel", "1 0; 0 1").code == 0
    for command in ("conv", "transposed-conv"):
        r = cli("backprop", command, "--input", A if command == "conv" else "1 2; 3 4", "--kernel", "1 0; 0 1")
        assert r.code == 2 and "and its gradients" in r.err, r.err


@pytest.mark.parametrize("value", ["nan", "abc", ""])
def test_a_setting_that_is_no_number_is_one_line(cli, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CONVCALC_MAX_BYTES", value)
    r = cli("conv", "--input", A, "--kernel", "1")
    assert r.code == 2 and r.err.count("\n") == 1 and "CONVCALC_MAX_BYTES" in r.err


@pytest.mark.parametrize("value,expected", [("1", 1), ("0", 1), ("-5", 1), ("-inf", 1), ("2.7", 2), ("3", 3),
                                            ("1e999", MAX_THREADS), ("9" * 5000, MAX_THREADS)])
def test_threads_setting(monkeypatch: pytest.MonkeyPatch, value: str, expected: int) -> None:
    monkeypatch.setenv("CONVCALC_THREADS", value)
    assert threads() == expected
