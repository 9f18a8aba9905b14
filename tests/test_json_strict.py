"""--format json is strict JSON whatever the numbers: no Infinity/NaN tokens, no warnings."""

from __future__ import annotations

import json

import pytest


def _strict(text: str) -> object:
    def refuse(name: str) -> object:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("argv", [
    ["transposed-conv", "-i", "1 2; 3 4", "-k", "1e308 1e308; 1e308 1e308"],
    ["pool", "-i", "1e308 1e308; 1e308 1e308", "--kernel-size", "2", "--mode", "avg"],
    ["pool", "-i", "1 2 3", "--dim", "1", "--kernel-size", "2", "--padding", "1", "--dilation", "4"],
])
def test_overflow_and_padding_only_windows_stay_strict_json(cli, argv: list[str]) -> None:
    res = cli(*argv, "--format", "json")
    assert res.code == 0, res.err
    assert res.err == ""  # no NumPy warning text on stderr
    payload = _strict(res.out)
    assert isinstance(payload, dict)
    flat = json.dumps(payload["output"])
    assert '"inf"' in flat or '"-inf"' in flat
