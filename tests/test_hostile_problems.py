"""Hostile problem files for ``solve`` and ``check`` (issue 7; the format is problems/README.md).

Binary and non-UTF-8 files, wrong types for every field, 10⁶-digit numbers, nesting 10⁵
deep (arrays, inline tables, dotted keys), a thousand problems, unknown commands, a problem
that solves or checks its own file. Each run ends as ``_check`` demands.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_hostile_inputs import _check


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a fresh folder: a hostile value may name a file that can be made."""
    monkeypatch.chdir(tmp_path)


BIG = "9" * 10**6
P = '[[problem]]\nid = "p"\ncommand = "conv"\ninput = "1 2; 3 4"\nkernel = "1"\n'
EXPR = '[[problem]]\nid = "e"\ncommand = "backprop expr"\nvar = ["W=1 2; 3 4"]\n'
NET = '[[problem]]\nid = "n"\ncommand = "params"\ninput_shape = "1x3x8x8"\n'


def _cases(folder: Path) -> dict[str, str | bytes]:
    """File name -> content. ``{self}`` is the file's own path."""
    return {
        # not TOML, or no problems
        "empty": "", "binary": bytes(range(256)) * 40, "latin1": "id = 'caf\xe9'".encode("latin-1"),
        "nul": "\x00\x00", "bom": "\ufeff" + P, "no_problem": "a = 1\n", "problem_string": 'problem = "x"\n',
        "problem_ints": "problem = [1, 2]\n", "problem_table": "[problem]\nid = 'a'\ncommand = 'conv'\n",
        "empty_table": "[[problem]]\n", "problems_empty_list": "problem = []\n",
        # wrong types for every field
        "id_int": '[[problem]]\nid = 1\ncommand = "conv"\n', "id_list": '[[problem]]\nid = ["a"]\ncommand = "conv"\n',
        "id_empty": '[[problem]]\nid = " "\ncommand = "conv"\n',
        "command_list": '[[problem]]\nid = "a"\ncommand = ["conv"]\n',
        "command_int": '[[problem]]\nid = "a"\ncommand = 7\n',
        "command_bool": '[[problem]]\nid = "a"\ncommand = true\n',
        "source_table": P + "source = {a = 1}\n", "asks_list": P + "asks = [1, 2]\n",
        "args_int": P + "args = 3\n", "args_ints": P + "args = [1, 2]\n", "args_table": P + "args = {a = 1}\n",
        "claimed_table": P + "claimed = {a = 1}\n", "claimed_nested": P + "claimed = [[1, 2], [3, 4]]\n",
        "claimed_mixed": P + 'claimed = [1, "a"]\n', "claimed_empty": P + "claimed = []\n",
        "claimed_bool": P + "claimed = true\n",
        "answer_nan": P + "answer = nan\n", "answer_inf": P + "answer = -inf\n",
        "answer_date": P + "answer = 1979-05-27\n",
        "stride_float": P + "stride = 1.5\n", "stride_nan": P + "stride = nan\n", "stride_inf": P + "stride = inf\n",
        "stride_min": P + "stride = -9223372036854775808\n", "stride_zero": P + "stride = 0\n",
        "stride_date": P + "stride = 07:32:00\n",
        "stride_table": P + "stride = {a = 1}\n", "stride_nested": P + "stride = [[1, 2], [3]]\n",
        "stride_mixed": P + 'stride = [1, "a"]\n', "stride_empty": P + "stride = []\n",
        "stride_true": P + "stride = true\n",
        "stride_false": P + "stride = false\n", "flip_string": P + 'flip = "yes"\n', "flip_int": P + "flip = 1\n",
        "input_int": P.replace('"1 2; 3 4"', "5"), "input_list": P.replace('"1 2; 3 4"', "[1, 2, 3]"),
        "input_strings": P.replace('"1 2; 3 4"', '["1 2", "3 4"]'), "input_bool": P.replace('"1 2; 3 4"', "true"),
        "input_multiline": P.replace('"1 2; 3 4"', '"""\n1 2\n3 4\n"""'),
        # commands
        "command_unknown": '[[problem]]\nid = "a"\ncommand = "frobnicate"\n',
        "command_shell": '[[problem]]\nid = "a"\ncommand = "rm -rf /"\n',
        "command_flag": '[[problem]]\nid = "a"\ncommand = "--help"\n',
        "command_flags_after": '[[problem]]\nid = "a"\ncommand = "conv --output /tmp/x.csv"\n',
        "command_group": '[[problem]]\nid = "a"\ncommand = "backprop"\n',
        "command_three": '[[problem]]\nid = "a"\ncommand = "backprop conv conv"\n',
        "command_unicode": '[[problem]]\nid = "a"\ncommand = "cönv"\n',
        "command_quiz": '[[problem]]\nid = "a"\ncommand = "quiz"\nrounds = 3\n',
        "solves_itself": '[[problem]]\nid = "a"\ncommand = "solve"\nargs = "{self}"\n',
        "checks_itself": '[[problem]]\nid = "a"\ncommand = "check"\nargs = ["{self}"]\n',
        "solves_the_bank": '[[problem]]\nid = "a"\ncommand = "solve"\nargs = "problems"\n',
        # keys
        "unknown_option": P + "frobnicate = 3\n", "option_with_dashes": P + '"--stride" = 2\n',
        "option_with_spaces": P + '"stride 2 --flip" = 2\n', "option_unicode": P + '"é∑" = 1\n',
        "option_empty": P + '"" = 1\n', "option_newline": P + '"a\\nb" = 1\n', "option_help": P + "help = true\n",
        "duplicate_key": P + 'input = "1"\n', "duplicate_ids": P + P,
        "many_keys": P + "".join(f"k{i} = {i}\n" for i in range(20_000)),
        "id_control": P.replace('id = "p"', 'id = "p\\nq\\u0000\\u001b[31m"') + "stride = 0\n",
        "args_dashdash": EXPR + 'args = ["--", "--help"]\n', "args_flag": EXPR + 'args = ["--format", "json"]\n',
        # 10⁶ digits
        "big_int": P + "stride = " + BIG + "\n", "big_float": P + "stride = 1e999999\n",
        "big_string": P + f'stride = "{BIG}"\n',
        "big_input": P.replace("1 2; 3 4", BIG), "big_claim": P + f'claimed = "{BIG}"\n',
        "big_answer": P + f'answer = "1 {BIG}"\n',
        "big_args": EXPR + f'args = "{BIG}"\n', "big_expr_number": EXPR + f'args = "sum(W) * {BIG}"\n',
        "big_layer": NET + f'layer = ["Conv2d(3, 8, {BIG})"]\n',
        "big_shape": NET.replace("1x3x8x8", f"1x3x{BIG}x8") + 'layer = ["ReLU()"]\n',
        "big_id": P.replace('id = "p"', f'id = "{"x" * 10**6}"') + "stride = 0\n",
        "big_key": P + "a" * 10**6 + " = 1\n",
        # nesting
        "deep_array": P + "stride = " + "[" * 10**5 + "]" * 10**5 + "\n",
        "deep_inline_table": P + "stride = " + "{a = " * 10**4 + "1" + "}" * 10**4 + "\n",
        "deep_dotted_key": P + "a" + ".a" * 10**5 + " = 1\n",
        "deep_table_header": "[" + "a." * 10**5 + "a]\nx = 1\n" + P,
        "deep_array_of_tables": "[[" + "problem." * 10**4 + "x]]\n",
        "deep_inline_dotted": P + "x = {" + "a." * 10**5 + "a = 1}\n",
        "deep_claim": P + 'claimed = "' + "[" * 10**5 + '"\n',
        "deep_input": P.replace("1 2; 3 4", "[" * 10**5 + "1" + "]" * 10**5),
        "unclosed_string": P + 'x = """' + "a." * 10**5 + "\n",
        # size
        "many_problems": P * 1500,
        "huge_file": P + "# " + "x" * (5 * 2**20) + "\n",
        "long_line": P + 'names = "' + "x" * 10**6 + '"\n',
        # nothing is run
        "layer_import": NET + "layer = [\"__import__('os').system('touch {pwned}')\"]\n",
        "expr_import": EXPR + "args = \"__import__('os').system('touch {pwned}')\"\n",
        "net_file": '[[problem]]\nid = "a"\ncommand = "receptive-field"\nnet = "/etc/passwd"\n',
        "var_file": EXPR + 'args = "sum(W)"\nvar = ["W=/etc/passwd"]\n',
        "output_elsewhere": P + f'output = "{folder}/written.csv"\n',
        # nothing is written, nothing outside the file's folder is read (issue 15)
        "export_key": P + f'export = "{folder}/page.html"\n', "figure_key": P + f'figure = "{folder}/f.svg"\n',
        "input_absolute": P.replace('"1 2; 3 4"', '"/etc/hostname"'),
        "input_dotdot": P.replace('"1 2; 3 4"', '"../../../../etc/hostname"'),
        "claimed_absolute": P + 'claimed = "/etc/hostname"\n', "answer_dotdot": P + 'answer = "../x.csv"\n',
    }  # fmt: skip


@pytest.fixture(scope="module")
def problem_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    folder = tmp_path_factory.mktemp("problems")
    pwned = folder / "pwned"
    paths = []
    for name, content in _cases(folder).items():
        path = folder / f"{name}.toml"
        if isinstance(content, str):
            path.write_text(content.replace("{self}", str(path)).replace("{pwned}", str(pwned)), encoding="utf-8")
        else:
            path.write_bytes(content)
        paths.append(path)
    return paths, pwned


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
@pytest.mark.parametrize("command", ["solve", "check"])
def test_hostile_problem_files(command: str, fmt: str, problem_files, capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    paths, pwned = problem_files
    for path in paths:
        _check([command, str(path), "--format", fmt], capsys)
    assert not pwned.exists(), "a layer spec or expression in a problem file was run"
    assert not (paths[0].parent / "written.csv").exists() and not (paths[0].parent / "page.html").exists()


def test_problem_file_refusals_name_the_reason(problem_files, cli) -> None:
    by_name = {p.stem: p for p in problem_files[0]}
    expected = {
        "solves_itself": "cannot be solve", "checks_itself": "cannot be check", "command_quiz": "cannot be quiz",
        "command_shell": "must name a command", "command_flag": "must name a command",
        "command_flags_after": "must name a command", "big_int": "not a valid TOML", "deep_array": "nested too deeply",
        "deep_dotted_key": "dotted parts", "deep_table_header": "dotted parts", "many_problems": "at most 1000",
        "huge_file": "at most", "binary": "not UTF-8", "stride_date": "must be a string, number",
        "output_elsewhere": "may not write", "export_key": "may not write", "figure_key": "may not write",
        "net_file": "absolute path", "input_absolute": "absolute path",
        "input_dotdot": "outside the problem file's folder", "claimed_absolute": "absolute path",
    }  # fmt: skip
    for name, words in expected.items():
        r = cli("check", str(by_name[name]))
        assert r.code == 2 and words in r.err, (name, r.err)


def test_a_folder_of_hostile_files_gives_one_line_per_file(problem_files, cli) -> None:
    folder = problem_files[0][0].parent
    for command in ("solve", "check"):
        r = cli(command, str(folder))
        assert r.code == 2 and "Traceback" not in r.err
        assert all(line.startswith("error: ") for line in r.err.splitlines()), r.err[:500]


def test_solve_json_says_on_stderr_which_problem_failed(problem_files, cli) -> None:
    by_name = {p.stem: p for p in problem_files[0]}
    r = cli("solve", str(by_name["stride_zero"]), "--format", "json")
    assert r.code == 2 and json.loads(r.out)["problems"][0]["error"]
    assert r.err.startswith(f"error: {by_name['stride_zero']}: problem p: --stride")


def test_solve_reports_an_internal_error_inside_as_its_own(tmp_path: Path, cli, monkeypatch) -> None:
    """An exit status 3 of a problem's run is not swallowed into solve's 0."""
    from convcalc.cli import conv

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(conv, "make_conv_spec", broken)
    path = tmp_path / "p.toml"
    path.write_text(P)
    for fmt in ("text", "json"):
        r = cli("solve", str(path), "--format", fmt)
        assert r.code == 3 and "internal error: RuntimeError: boom" in r.err, (fmt, r.err)


# --- generated problem tables -------------------------------------------------------------------

_KEYS = ["id", "source", "asks", "command", "args", "claimed", "answer", "input", "kernel", "stride", "padding",
         "dilation", "groups", "flip", "bias", "dim", "layer", "net", "input_shape", "var", "kernel_size", "mode",
         "output", "steps", "cell", "index", "names", "in_channels", "x", "help", "format", "-", ""]
_text = st.text(alphabet=string.printable + "é∑½\u200b\x00", max_size=30)
_scalar = st.one_of(_text, st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.sampled_from(["1 2; 3 4", "conv", "backprop conv", "Conv2d(3, 8, 3)", "1/0"]))
_value = st.one_of(_scalar, st.lists(_scalar, max_size=4), st.lists(st.lists(st.integers(), max_size=3), max_size=3))


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value > 0 else "-inf") if abs(value) == float("inf") else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "[" + ", ".join(_toml(v) for v in value) + "]"  # type: ignore[attr-defined]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(_KEYS), _value, max_size=8),
       st.sampled_from(["conv", "pool", "params", "receptive-field", "backprop expr", "backprop conv", "output-size"]),
       st.sampled_from(["solve", "check"]))
def test_generated_problem_tables(tmp_path_factory, capsys, table: dict, command: str, runner: str) -> None:
    fields = {"id": "g", "command": command, **table}
    text = "[[problem]]\n" + "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in fields.items())
    path = tmp_path_factory.mktemp("gen") / "p.toml"
    path.write_text(text, encoding="utf-8")
    _check([runner, str(path), "--format", "json"], capsys)
