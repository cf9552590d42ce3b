"""The exercises the grader knows: their hidden tests and what their code may not use."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field

from . import exercises as _pkg

#: Names no exercise may use: the grader, private names of weightinit, and the
#: machinery that reads source files, other modules or frames, or runs hidden code.
ALWAYS_FORBIDDEN = (
    "grading",
    "importlib",
    "inspect",
    "gc",
    "ctypes",
    "builtins",
    "sys.modules",
    "sys._getframe",
    "__import__",
    "exec",
    "eval",
    "compile",
    "globals",
    "breakpoint",
    "__builtins__",
    "__file__",
)
#: Attributes no exercise may read (where a module or function keeps its file or code).
FORBIDDEN_ATTRIBUTES = (
    "__file__", "__path__", "__spec__", "__loader__", "__code__", "__globals__",
    "__subclasses__", "__builtins__", "__dict__",
)  # fmt: skip

#: The library's initializers, in every spelling: forbidden in initializer exercises.
INITIALIZER_LIBRARY = (
    "weightinit.initializers",
    "weightinit.get",
    "weightinit.distribution",
    "weightinit.available",
    "weightinit.layers",  # Dense/Conv2D/mlp draw their weights with the initializers
)


@dataclass
class Exercise:
    """One programming exercise: its hidden tests and its forbidden library names."""

    id: str
    tests: list  # objects of grading.kinds (InitializerTest, ConvTest, ...)
    #: qualified names whose use (import, alias, attribute) means the library's
    #: implementation of the thing asked was used: the exercise is CHEATED
    forbidden: tuple = ()
    #: seconds for the whole exercise in the sandbox (import + every call)
    wall: float | None = None
    description: str = ""
    functions: tuple = field(init=False)

    def __post_init__(self):
        self.functions = tuple(dict.fromkeys(t.function for t in self.tests))

    @property
    def all_forbidden(self) -> tuple:
        return tuple(self.forbidden) + ALWAYS_FORBIDDEN


def load() -> dict[str, Exercise]:
    """Every ``EXERCISE`` in ``grading/exercises/*.py``, by exercise id."""
    found: dict[str, Exercise] = {}
    for info in sorted(pkgutil.iter_modules(_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_pkg.__name__}.{info.name}")
        ex = getattr(module, "EXERCISE", None)
        if not isinstance(ex, Exercise):
            raise RuntimeError(f"grading/exercises/{info.name}.py defines no EXERCISE")
        if ex.id in found:
            raise RuntimeError(f"two modules define hidden tests for {ex.id}")
        found[ex.id] = ex
    return found
