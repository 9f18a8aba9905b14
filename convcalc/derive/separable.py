"""``convcalc params --depthwise-separable``: the pair's own counts are the answer.

A depthwise-separable convolution is a depthwise conv (groups = C_in, one K×K filter per
input channel) followed by a pointwise 1×1 conv (C_in → C_out). Its weights, biases, MACs and
exact operation counts are those of the two layers together; the plain convolution it
replaces is shown beside it for comparison, never given as the answer.
"""

from __future__ import annotations

import math
from typing import Any

from convcalc import formulas
from convcalc.derive.records import Block, Heading, Note, Solution
from convcalc.derive.sizes import ParamsProblem, axis_size, comparison, count_claim, scalar, weights_of
from convcalc.errors import ConvcalcError, ExitStatus


def params(p: ParamsProblem, answer: str | None = None) -> Solution:
    """Weights, biases (and with an input size MACs, FLOPs, exact ops) of the depthwise-separable pair."""
    if p.transposed:
        raise ConvcalcError("a depthwise-separable pair is counted for a plain convolution, not a transposed one",
                            "--depthwise-separable")
    c, n, k, b = p.c_in, p.c_out, p.kernel, 1 if p.bias else 0
    ones = (1,) * len(k)
    kprod = " · ".join(map(str, k))
    dw_w, pw_w = weights_of(c, c, k, c, False), weights_of(c, n, ones, 1, False)
    dw_b, pw_b = b * c, b * n
    total = dw_w + dw_b + pw_w + pw_b
    plain = weights_of(c, n, k, 1, False) + b * n
    blocks: list[Block] = [
        Heading("Parameters of the depthwise-separable pair"),
        Note(f"depthwise (groups = C_in = {c}): weights = C_in · 1 · ∏k = {c} · {kprod} = {dw_w}; "
             f"biases = {dw_b}"),
        Note(f"pointwise (1×1, {c} → {n}): weights = C_out · C_in = {n} · {c} = {pw_w}; biases = {pw_b}"),
        Note(f"total = {dw_w} + {dw_b} + {pw_w} + {pw_b} = {total}  (in the course's letters C(K² + N)"
             f"{' + C + N' if b else ''})", "ok"),
        Note(f"a plain convolution with the same kernel would have {plain} (C·K²·N{' + N' if b else ''}): "
             f"the pair has {total / plain:.4g} of it"),
    ]
    blocks.extend(comparison(p))
    data: dict[str, Any] = {"weights": dw_w + pw_w, "biases": dw_b + pw_b, "total": total,
                            "depthwise": {"weights": dw_w, "biases": dw_b}, "pointwise": {"weights": pw_w, "biases": pw_b},
                            "plain_total": plain}
    if p.input is not None:
        blocks.extend(_ops(p, data))
    status = ExitStatus.OK
    if answer is not None:
        quantity, claim = count_claim(answer)
        if quantity not in data:
            raise ConvcalcError(f"{quantity} are counted only with --input-size", "--answer")
        ok = claim == data[quantity]
        data["answer_correct"] = ok
        data["answer_of"] = quantity
        label = {"total": "parameters", "macs": "MACs", "flops": "FLOPs"}[quantity]
        blocks += [Heading("Your answer"), Note(f"claimed {claim} {label}, computed {data[quantity]} for the "
                                                f"depthwise-separable pair: {'right' if ok else 'wrong'}",
                                                "ok" if ok else "error")]
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    settings = {"in_channels": c, "out_channels": n, "kernel_size": scalar(list(k)), "groups": p.groups,
                "bias": p.bias, "transposed": False, "depthwise_separable": True}
    return Solution("params", "Depthwise-separable convolution: parameters" + (" and operations" if p.input else ""),
                    settings, data, blocks, status=status)


def _ops(p: ParamsProblem, data: dict[str, Any]) -> list[Block]:
    n_ax = len(p.kernel)
    pick = [p.input, p.stride, p.padding, p.dilation]
    i, s, pad, d = (t if len(t) == n_ax else t * n_ax for t in pick)  # type: ignore[operator]
    out = tuple(axis_size("conv", *args, 0).value for args in zip(i, p.kernel, s, pad, d, strict=True))
    if min(out) < 1:
        raise ConvcalcError(f"the output would be empty ({out})", "--input-size")
    c, n, b = p.c_in, p.c_out, 1 if p.bias else 0
    ones = (1,) * n_ax
    dw = formulas.conv_macs(p.batch, c, c, out, p.kernel, c)
    pw = formulas.conv_macs(p.batch, c, n, out, ones, 1)
    macs = dw + pw
    shown = " · ".join(map(str, out))
    blocks: list[Block] = [
        Heading("Operations"),
        Note(f"output {' × '.join(map(str, out))} (the pointwise layer keeps the depthwise output's size)"),
        Note(f"depthwise MACs = N · C_in · ∏O · ∏k = {p.batch} · {c} · {shown} · {' · '.join(map(str, p.kernel))} "
             f"= {dw}"),
        Note(f"pointwise MACs = N · C_out · ∏O · C_in = {p.batch} · {n} · {shown} · {c} = {pw}"),
        Note(f"MACs = {dw} + {pw} = {macs}; FLOPs = 2 · MACs = {2 * macs} (bias additions not counted)", "ok"),
    ]
    data.update({"output_size": scalar(list(out)), "macs": macs, "flops": 2 * macs,
                 "depthwise_macs": dw, "pointwise_macs": pw})
    if p.exact_ops:
        taps = math.prod(p.kernel)
        dw_cells, pw_cells = p.batch * c * math.prod(out), p.batch * n * math.prod(out)
        dw_ops, pw_ops = dw_cells * (2 * taps - 1 + b), pw_cells * (2 * c - 1 + b)
        mults = dw_cells * taps + pw_cells * c
        blocks.append(Note(f"exact count: depthwise {dw_cells} outputs × (2·{taps} − 1{' + 1' if b else ''}) = {dw_ops}; "
                           f"pointwise {pw_cells} outputs × (2·{c} − 1{' + 1' if b else ''}) = {pw_ops} "
                           f"(BHWN(2C − 1){' + BHWN' if b else ''}); total {dw_ops + pw_ops}"))
        data.update({"multiplications": mults, "additions": dw_ops + pw_ops - mults, "exact_ops": dw_ops + pw_ops})
    return blocks
