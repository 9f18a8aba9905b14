"""``backprop expr --answer NAME=MATRIX``: claimed gradients (and the claimed value ``f``) checked.

A claim about a variable is its gradient ∂f/∂NAME; a claim about the output's name is f's
value. Each is judged as a grader does (:mod:`convcalc.derive.grading`), a matrix cell by
cell with the ✓/✗ grid; each wrong one gets the steps that make it again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from convcalc.derive import grading
from convcalc.derive.answer import check_matrix
from convcalc.derive.records import AnswerCheck, Block, Equation, Heading, Note
from convcalc.errors import ConvcalcError
from convcalc.expr.autodiff import Backward
from convcalc.expr.graph import Graph, Node
from convcalc.expr.rules import grad_text
from convcalc.numbers import Array, fmt, kind_of


@dataclass(frozen=True)
class Verdict:
    """One claimed item: what it is about (``name``), the check, and whether it is the value."""

    name: str
    check: AnswerCheck
    is_value: bool

    @property
    def ok(self) -> bool:
        return self.check.shape_ok and bool(self.check.ok.all())


def check_answers(graph: Graph, back: Backward, answers: Mapping[str, Array]) -> list[Verdict]:
    """A verdict per claim; a name that is neither a variable nor the output is a usage error."""
    out = graph.output
    verdicts = []
    for name, claimed in answers.items():
        if name in graph.variables:
            computed, symbol, is_value = back.grads[graph.node_of(name).index], grad_text(name, out.name), False
        elif name in (out.name, "f"):  # f names the value even when the output is a bare variable
            computed, symbol, is_value = out.value.reshape(()), out.name, True
        else:
            choices = ", ".join(dict.fromkeys([out.name, *graph.variables]))
            raise ConvcalcError(f"{name!r} is neither the output nor a variable of the expression; "
                                f"name one of {choices}", "--answer")
        verdicts.append(Verdict(name, _check(symbol, claimed, computed), is_value))
    return verdicts


def _check(symbol: str, claimed: Array, computed: Array) -> AnswerCheck:
    if computed.ndim == 0 and claimed.size == 1:  # a number claimed as a number (or as a 1×1 matrix)
        g = grading.grade(claimed.reshape(-1)[0], computed[()])
        return AnswerCheck(symbol, claimed.reshape(()), computed, np.array(g.ok),
                           how=np.array(g.how, dtype=object) if g.how else None, whose=grading.whose())
    return check_matrix(symbol, claimed, computed, kind_of(computed))


def answer_blocks(graph: Graph, back: Backward, verdicts: list[Verdict],
                  worked: Sequence[tuple[int, Equation]]) -> Iterator[Block]:
    """The verdict of each claim; for a wrong one, the steps that give the right value.

    ``worked`` holds the derivation's equations in order, each with the node whose gradient
    it builds (-1 for the forward pass).
    """
    yield Heading(f"Checking {grading.whose()}")
    for v in verdicts:
        c = v.check
        what = f"the value {c.symbol}" if v.is_value else c.symbol
        if c.computed.ndim == 0:
            mark = "✓" if v.ok else "✗"
            how = str(c.how[()]) if c.how is not None else ""
            right = (f"right ({how})" if how else "right") if v.ok else \
                (f"wrong: {how}" if how else f"wrong: it is {fmt(c.computed[()])}")
            yield Note(f"{mark} {what}: {c.whose.removesuffix(' answer')} {_claimed(c)} is {right}.",
                       "ok" if v.ok else "error")
        elif not c.shape_ok:
            yield Note(f"✗ {what}: {c.whose} has shape {c.claimed.shape}; it has shape {c.computed.shape}.",
                       "error")
        else:
            yield c
            bad = int((~c.ok).sum())
            yield Note(f"{what}: every cell is right." if not bad else f"{what}: {bad} of {c.ok.size} cells differ.",
                       "ok" if not bad else "error")
        if not v.ok:
            yield from _rework(graph, v, worked)


def _claimed(c: AnswerCheck) -> str:
    return fmt(c.claimed.reshape(-1)[0]) if c.claimed.size == 1 else str(c.claimed.tolist())


def _rework(graph: Graph, v: Verdict, worked: Sequence[tuple[int, Equation]]) -> Iterator[Block]:
    out = graph.output
    if v.is_value:
        yield Note(f"How {out.name} comes out: the forward pass, node by node.")
        yield from (eq for target, eq in worked if target == -1)
        return
    node: Node = graph.node_of(v.name)
    on_path = _depends_on(graph, node.index)
    yield Note(f"How {grad_text(v.name, out.name)} comes out: the backward steps from {out.name} down to {v.name}.")
    yield from (eq for target, eq in worked if target >= 0 and on_path[target])


def _depends_on(graph: Graph, index: int) -> list[bool]:
    """For each node, whether its value depends on node ``index`` (the gradient flows through it)."""
    depends = [False] * len(graph.nodes)
    for n in graph.nodes:  # topological order: inputs first
        depends[n.index] = n.index == index or any(depends[i] for i in n.inputs)
    return depends
