"""Matrix expressions in a canonical form, for the gradients' closed forms (no SymPy).

Every expression is a :class:`Sum` of :class:`Term` s, and a term is ``coef · Π sᵢ^pᵢ ·
body``: an exact rational coefficient, scalar factors with rational powers (commuting, so
kept sorted) and at most one matrix-shaped body (a variable, 𝟏, a matrix product, a
Hadamard product, an elementwise function, or a parenthesised sum). The constructors
below keep that form as they go, so ``x + x`` is ``2x``, ``(2Wx)xᵀ`` is ``2Wxxᵀ``,
``‖u‖²·u/‖u‖`` is ``‖u‖u`` and ``(AB)ᵀ`` is ``BᵀAᵀ`` without a separate simplifier.

Shapes are (rows, cols); a scalar is 1×1 and a vector a column, as in the course notes.
Printing is elsewhere (:mod:`convcalc.expr.algebra_print`), as is evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from math import gcd, lcm

Q = Fraction
Shape = tuple[int, int]
SCALAR: Shape = (1, 1)
# Exact numbers grow fast under powers ((2x)^16 nested a few times is 2^(16^k)); a form
# with a coefficient or an exponent past these is unreadable, so none is made.
MAX_BITS = 256
MAX_EXPONENT = Q(10**6)


class Unsupported(Exception):
    """No closed form of this kind here (a shape or an op the algebra does not cover)."""


@dataclass(frozen=True)
class Var:
    name: str
    shape: Shape
    transposed: bool = False


@dataclass(frozen=True)
class Ones:
    """𝟏: the vector or matrix of ones (the identity of ⊙)."""

    shape: Shape


@dataclass(frozen=True)
class Fn:
    """An elementwise function of ``arg``, transposed after if ``transposed``: exp log tanh
    sigmoid relu, dsigmoid = σ′ = σ(1 − σ), and step = [arg > 0] (relu′)."""

    name: str
    arg: Sum
    transposed: bool = False  # σ(A x + b)ᵀ, as the notes write it, not σ(xᵀAᵀ + bᵀ)

    @property
    def shape(self) -> Shape:
        rows, cols = self.arg.shape
        return (cols, rows) if self.transposed else (rows, cols)


@dataclass(frozen=True)
class Norm:
    """‖arg‖: Euclidean for a vector, Frobenius for a matrix."""

    arg: Sum
    shape: Shape = SCALAR


@dataclass(frozen=True)
class Total:
    """sum(arg): the sum of every entry."""

    arg: Sum
    shape: Shape = SCALAR


@dataclass(frozen=True)
class Diag:
    """diag(arg): the square matrix with the column ``arg`` on its diagonal (Jacobians)."""

    arg: Sum

    @property
    def shape(self) -> Shape:
        return (self.arg.shape[0], self.arg.shape[0])


@dataclass(frozen=True)
class MatMul:
    factors: tuple[Factor, ...]

    @property
    def shape(self) -> Shape:
        return self.factors[0].shape[0], self.factors[-1].shape[1]


@dataclass(frozen=True)
class Had:
    """The Hadamard product of ``base^⊙power`` over factors of one shape, in a fixed order."""

    factors: tuple[tuple[Factor, Q], ...]

    @property
    def shape(self) -> Shape:
        return self.factors[0][0].shape


@dataclass(frozen=True)
class Term:
    coef: Q
    scalars: tuple[tuple[Factor, Q], ...] = ()  # 1×1 factors with their powers, sorted
    body: Factor | None = None  # None: the term is a scalar

    def __post_init__(self) -> None:
        _bounded(self.coef)

    @property
    def shape(self) -> Shape:
        return SCALAR if self.body is None else self.body.shape


@dataclass(frozen=True, eq=False)
class Sum:
    """Terms in the order they arose (so ``Wx − y`` reads as written); equal as a set."""

    shape: Shape
    terms: tuple[Term, ...]

    @cached_property
    def _key(self) -> frozenset[Term]:
        return frozenset(self.terms)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sum) and self.shape == other.shape and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)


Factor = Var | Ones | Fn | Norm | Total | Diag | MatMul | Had | Sum

# The order factors are written in: variables first, then norms, functions and groups.
_RANK = {Var: 0, Ones: 1, Norm: 2, Total: 2, Fn: 3, Diag: 3, MatMul: 4, Had: 5, Sum: 6}


def _order(item: tuple[Factor, Q]) -> tuple[int, str]:
    return _RANK[type(item[0])], repr(item[0])


# --- building blocks ---------------------------------------------------------------------

def zero(shape: Shape) -> Sum:
    return Sum(shape, ())


def number(q: Q) -> Sum:
    return Sum(SCALAR, (Term(q),) if q else ())


def atom(f: Factor) -> Sum:
    """``f`` as an expression: a scalar factor, or a body."""
    term = Term(Q(1), ((f, Q(1)),)) if f.shape == SCALAR else Term(Q(1), (), f)
    return Sum(f.shape, (term,))


def var(name: str, shape: Shape) -> Sum:
    return atom(Var(name, shape))


def ones(shape: Shape) -> Sum:
    return number(Q(1)) if shape == SCALAR else atom(Ones(shape))


def fn(name: str, a: Sum) -> Sum:
    return atom(Fn(name, a))


def norm(a: Sum) -> Sum:
    return atom(Norm(a))


def add(a: Sum, b: Sum) -> Sum:
    if a.shape != b.shape:
        raise Unsupported(f"adding {a.shape} and {b.shape}")
    coefs: dict[tuple[object, object], Q] = {}
    for t in a.terms + b.terms:
        key = (t.scalars, t.body)
        coefs[key] = coefs.get(key, Q(0)) + t.coef
    terms = tuple(Term(c, s, body) for (s, body), c in coefs.items() if c)  # type: ignore[arg-type]
    return Sum(a.shape, terms)


def scale(a: Sum, q: Q) -> Sum:
    return Sum(a.shape, tuple(Term(t.coef * q, t.scalars, t.body) for t in a.terms)) if q else zero(a.shape)


def neg(a: Sum) -> Sum:
    return scale(a, Q(-1))


def as_term(a: Sum) -> Term:
    """``a`` as one term; a sum of several becomes a group with its common factor pulled
    out, ``2Wx − 2y`` → ``2·(Wx − y)``, so products print as the notes write them."""
    if len(a.terms) == 1:
        return a.terms[0]
    if not a.terms:
        return Term(Q(0), (), None if a.shape == SCALAR else Ones(a.shape))
    c = _content([t.coef for t in a.terms])
    group = Sum(a.shape, tuple(Term(t.coef / c, t.scalars, t.body) for t in a.terms))
    return Term(c, ((group, Q(1)),)) if a.shape == SCALAR else Term(c, (), group)


def _content(coefs: list[Q]) -> Q:
    num = 0
    den = 1
    for q in coefs:
        num = gcd(num, q.numerator)
        den = lcm(den, q.denominator)
    c = Q(num, den)
    return -c if coefs[0] < 0 else c  # −2(Wx − y), not 2(−Wx + y)


def _merge(*powers: tuple[tuple[Factor, Q], ...]) -> tuple[tuple[Factor, Q], ...]:
    total: dict[Factor, Q] = {}
    for items in powers:
        for f, p in items:
            total[f] = total.get(f, Q(0)) + p
    return tuple(sorted(((f, p) for f, p in total.items() if p), key=_order))


def _product(ta: Term, tb: Term, body: Factor | None, shape: Shape) -> Sum:
    coef = ta.coef * tb.coef
    if not coef:
        return zero(shape)
    scalars = _merge(ta.scalars, tb.scalars)
    if body is not None and body.shape == SCALAR:  # a product like xᵀy is a number
        scalars, body = _merge(scalars, ((body, Q(1)),)), None
    return Sum(shape, (Term(coef, scalars, body),))


# --- products ----------------------------------------------------------------------------

def times(s: Sum, a: Sum) -> Sum:
    """The scalar ``s`` times ``a`` (of any shape). A number multiplies each term; anything
    else multiplies ``a`` whole, so ``σ(a)(1 − σ(a))`` stays as written."""
    if s.shape != SCALAR:
        raise Unsupported("a scalar factor that is not 1×1")
    ts = as_term(s)
    if not ts.scalars:
        return scale(a, ts.coef)
    ta = as_term(a)
    return _product(ts, ta, ta.body, a.shape)


def matmul(a: Sum, b: Sum) -> Sum:
    if a.shape[1] != b.shape[0]:
        raise Unsupported(f"{a.shape} @ {b.shape}")
    shape = (a.shape[0], b.shape[1])
    if SCALAR in (a.shape, b.shape):  # 1×1 @ 1×k is a scalar times a row
        return times(a, b) if a.shape == SCALAR else times(b, a)
    ta, tb = as_term(a), as_term(b)
    assert ta.body is not None and tb.body is not None
    factors = _chain(ta.body) + _chain(tb.body)
    return _product(ta, tb, MatMul(factors), shape)


def _chain(body: Factor) -> tuple[Factor, ...]:
    return body.factors if isinstance(body, MatMul) else (body,)


def hadamard(a: Sum, b: Sum) -> Sum:
    """Elementwise ``a ⊙ b`` of one shape; of scalars, the ordinary product."""
    if a.shape != b.shape:
        raise Unsupported(f"{a.shape} ⊙ {b.shape}")
    if a.shape == SCALAR:
        return times(a, b)
    ta, tb = as_term(a), as_term(b)
    return _product(ta, tb, _had(_merge(_had_items(ta.body), _had_items(tb.body)), a.shape), a.shape)


def _had_items(body: Factor | None) -> tuple[tuple[Factor, Q], ...]:
    if body is None or isinstance(body, Ones):
        return ()
    return body.factors if isinstance(body, Had) else ((body, Q(1)),)


def _had(items: tuple[tuple[Factor, Q], ...], shape: Shape) -> Factor:
    if not items:
        return Ones(shape)
    if len(items) == 1 and items[0][1] == 1:
        return items[0][0]
    return Had(items)


def elementwise(a: Sum, b: Sum) -> Sum:
    """``a * b`` as NumPy broadcasts it here: same shapes, or a scalar times anything."""
    if a.shape == b.shape:
        return hadamard(a, b)
    if a.shape == SCALAR:
        return times(a, b)
    if b.shape == SCALAR:
        return times(b, a)
    raise Unsupported(f"{a.shape} * {b.shape}")


def _bounded(q: Q) -> None:
    if max(q.numerator.bit_length(), q.denominator.bit_length()) > MAX_BITS:
        raise Unsupported("a coefficient too long to read")


def _exponent(p: Q) -> Q:
    if abs(p) > MAX_EXPONENT or p.denominator > MAX_EXPONENT:
        raise Unsupported("an exponent too long to read")
    return p


def power(a: Sum, p: Q) -> Sum:
    """``a`` to the power ``p``, elementwise for a matrix (a Hadamard power)."""
    _exponent(p)
    if p == 0:
        return ones(a.shape)
    if p == 1:
        return a
    if not a.terms:
        if p < 0:
            raise Unsupported("0 to a negative power")
        return a
    if p.denominator != 1 and not _plain(a):  # (c·x)^½ = c^½·x^½ needs c^½ rational and x ≥ 0
        return Sum(a.shape, (Term(Q(1), ((a, p),)) if a.shape == SCALAR else Term(Q(1), (), Had(((a, p),))),))
    t = as_term(a)  # an integer power distributes over a product; any power over one factor
    if p.denominator == 1 and abs(p) * max(t.coef.numerator.bit_length(), t.coef.denominator.bit_length()) > MAX_BITS:
        raise Unsupported("a coefficient too long to read")  # before computing it
    scalars = _merge(tuple((f, _exponent(q * p)) for f, q in t.scalars))
    body = None if t.body is None else _had(tuple((f, _exponent(q * p)) for f, q in _had_items(t.body)), a.shape)
    return Sum(a.shape, (Term(t.coef**p.numerator if p.denominator == 1 else t.coef, scalars, body),))


def _plain(a: Sum) -> bool:
    """``a`` is one factor to the first power, coefficient 1."""
    if len(a.terms) != 1 or a.terms[0].coef != 1:
        return False
    t = a.terms[0]
    if t.body is None:
        return len(t.scalars) == 1 and t.scalars[0][1] == 1
    return not t.scalars and not isinstance(t.body, Had)


def total(a: Sum) -> Sum:
    """sum(a): linear, so term by term; Σ u⊙u is ‖u‖² and Σ 𝟏 counts the entries."""
    out = number(Q(0))
    for t in a.terms:
        out = add(out, Sum(SCALAR, (Term(t.coef, t.scalars),)) if t.body is None
                  else times(Sum(SCALAR, (Term(t.coef, t.scalars),)), _total_body(t.body)))
    return out


def _total_body(body: Factor) -> Sum:
    if isinstance(body, Ones):
        return number(Q(body.shape[0] * body.shape[1]))
    if isinstance(body, Had) and len(body.factors) == 1 and body.factors[0][1] == 2:
        base = body.factors[0][0]
        return power(norm(base if isinstance(base, Sum) else atom(base)), Q(2))
    return atom(Total(atom(body)))


def transpose(a: Sum) -> Sum:
    if a.shape == SCALAR:
        return a
    shape = (a.shape[1], a.shape[0])
    return Sum(shape, tuple(Term(t.coef, t.scalars, None if t.body is None else _t(t.body)) for t in a.terms))


def _t(f: Factor) -> Factor:
    """The transpose of a body: (AB)ᵀ = BᵀAᵀ, and ᵀ passes into ⊙ and elementwise functions."""
    if isinstance(f, Var):
        return Var(f.name, (f.shape[1], f.shape[0]), not f.transposed)
    if isinstance(f, Ones):
        return Ones((f.shape[1], f.shape[0]))
    if isinstance(f, Fn):
        return Fn(f.name, f.arg, not f.transposed)
    if isinstance(f, MatMul):
        return MatMul(tuple(_t(x) for x in reversed(f.factors)))
    if isinstance(f, Had):
        return Had(tuple(sorted(((_t(x), p) for x, p in f.factors), key=_order)))
    if isinstance(f, Sum):
        return transpose(f)
    return f  # Norm, Total: scalars; Diag: symmetric


def size(a: Sum) -> int:
    """How many factors and terms ``a`` holds: a measure of how long it prints."""
    return sum(1 + sum(_size(f) for f, _ in t.scalars) + (_size(t.body) if t.body is not None else 0)
               for t in a.terms)


def _size(f: Factor) -> int:
    if isinstance(f, Sum):
        return size(f)
    if isinstance(f, Fn | Norm | Total | Diag):
        return 1 + size(f.arg)
    if isinstance(f, MatMul):
        return sum(_size(x) for x in f.factors)
    if isinstance(f, Had):
        return sum(_size(x) for x, _ in f.factors)
    return 1
