"""Writing a file whole or not at all: a temporary file beside the target, renamed over it.

- The temporary name is short and fixed in length (``.convcalc-PID-XXXXXX.tmp``), so any
  target name the OS takes (255 bytes) can be written, and it carries the writer's process
  id: a run killed mid-write (``kill -9``) leaves one behind, and a later write into the same
  folder removes it once that process is gone, and says so.
- The file gets the mode a new file gets (the umask honoured), or keeps the mode of the file
  it replaces.
- Any failure of the file system (no space, no inodes, a read-only folder such as ``/sys``)
  is one line naming the flag, and exit 2; the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import sys
from types import TracebackType

from convcalc.errors import ConvcalcError

PREFIX = ".convcalc-"
STALE = re.compile(r"\.convcalc-(\d{1,10})-[0-9a-f]{6}\.tmp")


class AtomicFile:
    """A file written through a temporary one; ``commit`` renames it over ``target``.

    Used as a context manager: committed when the block ends normally, discarded (and the
    target left as it was) when anything — an error, Ctrl-C — ends it.
    """

    def __init__(self, target: str, where: str) -> None:
        self.target = target
        self.where = where
        self.folder = os.path.dirname(os.path.abspath(target))
        remove_stale(self.folder)
        fd, self.tmp = self._guard(_create, self.folder)
        self.file = os.fdopen(fd, "wb", buffering=1 << 16)

    def _guard(self, f, *args):  # type: ignore[no-untyped-def]
        try:
            return f(*args)
        except (OSError, ValueError) as e:
            raise ConvcalcError(f"cannot write {self.target}: {getattr(e, 'strerror', None) or e}",
                                self.where) from None

    def write(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        try:
            self.file.write(data)
        except OSError as e:
            self.discard()
            raise ConvcalcError(f"cannot write {self.target}: {e.strerror or e}", self.where) from None

    def commit(self) -> None:
        try:
            self.file.flush()
            os.fchmod(self.file.fileno(), _mode_for(self.target))
            self.file.close()
            os.replace(self.tmp, self.target)
        except (OSError, ValueError) as e:
            self.discard()
            raise ConvcalcError(f"cannot write {self.target}: {getattr(e, 'strerror', None) or e}",
                                self.where) from None
        except BaseException:  # Ctrl-C between the write and the rename: no temporary file stays
            self.discard()
            raise

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            os.remove(self.tmp)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def write_bytes(target: str, payload: bytes, where: str) -> None:
    with AtomicFile(target, where) as f:
        f.write(payload)


def _create(folder: str) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    while True:
        path = os.path.join(folder, f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}.tmp")
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            continue


def _mode_for(target: str) -> int:
    """The mode of the file being replaced, or what a new file gets under the umask."""
    try:
        st = os.stat(target)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~umask()


def umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def remove_stale(folder: str) -> list[str]:
    """Remove our own temporary files in ``folder`` whose writing process is gone; say so on stderr."""
    removed = []
    try:
        names = [n for n in os.listdir(folder) if n.startswith(PREFIX)]
    except OSError:
        return removed
    for name in names:
        m = STALE.fullmatch(name)
        if m is None or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        path = os.path.join(folder, name)
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                continue
            os.remove(path)
        except OSError:
            continue
        removed.append(path)
        sys.stderr.write(f"note: removed {path}, left by an interrupted convcalc run (process {m.group(1)})\n")
    return removed


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a process we can judge: leave it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
