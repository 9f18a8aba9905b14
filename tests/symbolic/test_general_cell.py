"""The general cell against the full symbolic matrix, and kernels from formulas against torch.

The general cell Y[i,j] (``conv --input X``) is put to the test on several concrete sizes:
every cell of ``conv --input X:HxW`` (worked entry by entry, another path) must be the formula
with i, j put in and X[a,b] read as X_a_b inside the input and 0 (padding) outside. A kernel
solved from a formula is applied by torch to a random X and must give the formula on every
cell whose entries lie inside X.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=10, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
IDX_I, IDX_J = sympy.Symbol("i", integer=True), sympy.Symbol("j", integer=True)
X = sympy.IndexedBase("X")


def run_json(cli, *argv: str) -> dict:
    r = cli(*argv, "--format", "json")
    assert r.code in (0, 1), r.err
    return json.loads(r.out)


def read_formula(text: str) -> sympy.Expr:
    return sympy.parse_expr(text, local_dict={"X": X, "i": IDX_I, "j": IDX_J})


def entry(ref: sympy.Indexed, h: int, w: int, base: int) -> sympy.Expr:
    a, b = (int(v) for v in ref.indices)
    inside = base <= a < h + base and base <= b < w + base
    return sympy.Symbol(f"X_{a - base + 1}_{b - base + 1}", real=True) if inside else sympy.Integer(0)


def matrix_text(k: np.ndarray) -> str:
    return "; ".join(" ".join(str(v) for v in row) for row in k)


kernels = st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(
    lambda s: st.lists(st.integers(-3, 3), min_size=s[0] * s[1], max_size=s[0] * s[1]).map(
        lambda v: np.array(v).reshape(s)))


@SETTINGS
@given(k=kernels, stride=st.integers(1, 2), pad=st.integers(0, 2), dil=st.integers(1, 2),
       base=st.sampled_from([0, 1]))
def test_general_cell_is_every_cell_of_the_full_matrix(cli, k, stride, pad, dil, base):
    general = run_json(cli, "conv", "--input", "X", "--kernel", matrix_text(k), "--stride", str(stride),
                       "--padding", str(pad), "--dilation", str(dil), "--index", str(base))
    formula = read_formula(general["formula"])
    for h, w in ((4, 5), (6, 4)):
        if any((kk - 1) * dil + 1 > n + 2 * pad for kk, n in zip(k.shape, (h, w), strict=True)):
            continue
        full = run_json(cli, "conv", "--input", f"X:{h}x{w}", "--kernel", matrix_text(k), "--stride", str(stride),
                        "--padding", str(pad), "--dilation", str(dil))["output"]
        full = np.array(full, dtype=object).reshape(len(full), -1)
        holds = general["holds"]
        for r, c in np.ndindex(full.shape):
            at = formula.subs({IDX_I: r + base, IDX_J: c + base})
            refs = at.atoms(sympy.Indexed)
            cell = at.xreplace({ref: entry(ref, h, w, base) for ref in refs})
            want = sympy.sympify(full[r, c]) if isinstance(full[r, c], str) else sympy.Integer(full[r, c])
            want = want.xreplace({s: sympy.Symbol(s.name, real=True) for s in want.free_symbols})
            assert sympy.expand(cell - want) == 0, (r, c, cell, want)
            first_i, first_j = int(holds[0]["first"]), int(holds[1]["first"])
            last_i = int(sympy.sympify(holds[0]["last"]).subs("H", h))
            last_j = int(sympy.sympify(holds[1]["last"]).subs("W", w))
            if first_i <= r + base <= last_i and first_j <= c + base <= last_j:  # claimed: no padding read
                assert all(entry(ref, h, w, base) != 0 for ref in refs), (r, c)


def test_the_issue_example_reads_like_the_course(cli):
    r = cli("conv", "--input", "X", "--kernel", "0 0 0; -1 1 0; 0 0 0", "--padding", "1")
    out = " ".join(r.out.split())  # lines wrap at the console's width
    assert r.code == 0
    assert "Y[i,j] = X[i,j] - X[i,j-1]" in out
    assert "j = 1 reads the padding before column 1" in out


offsets = st.lists(st.tuples(st.integers(-1, 1), st.integers(-1, 1), st.integers(-3, 3).filter(bool)),
                   min_size=1, max_size=4, unique_by=lambda t: t[:2])


def target_text(terms) -> str:
    def at(v: int, name: str) -> str:
        return name if v == 0 else f"{name}{v:+d}"
    return " + ".join(f"({c})*X[{at(a, 'i')},{at(b, 'j')}]" for a, b, c in terms)


@SETTINGS
@given(terms=offsets, seed=st.integers(0, 10**6))
def test_a_kernel_from_its_formula_gives_the_formula_under_torch(cli, terms, seed):
    torch = pytest.importorskip("torch")
    out = run_json(cli, "conv", "--input", "X", "--target", target_text(terms), "--kernel-size", "3",
                   "--padding", "1")
    kernel = np.array(out["kernel"], dtype=float)
    rng = random.Random(seed)
    x = np.array([[rng.randint(-9, 9) for _ in range(7)] for _ in range(6)], dtype=float)
    y = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(kernel)[None, None], padding=1)[0, 0]
    for i, j in np.ndindex(y.shape):
        if all(0 <= i + a < 6 and 0 <= j + b < 7 for a, b, _ in terms):
            assert y[i, j].item() == sum(c * x[i + a, j + b] for a, b, c in terms)


def test_no_kernel_of_that_size_says_so(cli):
    r = cli("conv", "--input", "X", "--target", "X[i+2,j]", "--kernel-size", "3", "--padding", "1")
    assert r.code == 0 and "No 3×3 kernel does this: no tap reads X[i+2,j]" in r.out
    assert json.loads(cli("conv", "--input", "X", "--target", "X[i+2,j]", "--kernel-size", "3", "--padding", "1",
                          "--format", "json").out)["kernel"] is None


def test_a_right_claim_passes_and_a_wrong_one_exits_1_with_its_formula(cli):
    argv = ("conv", "--input", "X", "--target", "X[i+1,j] - X[i,j]", "--kernel-size", "3", "--padding", "1")
    assert cli(*argv, "--answer", "0 0 0; 0 -1 0; 0 1 0").code == 0
    wrong = cli(*argv, "--answer", "-1 0 0; 1 0 0; 0 0 0")
    assert wrong.code == 1 and "Y[i,j] = X[i,j-1] - X[i-1,j-1]" in wrong.out and "no padding" in wrong.out


@pytest.mark.parametrize("argv", [
    ("conv", "--input", "X", "--target", "X[i+1,j]", "--padding", "1"),               # no --kernel-size
    ("conv", "--input", "1 2; 3 4", "--target", "X[i,j]", "--kernel-size", "3"),      # not a letter
    ("conv", "--input", "X", "--target", "Z[i,j]", "--kernel-size", "3"),             # another matrix
    ("conv", "--input", "X", "--target", "X[i,q]", "--kernel-size", "3"),             # a stray index letter
    ("conv", "--input", "X", "--target", "i*X[i,j]", "--kernel-size", "3"),           # depends on the cell
    ("conv", "--input", "X", "--target", "X[i,j", "--kernel-size", "3"),              # unbalanced
    ("conv", "--input", "X", "--target", "X[i,j]", "--kernel-size", "9"),             # too many taps
    ("conv", "--input", "X", "--kernel", "1 2; 3 4", "--padding-mode", "reflect"),
])
def test_bad_general_cell_requests_exit_2_in_one_line(cli, argv):
    r = cli(*argv)
    assert r.code == 2 and r.err.startswith("error: ") and r.err.count("\n") == 1, r.err


def full_matrix(cli, *argv: str) -> np.ndarray:
    out = run_json(cli, *argv)["output"]
    return np.array(out, dtype=object).reshape(len(out), -1)


def same_cell(formula: sympy.Expr, r: int, c: int, h: int, w: int, want) -> bool:
    at = formula.subs({IDX_I: r, IDX_J: c})
    at = at.xreplace({ref: entry(ref, h, w, 1) for ref in at.atoms(sympy.Indexed)})
    want = sympy.sympify(want) if isinstance(want, str) else sympy.Integer(want)
    want = want.xreplace({s: sympy.Symbol(s.name, real=True) for s in want.free_symbols})
    return sympy.expand(at - want) == 0 or sympy.simplify(at - want) == 0


@pytest.mark.parametrize(("mode", "k", "s", "p"), [("avg", 2, 2, 0), ("avg", 3, 1, 1), ("max", 2, 1, 0),
                                                  ("max", 3, 2, 1)])
def test_general_pool_cell_is_every_cell_of_the_full_matrix(cli, mode, k, s, p):
    general = run_json(cli, "pool", "--input", "X", "--mode", mode, "--kernel-size", str(k), "--stride", str(s),
                       "--padding", str(p))
    formula = sympy.parse_expr(general["formula"], local_dict={"X": X, "i": IDX_I, "j": IDX_J, "Max": sympy.Max})
    for h, w in ((4, 5), (5, 6)):
        full = full_matrix(cli, "pool", "--input", f"X:{h}x{w}", "--mode", mode, "--kernel-size", str(k),
                           "--stride", str(s), "--padding", str(p))
        for r, c in np.ndindex(full.shape):
            if mode == "max" and p:  # max reads −∞ padding, not 0: compare inside cells only
                refs = formula.subs({IDX_I: r + 1, IDX_J: c + 1}).atoms(sympy.Indexed)
                if any(entry(ref, h, w, 1) == 0 for ref in refs):
                    continue
            assert same_cell(formula, r + 1, c + 1, h, w, full[r, c]), (r, c)


@pytest.mark.parametrize(("k", "s", "p"), [((3, 3), 2, 1), ((2, 3), 3, 0), ((3, 2), 1, 1)])
def test_general_transposed_cells_by_phase_are_the_full_matrix(cli, k, s, p):
    kernel = "; ".join(" ".join(str(3 * r + c + 1) for c in range(k[1])) for r in range(k[0]))
    general = run_json(cli, "transposed-conv", "--input", "X", "--kernel", kernel, "--stride", str(s),
                       "--padding", str(p))
    phases = []
    for ph in general["phases"]:
        lhs = sympy.parse_expr(ph["cell"], local_dict={"Y": sympy.IndexedBase("Y"), "i": IDX_I, "j": IDX_J})
        phases.append((lhs.indices, sympy.parse_expr(ph["formula"], local_dict={"X": X, "i": IDX_I, "j": IDX_J})))
    h, w = 3, 2
    full = full_matrix(cli, "transposed-conv", "--input", f"X:{h}x{w}", "--kernel", kernel, "--stride", str(s),
                       "--padding", str(p))
    seen = 0
    for (ri, rj), formula in phases:  # Y[s·(i−1)+r+1, …]: solve for the cells of this phase
        for a, b in np.ndindex(h + 3, w + 3):
            r, c = int(ri.subs(IDX_I, a)), int(rj.subs(IDX_J, b))
            if 1 <= r <= full.shape[0] and 1 <= c <= full.shape[1]:
                assert same_cell(formula.subs({IDX_I: a, IDX_J: b}), 0, 0, h, w, full[r - 1, c - 1]), (r, c)
                seen += 1
    assert seen == full.size  # every output cell is in exactly one phase (no cell counted twice: distinct a, b)


@pytest.mark.parametrize("k", [2, 3])
def test_a_window_of_letters_is_the_numeric_window_once_k_is_put_in(cli, k):
    letters = run_json(cli, "pool", "--input", "X", "--mode", "avg", "--kernel-size", "k")
    ksym = sympy.Symbol("k", integer=True, positive=True)
    alpha, beta = sympy.Symbol("alpha", integer=True), sympy.Symbol("beta", integer=True)
    formula = sympy.parse_expr(letters["formula"], local_dict={"X": X, "i": IDX_I, "j": IDX_J, "k": ksym,
                                                                "alpha": alpha, "beta": beta})
    numeric = run_json(cli, "pool", "--input", "X", "--mode", "avg", "--kernel-size", str(k))
    want = sympy.parse_expr(numeric["formula"], local_dict={"X": X, "i": IDX_I, "j": IDX_J})
    assert sympy.expand(formula.subs(ksym, k).doit() - want) == 0
