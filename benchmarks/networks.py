"""A ResNet-50 pasted as class source and as print(model) printout → the per-layer table,
whole processes, beside ``python -c "import torch"`` (what every torch-based counter pays first).

Issue 17's target: under 1 s on the machine at hand, where torchinfo, fvcore, ptflops, thop
and torchscan take 4-7 s (mostly importing torch). The ResNet-50 source is
examples/networks/resnet18.py with its model line made ``ResNet(Bottleneck, [3, 4, 6, 3])``;
the printout is examples/networks/resnet50.txt (what torch prints for that model).
Usage: ``python benchmarks/networks.py [--runs N]``; medians over round-robin runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETS = ROOT / "examples" / "networks"
PY = sys.executable


def resnet50_source() -> str:
    text = (NETS / "resnet18.py").read_text(encoding="utf-8")
    return text.replace("model = ResNet(BasicBlock, [2, 2, 2, 2])", "model = ResNet(Bottleneck, [3, 4, 6, 3])")


def run(argv: list[str]) -> float:
    began = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    took = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:6]} failed: {proc.stderr[-500:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "resnet50.py"
        source.write_text(resnet50_source(), encoding="utf-8")
        common = ["--input-shape", "1x3x224x224"]
        cases = {
            'python -c "import torch"': [PY, "-c", "import torch"],
            "ResNet-50 source → params table": [PY, "-m", "convcalc", "params", "--net", str(source), *common],
            "ResNet-50 printout → params table": [PY, "-m", "convcalc", "params", "--net",
                                                  str(NETS / "resnet50.txt"), *common],
            "ResNet-50 source → receptive fields": [PY, "-m", "convcalc", "receptive-field", "--net", str(source),
                                                    *common],
            "ResNet-50 source → JSON": [PY, "-m", "convcalc", "params", "--net", str(source), *common,
                                        "--format", "json"],
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, argv in cases.items():
                times[name].append(run(argv))
    base = statistics.median(times['python -c "import torch"'])
    print(f"median of {runs} runs (wall clock, whole processes)")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:40s} {med:6.2f} s   {med / base:5.2f}× import torch")


if __name__ == "__main__":
    main()
