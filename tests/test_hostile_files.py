"""Problem files, folders, streams and written files that cannot hurt the person who runs them
(issue 15, sections 1, 3 and 5): a problem file writes nothing and reads only inside its own
folder; only regular files are read, capped while reading; written files keep modes, survive
a killed run, and fail as one line. Every payload file is built here, in a temporary folder.
"""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT

P = '[[problem]]\nid = "p"\ncommand = "conv"\nkernel = "1"\n'
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}


def _one_line(r) -> None:  # type: ignore[no-untyped-def]
    assert r.code == 2 and r.out == "", (r.code, r.out[:200])
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, r.err


# --- 1. a problem file writes nothing --------------------------------------------------------

@pytest.mark.parametrize("key", ["output", "export", "figure", "save"])
@pytest.mark.parametrize("command", ["solve", "check"])
def test_a_problem_may_not_write(tmp_path: Path, cli, key: str, command: str) -> None:
    victim = tmp_path / "package.json"
    victim.write_text('{"keep": 1}\n')
    victim.chmod(0o644)
    f = tmp_path / "p.toml"
    f.write_text(P + f'input = "1 2; 3 4"\n{key} = "{victim}"\n')
    r = cli(command, str(f))
    assert r.code == 2 and f"key '{key}' is refused" in r.err and "may not write" in r.err
    assert victim.read_text() == '{"keep": 1}\n' and stat.S_IMODE(victim.stat().st_mode) == 0o644


# --- 1. a problem file reads only inside its folder ------------------------------------------

@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """tmp/secret.txt (outside), tmp/course/{a.txt, link.txt -> ../secret.txt, sub/}."""
    (tmp_path / "secret.txt").write_text("7 7; 7 7\n")
    course = tmp_path / "course"
    (course / "sub").mkdir(parents=True)
    (course / "a.txt").write_text("1 2; 3 4\n")
    (course / "link.txt").symlink_to(tmp_path / "secret.txt")
    (course / "net.txt").write_text("Conv2d(1, 1, 3)\n")
    return course


OUTSIDE = {
    "absolute input": 'input = "{secret}"\n',
    "dotdot input": 'input = "../secret.txt"\n',
    "symlink input": 'input = "link.txt"\n',
    "absolute kernel": 'input = "a.txt"\nkernel = "{secret}"\n',
    "absolute claim": 'input = "a.txt"\nclaimed = "{secret}"\n',
    "dotdot answer": 'input = "a.txt"\nanswer = "../secret.txt"\n',
    "etc passwd": 'input = "/etc/passwd"\n',
}


@pytest.mark.parametrize("case", list(OUTSIDE))
def test_a_problem_reads_nothing_outside_its_folder(layout: Path, cli, case: str) -> None:
    f = layout / "p.toml"
    f.write_text(P.replace('kernel = "1"\n', "") + OUTSIDE[case].format(secret=layout.parent / "secret.txt")
                 + ('kernel = "1"\n' if "kernel" not in OUTSIDE[case] else ""))
    r = cli("check", str(f))
    assert r.code == 2 and ("outside the problem file's folder" in r.err or "absolute path" in r.err), r.err
    assert "--allow-paths" in r.err and "7 7" not in r.out and "root:" not in r.out + r.err  # nothing shown


def test_net_and_var_files_are_confined_too(layout: Path, cli) -> None:
    f = layout / "p.toml"
    f.write_text('[[problem]]\nid = "n"\ncommand = "receptive-field"\nnet = "/etc/passwd"\ninput_shape = "1x1x8x8"\n'
                 '[[problem]]\nid = "v"\ncommand = "backprop expr"\nargs = "sum(W)"\nvar = ["W=../secret.txt"]\n')
    r = cli("check", str(f))
    assert r.code == 2 and r.err.count("--allow-paths") == 2 and "root:" not in r.out + r.err


def test_paths_resolve_against_the_problem_files_folder(layout: Path, cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # not the problem's folder
    f = layout / "p.toml"
    f.write_text(P + 'input = "a.txt"\nclaimed = "1 2; 3 4"\n'
                 '[[problem]]\nid = "n"\ncommand = "receptive-field"\nnet = "net.txt"\ninput_shape = "1x1x8x8"\n')
    r = cli("check", str(f), "--format", "json")
    assert r.code == 0, r.err
    # beside the bank's own files, a sub-folder's problem may not climb out to its parent
    g = layout / "sub" / "q.toml"
    g.write_text(P + 'input = "../a.txt"\n')
    assert cli("solve", str(g)).code == 2


def test_allow_paths_lets_a_problem_read_outside(layout: Path, cli) -> None:
    f = layout / "p.toml"
    f.write_text(P + 'input = "../secret.txt"\n')
    assert cli("solve", str(f)).code == 2
    r = cli("solve", str(f), "--allow-paths", "--format", "json")
    assert r.code == 0 and '"output": [[7, 7], [7, 7]]' in r.out.replace("\n", "")
    r = cli("check", str(f), "--allow-paths")
    assert r.code == 0, r.err


def test_command_line_paths_are_not_confined(layout: Path, cli) -> None:
    """Outside a problem file the user names what they like."""
    r = cli("conv", "--input", str(layout.parent / "secret.txt"), "--kernel", "1", "--format", "json")
    assert r.code == 0


# --- 3. only regular files, capped while reading ---------------------------------------------

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")


@needs_fifo
@needs_dev_zero
@pytest.mark.parametrize("command", ["solve", "check"])
def test_a_folder_scan_skips_fifos_and_devices(tmp_path: Path, cli, command: str) -> None:
    (tmp_path / "good.toml").write_text(P + 'input = "1 2; 3 4"\n')
    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    r = cli(command, str(tmp_path))
    assert r.code == 0, r.err
    assert "fifo.toml: skipped: not a regular file" in r.err and "zero.toml: skipped: not a regular file" in r.err


@needs_fifo
@needs_dev_zero
def test_a_named_fifo_or_device_is_refused_not_waited_on(tmp_path: Path, cli) -> None:
    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    for name in ("fifo.toml", "zero.toml"):
        r = cli("solve", str(tmp_path / name))
        assert r.code == 2 and "not a regular file" in r.err, r.err
    os.mkfifo(tmp_path / "m.csv")
    (tmp_path / "z.npy").symlink_to("/dev/zero")
    (tmp_path / "z.txt").symlink_to("/dev/zero")
    for name in ("m.csv", "z.npy", "z.txt"):
        _one_line(cli("conv", "--input", str(tmp_path / name), "--kernel", "1"))
    (tmp_path / "net").symlink_to("/dev/zero")
    _one_line(cli("receptive-field", "--net", str(tmp_path / "net"), "--input-shape", "1x1x8x8"))


@needs_fifo
def test_a_problem_value_naming_a_fifo_is_refused(tmp_path: Path, cli) -> None:
    os.mkfifo(tmp_path / "m.csv")
    f = tmp_path / "p.toml"
    f.write_text(P + 'input = "m.csv"\n')
    r = cli("check", str(f))
    assert r.code == 2 and "not a regular file" in r.err


def test_the_cap_is_counted_while_reading(tmp_path: Path, cli, monkeypatch) -> None:
    """The size a file claims is not trusted: the cap counts bytes read (a growing file, /proc)."""
    from convcalc import paths

    big = tmp_path / "big.txt"
    big.write_text("1 " * 5000)
    monkeypatch.setattr(os, "fstat", lambda fd: os.stat_result((stat.S_IFREG | 0o644, 0, 0, 1, 0, 0, 0, 0, 0, 0)))
    with pytest.raises(Exception, match="at most 100 bytes"):
        paths.read_bytes(big, 100, "x")


def test_quiz_reads_an_endless_line_with_a_cap(cli, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\0" * 300_000))
    r = cli("quiz", "conv", "--seed", "1", "--rounds", "1")
    assert r.code == 2 and "answer line of more than" in r.err


def test_quiz_with_endless_rows_stops(cli, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("1\n" * 5000))
    r = cli("quiz", "conv", "--seed", "1", "--rounds", "1")
    assert r.code == 2 and "more than 1000 rows" in r.err


def test_quiz_with_no_answers_is_one_line_and_no_header(cli, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    _one_line(cli("quiz", "conv", "--seed", "1"))


# --- 5. exit 2 is one line and nothing on stdout ---------------------------------------------

def test_step_note_does_not_come_with_an_error(cli, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    _one_line(cli("conv", "--input", "1 2; x", "--kernel", "1", "--step"))
    r = cli("conv", "--input", "1 2", "--kernel", "1", "--step")
    assert r.code == 0 and r.err.count("--step needs a terminal") == 1


def test_python2_npy_header_gives_no_warning(tmp_path: Path, capsys) -> None:
    import warnings

    from convcalc.cli import run

    buf = io.BytesIO()
    np.save(buf, np.arange(4).reshape(2, 2))
    data = buf.getvalue().replace(b"'descr': '<i8'", b"'descr': u'<i8'")
    (tmp_path / "py2.npy").write_bytes(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = run(["conv", "--input", str(tmp_path / "py2.npy"), "--kernel", "1", "--stride", "0"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and not caught


@pytest.mark.parametrize("value", ["١٢", "１２", "٣ 4", "1 ２", "𝟏𝟐"])
def test_only_ascii_digits_are_numbers(cli, value: str) -> None:
    _one_line(cli("conv", "--input", value, "--kernel", "1"))


@pytest.mark.parametrize(("flag", "value"), [("--stride", "١"), ("--padding", "１"), ("--steps", "３"),
                                             ("--dilation", "٢")])
def test_only_ascii_digits_in_settings(cli, flag: str, value: str) -> None:
    _one_line(cli("conv", "--input", "1 2; 3 4", "--kernel", "1", flag, value))


def test_ascii_digits_in_sizes(cli) -> None:
    _one_line(cli("output-size", "--input-size", "１２", "--kernel-size", "3"))


@pytest.mark.parametrize("argv", [["quiz", "conv", "--seed", "١", "--format", "json"],
                                  ["quiz", "conv", "--seed", "1", "--rounds", "２", "--format", "json"],
                                  ["conv", "--input", "1 2", "--kernel", "1", "--index", "０"]])
def test_ascii_digits_in_integer_options(cli, argv: list[str]) -> None:
    _one_line(cli(*argv))
    ascii_argv = [{"١": "1", "２": "2", "０": "0"}.get(a, a) for a in argv]
    assert cli(*ascii_argv).code == 0


@pytest.mark.parametrize("value", ["1e-400", "-2.5e-999", "0.1e-330"])
def test_an_underflow_is_said(cli, value: str) -> None:
    r = cli("conv", "--input", value, "--kernel", "1")
    _one_line(r)
    assert "underflows to 0" in r.err


def test_zero_written_small_is_still_zero(cli) -> None:
    assert cli("conv", "--input", "0e-400", "--kernel", "1", "--format", "json").code == 0


# --- 5. written files: modes, long names, stale temporary files, failures --------------------

def test_output_honours_the_umask_and_keeps_an_existing_mode(tmp_path: Path, cli) -> None:
    old = os.umask(0o027)
    try:
        target = tmp_path / "o.csv"
        assert cli("conv", "--input", "1 2", "--kernel", "1", "--output", str(target)).code == 0
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
        target.chmod(0o644)
        assert cli("conv", "--input", "1 2", "--kernel", "1", "--output", str(target)).code == 0
        assert stat.S_IMODE(target.stat().st_mode) == 0o644 and target.read_text() == "1,2\n"
        page = tmp_path / "x.html"
        assert cli("conv", "--input", "1 2", "--kernel", "1", "--export", str(page)).code == 0
        assert stat.S_IMODE(page.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_a_255_byte_name_can_be_written(tmp_path: Path, cli) -> None:
    for suffix, extra in ((".csv", ["--output"]), (".svg", ["--export"])):
        target = tmp_path / ("a" * (255 - len(suffix)) + suffix)
        r = cli("conv", "--input", "1 2", "--kernel", "1", *extra, str(target))
        assert r.code == 0 and target.exists(), r.err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_stale_temporary_files_of_dead_runs_are_removed(tmp_path: Path, cli) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".convcalc-{dead.pid}-abcdef.tmp"
    mine = tmp_path / f".convcalc-{os.getpid()}-abcdef.tmp"  # a live process's: kept
    other = tmp_path / ".something-else.tmp"
    for f in (stale, mine, other):
        f.write_text("half a file")
    r = cli("conv", "--input", "1 2", "--kernel", "1", "--output", str(tmp_path / "o.csv"))
    assert r.code == 0 and not stale.exists() and mine.exists() and other.exists()
    assert f"removed {stale}" in r.err and f"process {dead.pid}" in r.err


@pytest.mark.parametrize("flag,name", [("--output", "x.csv"), ("--export", "x.html"), ("--export", "x.svg")])
def test_a_folder_that_cannot_be_written_is_one_line(cli, flag: str, name: str) -> None:
    folder = "/proc" if Path("/proc/self").exists() else "/nonexistent-folder"
    _one_line(cli("conv", "--input", "1 2", "--kernel", "1", flag, f"{folder}/{name}"))


class _Full(io.RawIOBase):
    """A file on a full disk."""

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[no-untyped-def, override]
        raise OSError(28, "No space left on device")


def test_a_write_failing_midway_is_one_line_and_leaves_nothing(tmp_path: Path, cli, monkeypatch) -> None:
    from convcalc import atomic

    opened = atomic.AtomicFile.__init__

    def on_a_full_disk(self, target: str, where: str) -> None:  # type: ignore[no-untyped-def]
        opened(self, target, where)
        self.file.close()
        self.file = _Full()

    monkeypatch.setattr(atomic.AtomicFile, "__init__", on_a_full_disk)
    for flag, name in (("--export", "x.html"), ("--export", "x.svg"), ("--output", "x.csv")):
        r = cli("conv", "--input", "1 2", "--kernel", "1", flag, str(tmp_path / name))
        assert r.code == 2 and "No space left on device" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert list(tmp_path.iterdir()) == []


def test_no_space_on_standard_output_is_one_line(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "convcalc", "conv", "--input", "1 2; 3 4", "--kernel", "1",
                            "--steps", "all"], stdout=full, stderr=subprocess.PIPE, env=ENV, timeout=120)
    assert p.returncode == 2 and len(p.stderr.decode().strip().splitlines()) == 1, p.stderr


# --- 5. Ctrl-C and a closed pipe -------------------------------------------------------------

def test_ctrl_c_exits_130_says_interrupted_and_writes_no_page(tmp_path: Path, cli, monkeypatch) -> None:
    from convcalc.derive import conv

    real = conv.compute

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C delivers it, mid-run
        return real(*args, **kwargs)

    monkeypatch.setattr(conv, "compute", interrupted)
    for name in ("x.html", "x.svg"):
        r = cli("conv", "--input", "1 2", "--kernel", "1", "--export", str(tmp_path / name))
        assert r.code == 130 and r.err.strip() == "interrupted", r.err
    r = cli("solve", str(ROOT / "problems" / "nyu-dl-2020-hw2.toml"), "--export", str(tmp_path / "all.html"))
    assert r.code == 130 and r.err.strip().endswith("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_in_a_real_process(tmp_path: Path) -> None:
    """SIGINT mid-page: exit 130, "interrupted", no page and no temporary file."""
    grid = ";".join(" ".join(["1"] * 60) for _ in range(60))
    p = subprocess.Popen([sys.executable, "-m", "convcalc", "conv", "--input", grid, "--kernel", "1 0; 0 1",
                          "--steps", "all", "--export", str(tmp_path / "big.html")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert p.stdout is not None
    p.stdout.readline()  # it is rendering now
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    if p.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert p.returncode == 130 and err.decode().strip() == "interrupted"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("extra", [["--steps", "all"], ["--steps", "all", "--export", "{tmp}/x.html"],
                                   ["--padding", "60", "--format", "json"]])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, extra: list[str]) -> None:
    grid = ";".join(" ".join(["1"] * 60) for _ in range(60))
    argv = [sys.executable, "-m", "convcalc", "conv", "--input", grid, "--kernel", "1 0; 0 1",
            *(a.replace("{tmp}", str(tmp_path)) for a in extra)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert p.stdout is not None
    p.stdout.read(10)
    p.stdout.close()  # what `| head -c 10` does
    err = p.stderr.read() if p.stderr else b""
    p.wait(timeout=120)
    assert p.returncode in (-signal.SIGPIPE, 141, 0), (p.returncode, err)  # 0 if it all fit the pipe
    assert err == b"", err
    assert not (tmp_path / "x.html").exists() or p.returncode == 0
