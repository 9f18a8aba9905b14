"""The bank's problems in symbols, against torch with numbers put in for the letters."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from convcalc.problems import load
from tests.conftest import ROOT

torch = pytest.importorskip("torch")
BANK = {p.id: p for f in ("nyu-dl-2020-hw2.toml", "mathdnn-hw4.toml") for p in load(ROOT / "problems" / f)}
B = np.array([[4, 3, 3], [5, 5, 5], [2, 4, 3]])  # the kernel of NYU §1.1(c)


def cells(out, subs: dict) -> np.ndarray:
    def one(c):
        e = sympy.sympify(c) if isinstance(c, str) else sympy.Integer(c)
        return float(e.xreplace({s: subs.get(s.name, s) for s in e.free_symbols}))
    return np.vectorize(one, otypes=[float])(np.array(out, dtype=object))


def test_nyu_taps_with_the_course_kernel_put_in_is_torchs_gradient(cli):
    """Every cell of ∂E/∂A is a sum of taps; with §1.1(c)'s B it is autograd's (and the student's) matrix."""
    out = json.loads(cli(*BANK["nyu20-hw2-1.1d-taps"].argv("json")).out)
    assert out["symbolic"] is True
    assert sympy.sympify(out["grad_input"][0][1]) == sympy.Symbol("B_1_1") + sympy.Symbol("B_1_2")
    a = torch.zeros(1, 1, 5, 5, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.conv2d(a, torch.tensor(B, dtype=torch.float64)[None, None]).sum().backward()
    taps = {f"B_{i + 1}_{j + 1}": int(B[i, j]) for i in range(3) for j in range(3)}
    np.testing.assert_array_equal(cells(out["grad_input"], taps), a.grad[0, 0].numpy())
    claimed = np.array([[4, 7, 10, 6, 3], [9, 17, 25, 16, 8], [11, 23, 34, 23, 11], [7, 16, 24, 17, 8],
                        [2, 6, 9, 7, 3]])
    np.testing.assert_array_equal(cells(out["grad_input"], taps), claimed)


def test_nyu_general_cell_is_the_taps_matrix(cli):
    """dA[i,j] of the symbolic chain rule, with dC = 1 inside the 3×3 output and 0 outside, is
    the taps problem's cell (i, j) on the 5×5 input."""
    general = json.loads(cli(*BANK["nyu20-hw2-1.1d-symbols"].argv("json")).out)
    taps = json.loads(cli(*BANK["nyu20-hw2-1.1d-taps"].argv("json")).out)["grad_input"]
    (phase,) = general["grad_input"]
    i, j = sympy.Symbol("i", integer=True), sympy.Symbol("j", integer=True)
    da = sympy.parse_expr(phase["formula"], local_dict={"i": i, "j": j, "dC": sympy.IndexedBase("dC"),
                                                         "B": sympy.IndexedBase("B")})
    for r, c in np.ndindex(5, 5):
        at = da.subs({i: r + 1, j: c + 1})
        value = at.xreplace({e: (1 if all(1 <= int(v) <= 3 for v in e.indices) else 0)
                             for e in at.atoms(sympy.Indexed) if e.base.label.name == "dC"})
        value = value.xreplace({e: sympy.Symbol(f"B_{int(e.indices[0])}_{int(e.indices[1])}")
                                for e in value.atoms(sympy.Indexed)})
        assert sympy.expand(value - sympy.sympify(taps[r][c])) == 0


def test_mathdnn_avg_pool_as_conv_on_letters_is_torchs_avg_pool(cli):
    out = json.loads(cli(*BANK["mathdnn-hw4-2-avgpool-conv-2ch"].argv("json")).out)
    rng = np.random.default_rng(0)
    x = rng.integers(-9, 10, size=(2, 4, 4))
    subs = {f"X_{c + 1}_{i + 1}_{j + 1}": int(x[c, i, j]) for c, i, j in np.ndindex(x.shape)}
    want = torch.nn.functional.avg_pool2d(torch.tensor(x, dtype=torch.float64)[None], 2)[0].numpy()
    np.testing.assert_allclose(cells(out["output"], subs), want)
    w = np.zeros((2, 2, 2, 2))
    w[0, 0] = w[1, 1] = 0.25
    conv = torch.nn.functional.conv2d(torch.tensor(x, dtype=torch.float64)[None], torch.tensor(w), stride=2)[0]
    np.testing.assert_allclose(want, conv.numpy())  # the C×C×k×k weights δ/k² the command shows


def test_mathdnn_avg_pool_as_conv_in_symbols_collapses_to_the_pool(cli):
    r = cli(*BANK["mathdnn-hw4-2-avgpool-conv"].argv("text"))
    out = " ".join(r.out.split())
    assert r.code == 0
    assert "w[l,γ,α,β] = δ(γ,l)/k^2" in out
    assert "Y[l,i,j] = Σ_{α=1..k} Σ_{β=1..k} X[l,α+k·(i-1),β+k·(j-1)]/k^2" in out


def test_check_flags_the_students_kernels_with_the_reason(cli):
    r = cli("check", str(ROOT / "problems" / "mathdnn-hw4.toml"), "--format", "json")
    verdicts = {p["id"]: p for p in json.loads(r.out)["problems"]}
    for pid in ("mathdnn-hw4-1-y1", "mathdnn-hw4-1-y2"):
        assert verdicts[pid]["verdict"] == "differs"
        assert verdicts[pid]["slip"] == "your answer is what you get with no padding"
    assert r.code == 1


@pytest.mark.parametrize("pad", [0, 1])
def test_the_chain_rule_with_a_kernel_size_in_letters_is_the_3x3_one_once_k_is_put_in(cli, pad):
    """dA[i,j] = Σ_{k,l} B[k,l]·dC[i−k+1+P, …] with K = 3 put in is the 3×3 general cell, term by term."""
    argv = ("backprop", "conv", "--input", "A", "--kernel", "B", "--padding", str(pad), "--format", "json")
    letters = json.loads(cli(*argv, "--kernel-size", "K").out)
    three = json.loads(cli(*argv, "--kernel-size", "3").out)
    i, j = sympy.Symbol("i", integer=True), sympy.Symbol("j", integer=True)
    k, l_, big = sympy.Symbol("k", integer=True), sympy.Symbol("l", integer=True), sympy.Symbol("K", positive=True,
                                                                                                 integer=True)
    names = {"i": i, "j": j, "k": k, "l": l_, "K": big, "B": sympy.IndexedBase("B"), "dC": sympy.IndexedBase("dC")}
    general = sympy.parse_expr(letters["grad_input"], local_dict=names).subs(big, 3).doit()
    (phase,) = three["grad_input"]
    assert sympy.expand(general - sympy.parse_expr(phase["formula"], local_dict=names)) == 0
