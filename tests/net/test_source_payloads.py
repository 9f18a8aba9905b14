"""Nothing in a pasted class source or printout is ever run: payloads that would leave a file
behind if executed are read (or refused with one line naming where) and leave nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from convcalc.errors import ConvcalcError
from convcalc.net.read import read_network

HEAD = "import os\nimport torch.nn as nn\n\n"
NET = '''
class Net(nn.Module):
    def __init__(self{args}):
        super().__init__()
        {init}
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        {forward}
        return self.conv(x)
'''

PAYLOADS = [
    ("", "os.system('touch {canary}')", "pass"),
    ("", "pass", "os.system('touch {canary}')"),
    ("", "open('{canary}', 'w').write('x')", "pass"),
    ("", "__import__('os').system('touch {canary}')", "pass"),
    ("", "exec(\"open('{canary}', 'w')\")", "pass"),
    ("", "eval(\"open('{canary}', 'w')\")", "pass"),
    ("", "self.f = lambda: open('{canary}', 'w')", "self.f()"),
    ("", "pass", "getattr(os, 'system')('touch {canary}')"),
    ("", "pass", "x.__class__.__bases__[0].__subclasses__()"),
    (", x=open('{canary}', 'w')", "pass", "pass"),
    ("", "import subprocess; subprocess.run(['touch', '{canary}'])", "pass"),
    ("", "while True: pass", "pass"),
    ("", "for i in range(10**12): pass", "pass"),
    ("", "self.x = 9 ** 9 ** 9", "pass"),
    ("", "pass", "print(open('{canary}', 'w'))"),
    ("", "with open('{canary}', 'w') as f: pass", "pass"),
    ("", "self.conv2 = nn.Conv2d(3, 8, int(open('{canary}', 'w')))", "pass"),
]


@pytest.mark.parametrize(("args", "init", "forward"), PAYLOADS)
def test_payloads_in_a_source_never_run(tmp_path: Path, args: str, init: str, forward: str) -> None:
    canary = tmp_path / "canary"
    text = HEAD + NET.format(args=args.format(canary=canary), init=init.format(canary=canary),
                             forward=forward.format(canary=canary))
    try:
        read_network(text, (1, 3, 8, 8))
    except ConvcalcError as exc:
        assert exc.where and exc.where.startswith("line"), exc
    assert not canary.exists()


def test_module_level_payloads_never_run(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    for line in (f"os.system('touch {canary}')", f"open('{canary}', 'w')", f"x = open('{canary}', 'w')",
                 f"model = __import__('os').system('touch {canary}')"):
        with pytest.raises(ConvcalcError):
            read_network(HEAD + line + "\n" + NET.format(args="", init="pass", forward="pass"), (1, 3, 8, 8))
    assert not canary.exists()


def test_recursion_is_bounded() -> None:
    text = HEAD + "def f(n):\n    return f(n + 1)\n" + NET.format(args="", init="self.k = f(0)", forward="pass")
    with pytest.raises(ConvcalcError, match="nested"):
        read_network(text, (1, 3, 8, 8))


@pytest.mark.parametrize("line", [
    "  (0): __import__('os').system('touch x')",
    "  (0): Conv2d(3, 8, kernel_size=open('x'))",
    "  (0): Evil()",
    "  (0): Conv2d(3, 8, kernel_size=(3, 3)",
])
def test_printout_payloads_are_refused_with_the_line(line: str) -> None:
    with pytest.raises(ConvcalcError) as info:
        read_network(f"Net(\n{line}\n)\n", (1, 3, 8, 8))
    assert info.value.where == "line 2"


@pytest.mark.parametrize(("text", "words"), [
    ("class A:\n    pass\n", "no nn.Module"),
    (HEAD + NET.format(args=", c", init="pass", forward="pass"), "needs its argument 'c'"),
    (HEAD + NET.format(args="", init="pass", forward="return x.permute(0, 2, 3, 1)"), "permute"),
    (HEAD + NET.format(args="", init="pass", forward="if x: x = x"), "condition on a tensor"),
    (HEAD + NET.format(args="", init="self.p = nn.Parameter(None)", forward="pass"), "nn.Parameter"),
])
def test_what_is_not_followed_is_said(text: str, words: str) -> None:
    with pytest.raises(ConvcalcError, match=words):
        read_network(text, (1, 3, 8, 8))


def test_model_is_chosen_by_name_or_the_last_class() -> None:
    text = HEAD + NET.format(args="", init="pass", forward="pass") + '''
class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8 * 24, 8)

    def forward(self, x):
        return self.fc(x)
'''
    assert read_network(text, (2, 192)).output_shape == (2, 8)
    assert read_network(text, (1, 3, 8, 8), model="Net").output_shape == (1, 8, 6, 6)
    with pytest.raises(ConvcalcError, match="no class named"):
        read_network(text, (1, 3, 8, 8), model="Other")
