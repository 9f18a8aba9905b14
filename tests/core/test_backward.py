"""Backward passes of conv and conv_transpose, checked against independent oracles.

Oracles: torch.autograd (when installed), and, always, linearity: a conv is linear in each
operand, so the gradient of L = Σ grad_output · forward at one entry is exactly
L(entry + 1) − L(entry) in integer arithmetic.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convcalc import functional as F
from convcalc.core.backward import (
    conv_nd_backward,
    conv_transpose_nd_backward,
    flip_kernel,
    grad_input_steps,
    unreached,
    zero_stuff,
)
from convcalc.core.conv import conv_nd
from convcalc.core.pad_backward import pad_spatial_backward
from convcalc.core.padding import pad_spatial
from convcalc.errors import ConvcalcError
from convcalc.formulas import effective_kernel

MODES = ("zeros", "reflect", "replicate", "circular")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Per padding mode, so every mode is exercised on every run (≈60 examples over the four).
PER_MODE = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PER_MODE_FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- random settings ------------------------------------------------------------------

@st.composite
def conv_cases(draw: Any, mode: str, max_size: int = 7) -> dict[str, Any]:
    """A valid conv: shapes, stride, (lo, hi) padding allowed by the mode, dilation, groups."""
    nsp = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 2))
    cg, og, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    sizes, pads, kernel, stride, dilation = [], [], [], [], []
    for _ in range(nsp):
        size = draw(st.integers(1, max_size))
        limit = {"reflect": size - 1, "circular": size}.get(mode, 2)
        lo, hi = draw(st.integers(0, min(2, limit))), draw(st.integers(0, min(2, limit)))
        d = draw(st.integers(1, 2))
        k = draw(st.integers(1, min(3, (size + lo + hi - 1) // d + 1)))  # span fits the padded input
        sizes.append(size)
        pads.append((lo, hi))
        kernel.append(k)
        dilation.append(d)
        stride.append(draw(st.integers(1, 3)))
    seed = draw(st.integers(0, 2**32 - 1))
    return dict(nsp=nsp, mode=mode, groups=groups, x_shape=(n, cg * groups, *sizes),
                w_shape=(og * groups, cg, *kernel), stride=tuple(stride), pads=tuple(pads),
                dilation=tuple(dilation), seed=seed)


@st.composite
def transpose_cases(draw: Any) -> dict[str, Any]:
    """A valid conv_transpose: output_padding < max(stride, dilation), positive output size."""
    nsp = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 2))
    cg, og, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    sizes, kernel, stride, pads, out_pads, dilation = [], [], [], [], [], []
    for _ in range(nsp):
        i, k, s, d = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        p, op = draw(st.integers(0, 2)), draw(st.integers(0, max(s, d) - 1))
        assume((i - 1) * s - 2 * p + effective_kernel(k, d) + op >= 1)
        for lst, v in zip((sizes, kernel, stride, pads, out_pads, dilation), (i, k, s, p, op, d), strict=True):
            lst.append(v)
    seed = draw(st.integers(0, 2**32 - 1))
    return dict(nsp=nsp, groups=groups, x_shape=(n, cg * groups, *sizes), w_shape=(cg * groups, og, *kernel),
                stride=tuple(stride), pads=tuple(pads), out_pads=tuple(out_pads), dilation=tuple(dilation),
                seed=seed)


def _ints(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-9, 10, shape).astype(np.int64)


def _conv_out(case: dict[str, Any], x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return conv_nd(x, w, None, case["stride"], case["pads"], case["dilation"], case["groups"], case["mode"])


# ---- torch oracle ---------------------------------------------------------------------

def _torch_conv_grads(case: dict[str, Any], g: np.ndarray, x: np.ndarray, w: np.ndarray) -> list[np.ndarray]:
    """torch.autograd through nn.ConvNd's own recipe: F.pad with the mode, then an unpadded conv."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    xt, wt = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w))
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    flat = [p for lo_hi in reversed(case["pads"]) for p in lo_hi]  # F.pad lists the last axis first
    mode = "constant" if case["mode"] == "zeros" else case["mode"]
    xp = tf.pad(xt, flat, mode=mode)
    conv = tf.conv1d if case["nsp"] == 1 else tf.conv2d
    y = conv(xp, wt, bt, case["stride"], 0, case["dilation"], case["groups"])
    y.backward(torch.tensor(g, dtype=torch.float64))
    return [t.grad.numpy() for t in (xt, wt, bt)]


def _torch_transpose_grads(case: dict[str, Any], x: np.ndarray, w: np.ndarray,
                           make: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """A random grad_output for torch's conv_transpose, and torch.autograd's gradients for it."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    xt, wt = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w))
    bt = torch.zeros(w.shape[1] * case["groups"], dtype=torch.float64, requires_grad=True)
    conv_t = tf.conv_transpose1d if case["nsp"] == 1 else tf.conv_transpose2d
    y = conv_t(xt, wt, bt, case["stride"], case["pads"], case["out_pads"], case["groups"], case["dilation"])
    g = make(tuple(y.shape))
    y.backward(torch.tensor(g, dtype=torch.float64))
    return g, [t.grad.numpy() for t in (xt, wt, bt)]


@pytest.mark.parametrize("mode", MODES)
@PER_MODE
@given(data=st.data())
def test_conv_backward_matches_torch_exactly_on_integers(mode: str, data: st.DataObject) -> None:
    case = data.draw(conv_cases(mode))
    rng = np.random.default_rng(case["seed"])
    x, w = _ints(rng, case["x_shape"]), _ints(rng, case["w_shape"])
    g = _ints(rng, _conv_out(case, x, w).shape)
    ours = conv_nd_backward(g, x, w, case["stride"], case["pads"], case["dilation"], case["groups"], case["mode"])
    for mine, ref in zip(ours, _torch_conv_grads(case, g, x, w), strict=True):
        assert mine.dtype == np.int64  # integers in, integers out
        assert np.array_equal(mine, ref)


@pytest.mark.parametrize("mode", MODES)
@PER_MODE_FEW
@given(data=st.data())
def test_conv_backward_matches_torch_on_floats(mode: str, data: st.DataObject) -> None:
    case = data.draw(conv_cases(mode))
    rng = np.random.default_rng(case["seed"])
    x, w = rng.standard_normal(case["x_shape"]), rng.standard_normal(case["w_shape"])
    g = rng.standard_normal(_conv_out(case, x, w).shape)
    ours = conv_nd_backward(g, x, w, case["stride"], case["pads"], case["dilation"], case["groups"], case["mode"])
    for mine, ref in zip(ours, _torch_conv_grads(case, g, x, w), strict=True):
        assert mine.dtype == np.float64
        np.testing.assert_allclose(mine, ref, rtol=1e-9, atol=1e-9)


@FAST
@given(transpose_cases(), st.booleans())
def test_conv_transpose_backward_matches_torch(case: dict[str, Any], floats: bool) -> None:
    rng = np.random.default_rng(case["seed"])
    make = rng.standard_normal if floats else (lambda shape: _ints(rng, shape))
    x, w = make(case["x_shape"]), make(case["w_shape"])
    g, refs = _torch_transpose_grads(case, x, w, make)
    ours = conv_transpose_nd_backward(g, x, w, case["stride"], case["pads"], case["out_pads"],
                                      case["dilation"], case["groups"])
    for mine, ref in zip(ours, refs, strict=True):
        if floats:
            np.testing.assert_allclose(mine, ref, rtol=1e-9, atol=1e-9)
        else:
            assert mine.dtype == np.int64 and np.array_equal(mine, ref)


# ---- torch-free oracle: linearity, one entry at a time ---------------------------------

def _perturbation_grad(loss: Any, a: np.ndarray) -> np.ndarray:
    """∂loss/∂a for a loss linear in ``a``: loss(a + e_j) − loss(a) per entry, exact on ints."""
    base, out = loss(a), np.zeros(a.shape, dtype=np.int64)
    for j in np.ndindex(a.shape):
        bumped = a.copy()
        bumped[j] += 1
        out[j] = loss(bumped) - base
    return out


@pytest.mark.parametrize("mode", MODES)
@PER_MODE_FEW
@given(data=st.data())
def test_conv_backward_matches_perturbation(mode: str, data: st.DataObject) -> None:
    case = data.draw(conv_cases(mode, max_size=5))
    rng = np.random.default_rng(case["seed"])
    x, w = _ints(rng, case["x_shape"]), _ints(rng, case["w_shape"])
    b = _ints(rng, (w.shape[0],))
    g = _ints(rng, _conv_out(case, x, w).shape)
    s, p, d, groups, mode = case["stride"], case["pads"], case["dilation"], case["groups"], case["mode"]

    def loss(xx: np.ndarray, ww: np.ndarray, bb: np.ndarray) -> int:
        return int(np.sum(g * conv_nd(xx, ww, bb, s, p, d, groups, mode)))

    gi, gw, gb = conv_nd_backward(g, x, w, s, p, d, groups, mode)
    assert np.array_equal(gi, _perturbation_grad(lambda a: loss(a, w, b), x))
    assert np.array_equal(gw, _perturbation_grad(lambda a: loss(x, a, b), w))
    assert np.array_equal(gb, _perturbation_grad(lambda a: loss(x, w, a), b))


def _naive_conv_transpose(x: np.ndarray, w: np.ndarray, case: dict[str, Any]) -> np.ndarray:
    """Scatter form, one input entry at a time: y[o, i·s + t·d − p] += x[c, i] · w[c, o, t]."""
    s, p, op, d, groups = case["stride"], case["pads"], case["out_pads"], case["dilation"], case["groups"]
    cg, og = x.shape[1] // groups, w.shape[1]
    out_sizes = [(i - 1) * si - 2 * pi + di * (k - 1) + opi + 1
                 for i, k, si, pi, di, opi in zip(x.shape[2:], w.shape[2:], s, p, d, op, strict=True)]
    y = np.zeros((x.shape[0], og * groups, *out_sizes), dtype=object)
    for n, c, *i in np.ndindex(x.shape):
        grp = c // cg
        for o, *t in np.ndindex(w.shape[1:]):
            pos = [ii * si + ti * di - pi for ii, ti, si, di, pi in zip(i, t, s, d, p, strict=True)]
            if all(0 <= q < m for q, m in zip(pos, out_sizes, strict=True)):
                y[(n, grp * og + o, *pos)] += int(x[(n, c, *i)]) * int(w[(c, o, *t)])
    return y


@FEW
@given(transpose_cases())
def test_conv_transpose_backward_matches_perturbation(case: dict[str, Any]) -> None:
    rng = np.random.default_rng(case["seed"])
    x, w = _ints(rng, case["x_shape"]), _ints(rng, case["w_shape"])
    g = _ints(rng, _naive_conv_transpose(x, w, case).shape)
    gi, gw, _ = conv_transpose_nd_backward(g, x, w, case["stride"], case["pads"], case["out_pads"],
                                           case["dilation"], case["groups"])
    assert np.array_equal(gi, _perturbation_grad(lambda a: int(np.sum(g * _naive_conv_transpose(a, w, case))), x))
    assert np.array_equal(gw, _perturbation_grad(lambda a: int(np.sum(g * _naive_conv_transpose(x, a, case))), w))


@FAST
@given(st.sampled_from(MODES), st.integers(1, 6), st.integers(1, 6), st.data())
def test_pad_backward_is_the_adjoint_of_pad(mode: str, h: int, w: int, data: st.DataObject) -> None:
    """⟨pad(x), G⟩ = ⟨x, pad_backward(G)⟩ for every x and G: the defining property of a backward."""
    limit = {"reflect": lambda n: n - 1, "circular": lambda n: n}.get(mode, lambda n: 3)
    pads = [(data.draw(st.integers(0, min(3, limit(n)))), data.draw(st.integers(0, min(3, limit(n)))))
            for n in (h, w)]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = _ints(rng, (2, h, w))
    gp = _ints(rng, pad_spatial(x, pads, mode).shape)
    assert int(np.sum(pad_spatial(x, pads, mode) * gp)) == int(np.sum(x * pad_spatial_backward(gp, pads, mode)))


# ---- the course's intermediate steps ---------------------------------------------------

def test_zero_stuff_inserts_stride_minus_one_zeros() -> None:
    g = np.array([[[[1, 2], [3, 4]]]])
    assert zero_stuff(g, (2, 3)).tolist() == [[[[1, 0, 0, 2], [0, 0, 0, 0], [3, 0, 0, 4]]]]


def test_flip_kernel_flips_space_and_swaps_channels_per_group() -> None:
    w = np.arange(4 * 3 * 2 * 2).reshape(4, 3, 2, 2)  # C_out=4, C_in/g=3, groups=2
    f = flip_kernel(w, 2)
    assert f.shape == (6, 2, 2, 2)
    for grp in range(2):
        for o in range(2):
            for c in range(3):
                assert np.array_equal(f[grp * 3 + c, o], w[grp * 2 + o, c, ::-1, ::-1])


def test_steps_have_the_documented_shapes_and_unreached_rows_get_zero() -> None:
    # 6 wide, K=2, stride 3: windows start at 0 and 3 and read up to column 4; column 5 is never read.
    x, w = np.ones((1, 1, 6, 6), int), np.array([[[[1, 2], [3, 4]]]])
    g = np.ones((1, 1, 2, 2), int)
    steps = grad_input_steps(g, w, x.shape, (3, 3), ((0, 0), (0, 0)), (1, 1))
    assert unreached((6, 6), (2, 2), (2, 2), (3, 3), (1, 1)) == (1, 1)
    assert steps.stuffed.shape == (1, 1, 4, 4) and steps.padded.shape == (1, 1, 6, 6)
    assert steps.correlated.shape == (1, 1, 5, 5) and steps.restored.shape == steps.folded.shape == (1, 1, 6, 6)
    assert not steps.folded[..., 5, :].any() and not steps.folded[..., :, 5].any()
    assert steps.folded[0, 0, :2, :2].tolist() == [[1, 2], [3, 4]]


# ---- exact kinds -------------------------------------------------------------------------

def test_fractions_stay_exact() -> None:
    x = np.array([[[[Fraction(1, 3), 2], [Fraction(-2, 5), 1]]]], dtype=object)
    w = np.array([[[[Fraction(1, 2)]]]], dtype=object)
    g = np.array([[[[1, Fraction(1, 7)], [0, 3]]]], dtype=object)
    gi, gw, gb = conv_nd_backward(g, x, w, (1, 1), ((0, 0), (0, 0)), (1, 1))
    assert gi.tolist() == [[[[Fraction(1, 2), Fraction(1, 14)], [0, Fraction(3, 2)]]]]
    assert gw.tolist() == [[[[Fraction(1, 3) + Fraction(2, 7) + 3]]]]
    assert gb.tolist() == [Fraction(29, 7)]


def test_huge_integers_switch_to_python_ints_instead_of_overflowing() -> None:
    rng = np.random.default_rng(7)
    x, w = _ints(rng, (1, 2, 5, 5)), _ints(rng, (2, 2, 3, 3))
    g = _ints(rng, (1, 2, 3, 3))
    big = 2**40  # products reach 2**80: far past int64
    args = ((1, 1), ((0, 0), (0, 0)), (1, 1))
    small = conv_nd_backward(g, x, w, *args)
    scaled = conv_nd_backward(g * big, x * big, w * big, *args)
    # grad_input and grad_weight are products of two scaled operands; grad_bias sums g alone.
    for s, b, factor in zip(small, scaled, (big * big, big * big, big), strict=True):
        assert b.dtype == object
        assert b.tolist() == (s.astype(object) * factor).tolist()


# ---- functional API --------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
def test_functional_same_padding_unbatched_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, w = _ints(rng, (2, 6, 7)), _ints(rng, (4, 1, 4, 3))  # K=4: 'same' pads (1, 2), odd pixel after
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.conv2d(xt, wt, bt, 1, "same", (1, 2), 2)
    g = _ints(rng, tuple(y.shape))
    y.backward(torch.tensor(g, dtype=torch.float64))
    ours = F.conv2d_backward(g, x, w, padding="same", dilation=(1, 2), groups=2)
    assert ours[0].shape == x.shape
    for mine, t in zip(ours, (xt, wt, bt), strict=True):
        assert np.array_equal(mine, t.grad.numpy())


def test_functional_1d_and_transposed_wrappers_match_core() -> None:
    rng = np.random.default_rng(5)
    x, w = _ints(rng, (1, 2, 9)), _ints(rng, (3, 2, 3))
    g = _ints(rng, (1, 3, 5))
    ours = F.conv1d_backward(g, x, w, stride=2, padding=1, padding_mode="circular")
    core = conv_nd_backward(g, x, w, (2,), ((1, 1),), (1,), 1, "circular")
    assert all(np.array_equal(a, b) for a, b in zip(ours, core, strict=True))
    wt = _ints(rng, (2, 3, 3))
    gt = _ints(rng, (3, 2 * 8 - 2 + 3 + 1))  # unbatched, (I−1)s − 2p + K + op
    t_ours = F.conv_transpose1d_backward(gt, x[0], wt, stride=2, padding=1, output_padding=1)
    t_core = conv_transpose_nd_backward(gt[None], x, wt, (2,), (1,), (1,), (1,))
    assert t_ours[0].shape == x[0].shape and np.array_equal(t_ours[0], t_core[0][0])
    x2 = _ints(rng, (1, 2, 3, 4))
    g2 = _ints(rng, (1, 3, 5, 6))
    w2 = _ints(rng, (2, 3, 3, 3))
    t2 = F.conv_transpose2d_backward(g2, x2, w2)
    c2 = conv_transpose_nd_backward(g2, x2, w2, (1, 1), (0, 0), (0, 0), (1, 1))
    assert all(np.array_equal(a, b) for a, b in zip(t2, c2, strict=True))


def test_bad_shapes_are_user_errors() -> None:
    x, w = np.ones((1, 1, 5, 5), int), np.ones((1, 1, 3, 3), int)
    with pytest.raises(ConvcalcError, match="grad_output"):
        F.conv2d_backward(np.ones((1, 1, 2, 2), int), x, w)
    with pytest.raises(ConvcalcError, match="output_padding"):
        F.conv_transpose2d_backward(np.ones((1, 1, 8, 8), int), x, w, stride=2, output_padding=2)
    with pytest.raises(ConvcalcError, match="reflect"):
        F.conv2d_backward(np.ones((1, 1, 13, 13), int), x, w, padding=5, padding_mode="reflect")


# ---- golden: the 5x5 homework ------------------------------------------------------------

A = [[4, 5, 2, 2, 1], [3, 3, 2, 2, 4], [4, 3, 4, 1, 1], [5, 1, 4, 1, 2], [5, 1, 3, 1, 4]]
B = [[4, 3, 3], [5, 5, 5], [2, 4, 3]]
# Worked by hand: cell (i, j) sums B[a][b] over a ∈ [i−2, i], b ∈ [j−2, j] inside the kernel.
GOLDEN_GRAD_INPUT = [[4, 7, 10, 6, 3], [9, 17, 25, 16, 8], [11, 23, 34, 23, 11],
                     [7, 16, 24, 17, 8], [2, 6, 9, 7, 3]]


def test_golden_5x5_grad_input() -> None:
    gi, gw, gb = F.conv2d_backward(np.ones((1, 3, 3), int), np.array([A]), np.array([[B]]))
    assert gi[0].tolist()[0] == [4, 7, 10, 6, 3]  # the student's first row
    assert gi[0].tolist() == GOLDEN_GRAD_INPUT
    assert gi[0, 2, 2] == sum(map(sum, B))  # the centre sees every tap once
    # With an all-ones upstream gradient, grad_weight[a][b] is the sum of A's 3x3 block at (a, b).
    assert gw[0, 0].tolist() == [[sum(A[a + i][b + j] for i in range(3) for j in range(3)) for b in range(3)]
                                 for a in range(3)]
    assert gb.tolist() == [9]


def test_golden_5x5_grad_input_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    xt = torch.tensor([[A]], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.conv2d(xt, torch.tensor([[B]], dtype=torch.float64)).backward(
        torch.ones(1, 1, 3, 3, dtype=torch.float64))
    assert xt.grad[0, 0].tolist() == GOLDEN_GRAD_INPUT
    assert math.isclose(float(xt.grad.sum()), 9 * sum(map(sum, B)))
