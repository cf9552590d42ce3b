"""Grade submitted notebooks: execute each one and tabulate the verdict of every check.

Usage::

    python scripts/grade_submissions.py submissions/                  # every *.ipynb below
    python scripts/grade_submissions.py alice/05_lecun.ipynb bob/05_lecun.ipynb
    python scripts/grade_submissions.py submissions/ --reference chapters --csv grades.csv
    make grade SUBMISSIONS=submissions/

Each notebook is executed from scratch in a fresh kernel (from its own folder,
errors allowed so that one broken cell does not hide the rest), so the stored
outputs of the submission are never trusted. Every code cell that calls a check of
:mod:`weightinit.checks` gives one row with its verdict:

``PASS`` / ``FAIL``
    the verdict line the check printed;
``ERROR``
    the cell raised (for instance because an earlier exercise cell still raises
    ``NotImplementedError`` and a name it defines is missing);
``NO VERDICT``
    the cell ran but printed no verdict (the call was edited out);
``MISSING``
    with ``--reference``: the instructor notebook of the same file name has more
    check cells than the submission (a check cell was deleted).

Executing a submission runs the student's code with your permissions: grade inside
a container or a throw-away account.
"""

from __future__ import annotations

import argparse
import copy
import csv
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CHECK_CALL = re.compile(r"\bcheck_(?:initializer|fans|conv2d|value)\s*\(")
VERDICT = re.compile(r"^(PASS|FAIL):")


def _call_text(source: str) -> str:
    """The check call of a cell, on one short line (used as the row's label)."""
    for line in source.splitlines():
        if CHECK_CALL.search(line):
            text = line.strip()
            return text if len(text) <= 60 else text[:57] + "..."
    return source.strip().splitlines()[0][:60] if source.strip() else ""


def check_cells(nb) -> list[int]:
    """Indices of the code cells that call a check."""
    return [
        i for i, c in enumerate(nb.cells) if c.cell_type == "code" and CHECK_CALL.search(c.source)
    ]


def verdict_of(cell) -> tuple[str, str]:
    """(verdict, detail) of an executed check cell."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return "ERROR", f"{out.get('ename', '')}: {out.get('evalue', '')}"[:120]
    verdicts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            for line in out.get("text", "").splitlines():
                m = VERDICT.match(line)
                if m:
                    verdicts.append((m.group(1), line))
    if not verdicts:
        return "NO VERDICT", ""
    failed = [line for v, line in verdicts if v == "FAIL"]
    if failed:
        return "FAIL", failed[0]
    return "PASS", verdicts[-1][1]


def execute(nb, folder: Path, timeout: int = 300):
    """Execute a copy of ``nb`` from ``folder`` with errors allowed; return the copy."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return nb


def grade_notebook(path: Path, *, reference: Path | None = None, timeout: int = 300, run=True):
    """Rows ``{"notebook", "check", "cell", "call", "verdict", "detail"}`` for one submission."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    if run:
        nb = execute(nb, path.parent, timeout)
    rows = []
    cells = check_cells(nb)
    for k, i in enumerate(cells, start=1):
        verdict, detail = verdict_of(nb.cells[i])
        rows.append(
            {
                "notebook": str(path),
                "check": k,
                "cell": i,
                "call": _call_text(nb.cells[i].source),
                "verdict": verdict,
                "detail": detail,
            }
        )
    if reference is not None:
        ref_path = Path(reference) / path.name
        if ref_path.exists():
            ref = nbformat.read(ref_path, as_version=4)
            ref_cells = check_cells(ref)
            for k in range(len(cells) + 1, len(ref_cells) + 1):
                rows.append(
                    {
                        "notebook": str(path),
                        "check": k,
                        "cell": "",
                        "call": _call_text(ref.cells[ref_cells[k - 1]].source),
                        "verdict": "MISSING",
                        "detail": f"the reference {ref_path} has {len(ref_cells)} check cells",
                    }
                )
    return rows


def find_notebooks(paths) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        elif p.suffix == ".ipynb" and p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(f"not a notebook or a folder: {p}")
    return found


def format_table(rows) -> str:
    header = ("notebook", "check", "verdict", "call")
    table = [header] + [(r["notebook"], str(r["check"]), r["verdict"], r["call"]) for r in rows]
    widths = [max(len(row[c]) for row in table) for c in range(3)]
    lines = ["  ".join(row[c].ljust(widths[c]) for c in range(3)) + "  " + row[3] for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(lines)


def summary(rows) -> str:
    by_nb: dict[str, list[str]] = {}
    for r in rows:
        by_nb.setdefault(r["notebook"], []).append(r["verdict"])
    return "\n".join(
        f"{nb}: {v.count('PASS')}/{len(v)} checks passed" for nb, v in sorted(by_nb.items())
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="submitted notebooks or folders of them")
    parser.add_argument("--reference", type=Path, help="folder of the instructor notebooks")
    parser.add_argument("--csv", type=Path, help="also write the rows to this CSV file")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    parser.add_argument(
        "--no-execute", action="store_true", help="read the stored outputs instead of running"
    )
    args = parser.parse_args(argv)
    try:
        notebooks = find_notebooks(args.paths)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = []
    for path in notebooks:
        print(f"grading {path} ...", file=sys.stderr, flush=True)
        rows += grade_notebook(
            path, reference=args.reference, timeout=args.timeout, run=not args.no_execute
        )
    print(format_table(rows))
    print()
    print(summary(rows))
    if args.csv:
        with args.csv.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(
                f, fieldnames=["notebook", "check", "cell", "call", "verdict", "detail"]
            )
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
