"""Random small problems for ``convcalc quiz``: each one is a command line of a real command,
so the quiz checks an answer (and works the solution) with exactly the code the flags run.
"""

from __future__ import annotations

from convcalc.quiz.problems import DIFFICULTIES, KINDS, QuizProblem, make

__all__ = ["DIFFICULTIES", "KINDS", "QuizProblem", "make"]
