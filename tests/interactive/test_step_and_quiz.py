"""--step's pacing and the quiz without a terminal (piped answers, listings, bad options)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from convcalc.derive.records import Heading, Note
from convcalc.quiz import KINDS, make
from convcalc.quiz.problems import CELLS, conv_size
from convcalc.render.interactive import paced


def keys(*typed: str):
    pending = list(typed)
    return lambda: pending.pop(0)


BLOCKS = [Heading("Given"), Note("one"), Note("two"), Heading("Result"), Note("three"), Note("four")]


def test_paced_waits_after_each_step_but_not_after_a_heading() -> None:
    asked: list[int] = []
    out = []
    for block in paced(BLOCKS, lambda: asked.append(len(out)) or "", lambda: None):
        out.append(block)
    assert out == BLOCKS and asked == [2, 3, 5]


def test_paced_a_shows_the_rest_and_q_stops() -> None:
    assert list(paced(BLOCKS, keys("a"), lambda: None)) == BLOCKS
    assert list(paced(iter(BLOCKS), keys("", "q"), lambda: None)) == BLOCKS[:3]


def test_step_without_a_terminal_says_so_once_and_shows_everything(cli, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    r = cli("conv", "--input", "1 2; 3 4", "--kernel", "1", "--step")
    assert r.code == 0 and "Result" in r.out
    assert r.err.count("--reveal needs a terminal") == 1 and len(r.err.strip().splitlines()) == 1


def test_step_with_json_is_refused(cli) -> None:
    r = cli("conv", "--input", "1 2; 3 4", "--kernel", "1", "--step", "--format", "json")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1


def listing(cli, *argv: str) -> dict:
    r = cli("quiz", *argv, "--format", "json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_same_seed_same_quiz(cli) -> None:
    assert listing(cli, "--seed", "5", "--rounds", "4") == listing(cli, "--seed", "5", "--rounds", "4")
    assert listing(cli, "conv", "--seed", "5") != listing(cli, "conv", "--seed", "6")


def test_piped_answers_are_scored(cli, monkeypatch) -> None:
    p, q = listing(cli, "conv", "--seed", "1", "--rounds", "2")["problems"]
    rows = "\n".join(" ".join(map(str, row)) for row in p["answer"])
    wrong = "\n".join(" ".join(str(v + 1) for v in row) for row in q["answer"])
    monkeypatch.setattr("sys.stdin", io.StringIO(rows + "\n\n" + "0\n\n" + wrong + "\n"))
    r = cli("quiz", "conv", "--seed", "1", "--rounds", "2")
    assert r.code == 0
    assert "✓ right" in r.out and "✗ wrong" in r.out and r.out.count("score: ") == 1
    assert "score: 1 of 2 right" in r.out  # the 1×1 "0" was asked again, not scored
    assert "that is 1×1; the answer is" in r.err
    assert "row 1" not in r.err  # no prompts without a terminal


def test_no_terminal_and_no_answers_is_one_line_exit_2(cli, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    r = cli("quiz", "params", "--seed", "1")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["--rounds", "0"], ["--seed", "-1"], ["--seed", str(2**64)], ["nope"],
                                  ["--difficulty", "extreme"], ["--format", "json", "--rounds", "1001"]])
def test_bad_quiz_options_are_one_line_exit_2(cli, argv: list[str]) -> None:
    r = cli("quiz", *argv)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_generated_problems_are_small_and_valid(difficulty: str) -> None:
    """Sizes a person can do by hand, and settings PyTorch accepts (checked by construction here;
    test_quiz_oracle runs them through torch)."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        for kind in KINDS:
            p = make(kind, rng, difficulty)
            argv = list(p.argv)

            def opt(flag: str, default: int = 0, argv: list[str] = argv) -> int:
                return int(argv[argv.index(flag) + 1]) if flag in argv else default
            if kind == "transposed-conv":
                assert opt("--output-padding") < opt("--stride")
            if kind == "pool":
                assert 2 * opt("--padding") <= opt("--kernel-size")
            if kind in ("conv", "dilated", "pool"):
                h, w = p.given[0][2].shape
                k = opt("--kernel-size") if kind == "pool" else len(p.given[1][2])
                oh, ow = (conv_size(n, k, opt("--stride", 1), opt("--padding"), opt("--dilation", 1)) for n in (h, w))
                assert oh >= 1 and ow >= 1 and oh * ow <= CELLS[difficulty]
            if kind == "output-size" and "--transposed" not in argv:
                span = opt("--input-size") + 2 * opt("--padding") - opt("--dilation", 1) * (opt("--kernel-size") - 1) - 1
                assert span >= 0 and span % opt("--stride") == 0  # the windows tile the input exactly
