"""Read ``nn.Module`` class sources with ``ast`` and interpret them over shapes, never running them.

The file is parsed, never compiled or executed. ``__init__`` is walked to build the module
tree (layers bound to PyTorch's signatures, ``nn.Sequential``, ``nn.ModuleList``, instances of
other classes in the file, helper functions that return layers, ``for`` loops and ``if``
on numbers); ``forward`` is walked over tensors that are only shapes (``convcalc.net.graph``),
so each module call, ``+``, ``torch.cat`` and ``view`` becomes a row. Every loop, call depth
and number is bounded; anything outside the allow-list is refused with its line.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.net import source_eval
from convcalc.net.graph import Graph, T, Tracer
from convcalc.net.modules import Container, Leaf
from convcalc.net.safe_ast import check_limits

MAX_STEPS = 200_000  # statements and expressions walked in all
MAX_DEPTH = 40  # nested class/function calls


@dataclass
class ClassInfo:
    name: str
    node: ast.ClassDef
    bases: tuple[str, ...]
    methods: dict[str, ast.FunctionDef] = field(default_factory=dict)


@dataclass
class Instance:
    """An object of a class from the source: its attributes as ``__init__`` set them."""

    cls: ClassInfo
    line: int
    attrs: dict[str, Any] = field(default_factory=dict)
    trainable: bool = True

    @property
    def kind(self) -> str:
        return self.cls.name


@dataclass(frozen=True)
class Function:
    node: ast.FunctionDef


def looks_like_source(text: str) -> bool:
    """A ``class Name`` line: a layer list or a printout never has one."""
    return re.search(r"^[ \t]*class[ \t]+[A-Za-z_]\w*[ \t]*[(:]", text, re.MULTILINE) is not None  # no \s: linear


def _bases(node: ast.ClassDef) -> tuple[str, ...]:
    out = []
    for b in node.bases:
        while isinstance(b, ast.Attribute):
            out.append(b.attr)
            break
        if isinstance(b, ast.Name):
            out.append(b.id)
    return tuple(out)


@dataclass
class Program:
    classes: dict[str, ClassInfo]
    functions: dict[str, Function]
    constants: dict[str, Any]
    model_call: ast.Call | None  # a module-level ``model = Net(...)``


def read_program(text: str) -> Program:
    """The classes, helper functions and constants of a source file (nothing is run)."""
    check_limits(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="exec")
    except SyntaxError as exc:
        raise ConvcalcError(f"not Python source: {exc.msg}", f"line {exc.lineno}") from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ConvcalcError(f"cannot be read: {type(exc).__name__}", "source") from None
    prog = Program({}, {}, {}, None)
    interp = source_eval.Interp(prog, Tracer((1,)))
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass)):
            continue  # never executed: names like nn, F, torch are known by convention
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring
        if isinstance(stmt, ast.ClassDef):
            info = ClassInfo(stmt.name, stmt, _bases(stmt))
            for item in stmt.body:
                if isinstance(item, ast.FunctionDef):
                    info.methods[item.name] = item
            prog.classes[stmt.name] = info
        elif isinstance(stmt, ast.FunctionDef):
            prog.functions[stmt.name] = Function(stmt)
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            value = stmt.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in prog.classes:
                prog.model_call = value
            else:
                prog.constants[stmt.targets[0].id] = interp.literal(value, prog.constants)
        elif isinstance(stmt, ast.If) and _is_main_guard(stmt):
            continue
        else:
            raise ConvcalcError(f"{type(stmt).__name__} at module level is not read (only imports, classes, "
                                "functions and NAME = value)", f"line {stmt.lineno}")
    if not prog.classes:
        raise ConvcalcError("no class found", "source")
    return prog


def _is_main_guard(stmt: ast.If) -> bool:
    t = stmt.test
    return isinstance(t, ast.Compare) and isinstance(t.left, ast.Name) and t.left.id == "__name__"


def _module_classes(prog: Program) -> list[str]:
    """Classes that are nn.Modules: based on Module, or on another module class of the file."""
    found: list[str] = []
    changed = True
    while changed:
        changed = False
        for name, info in prog.classes.items():
            if name not in found and any(b == "Module" or b in found for b in info.bases):
                found.append(name)
                changed = True
    return [n for n in prog.classes if n in found]


def trace_source(text: str, input_shape: tuple[int, ...], model: str | None = None) -> Graph:
    """The graph of the model class (``model``, else a module-level ``NAME = Class(...)``, else the last)."""
    prog = read_program(text)
    modules = _module_classes(prog)
    if not modules:
        raise ConvcalcError("no nn.Module subclass found (class Name(nn.Module): ...)", "source")
    tracer = Tracer(tuple(input_shape))
    interp = source_eval.Interp(prog, tracer)
    call = prog.model_call
    if model is not None:
        if model not in prog.classes:
            raise ConvcalcError(f"no class named {model!r} (classes: {', '.join(modules)})", "--model")
        call = call if call is not None and isinstance(call.func, ast.Name) and call.func.id == model else None
        name = model
    else:
        name = call.func.id if call is not None and isinstance(call.func, ast.Name) else modules[-1]
    if call is not None:
        instance = interp.eval(call, dict(prog.constants))
    else:
        instance = interp.instantiate(prog.classes[name], [], {}, prog.classes[name].node.lineno)
    if not isinstance(instance, Instance):
        raise ConvcalcError(f"{name} is not a module class", "--model")
    out = interp.call_module(instance, [tracer.input()], {}, "", instance.line)
    if not isinstance(out, T):
        raise ConvcalcError(f"{name}.forward does not return a tensor convcalc can follow (a tuple or dict?)",
                            "forward")
    return tracer.graph(out)


__all__ = ["Container", "Instance", "Leaf", "looks_like_source", "read_program", "trace_source"]
