"""A small expression language over scalars, vectors and matrices, differentiated in reverse.

``parse`` reads the text safely (an ``ast`` allow-list, nothing evaluated), ``build`` makes
the computation graph with forward values, ``backward`` runs reverse-mode differentiation.
"""

from convcalc.expr.autodiff import Backward, Step, backward
from convcalc.expr.graph import Graph, Node, build
from convcalc.expr.parse import FUNCTIONS, Term, parse

__all__ = ["FUNCTIONS", "Backward", "Graph", "Node", "Step", "Term", "backward", "build", "parse"]
