"""The one exception type for user mistakes, and the exit codes the CLI maps things to."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit statuses shared by every command."""

    OK = 0
    WRONG_ANSWER = 1
    BAD_INPUT = 2


class ConvcalcError(ValueError):
    """A mistake in what the user gave us: bad input, bad settings, a missing file.

    ``where`` names the place (a flag, a file, a row and column) so the one-line message
    can point at it; the CLI prints ``error: <where>: <message>`` and exits 2.
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def located(self, where: str) -> ConvcalcError:
        """The same error with a location prefixed, e.g. the flag a value came from."""
        inner = f"{self.where}: " if self.where else ""
        return ConvcalcError(f"{inner}{self.message}", where)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class Interrupted(BaseException):  # what the user did, not an error of ours
    """Ctrl-C (SIGINT) during a run: the CLI says "interrupted" and exits 130, writing no
    ``--export`` page. Not a KeyboardInterrupt, which Typer turns into a normal return."""
