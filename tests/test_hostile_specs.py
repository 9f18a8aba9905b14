"""Hostile expressions (``backprop expr``) and layer specs (``params``/``receptive-field``).

Listed and Hypothesis-generated: dunder names, lambdas, attribute chains, ``2**2**99``,
parentheses 10⁵ deep, comprehensions, strings, 10⁶-digit numbers; ``Conv2d(3, 8, 10**9)``,
``__import__('os')``, nested calls, keyword garbage, channel counts huge, negative, zero or
fractional. Each run ends as ``_check`` demands, and nothing typed is ever run: text that
would create a file if it were evaluated leaves no file behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_hostile_inputs import _check


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a fresh folder: a hostile value may name a file that can be made."""
    monkeypatch.chdir(tmp_path)


BIG = "9" * 10**6


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A path that exists only if some hostile text was executed."""
    return tmp_path / "pwned"


def _payloads(canary: Path) -> list[str]:
    touch = f"open({str(canary)!r}, 'w')"
    return [
        f"__import__('os').system('touch {canary}')", f"__import__('pathlib').Path({str(canary)!r}).touch()",
        touch, f"[{touch} for _ in 'a']", f"(lambda: {touch})()", f"exec(\"{touch}\")", f"eval(\"{touch}\")",
        f"W.__class__.__init__.__globals__['os'].system('touch {canary}')", f"breakpoint() or {touch}",
        f"sum({touch})", f"Conv2d(3, 8, {touch})", f"Conv2d(3, 8, 3, padding={touch})", f"nn.Sequential({touch})",
        f"getattr(__builtins__, 'open')({str(canary)!r}, 'w')", f"{touch} if True else 0",
        f"Conv2d(3, 8, 3)\n{touch}", f"import os; os.system('touch {canary}')", f"f'{{{touch}}}'",
    ]


EXPRESSIONS = [
    "2**2**99", "W**2**99", "W**(2**99)", "W**99999999999999999999", "W**-99999999999999999", "W**1e308", "W**1e999",
    "W**0.5", "W**-0", "W**16**16", "(W**16)**16", "((W**16)**16)**16", "((((W**16)**16)**16)**16)", "norm(W)**-16",
    "(" * 10**5 + "W" + ")" * 10**5, "(" * 30 + "W" + ")" * 30, "(" * 31 + "W" + ")" * 31, "-" * 1000 + "W",
    "+-" * 100 + "W", "W" + ".T" * 1000, "sum(" * 100 + "W" + ")" * 100, "W+" * 250 + "W", "W*" * 300 + "W",
    "W.__class__", "W.__class__.__bases__", "(lambda: 1)()", "[x for x in W]", "{x: 1 for x in W}", "W[0]", "W[::-1]",
    "'a'", "b'a'", "f'{W}'", "W if W else W", "W and W", "W < W", "(W := 1)", "sum(W, W)", "sum(W=W)", "sum(*W)",
    "sum(**W)", "sum()", "sum", "W()", "W(W)", "W.T.T(W)", "relu.T", "T", "W.t", "W.T()", "sum.__call__(W)",
    "1" + "0" * 5000, BIG, "W * " + BIG, "W + 1e" + BIG, "W + 0." + BIG, "1/0", "W/0", "0/0", "W/(W-W)", "log(W-W)",
    "log(0)", "exp(1000)", "exp(exp(exp(W)))", "W @ W @ W @ W @ W @ W @ W @ W @ W @ W", "nan", "inf", "W * nan",
    "W * 1e308 * 1e308", "\x00", "W\x00", "é", "\u202eW", "Ｗ", "W\n+W", "W #c", "W;W", "import os", "W = 1", "del W",
    "...", "True", "None", "1j", "W * 1j", "0x10 * W", "1_0*W", "W**True", "x", "__builtins__", "__debug__",
    " ", "", "W" * 600, "a" * 10**5, "_" * 100, "W\t+\tW", "await W", "yield W", "*W", "W, W", "[W]", "{W}", "{}",
    "mean(mean(mean(W)))", "square(square(square(square(W))))", "sigmoid(-W * 1e308)", "tanh(W) ** -1",
]  # fmt: skip

LAYERS = [
    "Conv2d(3, 8, 10**9)", "Conv2d(3, 8, 1000000000)", "Conv2d(3, 8, 1000000001)", "Conv2d(3, 8, " + BIG + ")",
    "Conv2d(3, 8, 3)(Conv2d(3,8,3))", "Conv2d(Conv2d(3,8,3), 8, 3)", "Conv2d(3, 8, kernel_size=3, kernel_size=3)",
    "Conv2d(3, 8, 3, foo=1)", "Conv2d(3, 8, 3, **{})", "Conv2d(*[3, 8, 3])", "Conv2d(-3, 8, 3)", "Conv2d(0, 8, 3)",
    "Conv2d(3.5, 8, 3)", "Conv2d(3, 8, 0)", "Conv2d(3, 8, -1)", "Conv2d(3, 8, 3.0)", "Conv2d(3, 8, (3,))",
    "Conv2d(3, 8, (3, 3, 3))", "Conv2d(3, 8, ((3,),))", "Conv2d(3, 8, [3, 3])", "Conv2d(3, 8, 3, padding='same', stride=2)",
    "Conv2d(3, 8, 3, padding='x')", "Conv2d(3, 8, 3, groups=0)", "Conv2d(3, 8, 3, groups=-1)", "Conv2d(3, 9, 3, groups=3)",
    "Conv2d(True, 8, 3)", "Conv2d(None, 8, 3)", "Conv2d('3', 8, 3)", "Conv2d(3, 8, 3, dilation=999999999)",
    "Conv2d(3, 8, 3, stride=999999999)", "Conv2d(3, 8, 3, padding=999999999)", "Conv2d(999999999, 999999999, 999999999)",
    "os.Conv2d(3,8,3)", "nn.nn.Conv2d(3,8,3)", "a.b.c.d.e.f.Conv2d(3,8,3)", "Conv2d", "Conv2d()", "Conv2d(3)",
    "Sequential(" * 30 + ")" * 30, "nn.Sequential(" * 19 + "ReLU()" + ")" * 19, "nn.Sequential(" + "ReLU()," * 2000 + ")",
    "ReLU();" * 100, "ReLU()\n" * 1001, "Linear(10**9, 10**9)", "Linear(999999999, 999999999)", "Linear(16, 999999999)",
    "BatchNorm2d(3, eps=-1)", "BatchNorm2d(3, eps=1e999)", "Dropout(p=2)", "Dropout(p=float('nan'))", "MaxPool2d(3, padding=2)",
    "MaxPool2d(0)", "MaxPool2d(999999999)", "AdaptiveAvgPool2d((None, 0))", "AdaptiveAvgPool2d(999999999)",
    "AdaptiveMaxPool2d((999999999, 1))", "AdaptiveAvgPool1d(999999999)", "Flatten(0, -1)", "Flatten(5, 9)",
    "Conv2d(3, 8, 3, padding=" + "(" * 1000 + "1" + ")" * 1000 + ")", "Conv2d(3, 8, 3)" + "#" * 10**6,
    "Conv2d(3,8,3, padding='" + "x" * 10**5 + "')", "Conv2d(3, 8, 3) " * 100, "[Conv2d(3,8,3)]", "(Conv2d(3,8,3),)",
    "{Conv2d(3,8,3)}", "Conv2d(3,8,3) if 1 else 0", "lambda: Conv2d(3,8,3)", "\x00", "é", "Ｃonv2d(3,8,3)",
    "Conv2d(3, 8, 3, bias='yes')", "Conv2d(3, 8, 3, padding_mode='reflect', padding=5)",
    "ConvTranspose2d(3, 8, 3, output_padding=5)", "ConvTranspose2d(3, 8, 3, stride=2, output_padding=1, dilation=999999999)",
    "LazyConv2d(8, 3)", "LazyLinear(10)", "Conv1d(3,8,3)", "Conv3d(3,8,3)", "PReLU(num_parameters=999999999)",
    "Upsample(scale_factor=2)", "Conv2d(3, 8, 3, device='cuda')", "Conv2d(3, 8, 3, dtype=torch.float32)", "print(1)",
    "import os", "x = Conv2d(3,8,3)", "del x", "async def f(): pass", "Conv2d(3, 8, 3, padding=-0.0)",
    "Conv2d(3, 8, 3, stride=1e308)", "Conv2d(3, 8, 3, stride=True)", "ReLU(inplace=10**9)", "Conv2d(3, 8, 3, padding=(1, 1, 1))",
    "AvgPool2d(2, divisor_override=0)", "Softmax(dim=999999999)", "Softmax(dim=-999999999)", "Flatten(start_dim=999999999)",
    "ReLU()  # " + "x" * 1990, "'" * 10**5, '"""' + "x" * 1000, "\\\n" * 1000, "Conv2d(3, 8, 3)\x0cReLU()",
]  # fmt: skip

SHAPES = ["1x3x16x16", "1x3x999999999x999999999", "1x3x1x1", "1x3x16", "5x5"]


def test_hostile_expressions(canary: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    for expression in [*EXPRESSIONS, *[f"sum({e})" for e in EXPRESSIONS], *_payloads(canary)]:
        for variables in (["W=1 2; 3 4"], ["W=1/3 2; 3 4/7", "x=1; 2"], ["W=0.5 2; 3 4"]):
            _check(["backprop", "expr", *[a for v in variables for a in ("--var", v)], "--", expression], capsys)
        _check(["backprop", "expr", "--var", "W=1 2; 3 4", "--answer", "W=1 1; 1 1", "--format", "json", "--",
                expression], capsys)
    assert not canary.exists(), "an expression was executed"


@pytest.mark.parametrize("command", ["params", "receptive-field"])
def test_hostile_layer_specs(command: str, canary: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    extra = ["--exact"] if command == "receptive-field" else ["--exact-ops"]
    for spec in [*LAYERS, *_payloads(canary)]:
        for shape in SHAPES:
            _check([command, "--layer", spec, "--input-shape", shape], capsys)
            _check([command, "--layer", "Conv2d(3, 8, 3)", "--layer", spec, "--input-shape", shape, *extra], capsys)
        _check([command, "--layer", spec, "--format", "json"], capsys)
    assert not canary.exists(), "a layer spec was executed"


def test_hostile_network_files(tmp_path: Path, canary: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    specs = [*LAYERS, *_payloads(canary), "".join(f"ReLU()  # {'x' * 188}\n" for _ in range(999)),
             "Conv2d(3, 8, 3)\n" * 1000, "x" * 300_000, "\n" * 300_000, ("ReLU()," * 280 + "\n") * 100]
    for i, spec in enumerate(specs):
        path = tmp_path / f"net{i}.txt"
        path.write_text(spec, encoding="utf-8")
        for command in ("params", "receptive-field"):
            _check([command, "--net", str(path), "--input-shape", "1x3x32x32"], capsys)
    for data in (bytes(range(256)) * 10, b"\xff\xfe" + "Conv2d(3,8,3)".encode("utf-16-le")):
        (tmp_path / "binary.txt").write_bytes(data)
        _check(["params", "--net", str(tmp_path / "binary.txt"), "--input-shape", "1x3x32x32"], capsys)
    assert not canary.exists()


def test_a_long_spec_of_many_layers_is_read_at_once(cli) -> None:
    """ast.get_source_segment splits the whole text per call: 999 layers in 200 kB took ~40 s."""
    spec = "".join(f"ReLU()  # {'x' * 188}\n" for _ in range(999))
    r = cli("params", "--layer", spec, "--input-shape", "1x3x8x8", "--format", "json")
    assert r.code == 0, r.err


def test_huge_adaptive_pooling_is_not_listed_window_by_window(cli) -> None:
    """AdaptiveAvgPool2d(999999999) listed its 10⁹ windows (minutes, then out of memory)."""
    r = cli("receptive-field", "--layer", "AdaptiveAvgPool2d(999999999)", "--input-shape", "1x3x16x16", "--format", "json")
    assert r.code == 0, r.err
    r = cli("receptive-field", "--layer", "AdaptiveAvgPool2d(999999999)", "--input-shape", "1x3x16x16", "--exact")
    assert r.code == 2 and "the limit is" in r.err


@pytest.mark.parametrize("layer", ["Conv2d(3, 8, 3)", "ConvTranspose2d(3, 8, 3, stride=2, output_padding=1, "
                                   "dilation=999999999)", "Linear(999999999, 4)"])
def test_exact_receptive_fields_refuse_sizes_up_front(layer: str, cli) -> None:
    r = cli("receptive-field", "--layer", layer, "--input-shape", "1x3x999999999x999999999", "--exact")
    assert r.code == 2 and "limit" in r.err, r.err


@given(st.integers(1, 300), st.integers(1, 300))
def test_adaptive_widths_match_the_windows(n: int, out: int) -> None:
    from convcalc.formulas import adaptive_widths, adaptive_window

    widths = [e - b for b, e in (adaptive_window(u, n, out) for u in range(out))]
    assert adaptive_widths(n, out) == (min(widths), max(widths)) and widths[0] == min(widths)


# --- generated ---------------------------------------------------------------------------------

_NAMES = ["W", "x", "sum", "mean", "relu", "exp", "log", "norm", "T", "__import__", "__class__", "__globals__",
          "os", "open", "eval", "lambda", "for", "in", "if", "else", "not", "None", "True", "nan", "inf", "_", "self"]
_NUMBERS = ["0", "1", "2", "-1", "0.5", "1e308", "1e-400", "2**99", "10**9", "99999999999999999999", "1/0", "1j",
            "0x10", "1_0", "9" * 5000]
_OPERATORS = ["+", "-", "*", "/", "@", "**", "//", "%", "<<", "|", "&", "==", "<", ":=", "=", ",", ";", ":", ".",
              ".T", "->"]


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 0) -> str:
    """Python-ish text: names, numbers, calls, attribute access, brackets, comprehensions, strings."""
    leaf = st.one_of(st.sampled_from(_NAMES), st.sampled_from(_NUMBERS),
                     st.text(alphabet="'\"bfr{}\\x", max_size=6).map(lambda s: f"'{s}'"))
    if depth > 4:
        return draw(leaf)
    inner = _expressions(depth + 1)
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(leaf)
    if kind == 1:
        return f"{draw(inner)} {draw(st.sampled_from(_OPERATORS))} {draw(inner)}"
    if kind == 2:
        return f"{draw(st.sampled_from(_NAMES))}({draw(inner)})"
    if kind == 3:
        return f"{draw(inner)}.{draw(st.sampled_from(_NAMES))}"
    if kind == 4:
        n = draw(st.integers(1, 40))
        return "(" * n + draw(inner) + ")" * n
    if kind == 5:
        return f"[{draw(inner)} for {draw(st.sampled_from(_NAMES))} in {draw(inner)}]"
    if kind == 6:
        return f"lambda {draw(st.sampled_from(_NAMES))}: {draw(inner)}"
    if kind == 7:
        return f"{draw(inner)}[{draw(inner)}]"
    if kind == 8:
        return f"{draw(inner)} ** {draw(st.sampled_from(_NUMBERS))} ** {draw(st.sampled_from(_NUMBERS))}"
    return f"{draw(inner)}, {draw(inner)}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(_expressions(), st.text(alphabet="W()*+-/@.T 0123456789sumexplog_", max_size=80)))
def test_generated_expressions(capsys, expression: str) -> None:
    for text in (expression, f"sum({expression})"):
        _check(["backprop", "expr", "--var", "W=1 2; 3 4", "--var", "x=1; 2", "--", text], capsys)


_LAYER_NAMES = ["Conv2d", "Conv1d", "ConvTranspose2d", "LazyConv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
                "BatchNorm2d", "Linear", "LazyLinear", "Flatten", "ReLU", "Softmax", "Dropout", "Sequential",
                "nn.Sequential", "nn.Conv2d", "torch.nn.Conv2d", "Identity", "Upsample", "__import__", "os.system",
                "getattr", "eval"]
_KEYWORDS = ["kernel_size", "stride", "padding", "dilation", "groups", "bias", "padding_mode", "output_padding",
             "in_channels", "out_channels", "ceil_mode", "output_size", "dim", "start_dim", "p", "eps", "__class__",
             "x", "inplace", "return_indices", "divisor_override", "num_parameters"]
_ARGUMENTS = ["3", "8", "0", "-1", "1.5", "-0.0", "10**9", "1000000000", "999999999", "99999999999999999999",
              "True", "None", "'same'", "'valid'", "'reflect'", "'x'", "(3, 3)", "(3,)", "(1, 2, 3)", "[2, 2]",
              "(None, 4)", "float('nan')", "1e308", "x", "lambda: 1", "[i for i in range(9)]", "'" + "x" * 200 + "'"]


@st.composite
def _layer_calls(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(st.sampled_from(_LAYER_NAMES))
    args: list[str] = draw(st.lists(st.sampled_from(_ARGUMENTS), max_size=4))
    if depth < 3 and draw(st.booleans()):
        args.append(draw(_layer_calls(depth + 1)))
    args += [f"{k}={v}" for k, v in draw(st.lists(st.tuples(st.sampled_from(_KEYWORDS), st.sampled_from(_ARGUMENTS)),
                                                  max_size=3))]
    return f"{name}({', '.join(args)})"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(_layer_calls(), st.text(max_size=30)), min_size=1, max_size=4),
       st.sampled_from(["params", "receptive-field"]), st.sampled_from(SHAPES), st.booleans())
def test_generated_layer_specs(capsys, layers: list[str], command: str, shape: str, exact: bool) -> None:
    argv = [command, *[a for layer in layers for a in ("--layer", layer)], "--input-shape", shape]
    if exact:
        argv.append("--exact" if command == "receptive-field" else "--exact-ops")
    _check(argv, capsys)


def test_parsing_warns_nothing(capsys) -> None:
    """ast.parse warns (SyntaxWarning 'invalid decimal literal', invalid escapes) on stderr: a second line."""
    for expression in ("x ** 1.in", "sum(1if W else 2)", "'\\d'", "W.T.in"):
        _check(["backprop", "expr", "--var", "W=1 2; 3 4", "--", expression], capsys)
    for spec in ("Conv2d(3, 8, 1if 1 else 2)", "Conv2d(3, 8, 3, padding='\\d')", "ReLU(0x1for)"):
        _check(["params", "--layer", spec, "--input-shape", "1x3x8x8"], capsys)
