"""The quiz's notion of "right" against independent oracles, over many seeds.

For every kind the generated problem is run through PyTorch (or a direct count), that
answer is typed into the quiz's judge, and it must be right; the same answer with one cell
or the number changed must be wrong. This also checks that every generated problem is one
PyTorch accepts.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from convcalc.cli.quiz_game import judge
from convcalc.quiz import DIFFICULTIES, make
from convcalc.quiz.problems import QuizProblem

torch = pytest.importorskip("torch")
F = torch.nn.functional
SEEDS = {"conv": range(60)}  # the quiz's main kind gets the most seeds; the others fewer, to keep the suite quick


def option(p: QuizProblem, flag: str, default: str | None = None) -> str:
    argv = list(p.argv)
    return argv[argv.index(flag) + 1] if flag in argv else default  # type: ignore[return-value]


def matrix(text: str) -> torch.Tensor:
    rows = [[float(v) for v in row.split()] for row in text.split(";")]
    return torch.tensor(rows, dtype=torch.float64)


def typed(a: torch.Tensor) -> str:
    """A result as the player types it: rows joined by "; ", exact fractions where needed."""
    def entry(v: float) -> str:
        f = Fraction(v).limit_denominator(1000)
        return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    return "; ".join(" ".join(entry(float(v)) for v in row) for row in a)


def ints(name: str, p: QuizProblem, default: str = "0") -> int:
    return int(option(p, name, default))


def oracle(p: QuizProblem) -> torch.Tensor | int:
    if p.kind in ("conv", "dilated"):
        x, w = matrix(option(p, "--input"))[None, None], matrix(option(p, "--kernel"))[None, None]
        bias = option(p, "--bias")
        b = None if bias is None else torch.tensor([float(bias)], dtype=torch.float64)
        return F.conv2d(x, w, b, stride=ints("--stride", p), padding=ints("--padding", p),
                        dilation=ints("--dilation", p, "1"))[0, 0]
    if p.kind == "transposed-conv":
        x, w = matrix(option(p, "--input"))[None, None], matrix(option(p, "--kernel"))[None, None]
        return F.conv_transpose2d(x, w, stride=ints("--stride", p), padding=ints("--padding", p),
                                  output_padding=ints("--output-padding", p))[0, 0]
    if p.kind == "pool":
        x, k, s, pad = matrix(option(p, "--input"))[None, None], ints("--kernel-size", p), ints("--stride", p), \
            ints("--padding", p)
        pooled = F.max_pool2d if option(p, "--mode") == "max" else F.avg_pool2d
        return pooled(x, k, s, pad)[0, 0]
    if p.kind == "backprop":
        x = matrix(option(p, "--input"))[None, None].requires_grad_(True)
        w, g = matrix(option(p, "--kernel"))[None, None], matrix(option(p, "--grad-output"))[None, None]
        F.conv2d(x, w, stride=ints("--stride", p), padding=ints("--padding", p)).backward(g)
        return x.grad[0, 0]
    if p.kind == "output-size":
        n, k, s, pad, d = (ints(f, p) for f in ("--input-size", "--kernel-size", "--stride", "--padding", "--dilation"))
        x = torch.zeros(1, 1, n, n, dtype=torch.float64)
        if "--pool" in p.argv:
            return F.max_pool2d(x, k, s, pad).shape[-1]
        if "--transposed" in p.argv:
            w = torch.zeros(1, 1, k, k, dtype=torch.float64)
            return F.conv_transpose2d(x, w, stride=s, padding=pad, output_padding=ints("--output-padding", p),
                                      dilation=d).shape[-1]
        return F.conv2d(x, torch.zeros(1, 1, k, k, dtype=torch.float64), stride=s, padding=pad, dilation=d).shape[-1]
    if p.kind == "params":
        layer = torch.nn.ConvTranspose2d if "--transposed" in p.argv else torch.nn.Conv2d
        m = layer(ints("--in-channels", p), ints("--out-channels", p), ints("--kernel-size", p),
                  groups=ints("--groups", p, "1"), bias="--no-bias" not in p.argv)
        return sum(t.numel() for t in m.parameters())
    if p.kind == "receptive-field":
        return receptive_field(p)
    raise AssertionError(p.kind)


def receptive_field(p: QuizProblem) -> int:
    """The span of input pixels one output depends on, by autograd through the layers (with
    ones for weights and average pools in place of max pools, so no gradient cancels or is
    routed to a single winner)."""
    net = []
    for spec in [p.argv[i + 1] for i, a in enumerate(p.argv) if a == "--layer"]:
        name, args = spec.split("(", 1)
        parts = [a.strip() for a in args.rstrip(")").split(",")]
        kw = dict(a.split("=") for a in parts if "=" in a)
        pos = [int(a) for a in parts if "=" not in a]
        if name == "MaxPool2d":
            net.append(torch.nn.AvgPool2d(pos[0]))
            continue
        conv = torch.nn.Conv2d(1, 1, pos[2], stride=int(kw.get("stride", 1)), dilation=int(kw.get("dilation", 1)),
                               bias=False).double()
        torch.nn.init.ones_(conv.weight)
        net.append(conv)
    x = torch.ones(1, 1, 64, 64, dtype=torch.float64, requires_grad=True)
    y = torch.nn.Sequential(*net)(x)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
    return int(rows.max() - rows.min() + 1)


def wrong(value: torch.Tensor | int) -> str:
    if isinstance(value, int):
        return str(value + 1)
    changed = value.clone()
    changed.view(-1)[-1] += 1
    return typed(changed)


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
@pytest.mark.parametrize("kind", ["conv", "transposed-conv", "dilated", "pool", "output-size", "params",
                                  "receptive-field", "backprop"])
def test_quiz_right_agrees_with_torch(kind: str, difficulty: str) -> None:
    for seed in SEEDS.get(kind, range(12)):
        p = make(kind, np.random.default_rng(seed), difficulty)
        value = oracle(p)
        answer = str(value) if isinstance(value, int) else typed(value)
        assert judge(p, answer) == (True, ""), (seed, p.argv, answer)
        assert judge(p, wrong(value)) == (False, ""), (seed, p.argv)
