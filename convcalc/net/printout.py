"""Read what ``print(model)`` prints into a module tree (``convcalc.net.modules``).

    ResNet(
      (conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
      (layer1): Sequential(
        (0): BasicBlock(
        ...

Each leaf line is a layer call read by the same allow-list parser as a layer list (its
bare words such as ``padding=same`` taken as the strings PyTorch printed). Nothing is run.
"""

from __future__ import annotations

import ast
import dataclasses
import re

from convcalc.errors import ConvcalcError
from convcalc.net.modules import Container, Leaf
from convcalc.net.parse import parse_layer
from convcalc.net.safe_ast import Call, check_limits, literal_value
from convcalc.net.signatures import SIGNATURES

_LINE = re.compile(r"^(?P<indent>\s*)(?:\((?P<name>[^()]+)\): )?(?:(?P<times>\d+) x )?(?P<kind>[A-Za-z_]\w*)\((?P<rest>.*)$")
_WORDS = {w: w for w in ("same", "valid", "zeros", "reflect", "replicate", "circular", "nearest", "linear",
                         "bilinear", "bicubic", "trilinear", "area", "none", "tanh")}
_DROPPED = {("UpsamplingBilinear2d", "mode"), ("UpsamplingNearest2d", "mode")}  # printed, but not arguments
MAX_REPEAT = 1000


def looks_like_printout(text: str) -> bool:
    """A ``(name): Layer(`` child line under a ``Name(`` header line."""
    lines = []
    for ln in text.splitlines():
        if ln.strip():
            lines.append(ln)
            if len(lines) == 3:
                break
    return len(lines) >= 2 and bool(re.match(r"^[ \t]*[A-Za-z_]\w*\($", lines[0])) and \
        any(re.match(r"^[ \t]+\([^()]+\): ", ln) for ln in lines[1:3])


def _leaf(kind: str, body: str, line: int) -> Leaf:
    if kind not in SIGNATURES:
        raise ConvcalcError(f"'{kind[:60]}' is not a layer convcalc knows (and it shows no children)", f"line {line}")
    try:
        tree = ast.parse(f"f({body}", mode="eval")
    except SyntaxError:
        raise ConvcalcError(f"cannot read the arguments of {kind}", f"line {line}") from None
    call = tree.body
    if not isinstance(call, ast.Call):
        raise ConvcalcError(f"cannot read the arguments of {kind}", f"line {line}")
    args = tuple(literal_value(a, line, _WORDS) for a in call.args)
    kwargs = []
    for kw in call.keywords:
        if kw.arg is None:
            raise ConvcalcError("argument unpacking with ** is not allowed", f"line {line}")
        if (kind, kw.arg) not in _DROPPED:
            kwargs.append((kw.arg, literal_value(kw.value, line, _WORDS)))
    text = f"{kind}({body}"
    layer = parse_layer(Call(kind, args, tuple(kwargs), line, text))
    return Leaf(dataclasses.replace(layer, line=line))


def read_printout(text: str) -> Container:
    """The module tree of a printout. Raises ConvcalcError naming the line of the first problem."""
    check_limits(text)
    root: Container | None = None
    stack: list[Container] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if line.strip() == ")":
            if not stack:
                raise ConvcalcError("a ')' closes nothing", f"line {number}")
            stack.pop()
            continue
        m = _LINE.match(line)
        if not m:
            raise ConvcalcError(f"not a printout line: {line.strip()[:60]!r}", f"line {number}")
        if root is not None and not stack:
            raise ConvcalcError("text after the model's closing ')'", f"line {number}")
        kind, rest, name = m["kind"], m["rest"], m["name"]
        times = int(m["times"]) if m["times"] else 1
        if times > MAX_REPEAT:
            raise ConvcalcError(f"{times} repeats; the limit is {MAX_REPEAT}", f"line {number}")
        if rest == "":
            node: Container | Leaf = Container(kind, number)
        else:
            node = _leaf(kind, rest, number)
        if stack:
            names = _names(name, times, number)
            for child_name in names:
                stack[-1].children.append((child_name, node))
        elif name is None:
            root = node if isinstance(node, Container) else Container("Sequential", number, [("0", node)])
        else:
            raise ConvcalcError("a child line before the model's first line", f"line {number}")
        if isinstance(node, Container):
            stack.append(node)
    if root is None:
        raise ConvcalcError("no model found", "network")
    if stack:
        raise ConvcalcError(f"'{stack[-1].kind}(' opened on line {stack[-1].line} is never closed", "network")
    return root


def _names(name: str | None, times: int, line: int) -> list[str]:
    if name is None:
        raise ConvcalcError("a child line needs its '(name): ' as print(model) shows it", f"line {line}")
    if times == 1:
        return [name]
    m = re.fullmatch(r"(\d+)-(\d+)", name)
    if not m or int(m[2]) - int(m[1]) + 1 != times:
        raise ConvcalcError(f"'({name}): {times} x' does not name {times} children", f"line {line}")
    return [str(i) for i in range(int(m[1]), int(m[2]) + 1)]
