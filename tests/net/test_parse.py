"""The spec parser: every accepted form, and hostile or wrong text refused with the line."""

from __future__ import annotations

import inspect
import time

import pytest

from convcalc.errors import ConvcalcError
from convcalc.net import (
    AdaptivePoolLayer,
    BatchNormLayer,
    ConvLayer,
    ElementwiseLayer,
    FlattenLayer,
    LinearLayer,
    PoolLayer,
    parse_network,
)
from convcalc.net.signatures import REQUIRED, SIGNATURES

ALL_FORMS = """
# the seed network, with comments and blank lines
nn.Sequential(
    nn.Conv2d(3, 128, kernel_size=5, stride=2, padding=2),   # first
    nn.ReLU(),

    torch.nn.Conv2d(128, 128, (3, 5), groups=128, bias=False, padding='same', padding_mode='reflect'),
    LazyConv2d(64, 5, stride=2, padding=2),
    Identity(),
)
"""


def test_sequential_prefixes_comments_and_settings() -> None:
    layers = parse_network(ALL_FORMS)
    assert [layer.kind for layer in layers] == ["Conv2d", "ReLU", "Conv2d", "LazyConv2d", "Identity"]
    first, _, depthwise, lazy, _ = layers
    assert isinstance(first, ConvLayer) and first.line == 4 and first.stride == (2, 2)
    assert first.padding == ((2, 2), (2, 2)) and first.text == "nn.Conv2d(3, 128, kernel_size=5, stride=2, padding=2)"
    assert isinstance(depthwise, ConvLayer)
    assert depthwise.kernel == (3, 5) and depthwise.groups == 128 and not depthwise.bias
    assert depthwise.padding == ((1, 1), (2, 2)) and depthwise.padding_mode == "reflect"
    assert isinstance(lazy, ConvLayer) and lazy.lazy and lazy.in_channels is None


def test_every_layer_family() -> None:
    text = """Conv1d(3, 8, 3, dilation=2)
ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
LazyConvTranspose1d(4, 2, stride=2)
MaxPool2d(3, 2)
AvgPool1d(2)
AdaptiveAvgPool2d(1)
AdaptiveMaxPool2d((4, None))
BatchNorm2d(64)
LazyBatchNorm1d()
Dropout(0.5)
Flatten()
Linear(128, 10, bias=False)
LazyLinear(10)
LeakyReLU(0.1)
GELU(approximate='tanh')
PReLU(num_parameters=8)
Hardtanh(-2, 2.5)
Softmax(dim=-1),
"""
    layers = parse_network(text)
    assert [type(layer) for layer in layers] == [
        ConvLayer, ConvLayer, ConvLayer, PoolLayer, PoolLayer, AdaptivePoolLayer, AdaptivePoolLayer,
        BatchNormLayer, BatchNormLayer, ElementwiseLayer, FlattenLayer, LinearLayer, LinearLayer,
        ElementwiseLayer, ElementwiseLayer, ElementwiseLayer, ElementwiseLayer, ElementwiseLayer,
    ]
    conv1, convt, lazyt, maxp, avgp, ad1, ad2, bn, lbn, *_ = layers
    assert conv1.dilation == (2,) and conv1.ndim == 1  # type: ignore[attr-defined]
    assert convt.transposed and convt.output_padding == (1, 1)  # type: ignore[attr-defined]
    assert lazyt.transposed and lazyt.lazy and lazyt.kernel == (2,)  # type: ignore[attr-defined]
    assert maxp.stride == (2, 2) and avgp.stride == (2,)  # stride defaults to the kernel # type: ignore[attr-defined]
    assert ad1.output_size == (1, 1) and ad2.output_size == (4, None)  # type: ignore[attr-defined]
    assert bn.num_features == 64 and lbn.num_features is None  # type: ignore[attr-defined]
    assert layers[11].arg("bias") is False and layers[15].num_parameters == 8  # type: ignore[attr-defined]


HOSTILE = [
    "__import__('os').system('ls')",
    "os.system('x')",
    "Conv2d(*[1,2])",
    "Conv2d(**{'in_channels': 3})",
    "lambda: 0",
    "[x for x in ()]",
    "Conv2d(3, 8, 3).__class__",
    "Conv2d(10**100, 1, 1)",
    "Conv2d(3, 8, kernel_size=3, foo=1)",
    "open('x')",
    "Conv2d(3,8,3)[0]",
    "Conv2d(" + "(" * 5000 + "1" + ")" * 5000 + ")",
    "Conv2d(3, 8, 3" + ", 1" * 5000 + ")",
    "ReLU()  " + "x" * 3000,
    "Conv2d(3, 8, 99999999999999999999)",
    "Conv2d(3, 8, 3, padding='" + "s" * 200 + "')",
    "import os",
    "x = Conv2d(3, 8, 3)",
    "Conv2d(3, 8, f'{3}')",
    "Conv2d(3, 8, 3, bias=__debug__)",
    "torch.load('model.pt')",
    "nn.Sequential(nn.Conv2d(3, 8, 3), os.system('x'))",
    "Conv2d(3, 8, 3, padding_mode=print)",
    "Conv2d(3, 8, 9**9**9)",
    "Conv2d(3, 8, 3 // 0)",
    "Conv2d(3, 8, x * 2)",
    "Conv2d(3, 8, 1e999)",
    "Conv2d(3, 8, 3j)",
    "Conv2d(3, 8, b'3')",
    "getattr(nn, 'Conv2d')(3, 8, 3)",
    "(lambda: __import__('os'))()",
    "Conv2d(3, 8, 3) + ReLU()",
    "Conv2d(3, 8, [[3]])",
    "\x00",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_refused_quickly(text: str) -> None:
    began = time.perf_counter()
    with pytest.raises(ConvcalcError) as info:
        parse_network("ReLU()\n" + text)
    assert time.perf_counter() - began < 0.5
    assert info.value.where and info.value.where.startswith(("line 2", "network spec")), info.value


@pytest.mark.parametrize(("text", "words"), [
    ("Conv2d(3, 8, kernel_size=3, foo=1)", "no argument 'foo'"),
    ("Conv2d(3, 8, 3, 1, 0, 1, 1, True, 'zeros', None, None, 5)", "at most 11 positional"),
    ("Conv2d(3, 8)", "missing its required argument 'kernel_size'"),
    ("Conv2d(3, 8, 3, stride=2, padding='same')", "strided"),
    ("Conv2d(3, 8, 3, groups=2)", "divisible by groups"),
    ("Conv2d(3, 8, (3, 3, 3))", "2 integers"),
    ("Conv1d(3, 8, (3, 3))", "1 integers"),
    ("Conv2d(3, 8, 0)", "at least 1"),
    ("Conv2d(3, 8, 3, padding_mode='mirror')", "padding_mode"),
    ("ConvTranspose2d(3, 8, 3, output_padding=1)", "smaller than either stride"),
    ("ConvTranspose2d(3, 8, 3, padding_mode='reflect')", "zeros"),
    ("MaxPool2d(3, padding=2)", "half"),
    ("MaxPool2d(2, return_indices=True)", "tuple"),
    ("Dropout(1.5)", "probability"),
    ("Linear(10, 5, True, bias=False)", "two values"),
    ("BatchNorm2d(8, 1e-5, 0.1, True, True, None, None, False)", "at most 7 positional"),
    ("ReLU(True, True)", "at most 1"),
    ("Conv2d(3, 8, 3, bias=1)", "True or False"),
])
def test_wrong_arguments_name_the_problem(text: str, words: str) -> None:
    with pytest.raises(ConvcalcError) as info:
        parse_network("# header\n\n" + text)
    assert words in str(info.value) and info.value.where and info.value.where.startswith("line 3")


def test_signature_table_matches_torch() -> None:
    """Names, order, defaults and keyword-only markers agree with torch.nn's __init__."""
    torch = pytest.importorskip("torch")
    for kind, params in SIGNATURES.items():
        sig = inspect.signature(getattr(torch.nn, kind).__init__)
        theirs = [p for p in sig.parameters.values() if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        assert [p.name for p in params] == [p.name for p in theirs], kind
        for mine, real in zip(params, theirs, strict=True):
            default = REQUIRED if real.default is inspect.Parameter.empty else real.default
            assert mine.default == default, (kind, mine.name)
            assert mine.kw_only == (real.kind == real.KEYWORD_ONLY), (kind, mine.name)
