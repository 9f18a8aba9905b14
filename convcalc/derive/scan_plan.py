"""Which CNN a scanning MLP is: one (filters, kernel, stride) per Linear layer.

A plain scanning MLP (every neuron its own) is Conv1d(C, H1, window, stride) then 1-wide
convolutions. A distributed one (the CMU course's §6.2) says how many *distinct* neurons each
layer has (``unique``): a layer of H neurons with f distinct ones is f filters at P = H/f
positions, and the positions fit together as (P_l − 1)·s_l + K_l = P_(l−1) and
(P_1 − 1)·s_1 + K_1 = window, with ∏ s_l = the MLP's stride. The solutions are enumerated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from convcalc.errors import ConvcalcError

Plan = tuple[tuple[int, int, int], ...]  # (filters, kernel, stride) per Linear layer
MAX_COMBINATIONS = 100_000


def plain_plan(widths: Sequence[int], window: int, stride: int) -> Plan:
    return tuple((w, window, stride) if i == 0 else (w, 1, 1) for i, w in enumerate(widths))


def layer_plans(widths: Sequence[int], unique: Sequence[int], window: int, stride: int) -> list[Plan]:
    """Every (filters, kernel, stride) per layer that scans like the MLP; non-overlapping ones first."""
    if len(unique) != len(widths):
        raise ConvcalcError(f"gives {len(unique)} numbers for {len(widths)} Linear layers", "--unique")
    positions = []
    for i, (w, f) in enumerate(zip(widths, unique, strict=True)):
        if f < 1 or w % f:
            raise ConvcalcError(f"layer {i + 1} has {w} neurons, not a whole number of positions of {f} distinct "
                                "ones", "--unique")
        positions.append(w // f)
    if positions[-1] != 1:
        raise ConvcalcError("the last layer's neurons must all be distinct (one output vector per evaluation)",
                            "--unique")
    below = [window, *positions[:-1]]  # positions of the layer under each one (the input's: the window)
    options: list[list[tuple[int, int]]] = []  # (kernel, stride) per layer; stride 0 = free
    for p, under in zip(positions, below, strict=True):
        if p == 1:
            options.append([(under, 0)])
        else:  # (p − 1)·s + K = under with K ≥ s ≥ 1 (each evaluation reads every position under it)
            options.append([(under - (p - 1) * s, s) for s in range(1, under // p + 1)])
    if math.prod(len(o) for o in options) > MAX_COMBINATIONS:
        raise ConvcalcError(f"more than {MAX_COMBINATIONS} layouts to try", "--unique")
    lowest_free = positions.index(1)
    plans = []
    for combo in itertools.product(*options):
        fixed = math.prod(s for _, s in combo if s)
        if stride % fixed:
            continue
        plan = tuple((f, k, s if s else (stride // fixed if i == lowest_free else 1))
                     for i, (f, (k, s)) in enumerate(zip(unique, combo, strict=True)))
        plans.append(plan)
    if not plans:
        raise ConvcalcError(f"no CNN scans like this MLP: the positions {positions} of the distinct neurons do not fit "
                            f"a window of {window} and a stride of {stride}", "--unique")
    return sorted(plans, key=lambda pl: (not _non_overlapping(pl, positions), pl))


def _non_overlapping(plan: Plan, positions: Sequence[int]) -> bool:
    return all(k == s for (_, k, s), p in zip(plan, positions, strict=True) if p > 1)
