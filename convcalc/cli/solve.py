"""``convcalc solve``: the worked solution of every problem in problem-bank files."""


import contextlib
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from convcalc.cli import app, fail, run, session
from convcalc.cli.common import FormatOpt
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.render import Format
from convcalc.render.document import whole_document

if TYPE_CHECKING:
    from collections.abc import Iterator

    from convcalc.problems import Problem

FilesArg = Annotated[list[str], typer.Argument(help="Problem files (TOML) or folders of them.")]
IdOpt = Annotated[list[str] | None, typer.Option("--id", help="Only the problem with this id (repeatable).")]
AllowPathsOpt = Annotated[bool, typer.Option(
    "--allow-paths", help="Let a problem file read files outside its own folder (absolute paths, ..).")]


def selected(files: list[str], ids: list[str] | None) -> "tuple[list[Problem], int]":
    """Problems to run, and the exit status so far (2 when a file could not be read)."""
    from convcalc.problems import load, problem_files

    problems: list[Problem] = []
    status = ExitStatus.OK
    skipped: list[Path] = []
    found = problem_files(files, skipped)
    for path in skipped:
        fail(f"note: {path}: skipped: not a regular file")
    for path in found:
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


def estimate(problems: "list[Problem]", allow_paths: bool, files: list[str]) -> None:
    """Refuse, before any is worked, problems whose work together passes the limits of one run.

    Each problem is run dry (convcalc.limits.Budget): its settings are read and its limit
    checks record their share of each limit, up to the check before its heavy work, where
    it stops. Memory is not summed: each problem gives its own back.
    """
    from convcalc import limits
    from convcalc.cli.invoke import solution_of

    total, heaviest = 0.0, (0.0, "")
    for p in problems:
        b = limits.Budget()
        with inside(p, allow_paths), limits.budget(b), contextlib.suppress(limits.Estimated), _no_stdin():
            solution_of(p.argv("json"))
        share = sum(b.shares)
        total += share
        heaviest = max(heaviest, (share, p.id))
    if total > 1:
        raise ConvcalcError(
            f"these {len(problems)} problems together need about {total:.1f} times what one run may do "
            f"(the heaviest, {heaviest[1]}, {heaviest[0]:.0%} of it; the work of each is estimated from its settings); "
            "run fewer with --id, or raise the limits (CONVCALC_MAX_MACS, CONVCALC_MAX_CELLS, CONVCALC_MAX_WORKED, "
            "CONVCALC_MAX_PAIRS, CONVCALC_MAX_TRIES)", ", ".join(files))


@contextlib.contextmanager
def _no_stdin() -> "Iterator[None]":
    """A dry run reads no standard input: that is the real run's."""
    saved, sys.stdin = sys.stdin, io.StringIO("")
    try:
        yield
    finally:
        sys.stdin = saved


def inside(p: "Problem", allow_paths: bool) -> contextlib.AbstractContextManager[None]:
    """The problem's file names resolved against its file's folder, and kept in it unless allowed."""
    from convcalc.paths import confined

    return confined(Path(p.file).parent, allow_paths)


_HEADER = {
    Format.text: "\n━━ {id} — {source} ━━\n{asks}\n",
    Format.markdown: "\n---\n\n**Problem {id}** ({source}): {asks}\n\n",
    Format.latex: "\n\\section*{{Problem {id}}}\n\\emph{{{source}}}: {asks}\n",
}


@app.command()
def solve(files: FilesArg, id: IdOpt = None, fmt: FormatOpt = Format.text,
          allow_paths: AllowPathsOpt = False) -> None:
    """Work every problem of the given problem files, one worked solution after another."""
    problems, status = selected(files, id)
    estimate(problems, allow_paths, files)
    if fmt is Format.json:
        results = []
        for p in problems:
            with inside(p, allow_paths):
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
    with whole_document(fmt, sys.stdout, "convcalc solve: " + ", ".join(files)):
        for p in problems:
            if session.current().stopped:  # q while stepping through an earlier problem
                break
            sys.stdout.write(_header(p, fmt))
            sys.stdout.flush()
            with inside(p, allow_paths):
                rc = run(p.argv(fmt.value))
            if rc not in (ExitStatus.OK, ExitStatus.WRONG_ANSWER):  # bad input (2) or an internal error (3)
                status = max(status, rc)
    raise typer.Exit(int(status))


def _header(p: "Problem", fmt: Format) -> str:
    if fmt is Format.latex:
        from convcalc.render.latex import escape

        return _HEADER[fmt].format(id=escape(p.id), source=escape(p.source), asks=escape(p.asks))
    if fmt is Format.markdown:
        from convcalc.render.markdown import text

        return _HEADER[fmt].format(id=text(p.id), source=text(p.source), asks=text(p.asks))
    from convcalc.render import printable

    return _HEADER[fmt].format(id=printable(p.id), source=printable(p.source), asks=printable(p.asks))
