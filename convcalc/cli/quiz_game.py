"""The quiz game: asking, judging, scoring (the `quiz` command imports it when played)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from itertools import count
from typing import Any

from rich.text import Text

from convcalc.cli import run
from convcalc.cli.invoke import solution_of
from convcalc.derive.records import MatrixView, Solution
from convcalc.errors import ConvcalcError, ExitStatus, Interrupted
from convcalc.quiz import QuizProblem
from convcalc.render.text import make_console, matrix_text

MAX_LINE = 100_000  # characters of one answer line
MAX_ROWS = 1000  # rows of one matrix answer
NO_ANSWERS = ("needs a terminal, or answers on standard input (one per line; a matrix row by row, then an empty "
              "line)")


class Quit(Exception):
    """The player typed q or ended the input."""


def listing(problems: Any, n: int, seed: int, difficulty: str, kind: Any) -> None:
    from convcalc.render.json import jsonable

    items = []
    for _, p in zip(range(n), problems, strict=False):
        value = right_value(p)
        items.append({"kind": p.kind, "argv": list(p.argv), "asks": p.asks, "answer": jsonable(value)})
    json.dump({"command": "quiz", "kind": kind.value if kind else "mixed", "difficulty": difficulty, "seed": seed,
               "problems": items}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


@dataclass
class Score:
    right: int = 0
    asked: int = 0

    def __str__(self) -> str:
        return f"score: {self.right} of {self.asked} right"


def play(problems: Any, rounds: int | None, seed: int, difficulty: str) -> None:
    """Ask until the rounds are done or the player quits; the score goes out either way."""
    console = make_console(sys.stdout)
    terminal = Answers()
    score = Score()
    console.print(Text(f"convcalc quiz · {difficulty} · seed {seed} (--seed {seed} repeats it) · q or Ctrl-D quits",
                       style="bold"))
    try:
        for number, problem in zip(count(1), problems, strict=False):
            if rounds is not None and number > rounds:
                break
            show(problem, number, console)
            right = ask_until_read(problem, terminal)
            score.asked += 1
            score.right += right
            if right:
                console.print(Text("✓ right", style="green bold"))
            else:
                console.print(Text("✗ wrong — here is the worked solution:", style="red bold"))
                sys.stdout.flush()
                worked(problem, terminal.last)
            console.print(Text(str(score), style="bold"))
    except (Quit, KeyboardInterrupt, Interrupted):  # Ctrl-C ends a game with its score
        sys.stderr.write("\n" if terminal.live else "")
    console.print(Text(f"final {score}", style="bold"))


def show(problem: QuizProblem, number: int, console: Any) -> None:
    console.print()
    console.print(Text(f"━━ Round {number} · {problem.kind} ━━", style="bold"))
    for line in problem.settings:
        console.print(Text(line, style="dim"))
    for symbol, caption, values in problem.given:
        console.print(Text.assemble((symbol, "bold"), f" ({caption})"))
        console.print(matrix_text(MatrixView(symbol, caption, values)))
    console.print(Text("Your answer: " + problem.asks))
    sys.stdout.flush()


def ask_until_read(problem: QuizProblem, terminal: Answers) -> bool:
    """The player's verdict, asking again when the answer cannot be read."""
    while True:
        answer = terminal.matrix() if problem.answer == "matrix" else terminal.number()
        right, error = judge(problem, answer)
        if right is not None:
            return right
        terminal.say(f"cannot read that answer: {error.removeprefix('error: ')}; try again")


def judge(problem: QuizProblem, answer: str) -> tuple[bool | None, str]:
    """(True/False, "") for an answer read, (None, why) for one that cannot be read.

    The command itself decides: its ``--answer`` check (``answer_correct``), or, for a command
    without ``--answer``, its computed value compared with the number typed.
    """
    if not problem.checked:
        try:
            typed = int(answer.strip().split("×")[0].split("x")[0].split(",")[0])
        except ValueError:
            return None, f"expected a whole number, got {answer!r}"
        return typed == right_value(problem), ""
    out = solution_of([*problem.argv, f"--answer={answer}"], diagnosing=True)
    if out.solution is None or out.status == ExitStatus.BAD_INPUT:
        return None, out.error or "not an answer"
    return out.solution.data.get("answer_correct") is True, ""


def right_value(problem: QuizProblem) -> Any:
    """The value the problem's command computes (what a right answer equals)."""
    out = solution_of(list(problem.argv), diagnosing=True)
    if out.solution is None:  # a generated problem is valid by construction
        raise ConvcalcError(f"the quiz made a problem its command refuses: {out.error}", "quiz")
    return value_in(out.solution, problem.value_key)


def value_in(sol: Solution, key: tuple[str | int, ...]) -> Any:
    value: Any = sol.data
    for part in key:
        value = value[part]
    return value


def worked(problem: QuizProblem, answer: str) -> None:
    """The worked solution with the player's answer checked (✓/✗ and the likely slip)."""
    if not problem.checked:
        run(list(problem.argv))
        from convcalc.render import printable

        print(f"The right answer is {right_value(problem)}; yours was {printable(answer.strip())}.")
    else:
        run([*problem.argv, f"--answer={answer}"])
    sys.stdout.flush()


class Answers:
    """Lines typed at the terminal (with prompts on stderr) or piped (read silently)."""

    def __init__(self) -> None:
        self.live = _isatty(sys.stdin)
        self.last = ""
        # piped answers: the first line is read before anything is shown, so that no answers at
        # all is one error line and nothing on standard output
        self.ahead: str | None = None if self.live else self._read()
        if self.ahead == "":
            raise ConvcalcError(NO_ANSWERS, "quiz")

    def _read(self) -> str:
        """One line, at most MAX_LINE characters (``< /dev/zero`` is one endless line)."""
        try:
            line = sys.stdin.readline(MAX_LINE + 1)
        except (OSError, ValueError, UnicodeDecodeError):
            raise ConvcalcError("cannot read answers from standard input", "quiz") from None
        if len(line) > MAX_LINE:
            raise ConvcalcError(f"an answer line of more than {MAX_LINE} characters", "quiz")
        return line

    def say(self, message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    def line(self, prompt: str) -> str:
        if self.live:
            sys.stderr.write(prompt)
            sys.stderr.flush()
        line, self.ahead = (self.ahead, None) if self.ahead is not None else (self._read(), None)
        if not line:
            raise Quit
        text = line.strip()
        if text.lower() in ("q", "quit", "exit"):
            raise Quit
        return text

    def number(self) -> str:
        while not (text := self.line("  your answer: ")):
            pass
        self.last = text
        return text

    def matrix(self) -> str:
        if self.live:
            self.say("  type it row by row, entries separated by spaces; an empty line ends it (q quits).")
        rows: list[str] = []
        while True:
            text = self.line(f"  row {len(rows) + 1}: ")
            if not text and rows:
                break
            if text:
                rows.append(text)
            if len(rows) > MAX_ROWS:
                raise ConvcalcError(f"an answer of more than {MAX_ROWS} rows", "quiz")
        self.last = "; ".join(rows)
        return self.last


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and bool(stream.isatty())
    except (ValueError, OSError, AttributeError):
        return False
