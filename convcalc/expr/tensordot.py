"""``tensordot(A, B, axes=...)`` inside expressions, with NumPy's meaning of ``axes``.

``axes=n`` contracts A's last n axes with B's first n (in order); ``axes=([a0, a1], [b0, b1])``
contracts A's axis a_k with B's axis b_k. The result's axes are A's free axes, then B's
(each in its own order). Forward is ``np.tensordot``; the backward pass is two more
tensordots: with G = ∂f/∂C, ∂f/∂A = G contracted with B over B's free axes and ∂f/∂B = A
contracted with G over A's free axes, each then transposed back to its operand's axis order.
"""

from __future__ import annotations

import numpy as np

from convcalc.errors import ConvcalcError
from convcalc.expr.layers import MAX_OUTPUT, MAX_WORK, Params
from convcalc.numbers import Array

MAX_AXES = 16  # far past homework; keeps the settings small


def axes_text(params: Params) -> str:
    """``axes=2`` or ``axes=([0, 1], [2, 0])`` as written back."""
    kw = dict(params)
    if "axes" in kw:
        return f"axes={kw['axes'][0]}"
    return f"axes=({list(kw['axes_a'])}, {list(kw['axes_b'])})"


def _contracted(a: Array, b: Array, params: Params, text: str) -> tuple[list[int], list[int]]:
    """A's and B's contracted axes (0-based, paired in order), checked against the shapes."""
    kw = dict(params)
    if "axes_a" in kw:
        raw_a, raw_b = list(kw["axes_a"]), list(kw["axes_b"])
    else:
        n = kw.get("axes", (2,))[0]
        if not 0 <= n <= min(a.ndim, b.ndim):
            raise ConvcalcError(f"{text}: axes={n} must be between 0 and {min(a.ndim, b.ndim)} (the smaller "
                                f"rank of {a.ndim}-axis A and {b.ndim}-axis B)", "expression")
        raw_a, raw_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    if len(raw_a) != len(raw_b):
        raise ConvcalcError(f"{text}: axes lists {raw_a} and {raw_b} must have the same length", "expression")
    ia = [_axis(x, a.ndim, "A", text) for x in raw_a]
    ib = [_axis(x, b.ndim, "B", text) for x in raw_b]
    for name, axes in (("A", ia), ("B", ib)):
        if len(set(axes)) != len(axes):
            raise ConvcalcError(f"{text}: an axis of {name} is contracted twice", "expression")
    for x, y in zip(ia, ib, strict=True):
        if a.shape[x] != b.shape[y]:
            raise ConvcalcError(f"{text}: A's axis {x} has size {a.shape[x]} but B's axis {y} has size "
                                f"{b.shape[y]}; contracted axes must match (A is {_shape(a)}, B is {_shape(b)})",
                                "expression")
    return ia, ib


def _axis(x: int, ndim: int, name: str, text: str) -> int:
    if not -ndim <= x < ndim:
        raise ConvcalcError(f"{text}: axis {x} is out of range for {name}, which has {ndim} axes", "expression")
    return x % ndim


def _shape(a: Array) -> str:
    return "×".join(map(str, a.shape)) or "a scalar"


def _free(ndim: int, contracted: list[int]) -> list[int]:
    return [i for i in range(ndim) if i not in contracted]


def forward(a: Array, b: Array, params: Params, text: str) -> Array:
    ia, ib = _contracted(a, b, params, text)
    fa, fb = _free(a.ndim, ia), _free(b.ndim, ib)
    out = int(np.prod([a.shape[i] for i in fa], dtype=np.int64)) * int(np.prod([b.shape[i] for i in fb],
                                                                              dtype=np.int64))
    inner = int(np.prod([a.shape[i] for i in ia], dtype=np.int64))
    if out > MAX_OUTPUT or out * inner > MAX_WORK:
        raise ConvcalcError(f"{text}: an output of {out} entries with {inner} products each is past the limits "
                            f"({MAX_OUTPUT} entries, {MAX_WORK} multiply-adds)", "expression")
    return np.asarray(np.tensordot(a, b, axes=(ia, ib)))


def vjp(a: Array, b: Array, params: Params, g: Array, text: str) -> list[Array]:
    """[∂f/∂A, ∂f/∂B] from g = ∂f/∂C, C = tensordot(A, B, axes)."""
    ia, ib = _contracted(a, b, params, text)
    fa, fb = _free(a.ndim, ia), _free(b.ndim, ib)
    na, nb = len(fa), len(fb)
    g = np.asarray(g).reshape([a.shape[i] for i in fa] + [b.shape[i] for i in fb])
    # B with axes (contracted..., free...): contracting g's B-part with B's free part leaves (A free, A contracted).
    da = np.tensordot(g, np.transpose(b, ib + fb), axes=(list(range(na, na + nb)), list(range(len(ib), b.ndim))))
    # A with axes (free..., contracted...): contracting A's free part with g's A-part leaves (B contracted, B free).
    db = np.tensordot(np.transpose(a, fa + ia), g, axes=(list(range(na)), list(range(na))))
    return [np.asarray(np.transpose(da, np.argsort(fa + ia))), np.asarray(np.transpose(db, np.argsort(ib + fb)))]
