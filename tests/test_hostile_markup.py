"""User text is never markup and exported pages carry no script (issue 15, section 2).

Payloads go into every text field a user or a problem file controls — a problem's id, source,
asks, claim and answer, a comment inside a multi-line layer call, an expression, option
values echoed in errors — and through every command that renders them, as text and into
``--export`` pages. The pages are parsed (html.parser, xml.etree): no script element, no
``on…`` handler attribute, no ``javascript:`` anywhere in an attribute, no link at all
(convcalc makes none). In the terminal the payload is shown as typed, and ``[/]`` crashes
nothing.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

PAYLOADS = [
    "<script>alert(1)</script>",
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "[/]",
    "[link=javascript:alert(1)]x[/link]",
    "[bold red on white]loud[/]",
    '"><img src=x onerror=alert(1)>',
    "\x1b]8;;javascript:alert(1)\x1b\\click\x1b]8;;\x1b\\",
    "]]></text><script>alert(1)</script>",
]
IDS = ["script", "svg-onload", "javascript", "close-tag", "rich-link", "rich-style", "img-onerror", "osc8", "cdata"]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_harmless_html(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag not in ("script", "a", "iframe", "object", "embed", "img", "svg", "form", "base"), tag
        for name, value in attrs:
            assert not name.lower().startswith("on"), (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)


def assert_harmless_svg(picture: str) -> None:
    root = ET.fromstring(picture)  # well-formed XML, whatever the text held
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        assert tag not in ("script", "a", "foreignObject", "image", "use", "iframe"), tag
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1]
            assert not local.lower().startswith("on"), (tag, name)
            assert "javascript:" not in value.lower(), (tag, name, value)
            assert local != "href", (tag, name)


def _toml(s: str) -> str:
    return json.dumps(s)  # a JSON string is a TOML basic string


def problem_file(folder: Path, payload: str) -> Path:
    """Every text field of every kind of problem holds the payload."""
    t = _toml(payload)
    comment = payload.replace("\n", " ")
    text = f"""
[[problem]]
id = {t}
source = {t}
asks = {t}
command = "params"
layer = [\"\"\"Conv2d(3, 8, 3,  # {comment}
)\"\"\"]
input_shape = "1x3x8x8"
claimed = {t}

[[problem]]
id = {_toml(payload + " rf")}
source = {t}
command = "receptive-field"
layer = [\"\"\"Conv2d(3, 8, 3,  # {comment}
)\"\"\", "ReLU()  # {comment}"]
input_shape = "1x3x16x16"
answer = {t}

[[problem]]
id = {_toml(payload + " conv")}
source = {t}
command = "conv"
input = "1 2; 3 4"
kernel = "1"
claimed = {t}

[[problem]]
id = {_toml(payload + " bad")}
command = "conv"
input = {t}
kernel = "1"
stride = {t}

[[problem]]
id = {_toml(payload + " expr")}
command = "backprop expr"
args = {t}
var = ["W=1 2; 3 4"]
"""
    path = folder / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _ran(r) -> None:  # type: ignore[no-untyped-def]
    assert r.code in (0, 1, 2), (r.code, r.err[-300:])
    assert "internal error" not in r.err and "MarkupError" not in r.err + r.out and "Traceback" not in r.err


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("command", ["solve", "check"])
def test_problem_file_payloads_make_harmless_pages(tmp_path: Path, cli, command: str, payload: str) -> None:
    f = problem_file(tmp_path, payload)
    for page in ("x.html", "x.svg"):
        r = cli(command, str(f), "--export", str(tmp_path / page))
        _ran(r)
        content = (tmp_path / page).read_text(encoding="utf-8")
        (assert_harmless_svg if page.endswith(".svg") else assert_harmless_html)(content)


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
@pytest.mark.parametrize("command", ["solve", "check"])
def test_problem_file_payloads_in_every_format(tmp_path: Path, cli, command: str, fmt: str, payload: str) -> None:
    r = cli(command, str(problem_file(tmp_path, payload)), "--format", fmt)
    _ran(r)
    if fmt == "json":
        json.loads(r.out)
    if fmt == "markdown":  # Markdown passes HTML through: none of the user's may be in it
        assert not any(tag in r.out.lower() for tag in ("<script", "<svg", "<img")), r.out


@pytest.mark.parametrize("payload", ["[/]", "[link=javascript:alert(1)]x[/link]", "[red]x[/red]"])
def test_markup_is_shown_as_typed(tmp_path: Path, cli, payload: str) -> None:
    r = cli("solve", str(problem_file(tmp_path, payload)))
    assert f"━━ {payload} — {payload} ━━" in r.out  # the header: id and source as typed
    r = cli("params", "--layer", f"Conv2d(3, 8, 3,  # {payload}\n)", "--input-shape", "1x3x8x8")
    assert r.code == 0 and payload in r.out, r.out


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("command", ["params", "receptive-field"])
def test_layer_comments_never_markup(tmp_path: Path, cli, command: str, payload: str) -> None:
    layer = f"Conv2d(3, 8, 3,  # {payload}\n)"
    for page in ("x.html", "x.svg"):
        r = cli(command, "--layer", layer, "--layer", f"ReLU()  # {payload}", "--input-shape", "1x3x16x16",
                "--export", str(tmp_path / page))
        assert r.code == 0, r.err
        content = (tmp_path / page).read_text(encoding="utf-8")
        (assert_harmless_svg if page.endswith(".svg") else assert_harmless_html)(content)
    assert cli(command, "--layer", layer, "--input-shape", "1x3x16x16", "--answer", payload).code in (1, 2)


def _answering() -> dict[str, list[str]]:
    """Every command that takes --answer, with its base arguments (the hostile battery's)."""
    from tests.test_hostile_inputs import BASE, commands

    return {name: BASE[name] for name, cmd in commands()
            if any("--answer" in p.opts for p in cmd.params) and name not in ("solve", "check")}  # type: ignore[attr-defined]


COMMANDS = _answering()


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_typed_values_never_markup(tmp_path: Path, cli, command: str, payload: str) -> None:
    """A wrong answer is shown back as typed; a bad value is named in one stderr line."""
    page = tmp_path / "x.html"
    r = cli(*command.split(), *COMMANDS[command], "--answer", payload, "--export", str(page))
    _ran(r)
    if page.exists():
        assert_harmless_html(page.read_text(encoding="utf-8"))
    r = cli(*command.split(), *COMMANDS[command], "--answer", payload)
    _ran(r)


@pytest.mark.parametrize("fmt", ["text", "markdown"])
@pytest.mark.parametrize("command", ["solve", "check"])
def test_control_characters_never_reach_the_terminal(tmp_path: Path, cli, command: str, fmt: str) -> None:
    """An ESC in a problem's id or a layer's comment is shown as \\x1b, not obeyed (colour, title)."""
    payload = "\x1b[31mred\x1b]0;owned\x07\x9b2J"
    t = _toml(payload)
    f = tmp_path / "c.toml"
    f.write_text(f'[[problem]]\nid = {t}\nsource = {t}\nasks = {t}\ncommand = "params"\n'
                 f'layer = [{_toml("Conv2d(3, 8, 3)  # " + payload)}]\ninput_shape = "1x3x8x8"\nclaimed = {t}\n')
    r = cli(command, str(f), "--format", fmt)
    _ran(r)
    assert "\x1b" not in r.out and "\x07" not in r.out and "\x9b" not in r.out
    assert "\\x1b[31mred" in r.out
    r = cli("params", "--layer", f"Conv2d(3, 8, 3,  # {payload}\n)", "--input-shape", "1x3x8x8")
    assert r.code == 0 and "\x1b" not in r.out and "\\x1b" in r.out
