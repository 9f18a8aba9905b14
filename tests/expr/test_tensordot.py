"""tensordot(A, B, axes=...) in backprop expressions: value and both gradients against
torch.tensordot + autograd, on random shapes and axes; bad axes are one line and exit 2."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.derive.expr import solve
from convcalc.expr.graph import build
from convcalc.expr.parse import parse


@st.composite
def _case(draw):
    """Random A, B and NumPy axes: k contracted axes placed anywhere in each, in any pairing."""
    k = draw(st.integers(0, 2))
    free_a, free_b = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    if k + free_a == 0 or k + free_b == 0:
        free_a, free_b = free_a + 1, free_b + 1
    size = st.integers(1, 3)
    contracted = [draw(size) for _ in range(k)]
    nd_a, nd_b = k + free_a, k + free_b
    if draw(st.booleans()):  # the integer form: A's last k axes against B's first k
        ia, ib, axes = list(range(nd_a - k, nd_a)), list(range(k)), str(k)
    else:
        ia = draw(st.permutations(range(nd_a)))[:k]
        ib = draw(st.permutations(range(nd_b)))[:k]
        neg = draw(st.booleans())  # negative axes count from the end, as in NumPy
        sa = [a - nd_a if neg else a for a in ia]
        axes = f"({sa}, {list(ib)})"
    shape_a, shape_b = [draw(size) for _ in range(nd_a)], [draw(size) for _ in range(nd_b)]
    for n, a, b in zip(contracted, ia, ib, strict=True):
        shape_a[a] = shape_b[b] = n
    seed = draw(st.integers(0, 2**32 - 1))
    return shape_a, shape_b, list(ia), list(ib), axes, seed


@settings(max_examples=40, deadline=None)
@given(_case())
def test_tensordot_value_and_gradients_match_torch(case) -> None:
    torch = pytest.importorskip("torch")
    shape_a, shape_b, ia, ib, axes, seed = case
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    tc = torch.tensordot(ta, tb, dims=(ia, ib))
    g = rng.normal(size=tuple(tc.shape))
    (tc * torch.tensor(g)).sum().backward()

    graph = build(parse(f"tensordot(A, B, axes={axes})", ["A", "B"]), {"A": a, "B": b})
    assert graph.output.value.shape == tuple(tc.shape)
    assert np.allclose(graph.output.value, tc.detach().numpy(), rtol=1e-10, atol=1e-12)

    sol = solve(f"sum(tensordot(A, B, axes={axes}) * G)", {"A": a, "B": b, "G": g})
    for name, want in (("A", ta.grad.numpy()), ("B", tb.grad.numpy())):
        got = np.asarray(sol.data["gradients"][name], dtype=float)
        assert got.shape == want.shape, name
        assert np.allclose(got, want, rtol=1e-9, atol=1e-10), name


def test_mcq4_shape_and_first_entry(cli) -> None:
    a = np.arange(30).reshape(2, 3, 5).tolist()
    b = np.arange(24).reshape(3, 4, 2).tolist()
    r = cli("backprop", "expr", "-f", "json", "--var", f"A={a}", "--var", f"B={b}", "--",
            "tensordot(A, B, axes=([0,1],[2,0]))")
    assert r.code == 0, r.err
    import json

    value = np.asarray(json.loads(r.out)["value"], dtype=float)
    want = np.einsum("ijk,jli->kl", np.arange(30.).reshape(2, 3, 5), np.arange(24.).reshape(3, 4, 2))
    assert value.shape == (5, 4) and value[0, 0] == 820 and np.array_equal(value, want)


@pytest.mark.parametrize(("axes", "needle"), [
    ("3", "size 2 but B's axis 0 has size 1"),
    ("([0],[1])", "contracted axes must match"),
    ("([0,1],[2])", "same length"),
    ("([5],[0])", "out of range for A"),
    ("([0,0],[2,0])", "contracted twice"),
    ("x", "tensordot's axes is an integer"),
    ("-1", "tensordot's axes is an integer"),
    ("([0.5],[0])", "tensordot's axes is an integer"),
    ("((0,1),(2,0),(1,1))", "tensordot's axes is an integer"),
])
def test_bad_axes_one_line_exit_2(cli, axes, needle) -> None:
    r = cli("backprop", "expr", "--var", "A=[[[1,2],[3,4]],[[5,6],[7,8]]]", "--var", "B=[[[1,2],[3,4],[5,6]]]",
            "--", f"sum(tensordot(A, B, axes={axes}))")
    assert r.code == 2 and r.out == ""
    assert needle in r.err and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_brackets_only_for_axes(cli) -> None:
    r = cli("backprop", "expr", "--var", "A=1 2; 3 4", "--", "sum([A])")
    assert r.code == 2 and "a list is not allowed" in r.err and len(r.err.strip().splitlines()) == 1
