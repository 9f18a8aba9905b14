"""``convcalc output-size`` in letters: the size per axis as a formula, worked and judged.

The algebra is asked of ``convcalc.symbolic`` (which owns every SymPy import); this module
only lays the answers out as records, the way ``derive/sizes.py`` does for numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from convcalc.derive.records import Block, Equation, Heading, Note, Solution
from convcalc.errors import ConvcalcError, ExitStatus
from convcalc.render.formula import key_of, templates
from convcalc.symbolic import printing
from convcalc.symbolic.settings import parse_settings, split_pair
from convcalc.symbolic.sizes import Axis, AxisSize, Condition, axis_size, settings_requirements

FLAGS = {"--input-size": ("I", "positive_int"), "--kernel-size": ("K", "positive_int"),
         "--stride": ("S", "positive_int"), "--padding": ("P", "nonneg_int"),
         "--dilation": ("d", "positive_int"), "--output-padding": ("P_out", "nonneg_int")}
TITLES = {"conv": "Convolution output size", "pool": "Pooling output size",
          "pool_ceil": "Pooling output size (ceil_mode)", "transposed": "Transposed-convolution output size"}


@dataclass(frozen=True)
class SymbolicSizes:
    """The settings read into SymPy, one Axis per printed axis."""

    kind: str
    labels: tuple[str, ...]
    axes: tuple[Axis, ...]
    values: dict[str, Any]  # flag -> the expression (or tuple per axis), for settings
    requires: tuple[Condition, ...]
    channels: int | None = None


def read(texts: dict[str, str | None], kind: str, dim: int, channels: int | None = None,
         unknown: str | None = None) -> SymbolicSizes:
    """Parse every flag (``texts``: flag -> its text, None for the default) into axes."""
    if texts.get("--input-size") is None:
        raise ConvcalcError("missing: give --input-size N (a number or letters)", "--input-size")
    if texts.get("--kernel-size") is None and unknown != "--kernel-size":
        raise ConvcalcError("missing: give --kernel-size K (a number or letters)", "--kernel-size")
    if kind.startswith("pool") and unknown == "--kernel-size" and texts.get("--stride") is None:
        raise ConvcalcError("missing: pooling's stride defaults to the kernel size, the unknown here", "--stride")
    defaults = {"--kernel-size": "1", "--stride": texts.get("--kernel-size") if kind.startswith("pool") else "1",
                "--padding": "0", "--dilation": "1", "--output-padding": "0"}
    items: dict[tuple[str, int], tuple[str, str, str]] = {}
    for flag, (_, domain) in FLAGS.items():
        text = texts.get(flag) or defaults.get(flag) or "1"
        if flag == unknown:
            text = "0" if domain == "nonneg_int" else "1"  # a placeholder: the unknown is solved for
        if text.strip().lower() in ("same", "valid"):
            raise ConvcalcError(f"{text.strip()!r} is a conv setting, not a size: give a number or letters "
                                "('same' padding: --solve padding --target with the input size)", flag)
        parts = split_pair(text)
        if len(parts) == 1:
            parts = parts * dim
        if len(parts) != dim:
            raise ConvcalcError(f"expected {dim} value(s) for --dim {dim}, got {text!r}", flag)
        for a, part in enumerate(parts):
            items[(flag, a)] = (part, domain, flag)
    parsed = parse_settings(items)
    axes = [Axis(*(parsed[(flag, a)] for flag in FLAGS)) for a in range(dim)]
    domains = {flag: domain for flag, (_, domain) in FLAGS.items()}
    requires = settings_requirements({flag: parsed[(flag, a)] for flag in FLAGS for a in range(dim)
                                      if flag != unknown}, domains)
    values = {flag: getattr(axes[0], field) if dim == 1 or len({getattr(ax, field) for ax in axes}) == 1
              else tuple(getattr(ax, field) for ax in axes)
              for flag, field in zip(FLAGS, ("i", "k", "s", "p", "d", "q"), strict=True)}
    if dim == 1:
        labels: tuple[str, ...] = ("W",)
    elif axes[0] == axes[1]:
        labels, axes = ("H, W",), axes[:1]
    else:
        labels = ("H", "W")
    return SymbolicSizes(kind, labels, tuple(axes), values, _unique(requires), channels)


def _unique(conds: tuple[Condition, ...]) -> tuple[Condition, ...]:
    seen: dict[str, Condition] = {}
    for c in conds:
        seen.setdefault(c.sympy, c)
    return tuple(seen.values())


def _slots(kind: str, ax: Axis) -> dict[str, Any]:
    slots = {"I": ax.i, "K": ax.k, "S": ax.s, "P": ax.p, "d": ax.d}
    if kind == "transposed":
        slots["P_out"] = ax.q
    return slots


def _key_values(slots: dict[str, Any]) -> dict[str, int]:
    """What ``key_of`` needs to pick the printed form: d only when it is not 1."""
    return {name: (1 if name == "d" and v == 1 else 2) for name, v in slots.items()}


_SLOT = re.compile(r"⟦([A-Za-z_]+)⟧")


def _fill(template: str, slots: dict[str, Any], tex: bool) -> str:
    def one(m: re.Match[str]) -> str:
        v = slots[m.group(1)]
        s = printing.latex(v) if tex else printing.text(v)
        compound = v.is_Add or (v.is_Number and v < 0) or (v.is_Mul and v.could_extract_minus_sign())
        return (rf"\left({s}\right)" if tex else f"({s})") if compound else s
    return _SLOT.sub(one, template)


def formula_lines(label: str, kind: str, ax: Axis, size: AxisSize) -> Equation:
    """H_out = the formula in the course's letters = the settings put in = the simplified size."""
    slots = _slots(kind, ax)
    general, numeric, general_tex, numeric_tex = templates(key_of(kind, _key_values(slots)))
    texts = [general, _fill(numeric, slots, False), printing.text(size.value)]
    texes = [general_tex, _fill(numeric_tex, slots, True), printing.latex(size.value)]
    keep = [i for i in range(3) if i == 0 or texts[i] != texts[i - 1]]
    lhs = f"{label}_out = "
    text = "\n".join((lhs if n == 0 else " " * (len(lhs) - 2) + "= ") + texts[i] for n, i in enumerate(keep))
    tex_lhs = label.replace(", ", ", ") + r"_{\text{out}}"
    tex = r"\begin{aligned} " + r" \\ ".join((tex_lhs if n == 0 else "") + " &= " + texes[i]
                                             for n, i in enumerate(keep)) + r" \end{aligned}"
    return Equation(text, tex)


def verdict(label: str, kind: str, size: AxisSize) -> list[Block]:
    """Whether the floor is exact: always, never, or exactly when a condition holds."""
    if kind == "transposed":
        return [Note(f"{label}: output size {printing.text(size.value)}", "ok")]
    value, exact = printing.text(size.value), printing.text(size.exact)
    rounding = "rounds it up" if kind == "pool_ceil" else "floors it"
    if size.tiles:
        return [Note(f"{label}: output size {value}; the windows tile the input exactly for every value "
                     f"of the letters", "ok")]
    if size.tiles is False:
        return [Note(f"{label}: the floor-free size {exact} is never a whole number here: PyTorch {rounding} to "
                     f"{value}; a course that asks for exact tiling calls the setting invalid", "warn")]
    assert size.when is not None
    return [Note(f"{label}: output size {value}; exact when {size.when.text}, and then {label}_out = {exact} "
                 f"(otherwise PyTorch {rounding})", "ok")]


def output_size(prob: SymbolicSizes, answer: str | None = None) -> Solution:
    """The worked symbolic size of every axis, with conditions and, optionally, a judged answer."""
    sizes = [axis_size(prob.kind, ax) for ax in prob.axes]
    blocks: list[Block] = [Heading("Output size")]
    for label, ax, size in zip(prob.labels, prob.axes, sizes, strict=True):
        blocks.append(formula_lines(label, prob.kind, ax, size))
        blocks.extend(verdict(label, prob.kind, size))
    requires = _unique(prob.requires + tuple(c for s in sizes for c in s.requires))
    if requires:
        blocks.append(Note("assuming " + "; ".join(c.text for c in requires)))
    if prob.channels is not None:
        shape = [printing.text(s.value) for s in sizes] * (2 if prob.labels == ("H, W",) else 1)
        blocks.append(Note(f"output volume: {' × '.join(shape)} × {prob.channels} ({prob.channels} channels, "
                           f"one per filter)"))
    data = size_data(prob, sizes, requires)
    status = ExitStatus.OK
    if answer is not None:
        from convcalc.symbolic.judge import judge_size

        ok, lines = judge_size(answer, [s.value for s in sizes], [s.exact for s in sizes],
                               [s.when for s in sizes], [s.tiles for s in sizes], requires)
        data["answer_correct"] = ok
        blocks += [Heading("Your answer"), *(Note(text, tone) for text, tone in lines)]
        status = ExitStatus.OK if ok else ExitStatus.WRONG_ANSWER
    return Solution("output-size", TITLES[prob.kind], settings(prob), data, blocks, status=status)


def _scalar(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def size_data(prob: SymbolicSizes, sizes: list[AxisSize], requires: tuple[Condition, ...]) -> dict[str, Any]:
    """JSON: today's keys, a SymPy-syntax string where a number would be, and ``symbolic``."""
    whens = [s.when.sympy for s in sizes if s.when is not None]
    tiles = [s.tiles for s in sizes]
    slots = _slots(prob.kind, prob.axes[0])
    return {
        "output_size": _scalar([printing.sympy_syntax(s.value) for s in sizes]),
        "exact": _scalar([printing.sympy_syntax(s.exact) for s in sizes]),
        "valid": False if False in tiles else (True if all(tiles) else None),
        "valid_when": None if not whens or False in tiles else " & ".join(whens),
        "formula": templates(key_of(prob.kind, _key_values(slots)))[2],
        "conditions": [c.sympy for c in requires],
        "symbolic": True,
    }


def settings(prob: SymbolicSizes) -> dict[str, Any]:
    names = {"--input-size": "input_size", "--kernel-size": "kernel_size", "--stride": "stride",
             "--padding": "padding", "--dilation": "dilation", "--output-padding": "output_padding"}
    out: dict[str, Any] = {}
    for flag, name in names.items():
        if flag == "--output-padding" and prob.kind != "transposed":
            continue
        v = prob.values[flag]
        out[name] = [_plain(x) for x in v] if isinstance(v, tuple) else _plain(v)
    out["kind"] = prob.kind
    if prob.channels is not None:
        out["channels"] = prob.channels
    return out


def _plain(v: Any) -> Any:
    """A setting for JSON: an int when it is a number, else SymPy's syntax."""
    return int(v) if v.is_Integer else printing.sympy_syntax(v)
