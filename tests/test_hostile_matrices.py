"""Hostile matrices in every input form, for every matrix option of every command (issue 7).

Numbers with 10⁶ digits, 10⁵ nested brackets, ragged and empty matrices, a 50 MB line,
.npy files that are empty, of object dtype, 5-D or with a lying header, and standard input —
inline, as .csv/.txt/.json files and through ``-``. Each run ends as ``_check`` demands:
exit 0, 1 or 2, one line on stderr when 2, no traceback, in under 10 s.
"""

from __future__ import annotations

import io
import json
import string
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_hostile_inputs import BASE, _check, _options, argv_with, commands


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a fresh folder: a hostile value may name a file that can be made."""
    monkeypatch.chdir(tmp_path)


BIG = "9" * 10**6  # a number with a million digits
DEEP = "[" * 10**5 + "1" + "]" * 10**5

# Matrix text that must be refused (or read) at once, whatever form it comes in.
HOSTILE_MATRICES = [
    # 10⁶ digits
    BIG, "-" + BIG, "1 2; 3 " + BIG, "1/" + BIG, BIG + "/7", "0." + BIG, "1e" + BIG, "[" + BIG + "]", f"[[1, {BIG}]]",
    # deep nesting and brackets
    DEEP, "[" * 10**5, "]" * 10**5, "[" * 9 + "1" + "]" * 9, "[[1]]]", "[1][2]", "[" + "1," * 20_000 + "1]",
    # ragged
    "1 2; 3", "1 2\n3\n", "1 2\n3 4\n\n5 6 7\n8 9 10", "1 2\n3 4\n\n5 6", "[[1,2],[3]]", "[[1],[2,3]]", "[1,[2]]",
    "[[1,2],3]", "[[[1]],[2]]", "[[1 2] [3]]",
    # empty
    "", " ", ";", ";;", "[]", "[[]]", "[[],[]]", "[[1],[]]", "#", "# a comment only", "\n\n\n", ",", "[,]", "[1,,2]",
    "\t", "\r\n",
    # not numbers
    "1/0", "0/0", "-1/0", "nan", "[NaN]", "Infinity", "-inf", "1e999", "1e-999", "1e308 1e308; 1e308 1e308",
    "１ ２", "١ ٢", "½", "1\u200b2", "\x00", "1\x002", "é∑≈", "1_000", "0x1F", "1j", "True", "None", "null", '["1"]',
    "{}", '{"a": [1]}', "1 2; 3 4 #", "--1", "+-1", "1..2", "1/2/3", "1e", ".", "-", "/", "1 2\x0c3 4",
    "__import__('os').system('touch pwned')",
]  # fmt: skip

# Matrices that read fine but are odd in shape or size: each command must cope or refuse.
ODD_ARRAYS = {
    "5d": np.ones((1, 1, 1, 2, 2), dtype=np.int64),
    "6d": np.ones((1, 1, 1, 1, 2, 2)),
    "scalar": np.array(3),
    "one": np.array([1]),
    "row": np.array([[1, 2, 3]]),
    "tall": np.arange(40).reshape(40, 1),
    "bool": np.array([[True, False], [False, True]]),
    "uint64max": np.array([[2**64 - 1, 1], [1, 1]], dtype=np.uint64),
    "int64min": np.array([[np.iinfo(np.int64).min, 1], [1, 1]], dtype=np.int64),
    "huge_float": np.array([[1e308, -1e308], [1e308, 1e308]]),
    "denormal": np.array([[5e-324, 0.0], [-0.0, 1.0]]),
    "fortran_bigendian": np.asfortranarray(np.arange(6, dtype=">i4").reshape(2, 3)),
}
ODD_TEXTS = ["99999999999999999999 1; 1 1", "1/3 2/3; -2/5 7", "-0.0 0; 0 0", "1e-320 1; 1 1", "[[[[[[[[1]]]]]]]]",
             "[[[[1, 2], [3, 4]]]]", "5", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"]


def matrix_flags() -> list[tuple[str, str]]:
    """(command, flag) for every option that takes a matrix, discovered from the app."""
    names = {"--input", "--kernel", "--bias", "--grad-output"}
    out = []
    for name, cmd in commands():
        flags = _options(cmd)
        if "--input" in flags:  # a matrix command: its --answer is a matrix too
            out += [(name, f) for f in flags if f in names or f == "--answer"]
    return sorted(out)


MATRIX_FLAGS = matrix_flags()


def test_matrix_options_are_found() -> None:
    assert ("conv", "--kernel") in MATRIX_FLAGS and ("backprop pool", "--grad-output") in MATRIX_FLAGS
    assert {name for name, _ in MATRIX_FLAGS} >= {"conv", "dilated", "transposed-conv", "pool", "resample",
                                                   "backprop conv", "backprop pool", "backprop transposed-conv"}


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


# --- every hostile text, inline, for every matrix option -----------------------------------------


@pytest.mark.parametrize(("name", "flag"), MATRIX_FLAGS)
def test_hostile_matrix_text_inline(name: str, flag: str, capsys) -> None:
    for text in HOSTILE_MATRICES:
        _check(argv_with(name, flag, text), capsys)


@pytest.mark.parametrize("option", ["--var", "--answer"])
def test_hostile_matrix_text_in_backprop_expr(option: str, capsys) -> None:
    base = BASE["backprop expr"]
    for text in HOSTILE_MATRICES:
        if option == "--var":
            _check(["backprop", "expr", base[0], "--var", f"W={text}", "--var", "x=1; 2"], capsys)
            _check(["backprop", "expr", base[0], "--var", "W=1 2; 3 4", "--var", f"x={text}"], capsys)
        else:
            _check(["backprop", "expr", *base, "--answer", f"W={text}"], capsys)


# --- the same texts as files and on standard input ---------------------------------------------


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("hostile")
    files = []
    for i, text in enumerate(HOSTILE_MATRICES):
        for suffix in (".csv", ".txt", ".json"):
            path = folder / f"m{i}{suffix}"
            path.write_text(text, encoding="utf-8")
            files.append(path)
    return files


@pytest.mark.parametrize("name", ["conv", "backprop transposed-conv", "backprop pool"])
def test_hostile_matrix_files(name: str, hostile_files: list[Path], capsys) -> None:
    for path in hostile_files:
        _check(argv_with(name, "--input", str(path)), capsys)


def test_hostile_matrix_files_for_every_option(hostile_files: list[Path], capsys) -> None:
    big = [p for p in hostile_files if p.stat().st_size > 10**5 or p.suffix == ".json"]
    for name, flag in MATRIX_FLAGS:
        for path in big[:: max(1, len(big) // 12)]:
            _check(argv_with(name, flag, str(path)), capsys)
    for path in big:
        _check(["backprop", "expr", "sum(W @ x)", "--var", f"W={path}", "--var", "x=1; 2"], capsys)


@pytest.mark.parametrize(("name", "flag"), [("conv", "--input"), ("conv", "--kernel"), ("pool", "--input"),
                                            ("backprop conv", "--grad-output"), ("resample", "--input")])
def test_hostile_matrix_on_stdin(name: str, flag: str, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    for text in HOSTILE_MATRICES:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        _check(argv_with(name, flag, "-"), capsys)


def test_stdin_that_is_not_text(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    for data in (b"\xff\xfe\x00garbage", b"\x80" * 1000, bytes(range(256))):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
        _check(["conv", "--input", "-", "--kernel", "1"], capsys)
    monkeypatch.setattr(sys, "stdin", None)
    _check(["conv", "--input", "-", "--kernel", "1"], capsys)


def test_two_options_read_stdin(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("1 2; 3 4"))
    _check(["conv", "--input", "-", "--kernel", "-"], capsys)
    monkeypatch.setattr(sys, "stdin", io.StringIO("1 2; 3 4"))
    _check(["backprop", "expr", "sum(W @ x)", "--var", "W=-", "--var", "x=-"], capsys)


# --- huge files: refused after reading at most what the limit allows ----------------------------


@pytest.fixture(scope="module")
def huge_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("huge")
    contents = {
        "numbers.csv": "1 " * (25 * 10**6),  # a 50 MB line of 25 million numbers
        "digits.txt": "9" * (50 * 10**6),  # one number of 50 million digits
        "rows.csv": ("1 " * 5000 + "\n") * 5000,
        "list.json": "[" + "1," * (20 * 10**6) + "1]",
        "brackets.json": "[" * (25 * 10**6) + "]" * (25 * 10**6),
        "commas.json": "[1" + "," * (50 * 10**6) + "]",
        "blank.csv": "\n" * (50 * 10**6),
        "too_big.csv": "1 " * (33 * 2**20),  # past the 64 MiB a text file may have
    }
    paths = []
    for name, text in contents.items():
        path = folder / name
        path.write_text(text)
        paths.append(path)
    return paths


def test_huge_files(huge_files: list[Path], capsys) -> None:
    for path in huge_files:
        _check(["conv", "--input", str(path), "--kernel", "1"], capsys)


def test_huge_stdin(huge_files: list[Path], capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    for path in huge_files[:2] + huge_files[-1:]:
        with path.open(encoding="utf-8") as f:
            monkeypatch.setattr(sys, "stdin", f)
            _check(["conv", "--input", "-", "--kernel", "1"], capsys)


def test_stdin_past_the_limit_is_refused_not_cut_off(huge_files: list[Path], cli, monkeypatch) -> None:
    with huge_files[-1].open(encoding="utf-8") as f:
        monkeypatch.setattr(sys, "stdin", f)
        r = cli("conv", "--input", "-", "--kernel", "1")
    assert r.code == 2 and "larger than 64 MiB" in r.err


def test_many_numbers_are_refused_before_they_are_parsed(huge_files: list[Path], cli) -> None:
    r = cli("conv", "--input", str(huge_files[0]), "--kernel", "1")
    assert r.code == 2 and "more than 1000000 numbers" in r.err and "numbers.csv)" in r.err


# --- .npy files -----------------------------------------------------------------------------------


def _npy_with_header(path: Path, header: bytes, data: bytes) -> Path:
    """A version-1.0 .npy file with this header text (whatever it says) before ``data``."""
    header = header.rstrip(b"\n") + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data)
    return path


def _npy_cases(folder: Path) -> list[Path]:
    arrays = {
        "empty1": np.zeros((0,)), "empty2": np.zeros((3, 0), dtype=np.int64), "empty00": np.zeros((0, 0)),
        "object": np.array([1, "a", None], dtype=object), "strings": np.array(["1", "2"]),
        "complex": np.array([[1 + 2j]]), "structured": np.zeros(2, dtype=[("a", "i4"), ("b", "f8")]),
        "datetime": np.array(["2020-01-01"], dtype="datetime64[D]"), "f16nan": np.array([np.nan], dtype=np.float16),
        "inf": np.array([[np.inf, 1.0]]), "longdouble_big": np.array([np.longdouble("1e4000")]),
        "void": np.zeros(2, dtype="V4"), "subarray": np.zeros(2, dtype=("i4", (2,))),
    }  # fmt: skip
    paths = []
    for name, a in arrays.items():
        path = folder / f"{name}.npy"
        np.save(path, a, allow_pickle=True)
        paths.append(path)
    good = folder / "good.npy"
    np.save(good, np.ones((2, 2)))
    raw = good.read_bytes()
    shape = b"'shape': (2, 2), }"
    assert shape in raw
    header = raw[10:10 + int.from_bytes(raw[8:10], "little")]
    data = raw[10 + len(header):]
    lies = {
        "shape_huge": b"'shape': (9999999999999999999999, 9), }",
        "shape_past_file": b"'shape': (9999999999, 9), }",
        "shape_negative": b"'shape': (-1, 2), }",
        "shape_float": b"'shape': (2.5, 2), }",
        "shape_deep": b"'shape': " + b"(" * 3000 + b")" * 3000 + b", }",
        "shape_many_axes": b"'shape': (" + b"1, " * 3000 + b"), }",
    }
    for name, lie in lies.items():
        paths.append(_npy_with_header(folder / f"{name}.npy", header.replace(shape, lie), data))
    for name, text in {"not_a_dict": b"[1, 2, 3]", "call": b"__import__('os').system('touch pwned')",
                       "binary": bytes(range(256))}.items():
        paths.append(_npy_with_header(folder / f"{name}.npy", text, data))
    for name, data in {"truncated": raw[:-5], "magic_only": raw[:8], "version_9": raw[:6] + b"\x09\x00" + raw[8:],
                       "header_len_huge": raw[:8] + b"\xff\xff" + raw[10:], "empty": b""}.items():
        path = folder / f"{name}.npy"
        path.write_bytes(data)
        paths.append(path)
    v3 = folder / "version3.npy"
    with v3.open("wb") as f:
        np.lib.format.write_array(f, np.ones((2, 2)), version=(3, 0))
    paths.append(v3)
    (folder / "folder.npy").mkdir()
    paths.append(folder / "folder.npy")
    return paths


@pytest.fixture(scope="module")
def npy_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _npy_cases(tmp_path_factory.mktemp("npy"))


def test_hostile_npy_for_every_matrix_option(npy_files: list[Path], capsys) -> None:
    for name, flag in MATRIX_FLAGS:
        for path in npy_files:
            _check(argv_with(name, flag, str(path)), capsys)
    for path in npy_files:
        _check(["backprop", "expr", "sum(W @ x)", "--var", f"W={path}", "--var", "x=1; 2"], capsys)


def test_hostile_npy_is_refused_with_its_reason(npy_files: list[Path], cli) -> None:
    by_name = {p.stem: p for p in npy_files}
    for stem, words in {"shape_huge": "entries", "shape_negative": "negative", "object": "numeric",
                        "empty2": "empty", "shape_deep": "not a readable .npy", "longdouble_big": "infinity",
                        "version3": "version"}.items():
        r = cli("conv", "--input", str(by_name[stem]), "--kernel", "1")
        assert r.code == 2 and words in r.err, (stem, r.err)


def test_odd_arrays_for_every_matrix_option(tmp_path: Path, capsys) -> None:
    paths = []
    for stem, a in ODD_ARRAYS.items():
        paths.append(tmp_path / f"{stem}.npy")
        np.save(paths[-1], a)
    for name, flag in MATRIX_FLAGS:
        for value in [*map(str, paths), *ODD_TEXTS]:
            _check(argv_with(name, flag, value), capsys)
    for value in [*map(str, paths), *ODD_TEXTS]:
        _check(["backprop", "expr", "sum(W @ x)", "--var", f"W={value}", "--var", "x=1; 2"], capsys)
        _check(["backprop", "expr", "sum(W * W) / mean(W)", "--var", f"W={value}"], capsys)


# --- generated -------------------------------------------------------------------------------------

_MATRIX_ALPHABET = string.digits + " ;,[]\n\t-+./eE#" + "−½é∞\u200b\x00" + "nainf"
matrix_text = st.one_of(
    st.text(alphabet=_MATRIX_ALPHABET, max_size=80),
    st.lists(st.lists(st.from_regex(r"-?\d{1,3}(/\d{1,2})?|-?\d\.\d|nan|1/0|", fullmatch=True), max_size=4),
             max_size=4).map(lambda rows: "; ".join(" ".join(r) for r in rows)),
    st.recursive(st.from_regex(r"-?\d{1,2}", fullmatch=True), lambda inner: st.lists(inner, max_size=3).map(
        lambda xs: "[" + ", ".join(xs) + "]"), max_leaves=12),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(MATRIX_FLAGS), matrix_text, st.sampled_from(["inline", ".csv", ".json"]))
def test_generated_matrix_text(tmp_path_factory, capsys, where: tuple[str, str], text: str, form: str) -> None:
    name, flag = where
    value = text
    if form != "inline":
        path = tmp_path_factory.mktemp("gen") / f"m{form}"
        path.write_text(text, encoding="utf-8")
        value = str(path)
    _check(argv_with(name, flag, value), capsys)


def test_a_variable_past_the_node_limit_is_refused_before_exact_work(tmp_path: Path, cli) -> None:
    path = tmp_path / "w.npy"
    np.save(path, np.ones(1_000_001, dtype=np.int64))
    r = cli("backprop", "expr", "sum(W)", "--var", f"W={path}")
    assert r.code == 2 and "--var W: has 1000001 entries; at most 1000000 per variable" in r.err


def test_bracketed_text_is_bounded_but_keeps_numpy_style() -> None:
    from convcalc.errors import ConvcalcError
    from convcalc.io import parse_text

    assert parse_text("[[1 2] [3 4]]", "--input").tolist() == [[1, 2], [3, 4]]  # as NumPy prints it
    assert parse_text("[1, 2,]", "--input").tolist() == [1, 2]
    for text, words in {"[1,,2]": "value is missing", "[[],[]]": "empty list", "[[1],[2,3]]": "ragged",
                        "[[1,2],3]": "ragged", "[" * 9 + "1" + "]" * 9: "deeper", DEEP: "deeper"}.items():
        with pytest.raises(ConvcalcError, match=words):
            parse_text(text, "--input")


@given(st.sampled_from(["int64", "uint64", "int8", "float64", "float32", "bool"]),
       st.lists(st.integers(0, 4), min_size=0, max_size=3), st.data())
def test_json_arrays_fast_path_gives_what_the_number_by_number_path_gives(dtype: str, shape: list[int], data) -> None:
    from hypothesis.extra.numpy import arrays

    from convcalc.numbers import to_json_list
    from convcalc.render.json import jsonable

    a = data.draw(arrays(np.dtype(dtype), tuple(shape)))
    fast, slow = jsonable(a), to_json_list(a)
    assert json.dumps(fast) == json.dumps(slow)


def test_a_small_input_with_a_huge_padding_renders_json_in_time(capsys) -> None:
    """10⁷ output numbers: json.dump wrote each separately and the numbers went one by one (13 s)."""
    _check(["backprop", "conv", "--input", "4 5 2; 3 3 2; 1 2 3", "--kernel", "1 0; 0 1", "--padding", "1,999999",
            "--format", "json"], capsys)


@given(st.sampled_from(["int64", "float64", "int8", "uint8", "bool"]),
       st.sampled_from(["int64", "float64", "int8"]), st.booleans(), st.data())
def test_array_answer_check_equals_the_cell_by_cell_rule(da: str, db: str, exact: bool, data) -> None:
    """check_matrix compares int/float arrays at NumPy's speed; the verdicts are those of the
    one-number rule (grading.grade) applied cell by cell."""
    from hypothesis.extra.numpy import arrays

    from convcalc.derive.answer import check_matrix
    from convcalc.derive.grading import grade
    from convcalc.numbers import Kind

    shape = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1e-300, 1.0000001]))
    a = data.draw(arrays(np.dtype(da), shape, elements=floats if np.dtype(da).kind == "f" else None))
    if data.draw(st.booleans()) and (a.dtype.kind != "f" or np.dtype(db).kind == "f"):
        with np.errstate(all="ignore"):
            b = a.astype(db)
    else:
        b = data.draw(arrays(np.dtype(db), shape, elements=floats if np.dtype(db).kind == "f" else None))
    if exact and "f" in (a.dtype.kind, b.dtype.kind):
        exact = False
    check = check_matrix("C", a, b, Kind.INT if exact else Kind.FLOAT)
    expected = [grade(x, y).ok for x, y in zip(a.flat, b.flat, strict=True)]
    assert check.ok.reshape(-1).tolist() == expected


def test_a_whole_wrong_answer_is_not_reworked_cell_by_cell(tmp_path: Path, capsys) -> None:
    """A 300×300 answer, every cell wrong, re-worked all 89 401 cells (13 s, 6 MB of text)."""
    x = tmp_path / "x.npy"
    np.save(x, np.arange(300 * 300).reshape(300, 300) % 7)
    answer = tmp_path / "answer.npy"
    np.save(answer, np.full((299, 299), -1))
    _check(["conv", "--input", str(x), "--kernel", "1 0; 0 1", "--answer", str(answer)], capsys)
    _check(["backprop", "conv", "--input", str(x), "--kernel", "1 0; 0 1", "--answer", str(x)], capsys)
    _check(["pool", "--input", str(x), "--kernel-size", "1", "--answer", str(answer), "--format", "markdown"], capsys)
