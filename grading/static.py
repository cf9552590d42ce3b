"""Static analysis of exercise code and notebooks: what a submission uses, read from its AST.

* :func:`forbidden_uses` -- the library's implementation of the thing asked (or the
  grading machinery) reached from the exercise code, through imports, aliases
  (``import weightinit as wi; wi.get(...)``, ``from weightinit.initializers import
  caffe_xavier as my_caffe_xavier``), attribute chains and simple assignments
  (``f = wi.initializers.he_normal``);
* :func:`tampering` -- code that fakes a self-check: a printed ``PASS``, a patched or
  shadowed ``check_*`` function of ``weightinit.checks``.
"""

from __future__ import annotations

import ast
import functools
import re

#: A verdict line of weightinit.checks ("PASS: ..."), as a faked print would write it.
_PASS_TEXT = re.compile(r"(^|\n)\s*PASS\b")
#: The self-checks (weightinit.checks.__all__ minus the constants).
CHECK_NAMES = frozenset(
    {"check_initializer", "check_fans", "check_conv2d", "check_value", "check_second_moment"}
)


def _qualify(node, aliases) -> str | None:
    """``wi.initializers.get`` -> ``weightinit.initializers.get`` (None if not an import)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        base = aliases.get(node.id, node.id if node.id in _BARE else None)
        if base is None:
            return None
        return ".".join([base, *reversed(parts)])
    return None


#: Names that are forbidden by themselves (builtins), even without an import.
_BARE = {"__import__", "exec", "eval", "compile", "globals", "breakpoint", "__builtins__",
         "__file__"}  # fmt: skip


def _aliases(tree: ast.AST) -> dict[str, str]:
    aliases: dict[str, str] = {}
    changed = True
    while changed:  # assignments can chain: a = wi; b = a.initializers
        changed = False
        for node in ast.walk(tree):
            new: dict[str, str] = {}
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        new[a.asname] = a.name
                    else:
                        new[a.name.split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    new[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                q = _qualify(node.value, aliases) if node.value is not None else None
                if q:
                    for t in targets:
                        if isinstance(t, ast.Name):
                            new[t.id] = q
            for k, v in new.items():
                if aliases.get(k) != v:
                    aliases[k] = v
                    changed = True
    return aliases


def _matches(qualified: str, forbidden) -> str | None:
    for f in forbidden:
        if qualified == f or qualified.startswith(f + "."):
            return f
    if qualified.startswith("weightinit.") and any(
        p.startswith("_") for p in qualified.split(".")[1:]
    ):
        return "a private name of weightinit"
    return None


def forbidden_uses(code: str, forbidden, attributes=()) -> list[tuple[int, str]]:
    """``(line, what)`` for every use of a forbidden qualified name or attribute."""
    tree = ast.parse(code)
    aliases = _aliases(tree)
    found: list[tuple[int, str]] = []
    seen = set()

    def add(line, text):
        if (line, text) not in seen:
            seen.add((line, text))
            found.append((line, text))

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in attributes:
            add(node.lineno, f"the attribute {node.attr}")
        if isinstance(node, (ast.Name, ast.Attribute)):
            q = _qualify(node, aliases)
            if q and _matches(q, forbidden):
                add(node.lineno, q)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif node.module and node.level == 0:
                names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            for q in names:
                hit = _matches(q, forbidden)
                # importing a forbidden *module* counts; importing its parent package does not
                if hit and (q == hit or q.startswith(hit + ".") or hit.startswith("a private")):
                    add(node.lineno, q)
    # a `from x import y` line also yields the module `x` itself; keep the most specific
    return sorted(found)


@functools.lru_cache(maxsize=4096)
def _tampering(source: str) -> tuple[str, ...]:
    return tuple(_find_tampering(source))


def tampering(source: str) -> list[str]:
    """Reasons why a cell fakes a self-check (prints PASS, patches a check); [] if none.

    Cached by source: a notebook's cells are scanned once, not once per exercise.
    """
    if not _SUSPECT.search(source):  # cheap test first: most cells mention none of these
        return []
    return list(_tampering(source))


_SUSPECT = re.compile(r"PASS|✔|check|setattr")


def _find_tampering(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    aliases = _aliases(tree)
    reasons: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in ("print", "display") and any(_PASS_TEXT.search(_text(a)) for a in node.args):
                reasons.append(f"line {node.lineno} prints a PASS verdict itself")
            if name == "setattr" and len(node.args) >= 2:
                attr = _text(node.args[1])
                obj = _qualify(node.args[0], aliases) or ""
                if attr in CHECK_NAMES or obj.startswith("weightinit.checks"):
                    reasons.append(f"line {node.lineno} replaces {attr or obj} with setattr")
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            if isinstance(t, ast.Attribute):
                q = _qualify(t, aliases) or ""
                if q.startswith("weightinit.checks") or t.attr in CHECK_NAMES:
                    reasons.append(f"line {t.lineno} replaces {q or t.attr}")
            elif isinstance(t, ast.Name) and t.id in CHECK_NAMES:
                reasons.append(f"line {t.lineno} rebinds {t.id}")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) is False:
            continue
        if getattr(node, "name", "") in CHECK_NAMES:
            reasons.append(f"line {node.lineno} defines its own {node.name}")
    return reasons


def _text(node) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
    return ""
