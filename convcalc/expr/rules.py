"""Each op's definition and chain rule written for people, in plain text and in LaTeX.

The numbers come from :mod:`convcalc.expr.autodiff`; this module only says in symbols what
those numbers are, e.g. ``∂v2/∂v1 = 2·v1  ⇒  ∂f/∂v1 = ∂f/∂v2 ⊙ 2·v1``. Templates use
``string.Template`` fields: ``$n`` the node, ``$a``/``$b`` its inputs, ``$g`` = ∂f/∂n,
``$x`` the product sign (⊙ for arrays, · for scalars), ``$p`` an exponent, ``$N`` a count.
"""

from __future__ import annotations

import re
from string import Template

from convcalc.expr.graph import Graph, Node
from convcalc.expr.layers import CHAIN, LAYERS, settings_text
from convcalc.numbers import fmt

# op -> (text, tex) of the node's definition from its inputs
_DEFINE: dict[str, tuple[str, str]] = {
    "add": ("$a + $b", "$a + $b"), "sub": ("$a − $b", "$a - $b"), "mul": ("$a * $b", "$a $x $b"),
    "div": ("$a / $b", r"\frac{$a}{$b}"), "matmul": ("$a @ $b", "$a $b"), "pow": ("$a**$p", "$a^{$p}"),
    "neg": ("−$a", "-$a"), "T": ("$aᵀ", r"$a^{\top}"), "sum": ("sum($a)", r"\operatorname{sum}($a)"),
    "mean": ("mean($a)", r"\operatorname{mean}($a)"), "relu": ("relu($a)", r"\operatorname{relu}($a)"),
    "sigmoid": ("σ($a)", r"\sigma($a)"), "tanh": ("tanh($a)", r"\tanh($a)"), "exp": ("exp($a)", r"\exp($a)"),
    "log": ("log($a)", r"\log($a)"), "square": ("$a²", "$a^{2}"), "norm": ("‖$a‖", r"\lVert $a \rVert"),
}  # fmt: skip

# (op, input slot) -> (local derivative text, chain text, local tex, chain tex); "" = no local line
_CHAIN: dict[tuple[str, int], tuple[str, str, str, str]] = {
    ("add", 0): ("∂$n/∂$a = 1", "$g", r"\frac{\partial $n}{\partial $a} = 1", "$g"),
    ("add", 1): ("∂$n/∂$b = 1", "$g", r"\frac{\partial $n}{\partial $b} = 1", "$g"),
    ("sub", 0): ("∂$n/∂$a = 1", "$g", r"\frac{\partial $n}{\partial $a} = 1", "$g"),
    ("sub", 1): ("∂$n/∂$b = −1", "−$g", r"\frac{\partial $n}{\partial $b} = -1", "-$g"),
    ("mul", 0): ("∂$n/∂$a = $b", "$g $x $b", r"\frac{\partial $n}{\partial $a} = $b", "$g $x $b"),
    ("mul", 1): ("∂$n/∂$b = $a", "$g $x $a", r"\frac{\partial $n}{\partial $b} = $a", "$g $x $a"),
    ("div", 0): ("∂$n/∂$a = 1/$b", "$g / $b", r"\frac{\partial $n}{\partial $a} = \frac{1}{$b}", r"$g $x \frac{1}{$b}"),
    ("div", 1): ("∂$n/∂$b = −$a/$b²", "−$g $x $a/$b²", r"\frac{\partial $n}{\partial $b} = -\frac{$a}{$b^{2}}",
                 r"-$g $x \frac{$a}{$b^{2}}"),
    ("matmul", 0): ("", "$g @ $bᵀ", "", r"$g\, $b^{\top}"),
    ("matmul", 1): ("", "$aᵀ @ $g", "", r"$a^{\top} $g"),
    ("neg", 0): ("∂$n/∂$a = −1", "−$g", r"\frac{\partial $n}{\partial $a} = -1", "-$g"),
    ("T", 0): ("", "($g)ᵀ", "", r"\left($g\right)^{\top}"),
    ("sum", 0): ("∂$n/∂$a = 1 for every entry", "$g in every entry",
                 r"\frac{\partial $n}{\partial ($a)_{i}} = 1", r"$g \cdot \mathbf{1}"),
    ("mean", 0): ("∂$n/∂$a = 1/$N for every entry", "$g / $N in every entry",
                  r"\frac{\partial $n}{\partial ($a)_{i}} = \frac{1}{$N}", r"\frac{1}{$N} $g \cdot \mathbf{1}"),
    ("square", 0): ("∂$n/∂$a = 2·$a", "$g $x 2·$a", r"\frac{\partial $n}{\partial $a} = 2 $a", "$g $x 2 $a"),
    ("relu", 0): ("∂$n/∂$a = 1 where $a > 0, else 0", "$g $x [$a > 0]",
                  r"\frac{\partial $n}{\partial $a} = [$a > 0]", "$g $x [$a > 0]"),
    ("sigmoid", 0): ("∂$n/∂$a = σ($a)(1 − σ($a)) = $n(1 − $n)", "$g $x $n $x (1 − $n)",
                     r"\frac{\partial $n}{\partial $a} = \sigma($a)(1-\sigma($a)) = $n(1-$n)", "$g $x $n $x (1-$n)"),
    ("tanh", 0): ("∂$n/∂$a = 1 − tanh²($a) = 1 − $n²", "$g $x (1 − $n²)",
                  r"\frac{\partial $n}{\partial $a} = 1-\tanh^{2}($a) = 1-$n^{2}", "$g $x (1-$n^{2})"),
    ("exp", 0): ("∂$n/∂$a = exp($a) = $n", "$g $x $n", r"\frac{\partial $n}{\partial $a} = \exp($a) = $n", "$g $x $n"),
    ("log", 0): ("∂$n/∂$a = 1/$a", "$g / $a", r"\frac{\partial $n}{\partial $a} = \frac{1}{$a}", r"$g $x \frac{1}{$a}"),
    ("norm", 0): ("∂$n/∂$a = $a/‖$a‖ = $a/$n", "$g · $a/$n",
                  r"\frac{\partial $n}{\partial $a} = \frac{$a}{\lVert $a \rVert} = \frac{$a}{$n}", r"$g \frac{$a}{$n}"),
}


def tex_name(name: str) -> str:
    """``v1`` -> ``v_{1}``, ``W`` -> ``W``, ``W_in`` -> ``W_{in}``, ``bias`` -> ``\\mathrm{bias}``."""
    m = re.fullmatch(r"([A-Za-z])(\d+)", name)
    if m:
        return f"{m[1]}_{{{m[2]}}}"
    if "_" in name:
        head, tail = name.split("_", 1)
        tail = tail.replace("_", r"\_")
        return (tex_name(head) if head else "") + rf"_{{\mathrm{{{tail}}}}}"
    return name if len(name) == 1 else rf"\mathrm{{{name}}}"


def grad_text(name: str, out: str) -> str:
    return f"∂{out}/∂{name}"


def grad_tex(name: str, out: str) -> str:
    return rf"\frac{{\partial {tex_name(out)}}}{{\partial {tex_name(name)}}}"


def _layer_define(node: Node) -> tuple[str, str]:
    settings = settings_text(node.params)
    args = "$a, $b" if len(node.inputs) == 2 else "$a"
    tail = f", {settings}" if settings else ""
    name = node.op.replace("_", r"\_")
    return f"{node.op}({args}{tail})", rf"\operatorname{{{name}}}\left({args}{tail}\right)"


def definition(graph: Graph, node: Node) -> tuple[str, str]:
    """``v1 = W @ x`` and its LaTeX, ``v_{1} = W x``."""
    text, tex = _layer_define(node) if node.op in LAYERS else _DEFINE[node.op]
    fields_text, fields_tex = _fields(graph, node)
    return (f"{node.name} = {Template(text).substitute(fields_text)}",
            f"{tex_name(node.name)} = {Template(tex).substitute(fields_tex)}")


def chain(graph: Graph, node: Node, slot: int, via: bool = False) -> tuple[str, str]:
    """The chain rule for ``node``'s input ``slot``: local derivative ⇒ ∂f/∂input (text, tex).

    ``via`` marks one of several contributions to an input used more than once.
    """
    if node.op in LAYERS:
        chain_text, chain_tex = (t.replace("$s", _tail(node)) for t in CHAIN[(node.op, slot)])
        local_text = local_tex = ""
    elif node.op == "pow":
        local_text, chain_text, local_tex, chain_tex = _pow_rule(node.exponent or 0.0)
    else:
        local_text, chain_text, local_tex, chain_tex = _CHAIN[(node.op, slot)]
    fields_text, fields_tex = _fields(graph, node)
    target = graph.nodes[node.inputs[slot]].name
    out = graph.output.name
    lhs_text, lhs_tex = grad_text(target, out), grad_tex(target, out)
    if via:
        lhs_text += f" (via {node.name})"
        lhs_tex += rf"\Big|_{{\text{{via }} {tex_name(node.name)}}}"
    text = f"{lhs_text} = {Template(chain_text).substitute(fields_text)}"
    tex = f"{lhs_tex} = {Template(chain_tex).substitute(fields_tex)}"
    if local_text:
        text = f"{Template(local_text).substitute(fields_text)}  ⇒  {text}"
        tex = rf"{Template(local_tex).substitute(fields_tex)} \quad\Rightarrow\quad {tex}"
    return text, tex


def _tail(node: Node) -> str:
    settings = settings_text(node.params)
    return f", {settings}" if settings and node.op.startswith("conv") else ""


def _pow_rule(p: float) -> tuple[str, str, str, str]:
    if p == 0:
        return "∂$n/∂$a = 0", "0", r"\frac{\partial $n}{\partial $a} = 0", "0"
    if p == 1:
        return "∂$n/∂$a = 1", "$g", r"\frac{\partial $n}{\partial $a} = 1", "$g"
    q = fmt(p - 1)
    power_text = "$a" if p == 2 else f"$a^{q}"
    power_tex = "$a" if p == 2 else f"$a^{{{q}}}"
    return (f"∂$n/∂$a = $p·{power_text}", f"$g $x $p·{power_text}",
            rf"\frac{{\partial $n}}{{\partial $a}} = $p {power_tex}", f"$g $x $p {power_tex}")


def _fields(graph: Graph, node: Node) -> tuple[dict[str, str], dict[str, str]]:
    names = [graph.nodes[i].name for i in node.inputs]
    a = names[0] if names else ""
    b = names[1] if len(names) > 1 else ""
    arrays = any(graph.nodes[i].value.ndim for i in node.inputs) or node.value.ndim > 0
    count = str(graph.nodes[node.inputs[0]].value.size) if node.inputs else ""
    p = fmt(node.exponent) if node.exponent is not None else ""
    out = graph.output.name
    text = {"n": node.name, "a": a, "b": b, "g": grad_text(node.name, out), "x": "⊙" if arrays else "·",
            "p": p, "N": count}
    tex = {"n": tex_name(node.name), "a": tex_name(a) if a else "", "b": tex_name(b) if b else "",
           "g": grad_tex(node.name, out), "x": r"\odot" if arrays else r"\cdot", "p": p, "N": count}
    return text, tex


_ATOMIC = ("var", "const", "sum", "mean", "relu", "sigmoid", "tanh", "exp", "log", "norm", "div", "square")


def expression_tex(graph: Graph, node: Node | None = None) -> str:
    """The whole expression typeset (``\\operatorname{sum}((W x)^{2})``), for a title: each node's
    definition with its inputs' expressions in place of their names, bracketed only where needed."""
    node = graph.output if node is None else node
    if node.op == "var":
        return tex_name(node.name)
    if node.op == "const":
        return fmt(node.value.reshape(-1)[0]) if node.value.size == 1 else tex_name(node.name)
    parts = []
    for slot, i in enumerate(node.inputs):
        child = graph.nodes[i]
        inner = expression_tex(graph, child)
        parts.append(f"\\left({inner}\\right)" if _bracketed(node.op, slot, child) else inner)
    _, fields = _fields(graph, node)
    fields = {**fields, "a": parts[0] if parts else "", "b": parts[1] if len(parts) > 1 else ""}
    tex = _layer_define(node)[1] if node.op in LAYERS else _DEFINE[node.op][1]
    return Template(tex).substitute(fields)


def _bracketed(parent: str, slot: int, child: Node) -> bool:
    if child.op in _ATOMIC or (child.op == "T" and parent != "pow"):
        return False
    if parent in ("pow", "T"):
        return True
    if parent in ("mul", "matmul", "neg"):
        return child.op in ("add", "sub", "neg")
    return parent == "sub" and slot == 1 and child.op in ("add", "sub")
