"""Typer's CliRunner on the whole command line, global options included.

``convcalc.cli.run`` takes ``--step``, ``--export``, ``--tolerance`` and ``--exact-answers``
out of the command line before the Typer app parses the rest; this one-command Typer app
hands every word to ``run`` so CliRunner drives exactly what the console script does.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from convcalc.cli import run

entry = typer.Typer(add_completion=False)


@entry.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                                 "help_option_names": []})
def _main(ctx: typer.Context) -> None:
    raise typer.Exit(run(list(ctx.args)))


def invoke(*args: str, **kwargs: Any) -> Any:
    """``CliRunner().invoke`` of convcalc with ``args``; NO_COLOR unless ``env`` says otherwise."""
    env = {"NO_COLOR": "1", **kwargs.pop("env", {})}
    return CliRunner().invoke(entry, list(args), env=env, **kwargs)
