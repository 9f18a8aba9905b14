"""The problem-bank format: every file loads, ids are unique, and TOML values become flags by
the documented rule (a list of strings repeats the flag, a list of numbers is one "a,b" value)."""

from __future__ import annotations

from pathlib import Path

import pytest

from convcalc.errors import ConvcalcError
from convcalc.problems import Problem, load, problem_files
from tests.conftest import ROOT

FILES = problem_files([str(ROOT / "problems")])


def _load_text(tmp_path: Path, text: str) -> list[Problem]:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return load(path)


def test_every_problem_file_loads() -> None:
    assert len(FILES) >= 4
    for f in FILES:
        problems = load(f)
        assert problems, f
        for p in problems:
            assert p.id and p.source and p.asks and p.command, (f, p.id)


def test_ids_are_unique_across_the_bank() -> None:
    seen: dict[str, str] = {}
    for f in FILES:
        for p in load(f):
            assert p.id not in seen, f"{p.id} in both {seen[p.id]} and {f.name}"
            seen[p.id] = f.name


def test_every_command_of_the_bank_exists(cli) -> None:
    for f in FILES:
        for command in {p.command for p in load(f)}:
            assert cli(*command.split(), "--help").code == 0, command


def test_list_of_strings_repeats_the_flag_and_list_of_numbers_is_one_value(tmp_path: Path) -> None:
    [p] = _load_text(tmp_path, '''
[[problem]]
id = "t"
command = "params"
layer = ["Conv2d(3, 8, 3)", "ReLU()"]
stride = [2, 1]
padding = 1
no_bias = true
exact_ops = false
''')
    assert p.argv("json") == ["params", "--layer", "Conv2d(3, 8, 3)", "--layer", "ReLU()", "--stride", "2,1",
                              "--padding", "1", "--no-bias", "--format", "json"]


def test_claimed_list_of_strings_is_repeated_answer_items(tmp_path: Path) -> None:
    [p, q, r] = _load_text(tmp_path, '''
[[problem]]
id = "list"
command = "backprop expr"
args = "sum((W @ x)**2)"
var = ["W=0.1 0.5; -0.3 0.8", "x=0.2; 0.4"]
claimed = ["f=0.116", "W=0.088 0.176; 0.104 0.208"]

[[problem]]
id = "number"
command = "output-size"
claimed = 28

[[problem]]
id = "numbers"
command = "output-size"
claimed = [3, 4]
answer = "3,4"
''')
    assert p.claimed == ["f=0.116", "W=0.088 0.176; 0.104 0.208"]
    assert p.argv("json", check=p.claimed) == [
        "backprop", "expr", "--var", "W=0.1 0.5; -0.3 0.8", "--var", "x=0.2; 0.4",
        "--answer", "f=0.116", "--answer", "W=0.088 0.176; 0.104 0.208", "--format", "json",
        "--", "sum((W @ x)**2)"]
    assert p.argv("text") == ["backprop", "expr", "--var", "W=0.1 0.5; -0.3 0.8", "--var", "x=0.2; 0.4",
                              "--format", "text", "--", "sum((W @ x)**2)"]
    assert q.claimed == "28" and q.argv("json", check=q.claimed)[-4:] == ["--answer", "28", "--format", "json"]
    assert r.claimed == "3,4" and r.answer == "3,4"
    # a single string check (what `convcalc check` passes for a one-item claim) is one --answer
    assert q.argv("json", check="x=1") == ["output-size", "--answer", "x=1", "--format", "json"]


def test_positional_args_go_last_after_a_double_dash(tmp_path: Path, cli) -> None:
    """An expression that starts with '-' is still the expression, not a flag."""
    [p] = _load_text(tmp_path, '[[problem]]\nid = "neg"\ncommand = "backprop expr"\nargs = "-x*x"\nvar = ["x=2"]\n')
    res = cli(*p.argv("json"))
    assert res.code == 0, res.err
    assert '"value": -4' in res.out


@pytest.mark.parametrize(("body", "key"), [
    ('layer = []', "layer"),
    ('layer = ["ReLU()", 2]', "layer"),
    ('stride = [true, 1]', "stride"),
    ('stride = [[1, 2]]', "stride"),
    ('input = {a = 1}', "input"),
    ('claimed = true', "claimed"),
    ('claimed = ["f=1", 2]', "claimed"),
    ('claimed = []', "claimed"),
    ('answer = {x = 1}', "answer"),
    ('args = 3', "args"),
    ('args = ["a", 1]', "args"),
])
def test_malformed_values_name_the_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(ConvcalcError) as e:
        _load_text(tmp_path, f'[[problem]]\nid = "bad"\ncommand = "params"\n{body}\n')
    assert repr(key) in str(e.value) and "bad" in str(e.value)


def test_missing_id_or_command_or_blank_command_is_refused(tmp_path: Path) -> None:
    for body in ('command = "conv"', 'id = "x"', 'id = "x"\ncommand = "  "'):
        with pytest.raises(ConvcalcError):
            _load_text(tmp_path, f"[[problem]]\n{body}\n")
