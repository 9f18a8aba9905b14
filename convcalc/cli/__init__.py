"""The command line: a thin Typer app. Parse, derive, render, exit code.

Every user mistake ends as one line on stderr and exit 2; anything unexpected as one line
with a hint to report it (``CONVCALC_DEBUG=1`` shows the traceback).
"""


import contextlib
import errno
import os
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import typer

from convcalc.cli import session
from convcalc.cli.session import GLOBAL_HELP
from convcalc.errors import ConvcalcError, ExitStatus, Interrupted

app = typer.Typer(
    name="convcalc",
    help="Worked solutions for convolutional-network arithmetic, checked against PyTorch. " + GLOBAL_HELP,
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from convcalc import __version__

        print(f"convcalc {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print convcalc's version and exit.")) -> None:
    """Worked solutions for convolutional-network arithmetic, checked against PyTorch."""


def register_commands() -> None:
    # Importing a command module registers its commands on ``app``.
    from convcalc.cli import (  # noqa: F401
        backprop,
        backprop_layers,
        check,
        cmu,
        conv,
        layers,
        norm,
        quiz,
        scan,
        sizes,
        solve,
    )


_built: tuple[tuple[int, ...], Any] | None = None


def _ascii_integer_options() -> None:
    """Integer options (``--seed``, ``--rounds``, ``--index``, ...) read ASCII digits only:
    Click's ``int()`` reads "١٢" and "１２" as 12, which no other number of convcalc does."""
    from typer._click import types

    from convcalc.numbers import ascii_number

    types.IntParamType._number_class = staticmethod(ascii_number)  # type: ignore[assignment]


def root_command() -> Any:
    """The Click command of the whole app, every command registered.

    Typer builds it from the command functions' signatures, which costs as much as a small
    command's whole run; it is built once and rebuilt only if a command is added later.
    """
    global _built
    register_commands()
    _ascii_integer_options()
    key = _registration(app)
    if _built is None or _built[0] != key:
        _built = (key, _with_epilogs(typer.main.get_command(app)))
    return _built[1]


def _with_epilogs(command: Any) -> Any:
    """Every command's --help ends with the options every command takes (--reveal, --export,
    --tolerance, --exact-answers): ``run`` takes them out before the command parses the rest."""
    for sub in getattr(command, "commands", {}).values():
        _with_epilogs(sub)
        if not getattr(sub, "commands", None) and not sub.epilog:
            sub.epilog = GLOBAL_HELP
    return command


def _registration(t: typer.Typer) -> tuple[int, ...]:
    """What is registered on ``t`` and its sub-apps, as object ids (a change means rebuild)."""
    key = [id(c) for c in t.registered_commands]
    for g in t.registered_groups:
        key += [id(g), *(_registration(g.typer_instance) if g.typer_instance is not None else ())]
    return tuple(key)


INTERRUPTED = 130  # 128 + SIGINT, the shell's convention for Ctrl-C
CLOSED_PIPE = 141  # 128 + SIGPIPE: the reader went away (``convcalc … | head -1``)
# Failures of the machine, not of convcalc: one line and exit 2, like bad input.
_IO_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EROFS, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    code = run(argv)
    if code != CLOSED_PIPE:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            code = CLOSED_PIPE
    if code == CLOSED_PIPE:
        _end_by_sigpipe()
    sys.exit(code)


def _end_by_sigpipe() -> None:
    """End as a program killed by SIGPIPE does, quietly: what ``cmd | head`` expects."""
    import signal

    with contextlib.suppress(OSError, ValueError, AttributeError):  # Python flushes stdout once more at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    sys.exit(CLOSED_PIPE)


def run(argv: list[str] | None = None) -> int:
    """Run one command line; returns the exit status instead of exiting.

    A run inside another (``solve``, ``check``, slip diagnosis) keeps the outer session's
    capture and diagnosis state; ``--step`` and ``--export`` belong to the outermost run.
    """
    outer = session.current()
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        step, export = outer.step, outer.export
        from convcalc.derive import grading

        policy = grading.current()
        if not outer.nested:
            from convcalc.cli.streams import ascii_fallback

            ascii_fallback(sys.stdout, sys.stderr)  # a cp1252 or ASCII stream gets ASCII forms, never an error
            args, step, export = session.split_global_options(args)
            args, policy = session.split_grading_options(args)
        command = root_command()
        import numpy as np

        # overflow shows in the result itself (inf, as in PyTorch); no NumPy warning text
        fresh = {} if outer.nested else {"stopped": []}  # q in --step stops this run and the runs inside it
        from convcalc import limits

        with np.errstate(all="ignore"), _ctrl_c(outer.nested), grading.policy(policy), \
                limits.rendering(session.format_of(args) or "text", export is not None), \
                session.entered(argv=tuple(args), step=step, export=export, nested=True, depth=outer.depth + 1,
                                **fresh):
            rc = command.main(args=args, prog_name="convcalc", standalone_mode=False)
    except Interrupted:
        if outer.nested:  # the outermost run stops (and writes no --export page)
            raise
        fail("interrupted")
        return INTERRUPTED
    except ConvcalcError as e:
        fail(f"error: {e}")
        return ExitStatus.BAD_INPUT
    except KeyboardInterrupt:  # outside the command (Typer turns one inside into a return of 130)
        if outer.nested:
            raise
        fail("interrupted")
        return INTERRUPTED
    except EOFError:
        fail("interrupted")
        return ExitStatus.BAD_INPUT
    except BrokenPipeError:
        if outer.nested:
            raise
        return CLOSED_PIPE
    except SystemExit as e:  # Click's own answer to a closed pipe is exit 1, the wrong-answer status
        if isinstance(e.__context__, BrokenPipeError) and not outer.nested:
            return CLOSED_PIPE
        raise
    except Exception as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # bare ``convcalc`` or ``convcalc backprop``: the help, as Typer
            sys.stderr.write(e.ctx.get_help() + "\n")  # type: ignore[attr-defined]
            return ExitStatus.BAD_INPUT
        if isinstance(e, OSError) and e.errno in _IO_ERRNOS:
            fail(f"error: cannot write: {e.strerror}")
            return ExitStatus.BAD_INPUT
        if _is_usage_error(e):  # Click's (or Typer's vendored Click's) UsageError and kin
            fail(f"error: {e.format_message()}" + _hint(e))  # type: ignore[attr-defined]
            return ExitStatus.BAD_INPUT
        if type(e).__name__ == "Abort":
            fail("aborted")
            return ExitStatus.BAD_INPUT
        if os.environ.get("CONVCALC_DEBUG"):
            traceback.print_exc()
        fail(f"internal error: {type(e).__name__}: {e} — please report it (CONVCALC_DEBUG=1 shows details)")
        return 3
    return int(rc or 0)


@contextlib.contextmanager
def _ctrl_c(nested: bool) -> Iterator[None]:
    """Ctrl-C raises Interrupted for the outermost run (when it runs in the main thread)."""
    import signal
    import threading

    if nested or threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def interrupted(signum: int, frame: Any) -> None:
        raise Interrupted

    signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _is_usage_error(e: Exception) -> bool:
    return callable(getattr(e, "format_message", None)) and hasattr(e, "exit_code")


def _hint(e: Exception) -> str:
    ctx = getattr(e, "ctx", None)
    return f" (see '{ctx.command_path} --help')" if ctx is not None else ""


MAX_MESSAGE = 600  # characters of an error line; a value echoed back may be a million long


def error_line(message: str) -> str:
    """``message`` as one line: newlines as spaces, control characters escaped, and the middle
    of an over-long message (a 10⁶-digit value echoed back) cut out, saying how long it was."""
    text = message.replace("\n", " ").strip()
    line = _printable(text[: MAX_MESSAGE + 1])
    if len(text) <= MAX_MESSAGE and len(line) <= MAX_MESSAGE:
        return line
    head = line[: MAX_MESSAGE - 200]
    tail = _printable(text[-150:])[-150:]
    return f"{head} …({len(text)} characters in all)… {tail}"


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def fail(message: str) -> None:
    """Write ``message`` to stderr as one line (see :func:`error_line`)."""
    sys.stderr.write(error_line(message) + "\n")
    sys.stderr.flush()
