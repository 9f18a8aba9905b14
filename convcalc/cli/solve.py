"""``convcalc solve``: the worked solution of every problem in problem-bank files."""


import contextlib
import io
import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from convcalc.cli import app, fail, run, session
from convcalc.cli.common import FormatOpt
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.render import Format
from convcalc.render.document import whole_document

if TYPE_CHECKING:
    from convcalc.problems import Problem

FilesArg = Annotated[list[str], typer.Argument(help="Problem files (TOML) or folders of them.")]
IdOpt = Annotated[list[str] | None, typer.Option("--id", help="Only the problem with this id (repeatable).")]


def shown_paths(files: list[str]) -> list[str]:
    """Paths as a title shows them: relative to the working folder, or the bare name for one
    outside it (a write-up handed out never shows /home/someone/...)."""
    import os

    out = []
    for f in files:
        rel = os.path.relpath(f) if os.path.isabs(f) else f
        out.append(os.path.basename(os.path.normpath(f)) if rel.startswith("..") or os.path.isabs(rel) else rel)
    return out


def selected(files: list[str], ids: list[str] | None) -> "tuple[list[Problem], int]":
    """Problems to run, and the exit status so far (2 when a file could not be read)."""
    from convcalc.problems import load, problem_files

    problems: list[Problem] = []
    status = ExitStatus.OK
    for path in problem_files(files):
        try:
            problems += load(path)
        except ConvcalcError as e:
            fail(f"error: {e}")
            status = ExitStatus.BAD_INPUT
    if ids:
        missing = set(ids) - {p.id for p in problems}
        if missing:
            raise ConvcalcError(f"no problem with id {', '.join(sorted(missing))}", "--id")
        problems = [p for p in problems if p.id in ids]
    return problems, status


def run_captured(argv: list[str]) -> tuple[int, str, str]:
    """Run one command in-process, capturing what it writes."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = run(argv)
    return rc, out.getvalue(), err.getvalue()


_HEADER = {
    Format.text: "\n━━ {id} — {source} ━━\n{asks}\n",
    Format.markdown: "\n---\n\n**Problem {id}** ({source}): {asks}\n\n",
    Format.latex: "\n\\section*{{Problem {id}}}\n\\emph{{{source}}}: {asks}\n",
}


@app.command()
def solve(files: FilesArg, id: IdOpt = None, fmt: FormatOpt = Format.text) -> None:
    """Work every problem of the given problem files, one worked solution after another."""
    problems, status = selected(files, id)
    if fmt is Format.json:
        results = []
        for p in problems:
            rc, out, err = run_captured(p.argv("json"))
            results.append({"id": p.id, "source": p.source, "result": json.loads(out) if rc in (0, 1) else None,
                            "error": err.strip() or None})
            if rc not in (ExitStatus.OK, ExitStatus.WRONG_ANSWER):  # stderr says so too, as check does
                message = err.strip().removeprefix("error: ") or f"exit status {rc}"
                fail(f"error: {p.file}: problem {p.id}: {message}")
                status = max(status, rc)
        json.dump({"command": "solve", "problems": results}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        raise typer.Exit(int(status))
    with whole_document(fmt, sys.stdout, "convcalc solve: " + ", ".join(shown_paths(files))):
        for p in problems:
            if session.current().stopped:  # q while stepping through an earlier problem
                break
            sys.stdout.write(_header(p, fmt))
            sys.stdout.flush()
            rc = run(p.argv(fmt.value))
            if rc not in (ExitStatus.OK, ExitStatus.WRONG_ANSWER):  # bad input (2) or an internal error (3)
                status = max(status, rc)
    raise typer.Exit(int(status))


def _header(p: "Problem", fmt: Format) -> str:
    if fmt is Format.latex:
        from convcalc.render.latex import escape

        return _HEADER[fmt].format(id=escape(p.id), source=escape(p.source), asks=escape(p.asks))
    return _HEADER[fmt].format(id=p.id, source=p.source, asks=p.asks)
