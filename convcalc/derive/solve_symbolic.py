"""``convcalc output-size --solve X`` in letters: the setting that gives a target size.

The algebra is ``convcalc.symbolic.solve``'s; this module lays it out as records.
"""

from __future__ import annotations

from typing import Any

from convcalc.derive.records import Block, Equation, Heading, Note, Solution
from convcalc.derive.sizes_symbolic import TITLES, SymbolicSizes, formula_lines, read, settings
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.symbolic import printing
from convcalc.symbolic.parse import parse_expr
from convcalc.symbolic.settings import adopt, letters
from convcalc.symbolic.sizes import Axis, AxisSize, axis_size
from convcalc.symbolic.solve import UNKNOWNS, Solved, solve_axis

FLAG = {"padding": "--padding", "stride": "--stride", "kernel-size": "--kernel-size",
        "output-padding": "--output-padding"}


def solve(texts: dict[str, str | None], kind: str, dim: int, unknown: str, target: str | None,
          answer: str | None = None) -> Solution:
    """Solve every axis's size = ``target`` for ``unknown``, worked, with its side conditions."""
    if unknown not in UNKNOWNS:
        raise ConvcalcError(f"expected one of {', '.join(UNKNOWNS)}, got {unknown!r}", "--solve")
    if target is None:
        raise ConvcalcError("--solve needs --target N (a number or letters), the output size wanted", "--target")
    prob = read(texts, kind, dim, unknown=FLAG[unknown])
    known = letters(*(getattr(ax, f) for ax in prob.axes for f in ("i", "k", "s", "p", "d", "q")))
    goal = adopt(parse_expr(target, where="--target"), known.values())
    results = [solve_axis(kind, ax, unknown, goal) for ax in prob.axes]
    blocks: list[Block] = [Heading(f"Solving for {unknown} with output size {printing.text(goal)}")]
    for label, ax, res in zip(prob.labels, prob.axes, results, strict=True):
        blocks.extend(_worked(label, kind, ax, res, unknown))
    data = _data(results)
    status = ExitStatus.OK
    if answer is not None:
        ok, lines = _judge(answer, results, prob)
        data["answer_correct"] = ok
        blocks += [Heading("Your answer"), *lines]
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    sets = settings(prob)
    sets.pop(FLAG[unknown].removeprefix("--").replace("-", "_"), None)
    sets["target"] = _plain(goal)
    sets["solve"] = unknown
    return Solution("output-size", TITLES[kind], sets, data, blocks, status=status)


def _plain(v: Any) -> Any:
    return int(v) if v.is_Integer else printing.sympy_syntax(v)


def _worked(label: str, kind: str, ax: Axis, res: Solved, unknown: str) -> list[Block]:
    field = UNKNOWNS[unknown][0]
    with_x = Axis(**{**ax.__dict__, field: res.x})
    x = printing.text(res.x)
    blocks: list[Block] = [formula_lines(label, kind, with_x, axis_size_quiet(kind, with_x))]
    eq_text = f"{printing.text(res.equation.lhs)} = {printing.text(res.equation.rhs)}"
    eq_tex = f"{printing.latex(res.equation.lhs)} &= {printing.latex(res.equation.rhs)}"
    if res.exact is None:
        blocks.append(Equation(f"{eq_text}: no solution", rf"\begin{{aligned}} {eq_tex} \end{{aligned}}"))
        blocks.append(Note(f"{label}: no {unknown} gives exactly {printing.text(res.equation.rhs)}", "warn"))
        return blocks
    sol_text, sol_tex = res.shown or (printing.text(res.exact), printing.latex(res.exact))
    lines_text = [eq_text, f"{x} = {sol_text}"]
    lines_tex = [eq_tex, rf"\Rightarrow {printing.latex(res.x)} &= {sol_tex}"]
    if res.shown is not None and printing.text(res.exact) != sol_text:
        lines_text.append(f"{' ' * len(x)} = {printing.text(res.exact)}")
        lines_tex.append(rf" &= {printing.latex(res.exact)}")
    blocks.append(Equation("\n".join(lines_text), r"\begin{aligned} " + r" \\ ".join(lines_tex) + r" \end{aligned}"))
    if unknown == "padding" and res.equation.rhs == ax.i:
        blocks.append(Note(f"{label}: this is 'same' padding: the output keeps the input's size "
                           f"{printing.text(ax.i)}", "ok"))
    if res.conditions:
        blocks.append(Note(f"{label}: {x} must satisfy " + "; ".join(c.text for c in res.conditions)))
    floored = unknown == "stride" or ax.s != 1  # with stride 1 the floor is exact: no range
    if res.low is not None and res.high is not None and floored and not (res.low == res.exact == res.high):
        blocks.append(Note(f"{label}: PyTorch floors the size, so every whole {x} from {printing.text(res.low)} "
                           f"to {printing.text(res.high)} gives {printing.text(res.equation.rhs)} (only the exact "
                           f"value above tiles the input exactly)"))
    if res.closed_form is not None:
        blocks.extend(_closed(label, ax, res))
    return blocks


def axis_size_quiet(kind: str, ax: Axis) -> Any:
    """The size with the unknown in it; its own requirements are the solution's conditions."""
    try:
        return axis_size(kind, ax)
    except ConvcalcError:
        return AxisSize(ax.i, ax.i, None, None, ())


def _closed(label: str, ax: Axis, res: Solved) -> list[Block]:
    x = printing.text(res.x)
    same = res.undoes is not None and res.undoes == ax.i
    text = (f"{x} = {printing.text(res.closed_form)}", rf"{printing.latex(res.x)} = {printing.latex(res.closed_form)}")
    why = (f"{label}: when the input {printing.text(ax.i)} is the output ⌊…⌋ + 1 = {printing.text(res.undoes)} of "
           f"the convolution with the same settings applied to {printing.text(res.equation.rhs)} (the transposed "
           f"convolution undoes it), {x} is that remainder: it lies in [0, {printing.text(ax.s)}), so "
           f"{x} < max(S, D) holds")
    return [Equation(*text), Note(why + (" — and here it is" if same else ""), "ok" if same else "info")]


def _data(results: list[Solved]) -> dict[str, Any]:
    def one(r: Solved) -> dict[str, Any]:
        return {"solution": None if r.exact is None else printing.sympy_syntax(r.exact),
                "range": None if r.low is None else [printing.sympy_syntax(r.low), printing.sympy_syntax(r.high)],
                "closed_form": None if r.closed_form is None else printing.sympy_syntax(r.closed_form)}

    per = [one(r) for r in results]
    pick = (lambda key: per[0][key]) if len(per) == 1 else (lambda key: [p[key] for p in per])
    return {"solutions": pick("solution"), "solution_range": pick("range"), "closed_form": pick("closed_form"),
            "conditions": sorted({c.sympy for r in results for c in r.conditions}), "symbolic": True}


def _judge(answer: str, results: list[Solved], prob: SymbolicSizes) -> tuple[bool, list[Block]]:
    from convcalc.symbolic.judge import equivalent, read_claim

    r = results[0]
    if len(results) > 1 and any(not (q.exact is not None and r.exact is not None and (q.exact - r.exact).expand() == 0)
                                for q in results):
        raise ConvcalcError("the axes have different solutions: check them one at a time with --dim 1",
                            "--answer")
    if r.exact is None:
        return False, [Note(f"wrong: there is no solution to claim ({answer})", "error")]
    conds = [c.expr.subs(r.x, r.exact) for c in r.conditions] + [c.expr for c in prob.requires]
    claim = read_claim(answer, r.exact.free_symbols | r.equation.free_symbols)
    same, env = equivalent(claim, r.exact, conds)
    if same is not False:
        return True, [Note(f"right: your {answer.strip()} equals {printing.text(r.exact)}", "ok")]
    if r.closed_form is not None and r.undoes is not None:
        i = prob.axes[0].i  # the input, the conv's output of the target: then P′ is the closed form
        undone = {i: r.undoes} if i.is_Symbol else {}
        if undone and equivalent(claim.xreplace(undone), r.exact.xreplace(undone), conds)[0] is not False:
            return True, [Note(f"right: your {answer.strip()} is the closed form {printing.text(r.closed_form)}, "
                               f"which is the output padding when the input is the convolution's output of the "
                               f"target", "ok")]
    at = ", ".join(f"{printing.text(s)} = {v}" for s, v in sorted(env.items(), key=lambda kv: kv[0].name))
    return False, [Note(f"wrong: your {answer.strip()} differs from {printing.text(r.exact)}"
                        + (f": at {at} yours is {claim.xreplace(env)}, the solution {r.exact.xreplace(env)}" if env else ""),
                        "error")]
