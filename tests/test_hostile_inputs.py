"""Nothing a user types can crash convcalc: every command, every option, hostile values.

Each run must end with exit 0, 1 or 2 (the CLI returns 3 for an internal error), a message
on stderr when 2, and never a traceback. Commands are discovered from the app, so a new
command is covered as soon as it has base arguments below (the test fails until it does).
"""

from __future__ import annotations

import io
import re
import string
import sys
import warnings
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.cli import app, register_commands, run

M = "4 5 2; 3 3 2; 1 2 3"
BANK = str(Path(__file__).resolve().parent.parent / "problems" / "nyu-dl-2020-hw2.toml")
BASE: dict[str, list[str]] = {
    "conv": ["--input", M, "--kernel", "1 0; 0 1"],
    "dilated": ["--input", "1 2 3 4 5; 5 4 3 2 1; 1 2 3 4 5; 5 4 3 2 1; 1 2 3 4 5", "--kernel", "1 0; 0 1"],
    "transposed-conv": ["--input", M, "--kernel", "1 0; 0 1"],
    "pool": ["--input", M, "--kernel-size", "2"],
    "resample": ["--input", M, "--up", "2"],
    "output-size": ["--input-size", "32", "--kernel-size", "5"],
    "params": ["--in-channels", "3", "--out-channels", "8", "--kernel-size", "3"],
    "receptive-field": ["--layer", "Conv2d(3, 8, 3)", "--input-shape", "1x3x16x16"],
    "solve": [BANK],
    "quiz": ["conv", "--seed", "1"],  # --format json lists the problem; text asks (and reads no answer here)
    "check": [BANK],
    "backprop conv": ["--input", M, "--kernel", "1 0; 0 1"],
    "backprop transposed-conv": ["--input", M, "--kernel", "1 0; 0 1"],
    "backprop pool": ["--input", M, "--kernel-size", "2"],
    "backprop expr": ["sum(W @ x)", "--var", "W=1 2; 3 4", "--var", "x=1; 2"],
    "backprop resample": ["--input", "1 2 3 4 5 6", "--down", "2"],
    "backprop net": ["--net", "Conv1d(1, 2, 2), ReLU(), Downsample1d(2), Flatten()", "--input", "1 2 3 4", "--seed",
                     "0"],
    "scan-mlp": ["--input-shape", "1x2x8", "--mlp", "Linear(4, 3), ReLU(), Linear(3, 2)", "--window", "2",
                 "--stride", "2"],
    "norm": ["--input", M],
    "backprop norm": ["--input", M],
}
HOSTILE = ["0", "-1", "-999999999999", "99999999999999999999", "abc", "", " ", "1/0", "nan", "inf", "-inf",
           "1e308", "1e-400", "\x00", "é∑≈", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]", "1,2,3,4,5",
           "9" * 5000, "__import__('os').system('echo pwned')", "; ; ;", "[[1,2],[3]]", "1 2; 3",
           "/nonexistent/file.csv", "-", "²", "３", "١", "0.5", "-0", "0,0", "1,-1", "2x2", "1e-5", "+1", "0x10",
           "1_0", "None", "true", "all", "-1,1", "3,3,3"]
BIG = "9" * 10**6  # a number with a million digits
HUGE = [BIG, "-" + BIG, "1," + BIG, BIG + ",1", "1e" + BIG, "0." + BIG, "1/" + BIG, f"1x3x{BIG}x8", "[" * 10**5,
        "(" * 10**5, "1" + ",1" * 10**5, "x".join(["1"] * 10**5), "é" * 10**6, "\x00" * 10**5]


def commands() -> list[tuple[str, object]]:
    register_commands()
    root = typer.main.get_command(app)
    found = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            found += [(f"{name} {sub}", c) for sub, c in subs.items()]
        else:
            found.append((name, cmd))
    return found


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a fresh folder: a hostile --output or --export value may name a file that can be made."""
    monkeypatch.chdir(tmp_path)


def test_every_command_has_base_arguments() -> None:
    missing = [name for name, _ in commands() if name not in BASE]
    assert not missing, f"add base arguments for {missing} to BASE"


def _check(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings(record=True) as caught:  # a warning would be a second stderr line
        warnings.simplefilter("always")
        code = run(argv)
    out, err = capsys.readouterr()
    shown = [a if len(a) < 80 else a[:60] + f"…({len(a)} chars)" for a in argv]
    assert not caught, f"{shown!r} warned: {[str(w.message)[:100] for w in caught]}"
    assert code in (0, 1, 2), f"{shown!r} -> exit {code}: {err[-300:]}"
    assert "Traceback" not in err and "Traceback" not in out, shown
    if code == 2:
        assert err.strip(), f"{shown!r} exit 2 without a message"
        assert len(err.strip().splitlines()) == 1, f"{shown!r}: more than one line: {err[:300]!r}"
        assert len(err) < 2000, f"{shown!r}: a message of {len(err)} characters"


def _options(cmd: object) -> list[str]:
    flags = []
    for p in cmd.params:  # type: ignore[attr-defined]
        opts = [o for o in p.opts if o.startswith("--")]
        if opts and not getattr(p, "is_flag", False) and opts[0] != "--help":
            flags.append(opts[0])
    return flags


REGISTERED = sorted(name for name, _ in commands())


@pytest.mark.parametrize("name", REGISTERED)
def test_base_arguments_work(name: str, capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    code = run([*name.split(), *BASE[name], "--format", "json"])
    _, err = capsys.readouterr()
    assert code in (0, 1), err


@pytest.mark.parametrize("name", REGISTERED)
def test_hostile_values_for_every_option(name: str, capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    registered = dict(commands())
    for flag in _options(registered[name]):
        for value in HOSTILE:
            base = list(BASE[name])
            if flag in base:
                i = base.index(flag)
                base[i + 1] = value
            else:
                base += [flag, value]
            _check([*name.split(), *base], capsys)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=string.printable + "−½é∞\u200b", max_size=60),
       st.sampled_from(["--input", "--kernel", "--stride", "--padding", "--dilation", "--bias", "--answer"]))
def test_random_text_for_conv_options(capsys, text: str, flag: str) -> None:
    base = {"--input": M, "--kernel": "1 0; 0 1"}
    base[flag] = text
    argv = ["conv"] + [x for kv in base.items() for x in kv] + ["--format", "json"]
    _check(argv, capsys)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_binary_files(tmp_path_factory, capsys, data: bytes) -> None:
    path = tmp_path_factory.mktemp("bin") / "garbage.csv"
    path.write_bytes(data)
    _check(["conv", "--input", str(path), "--kernel", "1"], capsys)
    npy = path.with_suffix(".npy")
    npy.write_bytes(data)
    _check(["conv", "--input", str(npy), "--kernel", "1"], capsys)


def argv_with(name: str, flag: str, value: str) -> list[str]:
    """The command's base arguments with ``flag`` set to ``value``."""
    base = list(BASE[name])
    if flag in base:
        base[base.index(flag) + 1] = value
    else:
        base += [flag, value]
    return [*name.split(), *base]


@pytest.mark.parametrize("name", REGISTERED)
def test_huge_values_for_every_option(name: str, capsys, monkeypatch) -> None:
    """10⁶ digits, 10⁵ brackets and the like in every option (each refused or read at once)."""
    monkeypatch.setenv("NO_COLOR", "1")
    for flag in _options(dict(commands())[name]):
        for value in HUGE:
            _check(argv_with(name, flag, value), capsys)


def test_huge_and_hostile_positional_arguments(capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    for value in [*HOSTILE, *HUGE]:
        _check(["backprop", "expr", "--var", "W=1 2; 3 4", "--", value], capsys)
        _check(["solve", value], capsys)
        _check(["check", value], capsys)
        _check(["quiz", value, "--format", "json"], capsys)
        _check([value], capsys)
        _check(["backprop", value], capsys)


# Text that Hypothesis draws for any option: unicode, control characters, digits, brackets and the
# words numbers are refused with.
_ALPHABET = string.printable + "−½é∞\u200b\x00\x1b\u202e²３١" + "()[]{},;:=/*.-+_" + "\n\t"
_hostile_text = st.one_of(
    st.text(alphabet=_ALPHABET, max_size=60),
    st.text(max_size=20),  # any unicode at all
    st.sampled_from(["1/0", "nan", "-inf", "1e999", "0", "-1", "[[1,2],[3]]", "", "-", "2**99", "1 2; 3"]),
    st.from_regex(r"-?[0-9]{1,30}(,-?[0-9]{1,30}){0,4}", fullmatch=True),
)
OPTIONS = sorted((name, flag) for name, cmd in commands() for flag in _options(cmd))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(OPTIONS), _hostile_text, st.sampled_from(["text", "json", "markdown", "latex"]))
def test_random_text_for_every_option_of_every_command(capsys, monkeypatch, option: tuple[str, str], text: str,
                                                       fmt: str) -> None:
    # A drawn padding of 5000 is a legal 10⁸-cell output (~12 s as JSON under the default 4 GiB): the
    # smaller limit keeps what is allowed quick, and what is refused is refused the same way.
    monkeypatch.setenv("CONVCALC_MAX_BYTES", str(256 * 2**20))
    name, flag = option
    argv = argv_with(name, flag, text)
    _check(argv if flag == "--format" else [*argv, "--format", fmt], capsys)


def test_an_internal_error_is_one_line_with_a_hint_and_debug_shows_the_traceback(cli, monkeypatch) -> None:
    from convcalc.cli import conv

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line " + "x" * 10**5)

    monkeypatch.setattr(conv, "make_conv_spec", broken)
    monkeypatch.delenv("CONVCALC_DEBUG", raising=False)
    r = cli(*BASE_ARGV)
    assert r.code == 3 and len(r.err.splitlines()) == 1 and len(r.err) < 1000
    assert r.err.startswith("internal error: RuntimeError: boom second line") and "please report it" in r.err
    assert "CONVCALC_DEBUG=1" in r.err and "Traceback" not in r.err
    monkeypatch.setenv("CONVCALC_DEBUG", "1")
    r = cli(*BASE_ARGV)
    assert r.code == 3 and "Traceback (most recent call last)" in r.err and "RuntimeError: boom" in r.err


BASE_ARGV = ["conv", *BASE["conv"]]


def test_error_lines_are_one_line_and_short() -> None:
    from convcalc.cli import MAX_MESSAGE, error_line

    assert error_line("a\nb\x00\x1b[31m") == "a b\\x00\\x1b[31m"
    for message in ("error: " + "9" * 10**6 + " the end", "\x00" * 10**5, "é" * 601, "x" * MAX_MESSAGE):
        line = error_line(message)
        assert "\n" not in line and len(line) <= MAX_MESSAGE and line.isprintable()
    long = "error: " + "9" * 10**6 + " the end"
    assert error_line(long).startswith("error: 999") and error_line(long).endswith(" the end")
    assert f"({len(long)} characters in all)" in error_line(long)


@pytest.mark.parametrize("value", ["abc", "", " ", "nan", "0", "-5", "1e308", "1e9", "1,000", "0x10", "²"])
@pytest.mark.parametrize("var", ["CONVCALC_MAX_MACS", "CONVCALC_MAX_BYTES", "CONVCALC_THREADS"])
def test_hostile_limit_settings(var: str, value: str, capsys, monkeypatch) -> None:
    monkeypatch.setenv(var, value)
    for argv in (BASE_ARGV, ["pool", "--input", "1.5 2 3; 4 5 6; 7 8 9", "--kernel-size", "2"],
                 ["backprop", "conv", *BASE["backprop conv"]]):
        _check(argv, capsys)


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999", "9" * 400])
@pytest.mark.parametrize("var", ["CONVCALC_MAX_MACS", "CONVCALC_MAX_BYTES"])
def test_infinite_limit_settings(var: str, value: str, capsys, monkeypatch) -> None:
    monkeypatch.setenv(var, value)
    _check(BASE_ARGV, capsys)


class _Terminal(io.StringIO):
    """Standard input that says it is a terminal, so commands ask for what is missing."""

    def isatty(self) -> bool:
        return True


TYPED = ["", "q", "1", BIG, "1 2; 3 " + BIG, "[" * 10**5, "\x00", "é", "1/0", "nan", "-", "__import__('os')",
         "\x1b[31m", "?"]


@pytest.mark.parametrize("terminal", [True, False])
def test_hostile_text_typed_at_prompts(terminal: bool, capsys, monkeypatch) -> None:
    """Answers typed into the quiz and rows typed when a matrix is missing: prompts go to stderr,
    so only the last line must be the error."""
    monkeypatch.setenv("NO_COLOR", "1")
    kinds = ["conv", "pool", "output-size", "params", "receptive-field", "backprop", "transposed-conv", "dilated"]
    for i, typed in enumerate(TYPED):
        runs = [(["quiz", kinds[i % len(kinds)], "--seed", str(i), "--rounds", "2"], (typed + "\n") * 10)]
        if terminal:
            runs += [(["conv", "--kernel", "1"], f"{typed}\n{typed}\n\n"), (["pool", "--kernel-size", "1"], f"{typed}\n\n")]
        for argv, text in runs:
            monkeypatch.setattr(sys, "stdin", _Terminal(text) if terminal else io.StringIO(text))
            code = run(argv)
            out, err = capsys.readouterr()
            assert code in (0, 1, 2) and "Traceback" not in err + out, (argv, typed[:20], err[-300:])
            if code == 2:  # after the prompt "row 1: " (a real terminal echoes the typed line and its newline)
                assert re.search(r"(^|: )(error: |interrupted)", err.strip().splitlines()[-1]), (argv, err[-300:])


def test_hostile_output_paths(tmp_path, capsys, monkeypatch) -> None:
    """--output to a folder, a device, a name too long or with a NUL byte, where nothing can be made."""
    (tmp_path / "folder.npy").mkdir()
    targets = ["folder.npy", "folder.npy/", "/dev/full", "/dev/null.csv", "x" * 10**6 + ".csv", "x" * 300 + ".npy",
               "a\x00b.csv", "/proc/self/status.npy", "nowhere/x.csv", "x.xyz", ".npy", "X.NPY", "é.json", "-", "/",
               ".", ".."]
    for target in targets:
        for argv in (BASE_ARGV, ["conv", "--input", "1/3 2; 3 4", "--kernel", "1"],
                     ["backprop", "expr", "sum(W @ x)", "--var", "W=1 2; 3 4", "--var", "x=1; 2"]):
            _check([*argv, "--output", target], capsys)
    assert not list(tmp_path.glob(".*.tmp")), "a temporary file was left behind"


def test_hostile_global_options(tmp_path, capsys, monkeypatch) -> None:
    """--export FILE and --step anywhere, with hostile file names; --step without a terminal says so
    in one note line before the outcome."""
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "folder.svg").mkdir()
    targets = ["folder.svg", "x" * 10**6 + ".svg", "a\x00b.svg", "/proc/self/x.html", "nowhere/x.svg", ".svg", "é.htm",
               "x.png", "", "-", "--step"]
    commands_ = [BASE_ARGV, ["solve", BANK], ["quiz", "conv", "--seed", "1", "--rounds", "1"]]
    for target in targets:
        for argv in commands_:
            for line in (["--export", target, *argv], [*argv, f"--export={target}"], ["--step", "--export", target, *argv],
                         [*argv, "--export"], [*argv, "--step", "--step"], [*argv, "--step", "--format", "json"]):
                code = run(line)
                out, err = capsys.readouterr()
                assert code in (0, 1, 2) and "Traceback" not in out + err, (line[:4], err[-300:])
                lines = err.strip().splitlines()
                if code == 2:
                    assert lines and lines[-1].startswith("error:"), (line[:4], err[-300:])
                    assert all(x.startswith("note:") for x in lines[:-1]), (line[:4], err[-300:])
