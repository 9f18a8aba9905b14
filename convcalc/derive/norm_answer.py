"""``norm --answer NAME=VALUE`` and ``backprop norm --answer``: each claim judged, and the slip
named when one reproduces it (biased vs unbiased variance, ε left out, the wrong axes, γ and
β swapped, a term of the gradient left out), found by recomputing with the slip.

Each cell is judged by the one grading rule every command uses (``derive/grading.py``): a
decimal is right when it is the true value rounded or cut to the decimals written; integers
and fractions are judged exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from convcalc.derive.records import AnswerCheck, Block, Heading, Note
from convcalc.errors import ConvcalcError
from convcalc.numbers import Array, Written, fmt

FORWARD = ("mean", "var", "var_unbiased", "std", "normalized", "output", "running_mean", "running_var")
BACKWARD = ("grad_input", "grad_weight", "grad_bias")
ALIASES = {"y": "output", "xhat": "normalized", "variance": "var", "dx": "grad_input", "dgamma": "grad_weight",
           "dbeta": "grad_bias"}
MAX_SLIP_CELLS = 4096  # slips are found by recomputing; homework-sized inputs only

Claims = Mapping[str, tuple[Array, str]]


@dataclass(frozen=True)
class Verdict:
    name: str
    check: AnswerCheck
    slip: str | None = None
    decimals: bool = False  # the claim was written with decimals

    @property
    def ok(self) -> bool:
        return self.check.shape_ok and bool(np.all(self.check.ok))


def canonical_name(name: str, allowed: tuple[str, ...]) -> str:
    n = ALIASES.get(name, name)
    if n not in allowed:
        raise ConvcalcError(f"{name!r} is not something this command computes; name one of {', '.join(allowed)}",
                            "--answer")
    return n


def close(c: Any, v: Any, decimal: bool) -> bool:
    """A claimed cell against the computed one, judged as every command judges answers
    (:func:`convcalc.derive.grading.grade`: exact for integers and fractions, a decimal at the
    precision it was written, ``--tolerance`` where given)."""
    del decimal  # a decimal claim arrives as a Written number, which carries its own precision
    from convcalc.derive import grading

    return grading.grade(c, v).ok


def _has_decimals(text: str) -> bool:
    return "." in text or "e" in text.lower()


def judge(symbol: str, claimed: Array, text: str, computed: Array) -> AnswerCheck:
    c = np.asarray(claimed)
    comp = np.asarray(computed)
    if c.shape != comp.shape and c.size == comp.size:
        c = c.reshape(comp.shape)  # a row typed for a column, a 1×1 matrix for a number, (C,1,1) for (C,)
    if c.shape != comp.shape:
        return AnswerCheck(symbol, claimed, comp, np.zeros(comp.shape, dtype=bool), shape_ok=False)
    decimal = _has_decimals(text)
    ok = np.empty(comp.shape, dtype=bool)
    for idx in np.ndindex(comp.shape):
        ok[idx] = close(c[idx], comp[idx], decimal)
    if (comp.dtype.kind == "f" or decimal) and not all(isinstance(x, Written) for x in c.flat):
        c = np.vectorize(float, otypes=[np.float64])(c) if c.size else c.astype(np.float64)  # shown as decimals
    return AnswerCheck(symbol, c, comp, ok)


def _same(claimed: Array, text: str, alt: Array | None) -> bool:
    if alt is None:
        return False
    chk = judge("", claimed, text, alt)
    return chk.shape_ok and bool(chk.ok.all())


# A slip: what it says, and the value it makes for each name (None: it changes nothing there).
Slip = tuple[str, Callable[[], Mapping[str, Array | None]]]


def _find(claimed: Array, text: str, name: str, slips: Iterable[Slip]) -> str | None:
    for says, make in slips:
        try:
            alt = make().get(name)
        except (ConvcalcError, ZeroDivisionError, ValueError, FloatingPointError):
            continue
        if _same(claimed, text, alt):
            return says
    return None


def check(claims: Claims, computed: Mapping[str, Array], slips: Callable[[], list[Slip]],
          size: int, allowed: tuple[str, ...]) -> list[Verdict]:
    out = []
    cache: list[list[Slip]] = []
    for raw, (claimed, text) in claims.items():
        name = canonical_name(raw, allowed)
        if name not in computed:
            raise ConvcalcError(f"{name} is not computed here (e.g. no running statistics without a batch axis "
                                "reduced, no unbiased variance in eval mode)", "--answer")
        v = Verdict(name, judge(name, claimed, text, computed[name]), decimals=_has_decimals(text))
        if not v.ok and size <= MAX_SLIP_CELLS:
            if not cache:
                cache.append(slips())
            v = replace(v, slip=_find(claimed, text, name, cache[0]))
        out.append(v)
    return out


def check_forward(p: Any, w: Any, data: dict[str, Any], claims: Claims) -> list[Verdict]:
    from convcalc.derive.norm_slips import forward_slips

    return check(claims, data, lambda: forward_slips(p, w), p.x.size, FORWARD)


def answer_blocks(verdicts: list[Verdict]) -> Iterator[Block]:
    from convcalc.derive import grading

    yield Heading(f"Checking {grading.whose()}")
    for v in verdicts:
        c = v.check
        if c.computed.ndim == 0 or (c.computed.size == 1 and c.shape_ok):
            from convcalc.derive import grading

            claimed = np.asarray(c.claimed).reshape(-1)
            got = fmt(claimed[0]) if claimed.size else "?"
            how = grading.grade(claimed[0], c.computed.reshape(-1)[0]).how if claimed.size else ""
            right = "right" if v.ok else f"wrong: it is {fmt(c.computed.reshape(-1)[0])}"
            yield Note(f"{'✓' if v.ok else '✗'} {v.name}: {grading.whose()} {got} is {right}"
                       f"{f' ({how})' if how else ''}.", "ok" if v.ok else "error")
        elif not c.shape_ok:
            yield Note(f"✗ {v.name}: your answer has shape {np.asarray(c.claimed).shape}; it has shape "
                       f"{c.computed.shape}.", "error")
        else:
            yield c
            bad = int((~c.ok).sum())
            yield Note(f"{v.name}: every cell is right." if not bad else f"{v.name}: {bad} of {c.ok.size} cells differ.",
                       "ok" if not bad else "error")
        if v.slip:
            yield Note(f"Likely slip: your {v.name} is what you get with {v.slip}.", "warn")
    if any(v.decimals for v in verdicts):
        yield Note("A number written with d decimals is right when it is the true value rounded or cut to d "
                   "decimals.")


def record(data: dict[str, Any], verdicts: list[Verdict]) -> None:
    data["answer_correct"] = all(v.ok for v in verdicts)
    data["answers"] = {v.name: v.ok for v in verdicts}
    slips = [f"{v.name}: {v.slip}" for v in verdicts if v.slip]
    data["slip"] = "; ".join(slips) if slips else None
    data["answer_of"] = verdicts[0].name


def axis_sets(nd: int, current: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Every other non-empty set of axes, fewest first."""
    for k in range(1, nd + 1):
        for axes in itertools.combinations(range(nd), k):
            if axes != current:
                yield axes
