"""Files a command reads: only regular files, read with the size cap enforced while reading,
and — for a problem file's values — only inside the problem file's folder.

A problem file travels (a course posts it, a classmate shares it, an autograder runs it), so
a path in it is resolved against the file's own folder and must stay there: no absolute
path, no ``..`` out of it, no symlink out of it, unless the user passes ``--allow-paths``.
``solve`` and ``check`` run each problem inside :func:`confined`; the readers (``io.py``,
``--net``) ask :func:`locate` where a name points and :func:`read_bytes` for its content.

A FIFO or a device (``/dev/zero``) has no end and ``stat()`` says 0 bytes for it, so the type
is checked on the open file and the cap counts what is actually read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from convcalc.errors import ConvcalcError


@dataclass(frozen=True)
class Confinement:
    folder: Path  # the problem file's folder: relative names resolve against it
    allow: bool  # --allow-paths: resolve against it, but let a name go anywhere


_confinement: ContextVar[Confinement | None] = ContextVar("convcalc_confinement", default=None)


@contextmanager
def confined(folder: Path | str, allow: bool = False) -> Iterator[None]:
    """Resolve (and, unless ``allow``, confine) every file name read in the block to ``folder``."""
    token = _confinement.set(Confinement(Path(os.path.abspath(folder)), allow))
    try:
        yield
    finally:
        _confinement.reset(token)


def locate(name: str) -> Path:
    """Where ``name`` points: itself, or, inside a problem file, against the file's folder."""
    c = _confinement.get()
    path = Path(name)
    if c is None or path.is_absolute():
        return path
    return c.folder / path


def check_inside(name: str, where: str) -> Path:
    """``name`` located, refused when a problem file's value reaches outside its folder."""
    path = locate(name)
    c = _confinement.get()
    if c is None or c.allow:
        return path
    if Path(name).is_absolute():
        raise ConvcalcError(f"{name!r} is an absolute path; a problem file may only read files in its own folder "
                            "(--allow-paths lets it)", where)
    try:
        real, folder = Path(os.path.realpath(path)), Path(os.path.realpath(c.folder))
    except (OSError, ValueError):
        raise ConvcalcError(f"{name!r} is not a file name", where) from None
    if not real.is_relative_to(folder):
        raise ConvcalcError(f"{name!r} leads outside the problem file's folder {folder}; a problem file may only "
                            "read files in its own folder (--allow-paths lets it)", where)
    return path


def is_regular(path: Path) -> bool:
    """A regular file (after following symlinks); False for a FIFO, a device, a folder, nothing."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def read_bytes(path: Path, cap: int, where: str, what: str = "file") -> bytes:
    """The content of the regular file ``path``, refused past ``cap`` bytes (counted as read).

    Opened without blocking, so a FIFO is refused rather than waited on, and checked on the
    open file, so a name swapped for a device after a check is refused too.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        raise ConvcalcError(f"cannot read: {e.strerror}", where) from None
    except ValueError:  # a NUL byte in the name
        raise ConvcalcError("is not a file name", where) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConvcalcError("not a regular file (a FIFO, a device or a folder); only files are read", where)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise ConvcalcError(f"a {what} may have at most {_size(cap)}; this one has more", where)
        return b"".join(chunks)
    except OSError as e:
        raise ConvcalcError(f"cannot read: {e.strerror}", where) from None
    finally:
        os.close(fd)


def read_text(path: Path, cap: int, where: str, what: str = "text file") -> str:
    try:
        return read_bytes(path, cap, where, what).decode("utf-8")
    except UnicodeDecodeError:
        raise ConvcalcError("is not a text file (not UTF-8)", where) from None


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n >= 2**20 and n % 2**20 == 0 else f"{n} bytes"
