"""The problem-bank format (problems/README.md): loading a TOML file into problems.

A problem is a command and its options as data, so it runs through exactly the code the
command-line flags run through.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcalc.errors import ConvcalcError

RESERVED = ("id", "source", "asks", "command", "claimed", "answer")


@dataclass(frozen=True)
class Problem:
    id: str
    source: str
    asks: str
    command: str
    options: dict[str, Any] = field(default_factory=dict)
    claimed: str | None = None
    answer: str | None = None
    file: str = ""

    def argv(self, fmt: str = "text", check: str | None = None) -> list[str]:
        """The command line that solves this problem; ``check`` adds ``--answer``."""
        args = [self.command]
        for key, value in self.options.items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                args.append(flag)
            elif value is False:
                continue
            else:
                args += [flag, _text(value)]
        if check is not None:
            args += ["--answer", check]
        return [*args, "--format", fmt]


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def problem_files(paths: list[str]) -> list[Path]:
    """Files named, and every .toml file in folders named (sorted, README excluded)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.glob("*.toml"))
        elif p.is_file():
            out.append(p)
        else:
            raise ConvcalcError(f"no such file or folder: {p}", "FILES")
    return out


def load(path: Path) -> list[Problem]:
    """Every problem of one file; a malformed file or problem names the key at fault."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConvcalcError(f"not a valid TOML problem file ({e})", str(path)) from None
    tables = data.get("problem")
    if not isinstance(tables, list) or not tables:
        raise ConvcalcError("has no [[problem]] tables", str(path))
    return [_problem(t, path, i) for i, t in enumerate(tables, 1)]


def _problem(t: Any, path: Path, number: int) -> Problem:
    where = f"{path}: problem {number}"
    if not isinstance(t, dict):
        raise ConvcalcError("is not a table", where)
    for key in ("id", "command"):
        if not isinstance(t.get(key), str) or not t[key]:
            raise ConvcalcError(f"needs a string key {key!r}", where)
    options = {k: v for k, v in t.items() if k not in RESERVED}
    for k, v in options.items():
        if not isinstance(v, str | int | float | bool | list):
            raise ConvcalcError(f"key {k!r} must be a string, number, boolean or list", f"{where} ({t['id']})")
    claimed, answer = t.get("claimed"), t.get("answer")
    return Problem(t["id"], str(t.get("source", "")), str(t.get("asks", "")), t["command"], options,
                   None if claimed is None else _text(claimed), None if answer is None else _text(answer), str(path))
