"""A claimed count (``params --answer``): ``34944``, ``61,100,840``, ``105705600 MACs``,
``714 MMACs``, ``1.4 GFLOPs``, ``61.1M params``; what is counted, and the number as written.

A count written in full is judged exactly; one written with a prefix (k, M, G, T, or B for
billion) or decimals is judged at the last digit written, as a grader reads ``714 MMACs``
(:mod:`convcalc.derive.grading`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from convcalc.derive import grading
from convcalc.errors import ConvcalcError
from convcalc.numbers import Written

_PREFIX = {"": 0, "k": 3, "K": 3, "M": 6, "G": 9, "B": 9, "T": 12}
_CLAIM = re.compile(
    r"^\s*(?P<number>\d{1,3}(?:,\d{3})+|\d{1,3}(?:_\d{3})+|\d{1,3}(?:[ \u202f\u2009]\d{3})+|\d{1,40}(?:\.\d{1,40})?)"
    r"\s*(?P<prefix>[kKMGBT]?)\s*(?P<unit>params?|parameters|macs?|flops?)?\s*$",
    re.IGNORECASE)
QUANTITIES = {"total": "parameters", "macs": "MACs", "flops": "FLOPs"}
FORMS = "a count such as 34944, 61,100,840, 105705600 MACs, 714 MMACs, 1.4 GFLOPs or 61.1M params"


@dataclass(frozen=True)
class CountClaim:
    quantity: str  # "total" (parameters), "macs" or "flops"
    value: int | Written
    text: str  # as typed


def parse_count_claim(answer: str, where: str = "--answer") -> CountClaim:
    m = _CLAIM.match(answer)
    prefix = m.group("prefix") if m else ""
    if m is None or (prefix and prefix not in _PREFIX) or (prefix == "m"):
        raise ConvcalcError(f"expected {FORMS}; got {answer!r}", where)
    unit = (m.group("unit") or "params").lower()
    quantity = "macs" if unit.startswith("mac") else "flops" if unit.startswith("flop") else "total"
    digits = re.sub(r"[,_ \u202f\u2009]", "", m.group("number"))
    power = _PREFIX[prefix]
    value: int | Written
    if "." not in digits and not power:
        value = int(digits)
    else:
        value = Written(f"{digits}e{power}", shown=answer.strip())
    return CountClaim(quantity, value, answer.strip())


def judge_count(claim: CountClaim, true: int) -> grading.Grade:
    return grading.grade(claim.value, true)
