"""One entry for every form a network is pasted in: a layer list, a ``print(model)`` printout,
or a class source. Each becomes a graph through the one tracer (``convcalc.net.graph``)."""

from __future__ import annotations

from convcalc.errors import ConvcalcError
from convcalc.net.graph import Graph, Tracer, chain
from convcalc.net.parse import parse_network
from convcalc.net.shapes import Shape


def network_form(text: str) -> str:
    """``source``, ``printout`` or ``layers``: how the text is written."""
    from convcalc.net.printout import looks_like_printout
    from convcalc.net.source import looks_like_source

    if looks_like_source(text):
        return "source"
    if looks_like_printout(text):
        return "printout"
    return "layers"


def read_network(text: str, input_shape: Shape, model: str | None = None) -> Graph:
    """The network in ``text`` traced on ``input_shape``."""
    form = network_form(text)
    if model is not None and form != "source":
        raise ConvcalcError("--model names a class of a class source; this text is a "
                            f"{'printout' if form == 'printout' else 'layer list'}", "--model")
    if form == "source":
        from convcalc.net.source import trace_source

        return trace_source(text, input_shape, model)
    if form == "printout":
        from convcalc.net.modules import run_model
        from convcalc.net.printout import read_printout

        tree = read_printout(text)
        tracer = Tracer(tuple(input_shape))
        out = run_model(tracer, tree, tracer.input())
        return tracer.graph(out)
    return chain(parse_network(text), input_shape)
