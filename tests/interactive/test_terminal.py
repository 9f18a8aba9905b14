"""The interactive parts driven through a real pseudo-terminal (pexpect): the quiz played,
--step paced, a missing matrix asked for row by row."""

from __future__ import annotations

import json
import os
import sys

import pytest

from convcalc.cli import run

pexpect = pytest.importorskip("pexpect")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}
A = "1 2 3; 4 5 6; 7 8 9"


def spawn(*argv: str):
    child = pexpect.spawn(sys.executable, ["-m", "convcalc", *argv], env=ENV, cwd=ROOT, encoding="utf-8",
                          timeout=60, dimensions=(50, 100))
    return child


def finish(child) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def answers(seed: int, rounds: int, capsys) -> list[list[list[int]]]:
    """The right answers of the first quiz rounds, from the quiz's own problem listing."""
    capsys.readouterr()
    assert run(["quiz", "conv", "--seed", str(seed), "--rounds", str(rounds), "--format", "json"]) == 0
    return [p["answer"] for p in json.loads(capsys.readouterr().out)["problems"]]


def type_matrix(child, rows: list[list[int]]) -> None:
    """Row by row: the quiz knows the answer's shape, so it asks for exactly these rows."""
    for r, row in enumerate(rows, start=1):
        child.expect(f"row {r} of {len(rows)}: ")
        child.sendline(" ".join(map(str, row)))


def test_quiz_right_then_wrong_then_q(capsys) -> None:
    first, second = answers(1, 2, capsys)
    child = spawn("quiz", "conv", "--seed", "1")
    child.expect("Round 1")
    type_matrix(child, first)
    child.expect(r"✓ right \(1 of 1 so far\)")
    child.expect("Round 2")
    wrong = [[v + 1 for v in row] for row in second]
    type_matrix(child, wrong)
    child.expect("✗ wrong")
    child.expect("Each output cell")  # the worked solution
    child.expect("your answer: ✓ right, ✗ wrong")
    child.expect("Round 3")
    child.expect("row 1 of ")
    child.sendline("q")
    child.expect("score: 1 of 2 right")
    assert finish(child) == 0


def test_quiz_ctrl_d_quits_with_the_score(capsys) -> None:
    (first,) = answers(1, 1, capsys)
    child = spawn("quiz", "conv", "--seed", "1")
    type_matrix(child, first)
    child.expect(r"1 of 1 so far")
    child.expect("row 1 of ")
    child.sendeof()
    child.expect("score: 1 of 1 right")
    assert finish(child) == 0


def test_quiz_ctrl_c_quits_cleanly() -> None:
    child = spawn("quiz", "params", "--seed", "3")
    child.expect("your answer: ")
    child.sendintr()
    child.expect("score: 0 of 0 right")
    out = child.before
    assert finish(child) == 0
    assert "Traceback" not in out


def test_quiz_unreadable_answer_is_asked_again_and_rounds_end_the_quiz() -> None:
    child = spawn("quiz", "output-size", "--seed", "2", "--rounds", "1")
    child.expect("your answer: ")
    child.sendline("twelve")
    child.expect("cannot read that answer")
    child.expect("your answer: ")
    child.sendline("0")  # an output side is never 0 here: wrong
    child.expect("✗ wrong")
    child.expect("Output size")
    child.expect("score: 0 of 1 right")
    assert finish(child) == 0


def test_step_enter_then_all() -> None:
    child = spawn("conv", "--input", A, "--kernel", "1 0; 0 1", "--step")
    child.expect("Enter: next step")
    assert "B (kernel" not in child.before  # only the first step is out
    child.sendline("")
    child.expect("B \\(kernel")
    child.expect("Enter: next step")
    child.sendline("a")
    child.expect("C\\[2,2\\]")
    child.expect("Result")
    rest = child.read()
    assert "Enter: next step" not in rest
    child.close()
    assert child.exitstatus == 0


def test_step_q_stops_and_keeps_the_exit_status() -> None:
    child = spawn("conv", "--input", A, "--kernel", "1 0; 0 1", "--answer", "6 8; 12 13", "--step")
    child.expect("Enter: next step")
    child.sendline("q")
    rest = child.read()
    assert "Result" not in rest
    child.close()
    assert child.exitstatus == 1  # the answer is wrong, shown or not


def test_step_q_under_solve_stops_every_problem_after_it() -> None:
    child = spawn("solve", "problems/nyu-dl-2020-hw2.toml", "--step")
    child.expect("nyu20-hw2-1.1c")
    child.expect("Enter: next step")
    child.sendline("")  # Enter: the first problem goes on
    child.expect("Enter: next step")
    child.sendline("q")
    rest = child.read()
    assert "nyu20-hw2-1.2c" not in rest and "Enter: next step" not in rest
    child.close()
    assert child.exitstatus == 0


def test_step_q_under_solve_only_stops_when_asked() -> None:
    """The check above is not vacuous: with a for all, solve goes on to the next problem."""
    child = spawn("solve", "problems/nyu-dl-2020-hw2.toml", "--step")
    child.expect("Enter: next step")
    child.sendline("a")
    child.expect("nyu20-hw2-1.2c")
    child.expect("Enter: next step")
    child.sendline("q")
    child.read()
    child.close()
    assert child.exitstatus == 0


def test_missing_matrix_is_asked_for_row_by_row() -> None:
    child = spawn("conv", "--kernel", "1 0; 0 1")
    child.expect("--input")
    child.expect("row 1: ")
    child.sendline("1 2 3")
    child.expect("row 2: ")
    child.sendline("4 5 6")
    child.expect("row 3: ")
    child.sendline("7 8 9")
    child.expect("row 4: ")
    child.sendline("")
    child.expect("Result")
    child.expect("12 14")
    assert finish(child) == 0


def test_quiz_knows_the_shape_and_asks_again_for_a_wrong_one(capsys) -> None:
    """Issue 14: no "row 4:" for a 3×3 answer; a malformed or wrong-shaped answer is asked again,
    not scored; every prompt fits in 80 columns; one score line."""
    (first,) = answers(1, 1, capsys)
    child = spawn("quiz", "conv", "--seed", "1", "--rounds", "1")
    n, m = len(first), len(first[0])
    child.expect(f"type it {n} rows of {m}")
    prompt = child.after + child.buffer.split("\n")[0]
    child.expect(f"row 1 of {n}: ")
    child.sendline("1 ?; 3 4")  # malformed (a whole matrix on one line is read at once)
    child.expect("cannot read that answer")
    child.expect(f"row 1 of {n}: ")
    child.sendline("[[" + ", ".join(["1"] * (m + 1)) + "]]")  # the wrong shape
    child.expect(f"that is 1×{m + 1}; the answer is {n}×{m}")
    type_matrix(child, first)
    child.expect(r"✓ right \(1 of 1 so far\)")
    child.expect("score: 1 of 1 right")
    rest = child.read() if child.isalive() else ""
    assert "score:" not in rest
    assert finish(child) == 0
    assert len(prompt.rstrip()) < 80, prompt


def test_long_work_shows_worked_n_of_m_cells_with_a_bar() -> None:
    """Issue 14 §4: on a terminal, progress says how many of how many cells, with Rich's bar and an
    estimate (CONVCALC_PROGRESS_AFTER=0 shows it at once instead of after a second)."""
    x = "; ".join(" ".join(str((i * 7 + j) % 5) for j in range(24)) for i in range(24))
    child = pexpect.spawn(sys.executable, ["-m", "convcalc", "conv", "--input", x, "--kernel", "1 0; 0 1",
                                           "--steps", "all"],
                          env={**ENV, "CONVCALC_PROGRESS_AFTER": "0", "TERM": "xterm"}, cwd=ROOT, encoding="utf-8",
                          timeout=120, dimensions=(50, 100))
    child.expect(r"worked 50 of 529 cells")
    child.expect("━")  # the bar
    child.expect("-:--:--|0:00:0")  # the time left
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
