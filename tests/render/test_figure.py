"""--figure SVGs by structure (xml.etree): the shaded cells are exactly the window's cells,
computed here by brute force; the numbers are torch's; and a real browser renders them."""

from __future__ import annotations

import itertools
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.render.figure import Figure, Frame, Grid, Mark, render_svg

SVG = "{http://www.w3.org/2000/svg}"
X41 = "3 1 2 6 5; 6 8 1 7 9; 2 7 4 2 3; 8 3 5 4 1; 1 5 2 7 6"  # CPEN455 §4.1
W41 = "-1 2 -3; 1 -2 3; 3 2 -1"


def _arr(text: str) -> np.ndarray:
    return np.array([[int(v) for v in row.split()] for row in text.split(";")])


def _frames(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "frame"]


def _cells(frame: ET.Element, cls: str) -> set[tuple[int, int]]:
    return {(int(r.get("data-row")), int(r.get("data-col"))) for r in frame.iter(f"{SVG}rect") if r.get("class") == cls}


def _grid_texts(path: Path, role: str) -> list[str]:
    root = ET.parse(path).getroot()
    grid = next(g for g in root.iter(f"{SVG}g") if g.get("data-role") == role)
    return [t.text for t in grid.iter(f"{SVG}text") if t.get("class") == "value"]


def _self_contained(text: str) -> None:
    assert "<script" not in text and "href" not in text and "@import" not in text and "url(" not in text
    assert text.count("http://") == 1  # the SVG namespace only: no web fonts, nothing fetched


def test_cpen455_dilated_figure_shades_exactly_the_sampled_taps(cli, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    out = tmp_path / "d.svg"
    res = cli("dilated", "--input", X41, "--kernel", W41, "--dilation", "2", "--stride", "2", "--padding", "2",
              "--figure", str(out))
    assert res.code == 0, res.err
    text = out.read_text(encoding="utf-8")
    _self_contained(text)
    frames = _frames(out)
    assert len(frames) == 9
    x, w = _arr(X41), _arr(W41)
    y = torch.nn.functional.conv2d(torch.tensor(x[None, None], dtype=torch.float64),
                                   torch.tensor(w[None, None], dtype=torch.float64), stride=2, padding=2,
                                   dilation=2)[0, 0].numpy()
    for k, (i, j) in enumerate(itertools.product(range(3), range(3))):
        frame = frames[k]
        want = {(2 * i + 2 * a, 2 * j + 2 * b) for a in range(3) for b in range(3)}  # o·S + t·D, padded coords
        assert _cells(frame, "window") == want
        assert _cells(frame, "target") == {(i, j)}
        sums = [t.text for t in frame.iter(f"{SVG}text") if t.get("class") == "sum"]
        assert sums[-1].endswith(f"= {int(y[i, j])}")
        assert len(frame.findall(f"{SVG}animate")) == 1  # animated, SMIL only
    padded = np.pad(x, 2)
    assert _grid_texts(out, "source") == [str(v) for v in padded.flat]
    assert _grid_texts(out, "target") == [str(int(v)) for v in y.flat]


def test_frames_dir_gets_one_still_per_cell(cli, tmp_path: Path) -> None:
    res = cli("dilated", "--input", X41, "--kernel", W41, "--dilation", "2", "--stride", "2", "--padding", "2",
              "--frames", str(tmp_path), "--cell", "2,2", "--cell", "3,1")
    assert res.code == 0, res.err
    files = sorted(tmp_path.glob("frame_*.svg"))
    assert [f.name for f in files] == ["frame_001.svg", "frame_002.svg"]
    for f, (i, j) in zip(files, [(1, 1), (2, 0)], strict=True):
        [frame] = _frames(f)
        assert frame.get("visibility") == "visible" and not frame.findall(f"{SVG}animate")
        assert _cells(frame, "window") == {(2 * i + 2 * a, 2 * j + 2 * b) for a in range(3) for b in range(3)}


def test_max_pool_figure_windows_and_winners(cli, tmp_path: Path) -> None:
    x = np.random.default_rng(1).integers(-9, 9, size=(5, 6))
    text = "; ".join(" ".join(map(str, r)) for r in x)
    out = tmp_path / "p.svg"
    assert cli("pool", "--input", text, "--kernel-size", "3", "--stride", "2", "--padding", "1",
               "--figure", str(out)).code == 0
    padded = np.pad(x.astype(float), 1, constant_values=-np.inf)
    frames = _frames(out)
    cells = list(itertools.product(range(3), range(3)))
    assert len(frames) == len(cells)
    for frame, (i, j) in zip(frames, cells, strict=True):
        window = {(2 * i + a, 2 * j + b) for a in range(3) for b in range(3)}
        assert _cells(frame, "window") == window
        best = max(padded[r, c] for r, c in window)
        winner = min((r, c) for r, c in window if padded[r, c] == best)  # first in row-major order, as torch
        assert _cells(frame, "picked") == {winner}


def test_transposed_scatter_stamps_and_running_sum_match_torch(cli, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    y, w = "9 8 7; 6 5 4; 3 2 1", "-1 2 -3; 1 -2 3; 3 2 -1"
    out = tmp_path / "t.svg"
    assert cli("transposed-conv", "--input", y, "--kernel", w, "--stride", "2", "--padding", "1",
               "--output-padding", "1", "--figure", str(out)).code == 0
    frames = _frames(out)
    assert len(frames) == 9
    for frame, (i, j) in zip(frames, itertools.product(range(3), range(3)), strict=True):
        assert _cells(frame, "window") == {(i, j)}
        assert _cells(frame, "target") == {(2 * i + a, 2 * j + b) for a in range(3) for b in range(3)}
    ty = torch.tensor(_arr(y)[None, None], dtype=torch.float64)
    tw = torch.tensor(_arr(w)[None, None], dtype=torch.float64)
    canvas = torch.nn.functional.conv_transpose2d(ty, tw, stride=2, output_padding=1)[0, 0].numpy()
    last = [t.text for t in frames[-1].iter(f"{SVG}text") if t.get("class") == "value"]
    assert last == [str(int(v)) for v in canvas.flat]  # the running sum after every stamp is the canvas
    cropped = torch.nn.functional.conv_transpose2d(ty, tw, stride=2, padding=1, output_padding=1)[0, 0].numpy()
    assert np.array_equal(canvas[1:-1, 1:-1], cropped)  # and the undimmed part is the output


def test_backprop_conv_figure_target_is_torch_grad(cli, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    x, w, g = "1 2 3 4; 5 6 7 8; 9 10 11 12; 1 1 1 1", "1 0; 2 -1", "1 2 3; 4 5 6; 7 8 9"
    out = tmp_path / "b.svg"
    assert cli("backprop", "conv", "--input", x, "--kernel", w, "--stride", "2", "--padding", "1",
               "--grad-output", g, "--figure", str(out)).code == 0
    tx = torch.tensor(_arr(x)[None, None], dtype=torch.float64, requires_grad=True)
    yy = torch.nn.functional.conv2d(tx, torch.tensor(_arr(w)[None, None], dtype=torch.float64), stride=2, padding=1)
    yy.backward(torch.tensor(_arr(g)[None, None], dtype=torch.float64))
    grid = np.array(_grid_texts(out, "target")).reshape(6, 6)
    assert [int(v) for v in grid[1:-1, 1:-1].flat] == [int(v) for v in tx.grad[0, 0].numpy().flat]
    first = _frames(out)[0]  # dA[1,1] sits at padded (1,1); the flipped 2×2 kernel reads from there
    assert _cells(first, "target") == {(1, 1)} and _cells(first, "window") == {(1, 1), (1, 2), (2, 1), (2, 2)}


@pytest.mark.parametrize(("argv", "message"), [
    (("conv", "--input", "1 2; 3 4", "--kernel", "1", "--figure", "x.png"), "must end in .svg"),
    (("conv", "--input", "1 2; 3 4", "--kernel", "1", "--frames", "/no/such/dir"), "no such folder"),
    (("pool", "--input", "1 2; 3 4", "--mode", "adaptive-max", "--output-size", "1", "--figure", "a.svg"),
     "adaptive"),
    (("conv", "--input", "; ".join(["1 " * 60] * 2), "--kernel", "1", "--figure", "a.svg"), "at most"),
    (("conv", "--input", "1 2; 3 4", "--kernel", "1", "--steps", "0", "--figure", "a.svg"), "no worked cell"),
    (("backprop", "conv", "--input", "1 2; 3 4", "--kernel", "1", "--steps", "0", "--figure", "a.svg"),
     "no worked cell"),
])  # fmt: skip
def test_figure_errors_are_one_line(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv, message) -> None:
    monkeypatch.chdir(tmp_path)
    res = cli(*argv)
    assert res.code == 2 and message in res.err and res.err.count("\n") == 1


def test_user_text_is_escaped() -> None:
    grid = Grid("<b>&", "</text><script>alert(1)</script>", np.array([[1, 2]]))
    fig = Figure("a & b <i>", grid, grid, (Frame("<x>", (Mark((0, 0), "<y>"),), (), ("& <z>",)),))
    svg = render_svg(fig)
    root = ET.fromstring(svg)  # well-formed
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert root.find(f"{SVG}title").text == "a & b <i>"


def _png_size_and_ink(path: Path) -> tuple[tuple[int, int], float]:
    """Width, height and the share of non-white pixels of an 8-bit RGB(A) PNG."""
    pixels = _png_pixels(path)
    return (pixels.shape[1], pixels.shape[0]), float(np.mean(pixels.min(axis=2) < 200))


def _png_pixels(path: Path) -> np.ndarray:
    """The RGB pixels of an 8-bit RGB(A) PNG, decoded here (no imaging library needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        header = body if kind == b"IHDR" else header
        chunks += [body] if kind == b"IDAT" else []
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6)
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for r in range(height):
        f, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            pred = {0: 0, 1: a, 2: b, 3: (a + b) // 2,
                    4: min((a, b, c), key=lambda v: (abs(a + b - c - v), (a, b, c).index(v)))}[f]
            line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(height, width, channels)[..., :3]


def _screenshot(browser: str, svg: Path, png: Path, *extra: str) -> None:
    try:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={png}",
                        "--window-size=700,500", *extra, svg.as_uri()], capture_output=True, timeout=90, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("the browser did not finish in time")
    if not png.exists():
        pytest.skip("the browser wrote no screenshot")


def test_a_real_browser_renders_the_figure_and_animates_it(cli, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless chromium installed")
    svg = tmp_path / "d.svg"
    assert cli("dilated", "--input", X41, "--kernel", W41, "--dilation", "2", "--stride", "2", "--padding", "2",
               "--figure", str(svg)).code == 0
    first, later = tmp_path / "first.png", tmp_path / "later.png"
    # virtual time, not the clock, so a loaded machine takes the same pictures: frame 1, then frame 2 (1.5 s each)
    _screenshot(browser, svg, first, "--virtual-time-budget=300")
    _screenshot(browser, svg, later, "--virtual-time-budget=2400")
    size, ink = _png_size_and_ink(first)
    assert size == (700, 500)
    assert 0.02 < ink < 0.5  # grids and text drawn on white: neither blank nor a black page
    assert _png_size_and_ink(later)[1] > 0.02
    changed = np.any(_png_pixels(first) != _png_pixels(later), axis=2)
    assert 0 < changed.mean() < 0.2  # SMIL moved the window on (and only that changed): the figure is animated


STACKS = [  # each layer as convcalc reads it, and its torch.nn.functional.conv2d settings (None: ReLU)
    [("Conv2d(1,1,3,dilation=2)", {"kernel": (3, 3), "dilation": 2}),
     ("Conv2d(1,1,3,dilation=2)", {"kernel": (3, 3), "dilation": 2})],
    [("Conv2d(1,1,3)", {"kernel": (3, 3)}), ("Conv2d(1,1,3,dilation=2)", {"kernel": (3, 3), "dilation": 2}),
     ("Conv2d(1,1,3,dilation=4)", {"kernel": (3, 3), "dilation": 4})],
    [("Conv2d(1,1,3,stride=2,padding=1)", {"kernel": (3, 3), "stride": 2, "padding": 1}), ("ReLU()", None),
     ("Conv2d(1,1,(3,1),dilation=3)", {"kernel": (3, 1), "dilation": 3})],
]


@pytest.mark.parametrize("stack", STACKS, ids=range(len(STACKS)))
def test_receptive_field_figure_counts_paths_as_torch_gradients(cli, tmp_path: Path, stack) -> None:
    torch = pytest.importorskip("torch")
    out = tmp_path / "rf.svg"
    argv = [a for spec, _ in stack for a in ("--layer", spec)]
    assert cli("receptive-field", *argv, "--input-shape", "1x1x24x24", "--figure", str(out)).code == 0
    labels = [t for t in ET.parse(out).getroot().iter(f"{SVG}text") if t.get("font-size") == "9"]
    cols = [int(t.text) - 1 for t in labels if t.get("text-anchor") == "middle"]  # the crop's input coordinates
    rows = [int(t.text) - 1 for t in labels if t.get("text-anchor") == "end"]
    frames = _frames(out)
    assert len(frames) == len(stack)
    x = torch.zeros(1, 1, 24, 24, dtype=torch.float64, requires_grad=True)
    h = x
    for frame, (spec, conv) in zip(frames, stack, strict=True):
        if conv is None:
            h = torch.relu(h + 1)  # positive, so the ReLU passes every path
        else:  # all-ones weights, no bias: ∂(centre unit)/∂(input) counts the paths to each pixel
            ones = torch.ones(1, 1, *conv["kernel"], dtype=torch.float64)
            h = torch.nn.functional.conv2d(h, ones, None, conv.get("stride", 1), conv.get("padding", 0),
                                           conv.get("dilation", 1))
        centre = tuple((n - 1) // 2 for n in h.shape[2:])
        (grad,) = torch.autograd.grad(h[(0, 0, *centre)], x, retain_graph=True)
        g = grad[0, 0].numpy()
        want = {(int(r), int(c)): int(g[r, c]) for r, c in zip(*np.nonzero(g), strict=True)}
        cells = [(rows[int(r.get("data-row"))], cols[int(r.get("data-col"))])
                 for r in frame.iter(f"{SVG}rect") if r.get("class") == "window"]
        counts = [int(t.text) for t in frame.iter(f"{SVG}text") if t.get("font-size") == "8.5"]
        assert dict(zip(cells, counts, strict=True)) == want, spec


def test_figures_are_not_written_from_problem_files_or_slip_searches(cli, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bank = tmp_path / "p.toml"
    bank.write_text('[[problem]]\nid = "a"\ncommand = "conv"\ninput = "1 2; 3 4"\nkernel = "1"\n'
                    f'figure = "{tmp_path}/from-bank.svg"\nframes = "{tmp_path}"\nclaimed = "1 2; 3 5"\n',
                    encoding="utf-8")
    for command in ("solve", "check"):
        cli(command, str(bank))
    res = cli("conv", "--input", "1 2; 3 4", "--kernel", "1", "--answer", "1 2; 3 5", "--figure", "mine.svg")
    assert res.code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.svg", "p.toml"]  # the user's own figure only


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 7), w=st.integers(1, 7), kh=st.integers(1, 3), kw=st.integers(1, 3),
       sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
       dh=st.integers(1, 3), dw=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_every_frame_shades_the_window_of_its_cell(h, w, kh, kw, sh, sw, ph, pw, dh, dw, seed) -> None:
    """Random settings: frame k's shaded cells are the window of the k-th output cell, found here by brute
    force over the padded input (every padded position whose value enters that cell's sum)."""
    from convcalc.derive.conv import ConvProblem
    from convcalc.derive.layout import data_layout
    from convcalc.render.figure_build import conv_figure
    from convcalc.specs import make_conv_spec

    rows, cols = h + 2 * ph, w + 2 * pw
    if rows < dh * (kh - 1) + 1 or cols < dw * (kw - 1) + 1:
        return
    rng = np.random.default_rng(seed)
    x, k = rng.integers(-5, 5, size=(h, w)), rng.integers(1, 5, size=(kh, kw))
    spec = make_conv_spec(2, (kh, kw), f"{sh},{sw}", f"{ph},{pw}", f"{dh},{dw}")
    fig = conv_figure(ConvProblem(x[None, None], k[None, None], None, spec, data_layout(x, 2, "--input")), (), None, 1)
    out_h, out_w = (rows - dh * (kh - 1) - 1) // sh + 1, (cols - dw * (kw - 1) - 1) // sw + 1
    assert len(fig.frames) == out_h * out_w
    for frame, (i, j) in zip(fig.frames, itertools.product(range(out_h), range(out_w)), strict=True):
        window = set()
        for r, c in itertools.product(range(rows), range(cols)):  # brute force: which padded cells does it read?
            a, b = r - i * sh, c - j * sw
            if 0 <= a < dh * kh and 0 <= b < dw * kw and a % dh == 0 and b % dw == 0:
                window.add((r, c))
        assert {m.cell for m in frame.source} == window
        assert [m.label for m in frame.source] == ["×" + str(v) for v in k.flat]  # row-major taps, in order
        assert [m.cell for m in frame.target] == [(i, j)]
