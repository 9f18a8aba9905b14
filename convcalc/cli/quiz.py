"""``convcalc quiz``: random small problems, your answer, right or wrong, and the worked
solution of what was wrong, with a score over the session.

Each problem is a real command line (``convcalc.quiz``); an answer is checked by running
that command with ``--answer`` in-process, and a wrong one is shown by running it again
through ``run``, so the quiz says exactly what ``convcalc conv ... --answer`` says, slip and
all. Prompts go to standard error and only at a terminal; answers may also be piped, one per
line (a matrix row by row, then an empty line).
"""


from collections.abc import Iterator
from enum import Enum
from itertools import count
from typing import Annotated, Any

import typer

from convcalc.cli import app
from convcalc.errors import ConvcalcError


class Kind(str, Enum):
    conv = "conv"
    transposed_conv = "transposed-conv"
    dilated = "dilated"
    pool = "pool"
    output_size = "output-size"
    params = "params"
    receptive_field = "receptive-field"
    backprop = "backprop"


class Difficulty(str, Enum):
    easy = "easy"
    medium = "medium"
    hard = "hard"


class QuizFormat(str, Enum):
    text = "text"
    json = "json"


MAX_SEED = 2**63 - 1
MAX_LISTED = 1000  # problems one --format json run lists

KindArg = Annotated[Kind | None, typer.Argument(help="What to practise; without it, a mix of all of them.",
                                                show_default=False)]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Repeat a quiz: the same seed gives the same problems.")]
DifficultyOpt = Annotated[Difficulty, typer.Option("--difficulty", help="easy, medium or hard: sizes and settings.")]
RoundsOpt = Annotated[int | None, typer.Option("--rounds", help="Stop after N problems (default: until q or Ctrl-D).")]
QuizFormatOpt = Annotated[QuizFormat, typer.Option(
    "--format", "-f", help="text: play at the terminal; json: list the problems and their answers, nothing asked.")]


@app.command()
def quiz(kind: KindArg = None, seed: SeedOpt = None, difficulty: DifficultyOpt = Difficulty.easy,
         rounds: RoundsOpt = None, fmt: QuizFormatOpt = QuizFormat.text) -> None:
    """Practise: a random small problem, your answer, right or wrong, and the working; q or Ctrl-D quits."""
    import secrets

    import numpy as np

    from convcalc.cli.quiz_game import listing, play
    from convcalc.quiz import make
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise ConvcalcError(f"must be from 0 to {MAX_SEED}, got {seed}", "--seed")
    if rounds is not None and rounds < 1:
        raise ConvcalcError(f"must be at least 1, got {rounds}", "--rounds")
    seed = secrets.randbelow(10**6) if seed is None else seed
    rng = np.random.default_rng(seed)
    kinds = [kind.value] if kind is not None else [k.value for k in Kind]

    def problems() -> Iterator[Any]:
        for _ in count():
            yield make(kinds[int(rng.integers(len(kinds)))], rng, difficulty.value)

    if fmt is QuizFormat.json:
        if rounds is not None and rounds > MAX_LISTED:
            raise ConvcalcError(f"lists at most {MAX_LISTED} problems, got {rounds}", "--rounds")
        listing(problems(), rounds or 1, seed, difficulty.value, kind)
    else:
        play(problems(), rounds, seed, difficulty.value)
    raise typer.Exit(0)


