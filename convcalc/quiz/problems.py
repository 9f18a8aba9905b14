"""Random problems for the quiz, one generator per kind, valid by construction.

Every generator draws from the ``numpy.random.Generator`` it is given (so a seed repeats a
quiz) and keeps drawing until the problem is valid in PyTorch's sense and small enough to
do by hand at its difficulty: an output of at least one cell and at most ``CELLS`` cells,
a transposed conv's ``output_padding`` below its stride, a pool's padding at most half its
window, an output-size question whose windows tile the input exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from convcalc.numbers import Array

KINDS = ("conv", "transposed-conv", "dilated", "pool", "output-size", "params", "receptive-field", "backprop")
DIFFICULTIES = ("easy", "medium", "hard")
# the most cells an answer matrix may have, per difficulty: what one does by hand in a few minutes
CELLS = {"easy": 9, "medium": 16, "hard": 25}
# entries of input matrices and kernels, per difficulty (small numbers: products in the head)
ENTRIES = {"easy": ((0, 3), (-1, 2)), "medium": ((-2, 5), (-2, 3)), "hard": ((-3, 6), (-3, 3))}


@dataclass(frozen=True)
class QuizProblem:
    """One question: the command line that answers it, what it shows, and what it asks.

    ``argv`` is a real command line (without ``--answer``); ``given`` the matrices shown
    (symbol, caption, values); ``settings`` the settings shown as text; ``answer`` whether
    the answer is a matrix typed row by row or one number; ``value_key`` the path of the right
    value in the command's result data; ``checked`` whether the command takes ``--answer``
    (when not, the quiz compares the number itself).
    """

    kind: str
    argv: tuple[str, ...]
    asks: str
    given: tuple[tuple[str, str, Array], ...] = ()
    settings: tuple[str, ...] = ()
    answer: Literal["matrix", "number"] = "matrix"
    value_key: tuple[str | int, ...] = ("output",)
    checked: bool = True


def make(kind: str, rng: np.random.Generator, difficulty: str = "easy") -> QuizProblem:
    """A random valid problem of ``kind`` at ``difficulty``."""
    return GENERATORS[kind](rng, difficulty)


def text(a: Array) -> str:
    """A matrix as inline text for a command line: ``"1 2; 3 4"``."""
    return "; ".join(" ".join(str(int(v)) for v in row) for row in np.atleast_2d(a))


def _matrix(rng: np.random.Generator, shape: tuple[int, int], bounds: tuple[int, int]) -> Array:
    return rng.integers(bounds[0], bounds[1] + 1, size=shape)


def _pick(rng: np.random.Generator, options: tuple[int, ...] | list[int]) -> int:
    return int(options[int(rng.integers(len(options)))])


def conv_size(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    """PyTorch's conv (and pool) output length: floor((n + 2p − d(k−1) − 1)/s) + 1, or 0 when none."""
    span = n + 2 * p - d * (k - 1) - 1
    return span // s + 1 if span >= 0 else 0


def transposed_size(n: int, k: int, s: int, p: int, op: int, d: int = 1) -> int:
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def _fits(difficulty: str, *sizes: int) -> bool:
    return all(n >= 1 for n in sizes) and int(np.prod(sizes)) <= CELLS[difficulty]


def _conv_like(rng: np.random.Generator, difficulty: str, dilated: bool) -> QuizProblem:
    (lo_a, hi_a), kb = ENTRIES[difficulty]
    while True:
        if difficulty == "easy":
            h = w = _pick(rng, (4, 5) if dilated else (3, 4))
            k, s, p = 2, 1, 0
        elif difficulty == "medium":
            h = w = _pick(rng, (4, 5, 6))
            k, s, p = _pick(rng, (2, 3)), _pick(rng, (1, 2)), _pick(rng, (0, 1))
        else:
            h, w = _pick(rng, (4, 5, 6)), _pick(rng, (4, 5, 6))
            k, s, p = _pick(rng, (2, 3)), _pick(rng, (1, 2)), _pick(rng, (0, 1, 2))
        d = (2 if difficulty != "hard" else _pick(rng, (2, 3))) if dilated else 1
        oh, ow = conv_size(h, k, s, p, d), conv_size(w, k, s, p, d)
        if _fits(difficulty, oh, ow) and p < d * (k - 1) + 1:  # padding beyond the window: only zeros
            break
    a, b = _matrix(rng, (h, w), (lo_a, hi_a)), _matrix(rng, (k, k), kb)
    names = ("X", "W", "Y") if dilated else ("A", "B", "C")
    argv = ["dilated" if dilated else "conv", "--input", text(a), "--kernel", text(b),
            "--stride", str(s), "--padding", str(p), "--dilation", str(d)]
    settings = [f"stride {s}", f"padding {p} (zeros)", f"dilation {d}"]
    if difficulty == "hard" and rng.random() < 0.5:
        bias = int(rng.integers(-2, 3))
        argv += ["--bias", str(bias)]
        settings.append(f"bias {bias}")
    op = "⋆" if not dilated else "⋆_d"
    return QuizProblem("dilated" if dilated else "conv", tuple(argv),
                       f"{names[2]} = {names[0]} {op} {names[1]} (cross-correlation, as in PyTorch): "
                       f"{oh}×{ow}, row by row",
                       ((names[0], "input", a), (names[1], "kernel", b)), tuple(settings))


def conv(rng: np.random.Generator, difficulty: str) -> QuizProblem:
    return _conv_like(rng, difficulty, dilated=False)


def dilated(rng: np.random.Generator, difficulty: str) -> QuizProblem:
    return _conv_like(rng, difficulty, dilated=True)


def transposed(rng: np.random.Generator, difficulty: str) -> QuizProblem:
    (lo_a, hi_a), kb = ENTRIES[difficulty]
    limit = {"easy": 16, "medium": 25, "hard": 36}[difficulty]  # a transposed conv grows its input
    while True:
        if difficulty == "easy":
            n, k, s, p = 2, 2, _pick(rng, (1, 2)), 0
        else:
            n, k, s, p = _pick(rng, (2, 3)), _pick(rng, (2, 3)), _pick(rng, (1, 2)), _pick(rng, (0, 1))
        op = 0 if difficulty == "easy" else int(rng.integers(0, s))  # output_padding < stride
        o = transposed_size(n, k, s, p, op)
        if o >= 1 and o * o <= limit:
            break
    a, b = _matrix(rng, (n, n), (lo_a, hi_a)), _matrix(rng, (k, k), kb)
    argv = ("transposed-conv", "--input", text(a), "--kernel", text(b), "--stride", str(s), "--padding", str(p),
            "--output-padding", str(op))
    return QuizProblem("transposed-conv", argv,
                       f"X = ConvTranspose2d(Y) with kernel W: {o}×{o}, row by row",
                       (("Y", "input", a), ("W", "kernel", b)),
                       (f"stride {s}", f"padding {p} (cropped)", f"output_padding {op}"))


def pool(rng: np.random.Generator, difficulty: str) -> QuizProblem:
    while True:
        n = 4 if difficulty == "easy" else _pick(rng, (4, 5, 6))
        mode = "max" if difficulty == "easy" else ("max", "avg")[int(rng.integers(2))]
        k = 2 if difficulty == "easy" else _pick(rng, (2, 3))
        s = k if difficulty == "easy" else _pick(rng, (1, 2, k))
        p = _pick(rng, (0, 1)) if difficulty == "hard" and k >= 2 else 0  # PyTorch: padding <= kernel/2
        o = conv_size(n, k, s, p)
        if _fits(difficulty, o, o):
            break
    a = _matrix(rng, (n, n), (0, 9))
    argv = ("pool", "--input", text(a), "--mode", mode, "--kernel-size", str(k), "--stride", str(s),
            "--padding", str(p))
    pad = "" if p == 0 else (" (−∞ for max)" if mode == "max" else " (zeros, counted in the divisor)")
    return QuizProblem("pool", argv, f"P = {mode}-pool(A): {o}×{o}, row by row" +
                       (" (fractions like 7/4 are fine)" if mode == "avg" else ""),
                       (("A", "input", a),), (f"{mode} pooling", f"window {k}×{k}", f"stride {s}", f"padding {p}{pad}"))


def output_size(rng: np.random.Generator, difficulty: str) -> QuizProblem:
    kinds = {"easy": ("conv",), "medium": ("conv", "pool"), "hard": ("conv", "pool", "transposed")}[difficulty]
    kind = kinds[int(rng.integers(len(kinds)))]
    while True:
        n = int(rng.integers(5, 65 if difficulty != "easy" else 33))
        k = _pick(rng, (1, 2, 3, 5, 7) if difficulty != "easy" else (1, 3, 5))
        s = _pick(rng, (1, 2, 3) if difficulty == "hard" else (1, 2))
        p = int(rng.integers(0, k // 2 + 1))
        d = _pick(rng, (1, 2)) if difficulty == "hard" and kind != "pool" else 1
        if kind == "transposed":
            op = int(rng.integers(0, max(s, d)))
            o = transposed_size(n, k, s, p, op, d)
            if o >= 1:
                break
        elif (n + 2 * p - d * (k - 1) - 1) % s == 0 and conv_size(n, k, s, p, d) >= 1:
            op = 0
            o = conv_size(n, k, s, p, d)
            break
    argv = ["output-size", "--input-size", str(n), "--kernel-size", str(k), "--stride", str(s),
            "--padding", str(p), "--dilation", str(d)]
    settings = [f"input {n}×{n}", f"kernel {k}×{k}", f"stride {s}", f"padding {p}", f"dilation {d}"]
    if kind == "pool":
        argv.append("--pool")
    if kind == "transposed":
        argv += ["--transposed", "--output-padding", str(op)]
        settings.append(f"output_padding {op}")
    layer = {"conv": "a convolution", "pool": "a max pool", "transposed": "a transposed convolution"}[kind]
    return QuizProblem("output-size", tuple(argv), f"the output side (one number) of {layer}",
                       settings=tuple(settings), answer="number", value_key=("output_size",))


def params(rng: np.random.Generator, difficulty: str) -> QuizProblem:
    c_in = _pick(rng, (1, 3) if difficulty == "easy" else (1, 3, 8, 16, 32, 64))
    c_out = _pick(rng, (2, 4, 6, 8, 16) if difficulty == "easy" else (4, 8, 16, 32, 64, 128))
    k = _pick(rng, (1, 3, 5) if difficulty == "easy" else (1, 3, 5, 7))
    bias = difficulty == "easy" or bool(rng.random() < 0.7)
    groups = 1
    if difficulty == "hard":
        groups = _pick(rng, [g for g in (1, 2, 4, 8) if c_in % g == 0 and c_out % g == 0])
    transposed = difficulty == "hard" and bool(rng.random() < 0.3)
    argv = ["params", "--in-channels", str(c_in), "--out-channels", str(c_out), "--kernel-size", str(k),
            "--groups", str(groups)]
    layer = "ConvTranspose2d" if transposed else "Conv2d"
    if transposed:
        argv.append("--transposed")
    if not bias:
        argv.append("--no-bias")
    spec = f"{layer}({c_in}, {c_out}, {k}" + (f", groups={groups}" if groups > 1 else "") + \
        (", bias=False" if not bias else "") + ")"
    return QuizProblem("params", tuple(argv), f"the number of parameters (weights and biases) of {spec}",
                       settings=(spec,), answer="number", value_key=("total",))


def receptive_field(rng: np.random.Generator, difficulty: str) -> QuizProblem:
    count = {"easy": 2, "medium": 3, "hard": 4}[difficulty]
    while True:
        layers, channels, n = [], 3, 64
        for i in range(count):
            pool_here = difficulty != "easy" and i > 0 and rng.random() < 0.35
            if pool_here:
                k = _pick(rng, (2, 3))
                layers.append(f"MaxPool2d({k})")
                n = conv_size(n, k, k, 0)
                continue
            k = _pick(rng, (3, 5) if difficulty != "easy" else (2, 3, 5))
            s = 1 if difficulty == "easy" else _pick(rng, (1, 2))
            d = _pick(rng, (1, 2)) if difficulty == "hard" else 1
            out = _pick(rng, (8, 16, 32))
            extra = (f", stride={s}" if s > 1 else "") + (f", dilation={d}" if d > 1 else "")
            layers.append(f"Conv2d({channels}, {out}, {k}{extra})")
            channels, n = out, conv_size(n, k, s, 0, d)
        if n >= 1:
            break
    argv = ["receptive-field", "--input-shape", "1x3x64x64"]
    for layer in layers:
        argv += ["--layer", layer]
    return QuizProblem("receptive-field", tuple(argv),
                       "the receptive field (one number, in input pixels) of one output of the last layer",
                       settings=("input 1×3×64×64", *layers), answer="number",
                       value_key=("layers", -1, "receptive_field"))


def backprop(rng: np.random.Generator, difficulty: str) -> QuizProblem:
    (lo_a, hi_a), kb = ENTRIES[difficulty]
    while True:
        if difficulty == "easy":
            n, k, s, p = 3, 2, 1, 0
        else:
            n, k = _pick(rng, (3, 4) if difficulty == "medium" else (4, 5)), _pick(rng, (2, 3))
            s, p = _pick(rng, (1, 2)), _pick(rng, (0, 1))
        o = conv_size(n, k, s, p)
        if o >= 1 and _fits(difficulty, n, n):
            break
    a, b, g = _matrix(rng, (n, n), (lo_a, hi_a)), _matrix(rng, (k, k), kb), _matrix(rng, (o, o), (-1, 2))
    argv = ("backprop", "conv", "--input", text(a), "--kernel", text(b), "--grad-output", text(g),
            "--stride", str(s), "--padding", str(p))
    return QuizProblem("backprop", argv,
                       f"dA = ∂L/∂A for C = A ⋆ B, given the upstream gradient dC: {n}×{n}, row by row",
                       (("A", "input", a), ("B", "kernel", b), ("dC", "upstream gradient ∂L/∂C", g)),
                       (f"stride {s}", f"padding {p} (zeros)"), value_key=("grad_input",))


GENERATORS: dict[str, Callable[[np.random.Generator, str], QuizProblem]] = {
    "conv": conv, "transposed-conv": transposed, "dilated": dilated, "pool": pool, "output-size": output_size,
    "params": params, "receptive-field": receptive_field, "backprop": backprop,
}
