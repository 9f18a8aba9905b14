"""--export FILE.svg|.html: the file is written whole, holds the result and the highlighted
window, leaves no temporary file, and collects every problem of a solve; bad names exit 2."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from rich.color import Color
from rich.style import Style

from convcalc.render.text import WINDOW

A = "1 2 3; 4 5 6; 7 8 9"
CONV = ["conv", "--input", A, "--kernel", "1 0; 0 1"]
ROOT = Path(__file__).resolve().parent.parent.parent


def window_hex(svg: bool = False) -> str:
    """The window's background colour as Rich exports it (its default theme for each format)."""
    from rich.terminal_theme import DEFAULT_TERMINAL_THEME, SVG_EXPORT_THEME

    bg = Style.parse(WINDOW).bgcolor
    assert isinstance(bg, Color)
    return bg.get_truecolor(SVG_EXPORT_THEME if svg else DEFAULT_TERMINAL_THEME).hex


def visible(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page)).replace("\xa0", " ")


def test_html_export_has_the_result_and_the_highlighted_window(cli, tmp_path: Path) -> None:
    target = tmp_path / "conv.html"
    r = cli(*CONV, "--export", str(target))
    assert r.code == 0 and "12 14" in r.out  # stdout as usual
    page = target.read_text()
    text = visible(page)
    assert "12 14" in text and "C[2,2]" in text and "1·5 + 0·6 + 0·8 + 1·9 = 14" in text
    assert f"background-color: {window_hex()}" in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv.html"]


def test_svg_export_is_written_whole(cli, tmp_path: Path) -> None:
    target = tmp_path / "conv.svg"
    r = cli(*CONV, "--export", str(target))
    assert r.code == 0
    svg = target.read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "14" in svg and window_hex(svg=True) in svg  # the window's background rectangles
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv.svg"]


def test_export_of_a_wrong_answer_keeps_exit_1_and_shows_the_check(cli, tmp_path: Path) -> None:
    target = tmp_path / "wrong.html"
    r = cli(*CONV, "--answer", "6 8; 12 13", f"--export={target}")
    assert r.code == 1
    assert "✗ 13 (14)" in visible(target.read_text())


def test_solve_exports_every_problem_into_one_file(cli, tmp_path: Path) -> None:
    target = tmp_path / "all.html"
    r = cli("solve", str(ROOT / "problems" / "nyu-dl-2020-hw2.toml"), "--export", str(target))
    assert r.code == 0
    text = visible(target.read_text())
    lines = [line.strip() for line in r.out.splitlines() if line.strip()]
    assert lines and all(line in text for line in lines)  # headers and every worked solution
    assert text.count("━━") == r.out.count("━━") > 2


@pytest.mark.parametrize("bad", ["out.txt", "out", "/nonexistent-folder/out.svg", "."])
def test_bad_export_name_is_one_line_exit_2(cli, tmp_path: Path, bad: str) -> None:
    r = cli(*CONV, "--export", bad)
    assert r.code == 2 and r.out == ""
    assert len(r.err.strip().splitlines()) == 1 and "--export" in r.err


def test_export_into_a_folder_is_refused(cli, tmp_path: Path) -> None:
    (tmp_path / "x.svg").mkdir()
    r = cli(*CONV, "--export", str(tmp_path / "x.svg"))
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1


@pytest.mark.parametrize("fmt", ["json", "markdown", "latex"])
def test_export_with_another_format_is_refused(cli, tmp_path: Path, fmt: str) -> None:
    r = cli(*CONV, "--format", fmt, "--export", str(tmp_path / "x.svg"))
    assert r.code == 2 and "text rendering" in r.err and len(r.err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_writes_no_file(cli, tmp_path: Path) -> None:
    r = cli("conv", "--input", "1 2; x", "--kernel", "1", "--export", str(tmp_path / "x.svg"))
    assert r.code == 2
    assert list(tmp_path.iterdir()) == []


def test_present_on_its_own_saves_the_file_it_is_given(tmp_path: Path) -> None:
    """Without a run's shared recorder (an embedding program), present records and saves itself."""
    import io

    from convcalc.derive.records import Heading, Note, Solution
    from convcalc.render import Format
    from convcalc.render.interactive import present

    out = io.StringIO()
    sol = Solution("demo", "Demo", {}, {}, iter([Heading("Given"), Note("forty-two")]))
    present(sol, Format.text, out, export=str(tmp_path / "demo.html"))
    assert "forty-two" in out.getvalue()
    assert "forty-two" in visible((tmp_path / "demo.html").read_text())
    assert [p.name for p in tmp_path.iterdir()] == ["demo.html"]
