"""Wall-clock budgets that used to be assertions in tests (a test that fails at 10.5 s on a
busy machine is a defect): each case is run in-process, its best time of ``--runs`` printed
beside the budget it was held to. Nothing here fails; read the figures.

Usage: ``python benchmarks/wall_clock.py [--runs 3]`` from the repository root.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections.abc import Callable

CASES: list[tuple[str, float, Callable[[], object]]] = []


def case(name: str, budget: float) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def register(fn: Callable[[], object]) -> Callable[[], object]:
        CASES.append((name, budget, fn))
        return fn
    return register


def _cli(*argv: str) -> int:
    from convcalc.cli import run

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return run(list(argv))


@case("backprop conv, 3×3 input, padding 1,999999, JSON (10⁷ numbers)", 10.0)
def _huge_padding() -> object:
    return _cli("backprop", "conv", "--input", "4 5 2; 3 3 2; 1 2 3", "--kernel", "1 0; 0 1",
                "--padding", "1,999999", "--format", "json")


@case("receptive-field --exact on 512×512, 9 layers with a transposed conv", 1.0)
def _receptive_exact() -> object:
    from convcalc.net import parse_network, receptive_fields

    spec = "\n".join(["Conv2d(3, 8, 7, stride=2, padding=3)", "MaxPool2d(3, 2, 1)", "ConvTranspose2d(8, 8, 4, stride=2)"]
                     + ["Conv2d(8, 8, 3, padding=2, dilation=2)"] * 6)
    return receptive_fields(parse_network(spec), (1, 3, 512, 512), exact=True)


@case("a hostile layer line refused (deep nesting)", 0.5)
def _hostile_layer() -> object:
    from convcalc.errors import ConvcalcError
    from convcalc.net import parse_network

    with contextlib.suppress(ConvcalcError):
        parse_network("ReLU()\nConv2d(" + "[" * 5000 + "]" * 5000 + ")")
    return None


@case("backprop expr: exact growth (((x**16)**16)**16)**16 refused", 2.0)
def _exact_growth() -> object:
    return _cli("backprop", "expr", "(((x**16)**16)**16)**16", "--var", "x=3/7")


@case("backprop expr: a hostile expression refused", 1.0)
def _hostile_expr() -> object:
    return _cli("backprop", "expr", "__import__('os').system('true')", "--var", "x=1", "--format", "json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'case':70} {'best s':>8} {'budget s':>9}")
    for name, budget, fn in CASES:
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        best = min(times)
        print(f"{name:70} {best:8.3f} {budget:9.1f}{'   OVER' if best > budget else ''}")


if __name__ == "__main__":
    main()
