"""``convcalc scan-mlp``: a scanning MLP as the CNN it equals, and a CNN as a scanning MLP."""


from typing import Annotated

import typer

from convcalc.cli import app
from convcalc.cli.common import FormatOpt, emit
from convcalc.errors import ConvcalcError
from convcalc.render import Format


@app.command("scan-mlp")
def scan_mlp(
    input_shape: Annotated[str | None, typer.Option("--input-shape", help="N,C,T of the scanned input, e.g. "
                                                                          "1x24x128.")] = None,
    mlp: Annotated[str | None, typer.Option("--mlp", help="The MLP: a file, '-' or inline 'Flatten(), Linear(8 * 24, "
                                                          "8), ReLU(), ...'.")] = None,
    window: Annotated[int | None, typer.Option("--window", help="Time steps the MLP reads at once.")] = None,
    stride: Annotated[int | None, typer.Option("--stride", help="Time steps it moves between evaluations.")] = None,
    weights: Annotated[str | None, typer.Option("--weights", "-w", help="The MLP's weights, FILE.npz with state_dict "
                                                                        "names (1.weight, ...).")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="With --weights: write the CNN's weights to "
                                                                      "FILE.npz under its state_dict names.")] = None,
    input: Annotated[str | None, typer.Option("--input", "-i", help="With --weights: the input both are run on "
                                                                    "(default: random, --seed).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random input of the check.")] = 0,
    cnn: Annotated[str | None, typer.Option("--cnn", help="Instead: a CNN of Conv1d layers, to see as a scanning "
                                                          "MLP (window, stride, neurons, unique neurons).")] = None,
    unique: Annotated[str | None, typer.Option("--unique", help="A distributed (shared-parameter) MLP: the distinct "
                                                                "neurons per Linear layer, e.g. 2,8,4.")] = None,
    answer: Annotated[str | None, typer.Option("--answer", help="Your number to check: the flattened output size "
                                                                "(--mlp), or the neurons, or neurons,unique (--cnn).")]
    = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """A scanning MLP as the CNN it equals (weights converted and checked), or a CNN as a scanning MLP."""

    from convcalc.cli.cmu import net_text
    from convcalc.derive import scan_mlp as derive
    from convcalc.net import parse_network, parse_shape

    if not 0 <= seed < 2**63:
        raise ConvcalcError(f"must be a whole number from 0 to 2^63 − 1, got {seed}", "--seed")
    if cnn is not None:
        if any(v is not None for v in (mlp, weights, output, input, window, stride, unique)):
            raise ConvcalcError("--cnn takes no --mlp, --window, --stride, --weights, --input or --output", "--cnn")
        from convcalc.derive.scan_cnn import cnn_to_mlp

        emit(derive.with_answer(cnn_to_mlp(parse_network(net_text(cnn, "--cnn"))), answer), fmt)
    if mlp is None:
        raise ConvcalcError("give --mlp 'Flatten(), Linear(...), ...' (with --input-shape, --window, --stride) or "
                            "--cnn 'Conv1d(...), ...'", "--mlp")
    for flag, v in (("--input-shape", input_shape), ("--window", window), ("--stride", stride)):
        if v is None:
            raise ConvcalcError("missing (the scan needs --input-shape N,C,T, --window and --stride)", flag)
    assert input_shape is not None and window is not None and stride is not None
    shape = parse_shape(input_shape)
    if len(shape) != 3:
        raise ConvcalcError(f"expected N,C,T (a batch of C-channel sequences), got {len(shape)} sizes",
                            "--input-shape")
    for flag, v in (("--window", window), ("--stride", stride)):
        if not 1 <= v <= 10**9:
            raise ConvcalcError(f"must be a positive integer, got {v}", flag)
    if (output is not None or input is not None) and weights is None:
        raise ConvcalcError("needs --weights (the MLP's)", "--output" if output is not None else "--input")
    w = None
    if weights is not None:
        from convcalc.weights import load_npz

        w = load_npz(weights)
    x = None
    if input is not None:
        from convcalc.cli.cmu import floats
        from convcalc.io import read_tensor

        x = floats(read_tensor(input, "--input"), "--input")
    shared = None
    if unique is not None:
        from convcalc.specs import parse_ints, positive

        parts = [v for v in unique.replace(" ", "").split(",") if v]
        shared = positive(parse_ints(",".join(parts), len(parts), "--unique"), "--unique") if parts else ()
    problem = derive.MlpToCnn((shape[0], shape[1], shape[2]), parse_network(net_text(mlp, "--mlp")), window, stride,
                              w, x, shared)
    solution, converted = derive.mlp_to_cnn(problem, seed)
    if output is not None and converted is not None:
        from convcalc.weights import save_npz

        save_npz(converted, output, "--output")
    emit(derive.with_answer(solution, answer), fmt)
