"""The worked solution of ``backprop expr``: the graph, the forward pass, the backward pass
node by node (local derivative, chain rule, gradient), every variable's gradient, and the
closed forms of f and its gradients (:mod:`convcalc.expr.closed_form`) where they exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from convcalc.derive.answer import check_matrix
from convcalc.derive.expr_answer import answer_blocks, check_answers
from convcalc.derive.records import Block, Equation, Heading, Note, Solution, Table
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.expr.autodiff import Backward, backward
from convcalc.expr.closed_form import ClosedForms, closed_forms
from convcalc.expr.graph import Graph, Node, build
from convcalc.expr.parse import parse
from convcalc.expr.rules import chain, definition, grad_tex, grad_text, tex_name
from convcalc.numbers import Array, Kind, exact_strings, fmt, kind_of

COMMAND = "backprop expr"
MAX_SHOWN = 100  # entries of a matrix written out in the steps; all of them are in the JSON
MAX_INLINE = 12  # entries of a value written inline in the node table


def solve(expression: str, variables: Mapping[str, Array], answers: Mapping[str, Array] | None = None,
          diag: bool = False) -> Solution:
    """Parse, evaluate and differentiate ``expression`` with the given variable values; check
    ``answers`` (a variable's name: its claimed gradient; the output's name: the claimed value)."""
    graph = build(parse(expression, variables.keys()), variables)
    if graph.output.value.size != 1:
        return _value_only(graph, expression, variables, answers or {})
    back = backward(graph)
    verdicts = check_answers(graph, back, answers) if answers else []
    blocks: list[Block] = [Note(f"--var {name} is not used in the expression", "warn")
                           for name in variables if name not in graph.variables]
    blocks += graph_table(graph)
    worked: list[tuple[int, Equation]] = []  # (node whose gradient it builds, or -1: forward)
    blocks += forward_steps(graph, worked)
    blocks += backward_steps(graph, back, worked)
    blocks += _gradients(graph, back)
    forms = closed_forms(graph, back, diag)
    blocks += _closed_form_blocks(forms)
    out = graph.output
    data: dict[str, Any] = {
        "value": out.value.reshape(()),
        "gradients": {name: back.grads[graph.node_of(name).index] for name in graph.variables},
        "nodes": [_node_json(graph, back, n) for n in graph.nodes],
        "closed_forms": _closed_form_json(forms),
    }
    exact = {name: exact_strings(g) for name, g in data["gradients"].items()} \
        if graph.output.value.dtype == object else {}
    if any(_any_string(e) for e in exact.values()):  # exact arithmetic: "p/q" beside non-integer gradients
        data["gradients_exact"] = exact
    status = ExitStatus.OK
    if verdicts:
        blocks += answer_blocks(graph, back, verdicts, worked)
        data["answer_correct"] = all(v.ok for v in verdicts)
        data["answers"] = {v.name: v.ok for v in verdicts}
        status = ExitStatus.OK if data["answer_correct"] else ExitStatus.WRONG_ANSWER
    settings = {"expression": expression.strip(), "variables": list(graph.variables)}
    from convcalc.expr.rules import expression_tex

    title_tex = f"{tex_name(out.name)} = {expression_tex(graph)}"
    return Solution(COMMAND, f"Backpropagation through {out.name} = {expression.strip()}", settings, data, blocks,
                    status=status, extra={"title_tex": title_tex})


def _value_only(graph: Graph, expression: str, variables: Mapping[str, Array],
                answers: Mapping[str, Array]) -> Solution:
    """f is a vector or a matrix: its value worked forward (an identity shows as zeros), no gradients."""
    out = graph.output
    blocks: list[Block] = [Note(f"--var {name} is not used in the expression", "warn")
                           for name in variables if name not in graph.variables]
    blocks += graph_table(graph)
    blocks += forward_steps(graph, [])
    blocks.append(Note(f"{out.name} has shape {_shape(out.value)}, not a single number: this is its value. For "
                       f"gradients wrap it in sum(...) or mean(...); for its Jacobian add --wrt NAME."))
    data: dict[str, Any] = {"value": out.value, "gradients": None,
                            "all_zero": bool(all(v == 0 for v in out.value.flat))}
    if data["all_zero"]:
        blocks.append(Note(f"Every entry of {out.name} is 0: the two sides agree at these values.", "ok"))
    status = ExitStatus.OK
    for name, claimed in answers.items():
        if name not in (out.name, "f"):
            raise ConvcalcError(f"{out.name} is not a single number, so only its value can be claimed "
                                f"(--answer {out.name}=MATRIX), not {name!r}", "--answer")
        kind = Kind.FLOAT if kind_of(out.value) is Kind.FLOAT else Kind.RATIONAL
        check = check_matrix(out.name, claimed, out.value, kind)  # decimals as written, judged at their precision
        ok = check.shape_ok and bool(check.ok.all())
        blocks += [Heading("Checking your answer"), check,
                   Note(f"✓ every entry of {out.name} is right." if ok else f"✗ {int((~check.ok).sum())} of "
                        f"{check.ok.size} entries of {out.name} differ.", "ok" if ok else "error")]
        data["answer_correct"] = ok
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    settings = {"expression": expression.strip(), "variables": list(graph.variables)}
    return Solution(COMMAND, f"{out.name} = {expression.strip()}", settings, data, blocks, status=status)


def _node_json(graph: Graph, back: Backward, node: Node) -> dict[str, Any]:
    return {"name": node.name, "op": node.op, "expression": node.text,
            "inputs": [graph.nodes[i].name for i in node.inputs], "shape": list(node.shape),
            "value": node.value, "grad": back.grads[node.index]}


def graph_table(graph: Graph) -> list[Block]:
    from convcalc.derive.records import MathCell
    from convcalc.expr.rules import expression_tex

    rows = tuple((n.name, n.op if n.exponent is None else f"pow {fmt(n.exponent)}",
                  MathCell(n.text, expression_tex(graph, n)),
                  ", ".join(graph.nodes[i].name for i in n.inputs), _shape(n.value), inline(n.value))
                 for n in graph.nodes)
    columns = ("node", "op", "expression", "inputs", "shape", "value")
    return [Heading("Computation graph"), Table(columns, rows, left=columns[:4])]


def forward_steps(graph: Graph, worked: list[tuple[int, Equation]]) -> list[Block]:
    """The forward pass; its equations are also kept in ``worked``, marked -1."""
    steps: list[Equation] = []
    for node in graph.nodes:
        if node.op == "var":
            steps.append(equation(node.name, tex_name(node.name), node.value))
        elif node.op != "const":  # constants are in the table; they need no working
            text, tex = definition(graph, node)
            steps.append(equation(text, tex, node.value))
    worked.extend((-1, eq) for eq in steps)
    return [Heading("Forward pass"), *steps]


def backward_steps(graph: Graph, back: Backward, worked: list[tuple[int, Equation]]) -> list[Block]:
    """The backward pass; the equations that build each node's gradient are kept in ``worked``."""
    out = graph.output.name
    blocks: list[Block] = [Heading("Backward pass"),
                           Note(f"Last node first, each node passes the gradient of {out} with respect to itself on to its "
                                "inputs through its local derivative; an input used more than once adds up what it "
                                "receives."),
                           Equation(f"{grad_text(out, out)} = 1", f"{grad_tex(out, out)} = 1")]
    uses = Counter(s.target for s in back.steps)
    seen: Counter[int] = Counter()
    for step in back.steps:
        target = graph.nodes[step.target]
        if target.op == "const":
            continue
        seen[step.target] += 1
        shared = uses[step.target] > 1
        text, tex = chain(graph, graph.nodes[step.node], step.slot, via=shared)
        if step.reduced:
            text += f"  (summed over the broadcast axes to {_shape(target.value)})"
            tex += rf"\quad\text{{(summed to {_shape(target.value)})}}"
        eq = equation(text, tex, step.contribution)
        blocks.append(eq)
        worked.append((step.target, eq))
        if shared and seen[step.target] == uses[step.target]:
            lhs = grad_text(target.name, out)
            eq = equation(f"{lhs} = the sum of its {uses[step.target]} contributions",
                           rf"{grad_tex(target.name, out)} = \textstyle\sum \text{{ of its "
                           rf"{uses[step.target]} contributions}}", back.grads[step.target])
            blocks.append(eq)
            worked.append((step.target, eq))
    return blocks


def _gradients(graph: Graph, back: Backward) -> list[Block]:
    out = graph.output.name
    blocks: list[Block] = [Heading("Gradients")]
    for name in graph.variables:
        blocks.append(equation(grad_text(name, out), grad_tex(name, out), back.grads[graph.node_of(name).index]))
    return blocks


# What the closed forms' symbols mean, said only for the symbols a form uses.
_LEGEND = (("𝟏", "𝟏 is all ones", r"\mathbf{1}\text{ is all ones}"),
           ("⊙", "⊙ multiplies entry by entry", r"\odot\text{ multiplies entry by entry}"),
           ("⊘", "⊘ divides entry by entry", r"\oslash\text{ divides entry by entry}"),
           ("> 0]", "[a > 0] is 1 where a > 0, else 0", r"[a > 0]\text{ is 1 where } a > 0\text{, else 0}"),
           ("σ′", "σ′(a) = σ(a) (1 − σ(a))", r"\sigma'(a) = \sigma(a) \left(1 - \sigma(a)\right)"))


def _closed_form_blocks(forms: ClosedForms | None) -> list[Block]:
    if forms is None:
        return []
    shown = ([forms.value] if forms.value else []) + list(forms.gradients)
    blocks: list[Block] = [Heading("Closed forms"),
                           Note("By matrix calculus on the same graph, each checked against the numbers above.")]
    blocks += [Equation(form.text, form.tex) for form in shown]
    blocks += legend([form.text for form in shown])
    if forms.missing:
        names = ", ".join(forms.missing)
        blocks.append(Note(f"No closed form is shown for the gradient of {names}: too long to read, or beyond "
                           "what the derivation covers. The numbers above stand."))
    return blocks


def legend(texts: list[str]) -> list[Block]:
    """What the symbols in ``texts`` mean, said once for the symbols they use."""
    used = [(text, tex) for symbol, text, tex in _LEGEND if any(symbol in t for t in texts)]
    if not used:
        return []
    return [Equation("; ".join(t for t, _ in used), r",\quad ".join(t for _, t in used))]


def _closed_form_json(forms: ClosedForms | None) -> dict[str, Any] | None:
    """f's form and each gradient's, as text and LaTeX; None when there are none."""
    if forms is None:
        return None
    return {"value": {"text": forms.value.text, "latex": forms.value.tex} if forms.value else None,
            "gradients": {f.name: {"text": f.text, "latex": f.tex} for f in forms.gradients}}


def equation(text: str, tex: str, value: Array) -> Equation:
    """``text = value``: a number inline, a small matrix written out, a big one by shape only."""
    if value.ndim == 0:
        return Equation(f"{text} = {fmt(value[()])}", f"{tex} = {fmt(value[()])}")
    if value.ndim <= 2 and value.size <= MAX_SHOWN:
        return Equation(text, tex, value)
    note = f"shape {_shape(value)}; every entry is in --format json"
    return Equation(f"{text}  ({note})", rf"{tex} \quad \text{{({note})}}")


def inline(value: Array) -> str:
    if value.ndim == 0:
        return fmt(value[()])
    if value.size > MAX_INLINE or value.ndim > 2:
        return "…"
    rows = [value] if value.ndim == 1 else list(value)
    return "[" + "; ".join(" ".join(fmt(v) for v in row) for row in rows) + "]"


def _shape(value: Array) -> str:
    return "×".join(map(str, value.shape)) if value.ndim else "scalar"


def _any_string(nested: Any) -> bool:
    if isinstance(nested, list):
        return any(_any_string(v) for v in nested)
    return isinstance(nested, str)
