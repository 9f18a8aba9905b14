"""Deep networks and long expressions in letters: answered or refused in one line (exit 2),
never left running. Answers are checked against torch and SymPy substitution of integers."""

from __future__ import annotations

import contextlib
import io
import json
import random

import pytest

sympy = pytest.importorskip("sympy")

DEEP = ["Conv2d(1,1,3,stride=2,padding=1)"] * 40
MIXED = ["MaxPool2d(3,stride=2,ceil_mode=True)", "Conv2d(1,1,3,stride=3)"] * 2 + \
    ["Conv2d(1,1,3,stride=2,padding=1)", "ConvTranspose2d(1,1,3,stride=2,padding=1)", "MaxPool2d(2)"]


def run(*argv: str) -> tuple[int, str, str]:
    from convcalc.cli import run as cli_run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_run(list(argv))
    return code, out.getvalue(), err.getvalue()


def net_file(tmp_path, layers: list[str]) -> str:
    path = tmp_path / "net.txt"
    path.write_text("\n".join(layers) + "\n")
    return str(path)


def at(text: object, **values: int) -> int:
    if isinstance(text, int):
        return text
    expr = sympy.parse_expr(str(text), local_dict={n: sympy.Symbol(n) for n in "BHW"})
    return int(expr.subs({sympy.Symbol(k): v for k, v in values.items()}))


def torch_shapes(layers: list[str], h: int, w: int) -> list[list[int]]:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    modules = {"Conv2d(1,1,3,stride=2,padding=1)": lambda: nn.Conv2d(1, 1, 3, stride=2, padding=1),
               "Conv2d(1,1,3,stride=3)": lambda: nn.Conv2d(1, 1, 3, stride=3),
               "ConvTranspose2d(1,1,3,stride=2,padding=1)": lambda: nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1),
               "MaxPool2d(3,stride=2,ceil_mode=True)": lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True),
               "MaxPool2d(2)": lambda: nn.MaxPool2d(2)}
    x, shapes = torch.zeros(1, 1, h, w), []
    for text in layers:
        x = modules[text]()(x)
        shapes.append(list(x.shape))
    return shapes


@pytest.mark.parametrize("layers", [DEEP, MIXED], ids=["40 strided convs", "mixed floors and ceilings"])
def test_deep_network_in_letters_matches_torch(tmp_path, layers: list[str]) -> None:
    code, out, err = run("params", "--net", net_file(tmp_path, layers), "--input-shape", "1x1xHxW", "-f", "json")
    if code == 2:  # refused: one line naming the limit
        assert err.count("\n") == 1 and "CONVCALC_MAX" in err
        return
    assert code == 0, err
    got = json.loads(out)
    assert got["total_params"] == 10 * sum("Conv" in t for t in layers)
    rng = random.Random(13)
    for h, w in [(1, 1), (2, 3), (37, 64)] + [(rng.randint(1, 300), rng.randint(1, 300)) for _ in range(4)]:
        if "MaxPool2d(3" in layers[0] and min(h, w) < 3:
            continue
        try:
            want = torch_shapes(layers, h, w)
        except RuntimeError:  # torch refuses this size: not a size to compare at
            continue
        for row, shape in zip(got["layers"], want, strict=True):
            assert [at(n, H=h, W=w) for n in row["output_shape"]] == shape, (h, w, row["layer"])


def test_forty_strided_convs_receptive_field_answers_or_refuses_in_one_line(tmp_path) -> None:
    code, out, err = run("receptive-field", "--net", net_file(tmp_path, DEEP), "--input-shape", "1x1xHxW")
    assert code in (0, 2)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("error:") and "Traceback" not in err
    else:
        assert out


def test_too_many_layers_in_letters_is_refused_and_the_limit_can_be_raised(tmp_path, monkeypatch) -> None:
    path = net_file(tmp_path, DEEP[:4])
    monkeypatch.setenv("CONVCALC_MAX_LETTER_LAYERS", "3")
    code, _, err = run("params", "--net", path, "--input-shape", "1x1xHxW")
    assert code == 2 and err.count("\n") == 1 and "CONVCALC_MAX_LETTER_LAYERS" in err
    monkeypatch.setenv("CONVCALC_MAX_LETTER_LAYERS", "4")
    assert run("params", "--net", path, "--input-shape", "1x1xHxW")[0] == 0


def test_floors_of_floors_compose_exactly() -> None:
    """rounded(fn, ⌊u/m⌋ + c, s) against the nested floors, at random whole numbers."""
    from convcalc.symbolic.sizes import rounded

    h = sympy.Symbol("H", integer=True, positive=True)
    rng = random.Random(7)
    for _ in range(40):
        m, s, c = rng.randint(1, 7), rng.randint(1, 7), rng.randint(-5, 5)
        inner_fn, outer_fn = rng.choice([sympy.floor, sympy.ceiling]), rng.choice([sympy.floor, sympy.ceiling])
        u = 3 * h - rng.randint(0, 9)
        got = rounded(outer_fn, inner_fn(u / m) + c, sympy.Integer(s))
        assert len(got.atoms(sympy.floor, sympy.ceiling)) <= 1
        for n in range(1, 40):
            nested = outer_fn(sympy.Rational(inner_fn(sympy.Rational(int(u.subs(h, n)), m)) + c, s))
            assert got.subs(h, n) == nested


@pytest.mark.parametrize("text", ["((H^9+K)^9+S)^9", "(a+b+c+d+e+f)^4*(H+1)^3"])
def test_expressions_too_large_to_expand_are_refused_in_one_line(text: str) -> None:
    code, _, err = run("output-size", "--input-size", text, "--kernel-size", "K", "--stride", "S")
    assert code == 2 and err.count("\n") == 1 and "too large to work with" in err


def test_params_of_long_sums_is_answered_without_expanding() -> None:
    c_in, c_out = "(a+b+c+d+e+f+g)^4", "(m+n+o+p+q+r+s)^4"
    code, out, err = run("params", "--in-channels", c_in, "--out-channels", c_out, "--kernel-size", "(H+K)^3",
                         "-f", "json")
    assert code == 0, err
    got = json.loads(out)
    names = "abcdefgmnopqrsHK"
    expr = sympy.parse_expr(str(got["weights"]), local_dict={n: sympy.Symbol(n) for n in names})
    rng = random.Random(3)
    for _ in range(5):
        env = {n: rng.randint(1, 4) for n in names}
        a, b = sum(env[n] for n in "abcdefg") ** 4, sum(env[n] for n in "mnopqrs") ** 4
        want = a * b * (env["H"] + env["K"]) ** 6
        assert expr.subs({sympy.Symbol(k): v for k, v in env.items()}) == want


def test_receptive_field_with_a_batch_in_letters_matches_a_batch_of_one(tmp_path) -> None:
    """Bx3xHxW once failed with an internal error (the batch letter was turned into an int)."""
    path = net_file(tmp_path, ["Conv2d(3,8,3,padding=1)", "ReLU()", "MaxPool2d(2)", "Conv2d(8,8,3,stride=2,padding=1)",
                               "AdaptiveAvgPool2d(1)", "Flatten()", "Linear(8,10)"])
    code, out, err = run("receptive-field", "--net", path, "--input-shape", "Bx3xHxW", "-f", "json")
    assert code == 0, err
    one = run("receptive-field", "--net", path, "--input-shape", "1x3xHxW", "-f", "json")
    assert one[0] == 0
    keys = ("receptive_field", "receptive_field_min", "jump", "start", "global")

    def fields(text: str) -> list[tuple]:
        return [tuple(row.get(k) for k in keys) for row in json.loads(text)["layers"]]

    assert fields(out) == fields(one[1])
    assert fields(out)[3][:3] == (8, 8, 4)  # by hand: 3; pool 2: 3 + 1 = 4 (jump 2); conv 3/2: 4 + 2·2 = 8 (jump 4)
