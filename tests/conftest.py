"""Shared test helpers: run the CLI in-process and capture what it writes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from convcalc.cli import run

ROOT = Path(__file__).resolve().parent.parent
UPDATE_GOLDEN = os.environ.get("CONVCALC_UPDATE_GOLDEN") == "1"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped output is 80 columns wide unless COLUMNS says otherwise; the suite's expected texts
    were written at 100 (tests of the width itself set or unset COLUMNS)."""
    monkeypatch.setenv("COLUMNS", "100")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """``cli(*argv)`` runs convcalc in-process with NO_COLOR and returns code, stdout, stderr."""
    monkeypatch.setenv("NO_COLOR", "1")

    def invoke(*argv: str) -> Result:
        capsys.readouterr()
        code = run(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke
