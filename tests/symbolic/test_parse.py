"""The allow-list parser of user expressions: what it reads, what it refuses, and its
meaning checked against exact Fraction arithmetic on random expression trees."""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.errors import ConvcalcError
from convcalc.symbolic import looks_symbolic
from convcalc.symbolic.parse import parse_expr, symbol

sympy = pytest.importorskip("sympy")


@pytest.mark.parametrize(("text", "symbolic"), [
    ("2n+1", True), ("H", True), ("a b; c d", True), ("w11", True), ("(K-1)/2", True),
    ("32", False), ("1e-3", False), ("-inf", False), ("1/3", False), ("nan", False),
    ("4 5 2; 3 3 2", False), ("[[1, 2.5], [3, 4]]", False), ("2E+5", False), ("2e", True),
])
def test_looks_symbolic(text: str, symbolic: bool) -> None:
    assert looks_symbolic(text) is symbolic


def test_looks_symbolic_does_not_import_sympy() -> None:
    code = "import sys, convcalc.symbolic as s; s.looks_symbolic('2n'); print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_symbols_carry_the_domain_assumptions() -> None:
    n = parse_expr("n")
    assert n.is_integer and n.is_positive
    p = parse_expr("P", domain="nonneg_int")
    assert p.is_integer and p.is_nonnegative and p.is_positive is None
    x = parse_expr("x", domain="real")
    assert x.is_real and x.is_integer is None
    assert symbol("n", "positive_int") is symbol("n", "positive_int") is n


@pytest.mark.parametrize(("text", "value"), [
    ("2n+1", "2*n + 1"), ("2(K-1)", "2*K - 2"), ("(a+1)(b+1)", "(a + 1)*(b + 1)"), ("n(K-1)", "n*(K - 1)"),
    ("2^k", "2**k"), ("2**3", "8"), ("7//2", "3"), ("n//2", "floor(n/2)"), ("n % 3", "Mod(n, 3)"),
    ("0.1", "1/10"), ("1e3", "1000"), ("⌊(H−K+2P)/S⌋+1", "floor((H - K + 2*P)/S) + 1"),
    ("2·n", "2*n"), ("H'", "Hprime"), ("H′ - 1", "Hprime - 1"), ("max(a, 2)", "Max(2, a)"), ("-n", "-n"),
    ("X_1_1 + w11", "X_1_1 + w11"), ("ceil(n/2)", "ceiling(n/2)"),
])
def test_reads_course_notation(text: str, value: str) -> None:
    assert str(parse_expr(text)) == value


@pytest.mark.parametrize(("text", "words"), [
    ('__import__("os")', "not allowed"), ("__import__(os)", "starts with a letter"),
    ("os.system", "'.' is not allowed"), ("a b", "a space does not multiply"), ("2 n", "a space"),
    ("2^2^2^99", "too large"), ("n^100", "too large"), ("2^k^k", "too large"), ("9^9^9", "too large"),
    ("(" * 40 + "n" + ")" * 40, "nested deeper"), ("n+" * 300 + "n", "too long"), ("1" * 50, "too large"),
    ("1e999999", "too large"), ("1/0", "division by zero"), ("n % 0", "division by zero"),
    ("n/(n-n)", "division by zero"), ("a[0]", "'[' is not allowed"), ("a, b", "a tuple"),
    ("lambda: 1", "':' is not allowed"), ("a == b", "'=' is not allowed"), ("floor", "needs parentheses"),
    ("", "empty"), ("  ", "empty"), ("n^(1/2)", "whole-number powers"), ("2.5.3", "cannot read"),
    ("(n", "cannot read"), ("n)", "cannot read"), ("*n", "cannot read"), ("floor(a, b)", "one argument"),
    ("x@y", "'@' is not allowed"), ("'a'", "not allowed"), ("a\x00", "not allowed"),
])
def test_refuses_in_one_line(text: str, words: str) -> None:
    with pytest.raises(ConvcalcError) as info:
        parse_expr(text, where="--input-size")
    message = str(info.value)
    assert message.startswith("--input-size: ") and words in message and "\n" not in message


# An independent oracle: random expression trees evaluated with Fractions, printed in the
# notations a user types (implicit products, ^, spaces around operators), parsed, and the
# SymPy result evaluated at the same integers.
NAMES = ("n", "K", "S", "w11")


@st.composite
def trees(draw: st.DrawFn, depth: int = 3) -> tuple[str, object]:
    if depth == 0 or draw(st.booleans()):
        if draw(st.booleans()):
            k = draw(st.integers(1, 9))
            return str(k), k
        name = draw(st.sampled_from(NAMES))
        return name, name
    op = draw(st.sampled_from(["+", "-", "*", "/", "^", "implicit"]))
    left, right = draw(trees(depth - 1)), draw(trees(depth - 1))
    if op == "^":
        k = draw(st.integers(0, 3))
        return f"({left[0]})^{k}", ("^", left[1], k)
    if op == "implicit":  # 3(…) or (…)(…)
        return f"({left[0]})({right[0]})", ("*", left[1], right[1])
    spacer = draw(st.sampled_from(["", " "]))
    return f"({left[0]}){spacer}{op}{spacer}({right[0]})", (op, left[1], right[1])


def evaluate(tree: object, env: dict[str, int]) -> Fraction:
    if isinstance(tree, int):
        return Fraction(tree)
    if isinstance(tree, str):
        return Fraction(env[tree])
    op, a, b = tree  # type: ignore[misc]
    x = evaluate(a, env)
    if op == "^":
        return x ** b
    y = evaluate(b, env)
    return {"+": x + y, "-": x - y, "*": x * y, "/": x / y if y else None}[op]  # type: ignore[return-value]


@settings(max_examples=60, deadline=None)
@given(trees(), st.lists(st.integers(1, 7), min_size=4, max_size=4))
def test_meaning_matches_fraction_arithmetic(tree: tuple[str, object], values: list[int]) -> None:
    text, shape = tree
    env = dict(zip(NAMES, values, strict=True))
    try:
        want = evaluate(shape, env)
    except (ZeroDivisionError, TypeError):
        return
    try:
        expr = parse_expr(text)
    except ConvcalcError as exc:
        assert "division by zero" in str(exc)
        return
    got = expr.subs({symbol(k): v for k, v in env.items()})
    if want is None or got.has(sympy.zoo, sympy.nan):
        return
    assert Fraction(int(got.p), int(got.q)) == want, (text, env)


def test_digit_floor_and_mod_match_python() -> None:
    for a in range(1, 20):
        for b in (1, 2, 3, 5):
            env = {symbol("a"): a, symbol("b"): b}
            assert parse_expr("a//b").subs(env) == a // b
            assert parse_expr("a % b").subs(env) == a % b
            assert parse_expr("⌈a/b⌉").subs(env) == math.ceil(a / b)


def test_course_juxtaposition_only_when_asked() -> None:
    """CK²N is C·K²·N when C, K, N are the known letters (an answer); otherwise CK is one name."""
    c, k, n = symbol("C"), symbol("K"), symbol("N")
    assert parse_expr("CK^2N", letters={"C", "K", "N"}) == c * k**2 * n
    assert parse_expr("CK^2N").free_symbols == {symbol("CK"), n}
    assert parse_expr("F^2 C", space_multiplies=True) == symbol("F") ** 2 * c
    with pytest.raises(ConvcalcError):
        parse_expr("F^2 C")
    assert parse_expr("K²") == k**2
