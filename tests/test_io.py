"""Every input form of CONVENTIONS.md (Input), and errors that name the place."""

from __future__ import annotations

import io
import json
import sys
from fractions import Fraction

import numpy as np
import pytest
from typer.testing import CliRunner

from convcalc.errors import ConvcalcError
from convcalc.io import parse_text, read_tensor

# --- files -----------------------------------------------------------------------------------


def test_csv_comma(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("4,5,2\n3,3,2\n")
    a = read_tensor(str(f), "--input")
    assert a.dtype == np.int64
    assert a.tolist() == [[4, 5, 2], [3, 3, 2]]


def test_csv_with_spaces_after_commas_and_crlf(tmp_path):
    f = tmp_path / "a.csv"
    f.write_bytes(b"4, 5, 2\r\n3, 3, 2\r\n")
    assert read_tensor(str(f), "--input").tolist() == [[4, 5, 2], [3, 3, 2]]


def test_txt_whitespace(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("  4   5 2\n3 3    2  \n")
    assert read_tensor(str(f), "--input").tolist() == [[4, 5, 2], [3, 3, 2]]


def test_txt_tab(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("4\t5\t2\n3\t3\t2\n")
    assert read_tensor(str(f), "--input").tolist() == [[4, 5, 2], [3, 3, 2]]


def test_blank_lines_make_a_3d_stack(tmp_path):
    f = tmp_path / "stack.txt"
    f.write_text("1 2 3\n4 5 6\n\n7 8 9\n10 11 12\n\n\n13 14 15\n16 17 18\n")
    a = read_tensor(str(f), "--input")
    assert a.shape == (3, 2, 3)
    assert a[2].tolist() == [[13, 14, 15], [16, 17, 18]]
    assert a[1, 1, 2] == 12


def test_blank_line_slices_of_different_shapes_are_rejected(tmp_path):
    f = tmp_path / "stack.txt"
    f.write_text("1 2\n3 4\n\n5 6\n")
    with pytest.raises(ConvcalcError, match="differ in shape"):
        read_tensor(str(f), "--input")


def test_comments_are_ignored(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("# my matrix\n1 2  # first row\n3 4\n")
    assert read_tensor(str(f), "--input").tolist() == [[1, 2], [3, 4]]


def test_npy_int(tmp_path):
    f = tmp_path / "a.npy"
    np.save(f, np.array([[1, -2], [3, 4]], dtype=np.int32))
    a = read_tensor(str(f), "--input")
    assert a.dtype == np.int64
    assert a.tolist() == [[1, -2], [3, 4]]


def test_npy_float(tmp_path):
    f = tmp_path / "a.npy"
    np.save(f, np.array([[0.5, -1.25], [3.0, 4.0]], dtype=np.float32))
    a = read_tensor(str(f), "--input")
    assert a.dtype == np.float64
    assert a.tolist() == [[0.5, -1.25], [3.0, 4.0]]


def test_npy_nan_rejected(tmp_path):
    f = tmp_path / "a.npy"
    np.save(f, np.array([1.0, np.nan]))
    with pytest.raises(ConvcalcError, match="NaN"):
        read_tensor(str(f), "--input")


def test_npy_non_numeric_rejected(tmp_path):
    f = tmp_path / "a.npy"
    np.save(f, np.array(["a", "b"]))
    with pytest.raises(ConvcalcError, match="numeric"):
        read_tensor(str(f), "--input")


def test_npy_garbage_rejected(tmp_path):
    f = tmp_path / "a.npy"
    f.write_bytes(b"not an npy file at all")
    with pytest.raises(ConvcalcError, match=r"a\.npy"):
        read_tensor(str(f), "--input")


def test_npy_uint64_beyond_int64_is_not_wrapped(tmp_path):
    f = tmp_path / "a.npy"
    np.save(f, np.array([2**64 - 1, 1], dtype=np.uint64))
    a = read_tensor(str(f), "--input")
    assert [int(v) for v in a] == [2**64 - 1, 1]


def test_json_nested_lists_any_rank(tmp_path):
    f = tmp_path / "w.json"
    nested = [[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]]
    f.write_text(json.dumps(nested))
    a = read_tensor(str(f), "--kernel")
    assert a.shape == (1, 2, 2, 2)
    assert a.tolist() == nested


def test_json_with_floats_and_fraction_strings(tmp_path):
    f = tmp_path / "w.json"
    f.write_text('[[1, "1/3"], [2, 3]]')
    a = read_tensor(str(f), "--kernel")
    assert a.tolist() == [[1, Fraction(1, 3)], [2, 3]]
    f.write_text("[[1, 0.5], [2, 3]]")
    assert read_tensor(str(f), "--kernel").dtype == np.float64


def test_json_ragged_rejected_with_path(tmp_path):
    f = tmp_path / "w.json"
    f.write_text("[[1, 2], [3]]")
    with pytest.raises(ConvcalcError, match=r"\[1\]"):
        read_tensor(str(f), "--kernel")


def test_missing_file():
    with pytest.raises(ConvcalcError) as e:
        read_tensor("does/not/exist.csv", "--input")
    assert "no such file" in str(e.value) and "--input" in str(e.value)


def test_not_utf8_file(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ConvcalcError, match="UTF-8"):
        read_tensor(str(f), "--input")


# --- inline ----------------------------------------------------------------------------------


def test_inline_rows_split_by_semicolons():
    a = read_tensor("4 5 2; 3 3 2", "--input")
    assert a.dtype == np.int64
    assert a.tolist() == [[4, 5, 2], [3, 3, 2]]


def test_inline_trailing_semicolon_and_commas():
    assert read_tensor("4,5,2;3,3,2;", "--input").tolist() == [[4, 5, 2], [3, 3, 2]]


def test_inline_brackets():
    assert read_tensor("[[4,5],[3,3]]", "--input").tolist() == [[4, 5], [3, 3]]
    assert read_tensor("[ [4, 5] , [3, 3] ]", "--input").tolist() == [[4, 5], [3, 3]]


def test_inline_single_row_is_2d():
    assert read_tensor("1 2 3", "--input").shape == (1, 3)


def test_fractions_stay_exact():
    a = read_tensor("1/3 -2/5; 4/2 0", "--input")
    assert a.dtype == object
    assert a.tolist() == [[Fraction(1, 3), Fraction(-2, 5)], [2, 0]]
    assert isinstance(a[0, 0], Fraction)
    assert type(a[1, 0]) is int  # 4/2 is the integer 2


def test_unicode_minus():
    assert read_tensor("\u22123 4", "--input").tolist() == [[-3, 4]]


def test_decimals_are_float64():
    a = read_tensor("0.5 -1.25; 1e-3 2", "--input")
    assert a.dtype == np.float64
    assert a.tolist() == [[0.5, -1.25], [0.001, 2.0]]


def test_decimals_exact_for_answers():
    a = read_tensor("0.1 0.25; 3 1/3", "--answer", exact=True)
    assert a.tolist() == [[Fraction(1, 10), Fraction(1, 4)], [3, Fraction(1, 3)]]


def test_integers_beyond_int64_become_python_ints():
    a = read_tensor(f"{2**70} 1", "--input")
    assert a.tolist() == [[2**70, 1]]
    assert all(type(v) is int for v in a.flat)


# --- stdin -----------------------------------------------------------------------------------


def test_dash_reads_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("1 2\n3 4\n"))
    assert read_tensor("-", "--input").tolist() == [[1, 2], [3, 4]]


def test_dash_through_the_cli_with_clirunner():
    from convcalc.cli import app
    from convcalc.cli import conv as _conv  # noqa: F401  (registers the commands)

    result = CliRunner().invoke(app, ["conv", "-i", "-", "-k", "1 1; 1 1", "-f", "json"], input="1 2 3\n4 5 6\n7 8 9\n")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["output"] == [[12, 16], [24, 28]]


# --- errors name the place -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("1 2; 3 x!", ["row 2", "column 2", "'!'"]),  # a letter alone is an entry (a matrix of letters)
        ("1 2 3; 4 5 six$", ["row 2", "column 3"]),
        ("1 2; 3", ["row 2", "ragged"]),
        ("1 nan", ["row 1", "column 2", "NaN"]),
        ("1 -inf", ["row 1", "column 2"]),
        ("1 1/0", ["row 1", "column 2", "zero"]),
        ("1 " + "1" * 50, ["row 1", "column 2", "too long"]),
        ("1e999 1", ["row 1", "column 1", "range"]),
    ],
)
def test_inline_errors_name_row_and_column(text, pieces):
    with pytest.raises(ConvcalcError) as e:
        read_tensor(text, "--input")
    msg = str(e.value)
    assert msg.startswith("--input")
    for p in pieces:
        assert p in msg, msg


def test_file_error_names_file_row_and_column(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("1,2,3\n4,five!,6\n")  # "five" alone would be a letter entry
    with pytest.raises(ConvcalcError) as e:
        read_tensor(str(f), "--input")
    msg = str(e.value)
    assert "bad.csv" in msg and "row 2" in msg and "column 2" in msg and "!" in msg


def test_file_row_numbers_count_blank_and_comment_lines(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("# header\n1 2\n\n3 ?\n")
    with pytest.raises(ConvcalcError) as e:
        read_tensor(str(f), "--input")
    assert "row 4" in str(e.value) and "column 2" in str(e.value)


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty(text):
    with pytest.raises(ConvcalcError, match="empty"):
        read_tensor(text, "--input")


@pytest.mark.parametrize("text", ["[[1, 2], [3, 4]", "[[1, 2]]]", "[]", "[[1, 2], []]", "[[1,2]] [[3]]"])
def test_bad_brackets(text):
    with pytest.raises(ConvcalcError):
        parse_text(text, "--input")


def test_deep_nesting_refused_not_recursed():
    with pytest.raises(ConvcalcError, match="deeper"):
        parse_text("[" * 10_000 + "1" + "]" * 10_000, "--input")


def test_nothing_is_evaluated():
    for text in ["__import__('os').system('true')", "2**10", "1+1"]:
        with pytest.raises(ConvcalcError, match=r"not a number|not allowed"):
            read_tensor(text, "--input")
