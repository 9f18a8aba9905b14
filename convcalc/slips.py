"""The usual slips of convolution homework, as changes to a problem's settings.

A wrong answer is explained only by recomputing: each slip (or a combination of up to
three) changes the settings a command received — stride 1, padding 0, the kernel flipped,
... — or reads the claim the way the slip would (FLOPs for MACs), and the problem is run
again. When that run's result equals the claim, the slip is named. Nothing here guesses
from the numbers alone; the caller supplies ``attempt``, which re-runs the real command.

Settings are the command's parameters by Python name, with the values the command
received (strings such as ``"2"`` or ``"2,1"``, booleans, None).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Params = Mapping[str, Any]
Changes = dict[str, Any]
# attempt(changes, claim) -> True when the command run with ``changes`` agrees with ``claim``
Attempt = Callable[[Changes, str], bool]


@dataclass(frozen=True)
class Slip:
    """``says`` completes "your answer is what you get with ..."."""

    says: str
    changes: Changes
    claim: Callable[[str], str | None] | None = None  # the claim as the slip reads it


def _ones(value: Any) -> bool:
    return str(value).replace(" ", "").strip(",") in {"1", "1,1", "1,1,1"}


def _zeros(value: Any) -> bool:
    return str(value).replace(" ", "").strip(",") in {"0", "0,0", "0,0,0", "valid"}


def candidates(path: tuple[str, ...], params: Params) -> list[Slip]:
    """Every single slip that could apply to this command and these settings."""
    out: list[Slip] = []
    has = params.__contains__
    if has("stride") and not _ones(params["stride"]):
        out.append(Slip("stride 1", {"stride": "1"}))
    if has("padding") and not _zeros(params["padding"]):
        out.append(Slip("no padding", {"padding": "0"}))
    if has("flip"):
        out.append(Slip("the kernel not flipped (cross-correlation)", {"flip": False}) if params["flip"] else
                   Slip("the kernel flipped (a true convolution; PyTorch's conv does not flip)", {"flip": True}))
    if has("dilation") and not _ones(params["dilation"]):
        out.append(Slip("dilation 1", {"dilation": "1"}))
    if has("output_padding") and not _zeros(params["output_padding"]):
        out.append(Slip("output padding 0", {"output_padding": "0"}))
    if has("bias") and params["bias"] is not None:
        out.append(Slip("no bias", {"bias": None}))
    if has("no_bias"):
        out.append(Slip("a bias counted where the layer has none", {"no_bias": False}) if params["no_bias"] else
                   Slip("the biases left out of the count", {"no_bias": True}))
    if has("groups") and params["groups"] not in (None, 1, "1"):
        out.append(Slip("groups 1 (no grouping)", {"groups": 1}))
    if has("ceil_mode") and (path != ("output-size",) or params.get("pool")):
        out.append(Slip("the size rounded down (floor)", {"ceil_mode": False}) if params["ceil_mode"] else
                   Slip("the size rounded up (ceil_mode)", {"ceil_mode": True}))
    if has("count_include_pad") and params.get("mode") in ("avg", None) and not _zeros(params.get("padding", "0")):
        flag = params["count_include_pad"]
        out.append(Slip("the padding " + ("left out of" if flag else "counted in") + " the average's divisor",
                        {"count_include_pad": not flag}))
    layers = params.get("layer") or ()
    if path == ("receptive-field",) and len(layers) >= 2:
        out.append(Slip(f"the last layer, {layers[-1]}, left out", {"layer": tuple(layers[:-1])}))
    out += _claim_slips(path, params)
    return out


def _claim_slips(path: tuple[str, ...], params: Params) -> list[Slip]:
    out: list[Slip] = []
    transposed = path == ("transposed-conv",) or (path == ("output-size",) and params.get("transposed"))
    if transposed and has_padding(params):
        pads = _ints(params["padding"])
        out.append(Slip("the padding added instead of cropped (PyTorch crops a transposed conv's padding)",
                        {"padding": "0"},
                        (lambda c: _grow_size(c, pads, -2)) if path == ("output-size",) else
                        (lambda c: _crop_border(c, pads))))
    if path == ("output-size",) and not transposed:
        out.append(Slip("the formula's + 1 left out (positions counted from 0)", {}, lambda c: _grow_size(c, [], 1)))
    if path == ("params",):
        out.append(Slip("MACs and FLOPs swapped (FLOPs = 2 × MACs)", {}, _swap_ops))
    return out


def has_padding(params: Params) -> bool:
    return "padding" in params and not _zeros(params["padding"]) and _ints(params["padding"]) is not None


def _ints(text: Any) -> list[int] | None:
    try:
        return [int(t) for t in str(text).replace(" ", "").split(",") if t]
    except ValueError:
        return None


def _grow_size(claim: str, pads: list[int] | None, factor: int) -> str | None:
    """A claimed size read as if ``factor·p`` had been added per axis (``factor·1`` with no pads)."""
    sizes = _ints(claim.replace("x", ",").replace("×", ","))
    if not sizes:
        return None
    steps = pads or [1]
    if len(steps) == 1:
        steps = steps * len(sizes)
    if len(sizes) == 1 and len(steps) > 1:
        sizes = sizes * len(steps)
    if len(steps) != len(sizes):
        return None
    return ",".join(str(s + factor * p) for s, p in zip(sizes, steps, strict=True))


def _crop_border(claim: str, pads: list[int] | None) -> str | None:
    """A claimed matrix whose border of width p is all zeros, with that border taken off."""
    from convcalc.errors import ConvcalcError
    from convcalc.io import parse_text

    if not pads:
        return None
    try:
        m = parse_text(claim, "--answer", exact=True)
    except ConvcalcError:
        return None
    if m.ndim < 1:
        return None
    p = pads * m.ndim if len(pads) == 1 else pads
    if len(p) != m.ndim or any(2 * q >= n for q, n in zip(p, m.shape, strict=True)):
        return None
    inner = m[tuple(slice(q, n - q) for q, n in zip(p, m.shape, strict=True))]
    if sum(1 for x in m.ravel() if x != 0) != sum(1 for x in inner.ravel() if x != 0):
        return None  # the border is not all zeros
    rows = inner.reshape(-1, inner.shape[-1]) if inner.ndim > 1 else inner.reshape(1, -1)
    return "; ".join(" ".join(str(x) for x in row) for row in rows)


_OPS = re.compile(r"^\s*([0-9][0-9_,]*)\s*(macs?|flops?)\s*$", re.IGNORECASE)


def _swap_ops(claim: str) -> str | None:
    """``N FLOPs`` read as ``N MACs`` and the other way round (the number kept)."""
    m = _OPS.match(claim)
    if m is None:
        return None
    other = "FLOPs" if m.group(2).lower().startswith("mac") else "MACs"
    return f"{m.group(1)} {other}"


def find(path: tuple[str, ...], params: Params, claim: str, attempt: Attempt, most: int = 3) -> list[Slip] | None:
    """The smallest combination of slips that turns the problem's answer into ``claim``.

    Singles are tried first, then pairs, then triples, each in catalogue order; a
    combination never changes one setting twice nor reads the claim twice.
    """
    pool = candidates(path, params)
    tried: set[tuple[tuple[str, str], ...]] = set()
    for size in range(1, most + 1):
        for combo in itertools.combinations(pool, size):
            keys = [k for s in combo for k in s.changes]
            readers = [s.claim for s in combo if s.claim is not None]
            if len(keys) != len(set(keys)) or len(readers) > 1:
                continue
            changes: Changes = {k: v for s in combo for k, v in s.changes.items()}
            read = readers[0](claim) if readers else claim
            if read is None:
                continue
            fingerprint = (*sorted((k, repr(v)) for k, v in changes.items()), ("claim", read))
            if fingerprint in tried:
                continue
            tried.add(fingerprint)
            if attempt(changes, read):
                return list(combo)
    return None


def describe(combo: list[Slip]) -> str:
    says = [s.says for s in combo]
    listed = says[0] if len(says) == 1 else ", ".join(says[:-1]) + " and " + says[-1]
    return "your answer is what you get with " + listed
