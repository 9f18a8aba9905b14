"""The problem-bank format (problems/README.md): loading a TOML file into problems.

A problem is a command and its options as data, so it runs through exactly the code the
command-line flags run through.

How a TOML value becomes command-line text:
- ``true`` is the bare flag, ``false`` leaves it out;
- a string or number is the flag and its value;
- a list of numbers is one value joined with commas (``stride = [2, 1]`` is ``--stride 2,1``);
- ``args`` (a string or a list of strings) are the command's positional arguments, such as
  the expression of ``backprop expr``; a ``command`` of two words is a command and its
  subcommand (``backprop conv``);
- a list of strings repeats the flag once per item (``layer = ["Conv2d(3, 8, 3)", "ReLU()"]``
  is ``--layer 'Conv2d(3, 8, 3)' --layer 'ReLU()'``); ``claimed``/``answer`` follow the same
  rule for ``--answer``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.paths import is_regular, read_text

MAX_FILE_BYTES = 4 * 2**20  # tomllib reads about 10 MB/s; the bank's files are a few kB
MAX_KEY_PARTS = 64
MAX_PROBLEMS = 1000  # per file; the bank's largest has 30
NOT_A_PROBLEM = ("solve", "check", "quiz")  # a problem of these would run files (itself, even) or a game
_COMMAND_WORD = re.compile(r"[a-z][a-z0-9-]{0,40}")
_OPTION_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,60}")

RESERVED = ("id", "source", "asks", "command", "args", "claimed", "answer")
# Options that write files. A problem file travels (shared, posted, run by an autograder): it
# may read files in its own folder, never write anywhere.
WRITES = frozenset({"output", "export", "figure", "save", "o"})

Claim = str | list[str]


@dataclass(frozen=True)
class Problem:
    id: str
    source: str
    asks: str
    command: str
    options: dict[str, Any] = field(default_factory=dict)
    claimed: Claim | None = None
    answer: Claim | None = None
    file: str = ""
    args: tuple[str, ...] = ()

    def argv(self, fmt: str = "text", check: Claim | None = None) -> list[str]:
        """The command line that solves this problem; ``check`` adds ``--answer`` (once per item of a list)."""
        out = self.command.split()
        for key, value in self.options.items():
            out += _flag("--" + key.replace("_", "-"), value)
        if check is not None:
            out += _flag("--answer", check)
        out += ["--format", fmt]
        # positional arguments last, after "--", so one that starts with "-" is never read as a flag
        return [*out, "--", *self.args] if self.args else out


def _flag(flag: str, value: Any) -> list[str]:
    """One option as command-line words (the rule in the module docstring)."""
    if value is True:
        return [flag]
    if value is False:
        return []
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [w for v in value for w in (flag, v)]
    return [flag, _text(value)]


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_value(key: str, v: Any, where: str, *, switch: bool) -> None:
    """A value must be a string, a number, a boolean (options only), or a non-empty list of all
    strings or all numbers."""
    if isinstance(v, list):
        if not v:
            raise ConvcalcError(f"key {key!r} is an empty list", where)
        if not (all(isinstance(x, str) for x in v) or all(_is_number(x) for x in v)):
            raise ConvcalcError(f"key {key!r} must be a list of strings (a repeated flag) or of numbers "
                                f"(one comma-separated value), not a mix", where)
    elif not (isinstance(v, str) or _is_number(v) or (switch and isinstance(v, bool))):
        kinds = "a string, number, boolean or list" if switch else "a string, number or list"
        raise ConvcalcError(f"key {key!r} must be {kinds}", where)


def problem_files(names: list[str], skipped: list[Path] | None = None) -> list[Path]:
    """Files named, and every .toml file in folders named (sorted, README excluded).

    In a folder, only regular files count: a FIFO or a link to a device (``/dev/zero``) is
    added to ``skipped`` instead. A file named outright is returned as it is; reading it
    refuses one that is not a regular file.
    """
    out: list[Path] = []
    for p in map(Path, names):
        kind = _kind(p)
        if kind == "folder":
            for f in sorted(p.glob("*.toml")):
                if is_regular(f):
                    out.append(f)
                elif skipped is not None and not f.is_dir():
                    skipped.append(f)
        elif kind == "file":
            out.append(p)
        else:
            raise ConvcalcError(f"no such file or folder: {p}", "FILES")
    return out


def _kind(p: Path) -> str:
    """"folder", "file" (anything else that is there) or "" (nothing there, or a name the OS
    refuses: too long, a NUL byte)."""
    try:
        return "folder" if p.is_dir() else "file" if p.exists() else ""
    except (OSError, ValueError):
        return ""


def load(path: Path) -> list[Problem]:
    """Every problem of one file; a malformed file or problem names the key at fault."""
    text = read_text(path, MAX_FILE_BYTES, str(path), "problem file")
    _check_key_depth(text, str(path))
    try:
        data = tomllib.loads(text)
    except ValueError as e:  # TOMLDecodeError, or int()'s refusal of a number with over 4300 digits
        raise ConvcalcError(f"not a valid TOML problem file ({e})", str(path)) from None
    except RecursionError:  # how tomllib meets arrays or inline tables nested thousands deep
        raise ConvcalcError("not a valid TOML problem file (nested too deeply)", str(path)) from None
    tables = data.get("problem")
    if not isinstance(tables, list) or not tables:
        raise ConvcalcError("has no [[problem]] tables", str(path))
    if len(tables) > MAX_PROBLEMS:
        raise ConvcalcError(f"has {len(tables)} problems; at most {MAX_PROBLEMS} in one file", str(path))
    return [_problem(t, path, i) for i, t in enumerate(tables, 1)]


# TOML strings and comments, which may hold any dots: multi-line first, then one-line ones.
_TOML_STRINGS = re.compile(r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*', re.DOTALL)
_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")


def _check_key_depth(text: str, where: str) -> None:
    """Refuse a dotted key of more than MAX_KEY_PARTS parts before tomllib reads it.

    tomllib's time and memory grow with the square of a dotted key's length (``a.a.a… = 1``
    with 10⁵ parts takes minutes and tens of GB); a problem file needs no dotted keys at all.
    A dot outside strings and comments and not between two digits belongs to a key.
    """
    bare = _DECIMAL_POINT.sub("", _TOML_STRINGS.sub(lambda m: '""' + "\n" * m.group().count("\n"), text))
    for number, line in enumerate(bare.splitlines(), 1):
        if line.count(".") > MAX_KEY_PARTS:
            raise ConvcalcError(f"a key with more than {MAX_KEY_PARTS} dotted parts (near line {number})", where)


def _claim(key: str, v: Any, where: str) -> Claim | None:
    if v is None:
        return None
    _check_value(key, v, where, switch=False)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    return _text(v)


def _problem(t: Any, path: Path, number: int) -> Problem:
    where = f"{path}: problem {number}"
    if not isinstance(t, dict):
        raise ConvcalcError("is not a table", where)
    for key in ("id", "command"):
        if not isinstance(t.get(key), str) or not t[key].strip():
            raise ConvcalcError(f"needs a string key {key!r}", where)
    where = f"{where} ({t['id']})"
    words = t["command"].split()
    if len(words) > 2 or not all(_COMMAND_WORD.fullmatch(w) for w in words):
        raise ConvcalcError(f"'command' must name a command, such as conv or backprop conv; got {t['command']!r}",
                            where)
    if words[0] in NOT_A_PROBLEM:
        raise ConvcalcError(f"'command' cannot be {words[0]}: it runs problem files or a game, not one problem",
                            where)
    options = {k: v for k, v in t.items() if k not in RESERVED}
    for k, v in options.items():
        if not _OPTION_KEY.fullmatch(k) or k == "help":  # a key becomes one --flag word; --help is no problem's
            raise ConvcalcError(f"key {k[:40]!r} is not an option name (letters, digits, _ and -)", where)
        if k.replace("-", "_").lower() in WRITES:
            raise ConvcalcError(f"key {k!r} is refused: a problem file may not write files", where)
        _check_value(k, v, where, switch=True)
    args = t.get("args", [])
    if isinstance(args, str):
        args = [args]
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConvcalcError("key 'args' must be a string or a list of strings", where)
    return Problem(t["id"], str(t.get("source", "")), str(t.get("asks", "")), t["command"], options,
                   _claim("claimed", t.get("claimed"), where), _claim("answer", t.get("answer"), where),
                   str(path), tuple(args))
