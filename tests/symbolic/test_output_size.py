"""output-size in letters, checked by putting whole numbers in for the letters: against torch's
modules and against the numeric command; --solve against a brute-force search with torch."""

from __future__ import annotations

import functools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sympy = pytest.importorskip("sympy")
torch = pytest.importorskip("torch")

LETTERS = ("H", "K", "S", "P", "D", "Q", "n", "k", "T", "Hprime", "Pprime")
SLOW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _json(cli, *argv: str) -> dict:
    res = cli(*argv, "--format", "json")
    assert res.code in (0, 1), res.err
    return json.loads(res.out)


@functools.cache
def read(text: str) -> object:
    """The JSON's SymPy syntax, read back with SymPy's own parser (the test's, not the user's)."""
    names = {n: sympy.Symbol(n) for n in LETTERS}
    return sympy.parse_expr(text, local_dict=names)


def at(text: str, **values: int) -> object:
    return read(text).subs({sympy.Symbol(k): v for k, v in values.items()})


def torch_size(kind: str, i: int, k: int, s: int, p: int, d: int, q: int = 0, ceil: bool = False) -> int | None:
    x = torch.zeros(1, 1, i)
    try:
        if kind == "conv":
            return torch.nn.Conv1d(1, 1, k, s, p, d)(x).shape[-1]
        if kind == "pool":
            return torch.nn.MaxPool1d(k, s, p, d, ceil_mode=ceil)(x).shape[-1]
        return torch.nn.ConvTranspose1d(1, 1, k, s, p, q, dilation=d)(x).shape[-1]
    except RuntimeError:
        return None  # torch refuses the setting (or the output is empty)


@pytest.fixture(scope="module")
def formulas() -> dict[str, dict]:
    from convcalc.cli import run  # one symbolic run per kind, reused by every example

    out = {}
    base = ["--input-size", "H", "--kernel-size", "K", "--stride", "S", "--padding", "P", "--dilation", "D",
            "--dim", "1", "--format", "json"]
    for name, extra in (("conv", []), ("pool", ["--pool"]), ("pool_ceil", ["--pool", "--ceil-mode"]),
                        ("transposed", ["--transposed", "--output-padding", "Q"])):
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert run(["output-size", *base, *extra]) == 0
        out[name] = json.loads(buf.getvalue())
    return out


@SLOW
@given(kind=st.sampled_from(["conv", "pool", "pool_ceil", "transposed"]), i=st.integers(1, 30),
       k=st.integers(1, 6), s=st.integers(1, 4), p=st.integers(0, 3), d=st.integers(1, 3), q=st.integers(0, 3))
def test_formula_in_letters_matches_torch(formulas, kind: str, i: int, k: int, s: int, p: int, d: int, q: int) -> None:
    want = torch_size("pool" if kind.startswith("pool") else kind, i, k, s, p, d, q, ceil=kind == "pool_ceil")
    if want is None:
        return
    got = formulas[kind]
    value = at(got["output_size"], H=i, K=k, S=s, P=p, D=d, Q=q)
    if kind == "pool_ceil" and (value - 1) * s >= i + p:
        value -= 1  # the stated condition: ceil_mode drops a window that starts in the right padding
        assert "H + P" in " ".join(got["conditions"]).replace("P + H", "H + P")
    assert value == want
    # the floor-free form is the size exactly when the stated condition holds
    if got["valid_when"] and kind != "pool_ceil":
        tiles = bool(at(got["valid_when"], H=i, K=k, S=s, P=p, D=d))
        assert (at(got["exact"], H=i, K=k, S=s, P=p, D=d) == want) == tiles


@SLOW
@given(n=st.integers(1, 40), form=st.sampled_from(["2n", "2n+1", "4n+3", "2^n", "n+5", "3(n+2)"]),
       k=st.integers(1, 5), s=st.integers(1, 3), p=st.integers(0, 2))
def test_expressions_of_letters_match_the_numeric_command(cli, n: int, form: str, k: int, s: int, p: int) -> None:
    if form == "2^n" and n > 8:
        n = n % 8 + 1
    size = int(at(form.replace("^", "**").replace("2n", "2*n").replace("4n", "4*n").replace("3(", "3*("), n=n))
    argv = ["output-size", "--kernel-size", str(k), "--stride", str(s), "--padding", str(p), "--dim", "1"]
    numeric = cli(*argv, "--input-size", str(size), "--format", "json")
    symbolic = _json(cli, *argv, "--input-size", form)
    if numeric.code != 0:  # an empty output: the symbolic answer says when it is non-empty
        assert symbolic["conditions"]
        return
    want = json.loads(numeric.out)["output_size"]
    assert at(symbolic["output_size"], n=n) == want == torch_size("conv", size, k, s, p, 1)


def test_floor_dropped_only_when_true(cli) -> None:
    got = _json(cli, "output-size", "--input-size", "2n", "--kernel-size", "3", "--stride", "2", "--padding", "1")
    assert got["output_size"] == "n" and got["valid"] is False  # ⌊n + 1/2⌋ = n; the windows never tile
    got = _json(cli, "output-size", "--input-size", "H", "--kernel-size", "K", "--padding", "P")
    assert "floor" not in got["output_size"] and got["valid"] is True  # stride 1
    got = _json(cli, "output-size", "--input-size", "H", "--kernel-size", "K", "--stride", "S", "--padding", "P")
    assert got["output_size"] == "floor((H - K + 2*P)/S) + 1" and got["valid"] is None
    assert read(got["valid_when"]) == sympy.Eq(sympy.Mod(read("H - K + 2*P"), read("S")), 0)
    assert got["symbolic"] is True and got["settings"]["input_size"] == "H"


def test_pairs_and_every_format(cli) -> None:
    argv = ("output-size", "--input-size", "H,W", "--kernel-size", "3,K", "--stride", "2", "--padding", "1")
    got = _json(cli, *argv)
    assert isinstance(got["output_size"], list) and len(got["output_size"]) == 2
    text = cli(*argv)
    assert text.code == 0 and "⌊" in text.out and "H_out" in text.out and "W_out" in text.out
    tex = cli(*argv, "--format", "latex")
    assert r"\left\lfloor" in tex.out and "⌊" not in tex.out
    md = cli(*argv, "--format", "markdown")
    assert "$$" in md.out and r"\begin{aligned}" in md.out


@pytest.mark.parametrize("payload", ['__import__("os").system("true")', "H.__class__", "2^2^2^99", "(" * 50 + "H",
                                     "H" * 500, "n^100", "lambda: 1", "H[0]", "H b", "1/0"])
def test_hostile_settings_refused_in_one_line(cli, payload: str) -> None:
    res = cli("output-size", "--input-size", payload, "--kernel-size", "3")
    assert res.code == 2 and res.out == ""
    assert res.err.count("\n") == 1 and "--input-size" in res.err and "Traceback" not in res.err


def test_answers_judged_by_equivalence(cli) -> None:
    argv = ("output-size", "--input-size", "H", "--kernel-size", "K", "--stride", "S", "--padding", "P")
    right = _json(cli, *argv, "--answer", "floor((H + 2P - K)/S) + 1")
    assert right["answer_correct"] is True
    floor_free = cli(*argv, "--answer", "(H + 2P − K)/S + 1")
    assert floor_free.code == 0 and "floor-free form" in floor_free.out and "divides" in floor_free.out
    wrong = cli(*argv, "--answer", "(H - K)/S + 1")
    assert wrong.code == 1 and "wrong" in wrong.out


# ------------------------------------------------------------------------------------ --solve

def brute(kind: str, unknown: str, s: dict[str, int], target: int) -> set[int]:
    """Every value of the unknown (0..20) for which torch's module has the target size."""
    hits = set()
    for v in range(21):
        t = {**s, unknown: v}
        if torch_size(kind, t["i"], t["k"], t["s"], t["p"], t["d"], t["q"]) == target:
            hits.add(v)
    return hits


SOLVE = {"padding": "p", "stride": "s", "kernel-size": "k", "output-padding": "q"}


@pytest.fixture(scope="module")
def solved() -> dict[tuple[str, str], dict]:
    import contextlib
    import io

    from convcalc.cli import run

    out = {}
    for kind, unknowns in (("conv", ("padding", "stride", "kernel-size")), ("pool", ("padding", "stride", "kernel-size")),
                           ("transposed", ("output-padding", "padding", "stride", "kernel-size"))):
        for unknown in unknowns:
            argv = ["output-size", "--input-size", "H", "--kernel-size", "K", "--stride", "S", "--padding", "P",
                    "--dilation", "D", "--dim", "1", "--solve", unknown, "--target", "T", "--format", "json"]
            argv += {"conv": [], "pool": ["--pool"], "transposed": ["--transposed", "--output-padding", "Q"]}[kind]
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                assert run(argv) == 0
            out[(kind, unknown)] = json.loads(buf.getvalue())
    return out


@SLOW
@given(case=st.sampled_from([("conv", "padding"), ("conv", "stride"), ("conv", "kernel-size"), ("pool", "padding"),
                             ("pool", "stride"), ("pool", "kernel-size"), ("transposed", "output-padding"),
                             ("transposed", "padding"), ("transposed", "stride"), ("transposed", "kernel-size")]),
       i=st.integers(1, 24), k=st.integers(1, 5), s=st.integers(1, 4), p=st.integers(0, 2), d=st.integers(1, 2),
       q=st.integers(0, 2), t=st.integers(1, 30), hit=st.booleans())
def test_solve_matches_brute_force(solved, case: tuple[str, str], i: int, k: int, s: int, p: int, d: int, q: int,
                                   t: int, hit: bool) -> None:
    kind, unknown = case
    got = solved[case]
    values = {"i": i, "k": k, "s": s, "p": p, "d": d, "q": q}
    if hit:  # a target some value reaches, so that the sets compared are not all empty
        t = torch_size(kind, i, k, s, p, d, q) or t
    want = brute(kind, SOLVE[unknown], values, t)
    env = {"H": i, "K": k, "S": s, "P": p, "D": d, "Q": q, "T": t}
    env.pop({"p": "P", "s": "S", "k": "K", "q": "Q"}[SOLVE[unknown]])
    if kind == "transposed":  # no floor: the exact solution, if it meets its conditions, is the only one
        if any(at(c, **env) is sympy.false for c in got["conditions"] if c.startswith("Ne(")):
            return  # the stated "≠ 0": one input pixel, every stride gives the same size
        conds = [at(c, **env) for c in got["conditions"]]
        exact = at(got["solutions"], **env)
        ok = exact.is_integer and 0 <= exact <= 20 and all(bool(c.subs(read(_x(unknown)), exact)) for c in conds)
        assert want == ({int(exact)} if ok else set())
        return
    x = read(_x(unknown))
    fixed = [c for c in got["conditions"] if not c.startswith(("Eq(", "Ne(")) and x not in read(c).free_symbols]
    if any(at(c, **env) is sympy.false for c in fixed):
        assert want == set()  # the kernel does not fit, or 2P > K: stated conditions no value mends
        return
    low, high = (at(x, **env) for x in got["solution_range"])
    found = {v for v in range(21) if low <= v <= high}
    assert found == want


def _x(unknown: str) -> str:
    return {"padding": "P", "stride": "S", "kernel-size": "K", "output-padding": "Pprime"}[unknown]


def test_output_padding_closed_form_and_the_seed_claim(cli) -> None:
    argv = ("output-size", "--transposed", "--input-size", "H'", "--kernel-size", "K", "--stride", "S", "--padding",
            "P", "--dilation", "D", "--solve", "output-padding", "--target", "H")
    got = _json(cli, *argv)
    assert read(got["closed_form"]) == sympy.Mod(read("H + 2*P - D*(K - 1) - 1"), read("S"))
    plain = ("output-size", "--transposed", "--input-size", "H'", "--kernel-size", "K", "--stride", "S", "--padding",
             "P", "--solve", "output-padding", "--target", "H")
    assert _json(cli, *plain, "--answer", "H - ((H' - 1)S - 2P + K)")["answer_correct"] is True
    assert _json(cli, *argv, "--answer", "H - ((H' - 1)S - 2P + K)")["answer_correct"] is False  # forgot D
    assert _json(cli, *argv, "--answer", "(H + 2P - D(K-1) - 1) % S")["answer_correct"] is True


def test_numeric_solve_lists_only_what_torch_accepts(cli) -> None:
    got = _json(cli, "output-size", "--input-size", "8", "--kernel-size", "2", "--pool", "--dim", "1", "--solve",
                "padding", "--target", "6")
    assert got["solutions"] == []
    assert torch_size("pool", 8, 2, 2, 2, 1) is None  # padding 2 is what torch refuses
    got = _json(cli, "output-size", "--input-size", "8", "--kernel-size", "4", "--pool", "--dim", "1", "--stride",
                "2", "--solve", "padding", "--target", "4")
    assert got["solutions"] == [v for v in range(5) if torch_size("pool", 8, 4, 2, v, 1) == 4
                                and (8 + 2 * v - 4) % 2 == 0]


@SLOW
@given(i=st.integers(2, 20), k=st.integers(1, 5), s=st.integers(1, 3), t=st.integers(1, 12),
       unknown=st.sampled_from(["padding", "kernel-size"]))
def test_numeric_pool_solve_offers_only_what_torch_accepts(cli, i: int, k: int, s: int, t: int, unknown: str) -> None:
    argv = ["output-size", "--pool", "--dim", "1", "--input-size", str(i), "--kernel-size", str(k), "--stride", str(s),
            "--solve", unknown, "--target", str(t)]
    got = _json(cli, *argv)["solutions"]
    key = {"padding": "p", "kernel-size": "k"}[unknown]
    for v in got:
        settings_ = {"k": k, "p": 0, key: v}
        assert torch_size("pool", i, settings_["k"], s, settings_["p"], 1) == t  # torch accepts it and gives t
