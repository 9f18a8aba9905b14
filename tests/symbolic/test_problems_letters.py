"""The bank's problems asked in letters: their golden formulas, with whole numbers put in,
against torch modules' output sizes and parameter counts."""

from __future__ import annotations

import json

import pytest

from convcalc.problems import load
from tests.conftest import ROOT

sympy = pytest.importorskip("sympy")
torch = pytest.importorskip("torch")

PROBLEMS = {p.id: p for p in load(ROOT / "problems" / "in-letters.toml")}
NAMES = ("H", "W", "K", "S", "P", "C", "N", "M", "F", "I", "d", "m", "k", "B")


def golden(pid: str) -> dict:
    return json.loads((ROOT / "tests" / "golden" / f"{pid}.json").read_text(encoding="utf-8"))


def at(text: object, **values: int) -> int:
    if isinstance(text, int):
        return text
    expr = sympy.parse_expr(str(text), local_dict={n: sympy.Symbol(n) for n in NAMES})
    return int(expr.subs({sympy.Symbol(k): v for k, v in values.items()}))


@pytest.mark.parametrize(("h", "w", "k", "s", "p", "d"), [(9, 12, 3, 2, 1, 1), (32, 17, 5, 3, 2, 2), (7, 7, 1, 1, 0, 3)])
def test_size_formulas_match_torch(h: int, w: int, k: int, s: int, p: int, d: int) -> None:
    plain = golden("cpen455-hw2-3.1-letters")["output_size"]
    dilated = golden("cpen455-hw2-4.2-letters")["output_size"]
    x = torch.zeros(1, 1, h, w)
    assert [at(e, H=h, W=w, K=k, S=s, P=p) for e in plain] == list(torch.nn.Conv2d(1, 1, k, s, p)(x).shape[-2:])
    want = list(torch.nn.Conv2d(1, 1, k, s, p, d)(x).shape[-2:])
    assert [at(e, H=h, W=w, K=k, S=s, P=p, d=d) for e in dilated] == want


@pytest.mark.parametrize(("h", "k", "s", "p", "d"), [(9, 3, 2, 1, 1), (32, 5, 3, 2, 1), (20, 3, 2, 1, 2), (11, 4, 3, 0, 2)])
def test_output_padding_gives_back_the_input_size_in_torch(h: int, k: int, s: int, p: int, d: int) -> None:
    """The closed form P′ of §3.2/§4.3: the transposed conv of the conv's output has size H again."""
    form = golden("cpen455-hw2-4.3-letters")["closed_form"]
    conv = torch.nn.Conv1d(1, 1, k, s, p, d)
    y = conv(torch.zeros(1, 1, h))
    q = at(form, H=h, K=k, S=s, P=p, d=d)
    back = torch.nn.ConvTranspose1d(1, 1, k, s, p, q, dilation=d)(y)
    assert back.shape[-1] == h


@pytest.mark.parametrize(("c", "n", "k", "m"), [(4, 6, 3, 2), (8, 8, 5, 4), (3, 9, 1, 3)])
def test_parameter_formulas_match_torch(c: int, n: int, k: int, m: int) -> None:
    def count(*mods: torch.nn.Module) -> int:
        return sum(p.numel() for mod in mods for p in mod.parameters())

    assert at(golden("cpen455-hw2-5.1-letters")["total"], C=c, N=n, K=k) == count(torch.nn.Conv2d(c, n, k, bias=False))
    grouped = torch.nn.Conv2d(c, n, k, groups=m, bias=False)
    assert at(golden("cpen455-hw2-5.2-letters")["total"], C=c, N=n, K=k, M=m) == count(grouped)
    pair = (torch.nn.Conv2d(c, c, k, groups=c, bias=False), torch.nn.Conv2d(c, n, 1, bias=False))
    assert at(golden("cpen455-hw2-6-params-letters")["total"], C=c, N=n, K=k) == count(*pair)
    assert at(golden("cs231n-s3-1d-letters")["total"], C=c, K=n, F=k) == count(torch.nn.Conv2d(c, n, k))


def test_average_pooling_as_a_conv() -> None:
    got = golden("mathdnn-hw4-2-letters")
    for m, k in ((12, 3), (8, 2), (10, 3)):
        assert at(got["output_size"], m=m, k=k) == torch.nn.AvgPool1d(k)(torch.zeros(1, 1, m)).shape[-1]
    assert got["valid_when"] == "Eq(Mod(m, k), 0)"
