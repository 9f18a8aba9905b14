"""The seven example networks: their sources in examples/networks/, built by torch for the oracle.

The printouts next to them (``<name>.txt``) are what ``print(model)`` prints for the model the
source builds; regenerate them with ``python -m tests.net.networks`` (needs torch).
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DIR = ROOT / "examples" / "networks"

# name: (model expression in the source's namespace, input shape)
NETWORKS: dict[str, tuple[str, tuple[int, ...]]] = {
    "alexnet": ("AlexNet()", (1, 3, 224, 224)),
    "vgg16": ("model", (1, 3, 224, 224)),
    "resnet18": ("model", (1, 3, 224, 224)),
    "mobilenet_v2": ("MobileNetV2()", (1, 3, 224, 224)),
    "dcgan_generator": ("netG", (1, 100, 1, 1)),
    "unet_small": ("UNet()", (1, 3, 64, 64)),
    "conv1d_stack": ("Conv1dStack()", (1, 24, 128)),
}


def source(name: str) -> str:
    return (DIR / f"{name}.py").read_text(encoding="utf-8")


def printout(name: str) -> str:
    return (DIR / f"{name}.txt").read_text(encoding="utf-8")


def build(name: str, text: str | None = None) -> Any:
    """The torch model the source builds (the oracle runs the file; convcalc never does)."""
    if text is None:
        ns = runpy.run_path(str(DIR / f"{name}.py"))
    else:
        ns: dict[str, Any] = {"__name__": "oracle"}  # type: ignore[no-redef]
        exec(compile(text, f"{name}.py", "exec"), ns)
    return eval(NETWORKS[name][0], ns)


def main() -> None:
    for name in NETWORKS:
        (DIR / f"{name}.txt").write_text(str(build(name)) + "\n", encoding="utf-8")
    print(f"wrote {len(NETWORKS)} printouts to {DIR}")


if __name__ == "__main__":
    main()
