"""Grade a class: every student's exercises, run in a sandbox against the hidden tests.

The unit of grading is an *exercise*, found by the id in its cells' metadata: the
student's code is the stub cell they filled in (plus the imports of other cells it
needs), never the whole notebook, and it is judged by the instructor's hidden tests in
``grading/exercises/`` running OUTSIDE the student's process. The student's own check
cells are never run; they are compared with the instructor's and differences are
reported.
"""

from __future__ import annotations

import csv
import multiprocessing
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import notebook as nbmod
from . import registry, sandbox, static

VERDICTS = (
    "CORRECT", "WRONG", "NOT ATTEMPTED", "ERROR", "TIMEOUT", "CRASHED", "INVALID FILE",
    "MISSING", "CHEATED",
)  # fmt: skip


@dataclass
class Options:
    exercise_timeout: float = 60.0
    call_timeout: float = 20.0
    submission_timeout: float = 600.0
    memory: int = 2 << 30
    sandbox: str = "auto"  # "auto", "bwrap" (required) or "none"


@dataclass
class RefExercise:
    """An exercise as the instructor's notebook defines it."""

    id: str
    notebook: str
    points: float
    stub: str
    solutions: list[str]
    checks: list[str]


@dataclass
class Result:
    student: str
    exercise: str
    notebook: str
    verdict: str
    points: float
    max_points: float
    feedback: str
    seconds: float = 0.0


@dataclass
class Pending:
    """An exercise that passed the static checks: its sandbox job, and how to judge the run."""

    job: sandbox.Job
    finish: object  # RunResult -> Result


@dataclass
class StudentResult:
    student: str
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> float:
        return round(sum(r.points for r in self.results), 2)


# --------------------------------------------------------------------------- discovery
def load_reference(folder: Path) -> dict[str, RefExercise]:
    """Every programming exercise in the instructor's notebooks, by id (in book order)."""
    found: dict[str, RefExercise] = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        nb = nbmod.read(path)
        for ex in nb.exercises.values():
            if ex.stub is None and not ex.checks:
                # a written exercise whose solution computes its numbers: solution cells
                # only, nothing for a student to write in code, so nothing to grade
                continue
            if ex.stub is None:
                raise ValueError(f"{path.name}: exercise {ex.id} has no stub cell")
            if ex.id in found:
                raise ValueError(f"exercise {ex.id} is in {found[ex.id].notebook} and {path.name}")
            found[ex.id] = RefExercise(ex.id, path.name, ex.points, ex.stub, ex.solutions,
                                       ex.checks)  # fmt: skip
    return found


def find_students(folder: Path) -> dict[str, list[Path]]:
    """``{student: notebooks}``: one sub-folder per student, or one notebook per student."""
    folder = Path(folder)
    students: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            files = sorted(
                p for p in entry.rglob("*")
                if p.is_file() and p.suffix == ".ipynb" and ".ipynb_checkpoints" not in p.parts
            )  # fmt: skip
            students[entry.name] = files
        elif entry.suffix == ".ipynb":
            students[entry.stem] = [entry]
    return students


# --------------------------------------------------------------------------- one exercise
def _fmt_error(info: dict, prefix: str = "") -> str:
    where = f" at line {info['line']}: `{info['code']}`" if info.get("line") else ""
    msg = f": {info['message']}" if info.get("message") else ""
    return f"{prefix}{info.get('type', 'error')}{msg}{where}"


def _plan(ex: registry.Exercise):
    """The calls of every hidden test of ``ex`` and their input arrays."""
    calls, inputs = [], {}
    for test in ex.tests:
        calls += test.calls()
        inputs |= test.inputs()
    return calls, inputs


def _interpret(ex: registry.Exercise, run: sandbox.RunResult, limits: sandbox.Limits, wall: float):
    """Judge one sandbox run; (verdict, fraction correct, feedback lines)."""
    if run.status == "timeout":
        return "TIMEOUT", 0.0, [f"the exercise did not finish within {wall:g} s and was stopped "
                                f"(an endless loop, or far too slow; {run.detail})."]  # fmt: skip
    if run.status == "crashed":
        return "CRASHED", 0.0, [f"your code ended its process: {run.detail}."]
    module = run.result.get("module")
    if module:
        if module.get("status") == "timeout":
            return "TIMEOUT", 0.0, ["running your cell took longer than "
                                    f"{limits.call:g} s (before any function was called)."]  # fmt: skip
        return "ERROR", 0.0, [_fmt_error(module, "running your cell raised ")]
    outcomes = run.result["calls"]
    statuses, lines = [], []
    for test in ex.tests:
        keys = [c["key"] for c in test.calls()]
        got = [outcomes.get(k) for k in keys]
        name = test.function
        if any(g is None or not isinstance(g, dict) for g in got):
            if any(isinstance(g, dict) and g.get("status") == "timeout" for g in got):
                got = [g for g in got if isinstance(g, dict)]
            else:
                statuses.append("CRASHED")
                lines.append(f"{name}: no result for some calls.")
                continue
        if any(g.get("status") == "undefined" for g in got):
            statuses.append("ERROR")
            lines.append(f"{name}: your cell does not define a function named {name}.")
            continue
        if all(g.get("not_implemented") for g in got):
            statuses.append("NOT ATTEMPTED")
            lines.append(f"{name}: not attempted (it still raises NotImplementedError).")
            continue
        timeout = next((g for g in got if g.get("status") == "timeout"), None)
        if timeout is not None:
            statuses.append("TIMEOUT")
            lines.append(f"{name}: one call ran longer than {limits.call:g} s and was stopped"
                         + (f" at line {timeout['line']}: `{timeout['code']}`"
                            if timeout.get("line") else "") + ".")  # fmt: skip
            continue
        # a call marked expect_error (e.g. an invalid shape) may raise: its judge decides
        expect = {c["key"] for c in test.calls() if c.get("expect_error")}
        error = next((g for k, g in zip(keys, got, strict=True)
                      if g.get("status") == "error" and k not in expect), None)  # fmt: skip
        if error is not None:
            statuses.append("ERROR")
            lines.append(f"{name}: " + _fmt_error(error, "raised "))
            if error["type"] == "NameError":
                lines.append("  → an exercise cell must be self-contained: import what it uses "
                             "and read no variable of the chapter.")  # fmt: skip
            continue
        judgement = test.judge({k: g for k, g in zip(keys, got, strict=True)}, run.arrays)
        statuses.append("CORRECT" if judgement.correct else "WRONG")
        lines.append(f"{name}: {'correct' if judgement.correct else 'wrong'}")
        lines += [f"  {ln}" for ln in judgement.lines]
    if all(s == "NOT ATTEMPTED" for s in statuses):
        return "NOT ATTEMPTED", 0.0, lines
    fraction = statuses.count("CORRECT") / len(statuses)
    for worst in ("CRASHED", "TIMEOUT", "ERROR", "WRONG", "NOT ATTEMPTED"):
        if worst in statuses:
            return ("WRONG" if worst == "NOT ATTEMPTED" else worst), fraction, lines
    return "CORRECT", 1.0, lines


def _check_cell_notes(ref: RefExercise, found: nbmod.ExerciseCells | None) -> list[str]:
    theirs = [nbmod.normalize(c) for c in (found.checks if found else [])]
    mine = [nbmod.normalize(c) for c in ref.checks]
    notes = []
    if mine and not theirs:
        notes.append("the check cell was removed (it is not used for grading).")
    elif theirs != mine:
        edited = sum(1 for t in theirs if t not in mine)
        if len(theirs) > len(mine):
            notes.append(f"{len(theirs) - len(mine)} check cell(s) added (not used for grading).")
        if edited:
            notes.append("the check cell was edited (not used for grading: the grader runs "
                         "its own tests).")  # fmt: skip
    return notes


def grade_exercise(student: str, ref: RefExercise, ex: registry.Exercise,
                   notebooks: list[nbmod.Notebook], invalid: dict[str, str],
                   options: Options) -> Result | Pending:  # fmt: skip
    """The verdict, when the static checks decide it; otherwise the sandbox job to run."""
    start = time.monotonic()

    def result(verdict, fraction, lines, nb_name=""):
        pts = round(ref.points * fraction, 2) if verdict in ("CORRECT", "WRONG") else 0.0
        return Result(student, ref.id, nb_name, verdict, pts, ref.points, "\n".join(lines),
                      round(time.monotonic() - start, 2))  # fmt: skip

    holders = [nb for nb in notebooks if ref.id in nb.exercises]
    with_stub = [nb for nb in holders if nb.exercises[ref.id].stub is not None]
    edited = [nb for nb in with_stub
              if nbmod.normalize(nb.exercises[ref.id].stub) != nbmod.normalize(ref.stub)]  # fmt: skip
    chosen = (edited or with_stub or holders or [None])[0]
    if chosen is None or (chosen.exercises[ref.id].stub is None
                          and not chosen.exercises[ref.id].solutions):  # fmt: skip
        if invalid:
            same = {k: v for k, v in invalid.items() if Path(k).name == ref.notebook} or invalid
            name, why = next(iter(same.items()))
            return result("INVALID FILE", 0, [f"{name} {why}; exercise {ref.id} was not found "
                                              "in any readable notebook."], name)  # fmt: skip
        return result("MISSING", 0, [f"no notebook of this submission has the exercise cell of "
                                     f"{ref.id} (expected in {ref.notebook})."])  # fmt: skip
    cells = chosen.exercises[ref.id]
    nb_name = chosen.path.name
    notes = _check_cell_notes(ref, cells)
    if len(edited) > 1:
        notes.append(f"the exercise is filled in in {len(edited)} notebooks; graded {nb_name}.")
    # tampering with the self-checks, in this exercise's cells or anywhere in the notebook
    suspicious = [(f"the check cell of {ref.id}", c) for c in cells.checks]
    suspicious += [(f"cell {i}", src) for i, src in chosen.other_code]
    if cells.stub:
        suspicious.append(("the exercise cell", cells.stub))
    reasons = [f"{where}: {r}" for where, src in suspicious for r in static.tampering(
        nbmod.strip_magics(src))]  # fmt: skip
    if reasons:
        return result("CHEATED", 0, ["the notebook tampers with the self-checks:", *reasons[:5],
                                     *notes], nb_name)  # fmt: skip
    code, origin = cells.stub, "your exercise cell"
    if code is None or nbmod.normalize(code) == nbmod.normalize(ref.stub):
        if not cells.solutions:
            return result("NOT ATTEMPTED", 0, ["the exercise cell is the untouched stub.", *notes],
                          nb_name)  # fmt: skip
        code, origin = "\n\n".join(cells.solutions), "the solution cell"
    code = nbmod.strip_magics(code)
    try:
        compile(code, "<exercise>", "exec")
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        return result("ERROR", 0, [f"SyntaxError in {origin} at line {exc.lineno}: {exc.msg}"
                                   + (f": `{line}`" if line else ""), *notes], nb_name)  # fmt: skip
    except (ValueError, RecursionError, MemoryError) as exc:
        return result("ERROR", 0, [f"{origin} cannot be compiled: {exc}", *notes], nb_name)
    prelude = nbmod.imports_for(code, chosen.other_code)
    full = (prelude + "\n" if prelude else "") + code
    offset = prelude.count("\n") + 1 if prelude else 0
    try:
        uses = static.forbidden_uses(full, ex.all_forbidden, registry.FORBIDDEN_ATTRIBUTES)
    except (SyntaxError, RecursionError, ValueError) as exc:  # the prelude is parsed apart
        return result("ERROR", 0, [f"{origin} cannot be parsed: {exc}", *notes], nb_name)
    if uses:
        shown = [f"line {max(ln - offset, 1)}: {what}" for ln, what in uses[:4]]
        return result("CHEATED", 0, ["the code uses the library's implementation of what the "
                                     "exercise asks for (or the grading machinery):", *shown,
                                     *notes], nb_name)  # fmt: skip
    calls, inputs = _plan(ex)
    wall = ex.wall or options.exercise_timeout
    preload = ("weightinit",) if re.search(r"^\s*(import|from)\s+weightinit", full, re.M) else ()
    job = sandbox.Job(full, calls, inputs, wall, preload)

    def finish(run: sandbox.RunResult) -> Result:
        limits = sandbox.Limits(wall=wall, call=min(options.call_timeout, wall))
        verdict, fraction, lines = _interpret(ex, run, limits, wall)
        if origin != "your exercise cell":
            lines.insert(0, f"graded {origin} (the exercise cell is the untouched stub).")
        res = result(verdict, fraction, lines + notes, nb_name)
        res.seconds = round(run.seconds, 2)
        return res

    return Pending(job, finish)


# --------------------------------------------------------------------------- one student
def grade_student(student: str, paths: list[Path], reference: dict[str, RefExercise],
                  exercises: dict[str, registry.Exercise], options: Options) -> StudentResult:  # fmt: skip
    """Every exercise of one student; never raises (an internal error becomes a verdict)."""
    start = time.monotonic()
    out = StudentResult(student)
    notebooks, invalid = [], {}
    for path in paths:
        try:
            notebooks.append(nbmod.read(path))
        except nbmod.InvalidNotebook as exc:
            invalid[path.name] = f"is not a valid notebook: {exc}"
    results: dict[str, Result | Pending] = {}
    for ref in reference.values():
        try:
            results[ref.id] = grade_exercise(student, ref, exercises[ref.id], notebooks, invalid,
                                             options)  # fmt: skip
        except Exception as exc:
            results[ref.id] = _internal_error(student, ref, exc)
    pending = [(i, r) for i, r in results.items() if isinstance(r, Pending)]
    limits = sandbox.Limits(wall=options.exercise_timeout, call=options.call_timeout,
                            memory=options.memory)  # fmt: skip
    budget = options.submission_timeout - (time.monotonic() - start)
    try:
        runs = sandbox.run_many([p.job for _, p in pending], limits, budget, options.sandbox)
    except Exception as exc:
        runs = [sandbox.RunResult("crashed", None, {}, f"grader error {exc!r}")] * len(pending)
    for (ex_id, p), run in zip(pending, runs, strict=True):
        try:
            results[ex_id] = p.finish(run)
        except Exception as exc:
            results[ex_id] = _internal_error(student, reference[ex_id], exc)
    out.results = [results[i] for i in reference]
    out.seconds = round(time.monotonic() - start, 2)
    return out


def _internal_error(student: str, ref: RefExercise, exc: Exception) -> Result:
    tb = traceback.format_exc(limit=3)
    return Result(student, ref.id, "", "CRASHED", 0.0, ref.points,
                  f"internal error of the grader (not the student's fault): {exc!r}\n{tb}")  # fmt: skip


def _worker(args):
    name, paths, reference, options = args
    return grade_student(name, paths, reference, registry.load(), options)


# --------------------------------------------------------------------------- outputs
def safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", student).strip("._") or "student"


def _fmt_points(x: float) -> str:
    return f"{x:g}"


class Gradebook:
    """Writes grades.csv, verdicts.csv and feedback/<student>.md as students complete."""

    def __init__(self, out: Path, reference: dict[str, RefExercise]):
        self.out = Path(out)
        self.reference = reference
        self.ids = list(reference)
        self.max_total = round(sum(r.points for r in reference.values()), 2)
        (self.out / "feedback").mkdir(parents=True, exist_ok=True)
        self.students: list[StudentResult] = []
        self._write_headers()

    def _grades_header(self):
        return ["student", *self.ids, "total", "max_total"]

    def _long_header(self):
        return ["student", "exercise", "notebook", "verdict", "points", "max_points", "seconds",
                "feedback"]  # fmt: skip

    def _write_headers(self):
        with open(self.out / "grades.csv", "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow(self._grades_header())
        with open(self.out / "verdicts.csv", "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow(self._long_header())

    def _grade_row(self, s: StudentResult):
        by = {r.exercise: r for r in s.results}
        return [s.student, *[_fmt_points(by[i].points) for i in self.ids],
                _fmt_points(s.total), _fmt_points(self.max_total)]  # fmt: skip

    def _long_rows(self, s: StudentResult):
        return [[r.student, r.exercise, r.notebook, r.verdict, _fmt_points(r.points),
                 _fmt_points(r.max_points), f"{r.seconds:.2f}", r.feedback]
                for r in s.results]  # fmt: skip

    def add(self, s: StudentResult) -> None:
        """Append one student's rows now (so a stopped run keeps what it graded)."""
        self.students.append(s)
        with open(self.out / "grades.csv", "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow(self._grade_row(s))
        with open(self.out / "verdicts.csv", "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(self._long_rows(s))
        (self.out / "feedback" / f"{safe_name(s.student)}.md").write_text(
            self.report(s), encoding="utf-8"
        )

    def finish(self) -> None:
        """Rewrite both CSV files sorted by student."""
        self.students.sort(key=lambda s: s.student)
        self._write_headers()
        with open(self.out / "grades.csv", "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(self._grade_row(s) for s in self.students)
        with open(self.out / "verdicts.csv", "a", newline="", encoding="utf-8") as fh:
            for s in self.students:
                csv.writer(fh).writerows(self._long_rows(s))

    def report(self, s: StudentResult) -> str:
        lines = [f"# Feedback for {s.student}", "",
                 f"**Total: {_fmt_points(s.total)} / {_fmt_points(self.max_total)} points**", "",
                 "| exercise | notebook | verdict | points |", "| --- | --- | --- | ---: |"]  # fmt: skip
        for r in s.results:
            lines.append(f"| {r.exercise} | {r.notebook or '—'} | {r.verdict} | "
                         f"{_fmt_points(r.points)} / {_fmt_points(r.max_points)} |")  # fmt: skip
        for r in s.results:
            lines += ["", f"## {r.exercise}: {r.verdict}", "", "```text", r.feedback, "```"]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the class
def grade_class(submissions: Path, reference_dir: Path, out: Path, jobs: int = 1,
                options: Options | None = None, log=print) -> Gradebook:  # fmt: skip
    """Grade every student under ``submissions``; outputs in ``out``; never stops early."""
    options = options or Options()
    mode, why = sandbox.probe(options.sandbox)
    if mode != "bwrap":
        log("=" * 78, file=sys.stderr)
        log(f"WARNING: NO SANDBOX. {why}.", file=sys.stderr)
        log("Student code runs with resource limits, a scrubbed environment and a temporary "
            "folder only:\nit CAN read and write your files, use the network and signal your "
            "processes.", file=sys.stderr)  # fmt: skip
        log("=" * 78, file=sys.stderr)
    reference = load_reference(reference_dir)
    exercises = registry.load()
    missing = [i for i in reference if i not in exercises]
    if missing:
        raise SystemExit(
            "no hidden tests for "
            + ", ".join(missing)
            + ": add a module to grading/exercises/ (see chapters/instructors.md)"
        )
    students = find_students(submissions)
    book = Gradebook(out, reference)
    tasks = [(name, paths, reference, options) for name, paths in students.items()]
    log(f"grading {len(tasks)} submissions, {len(reference)} exercises, -j {jobs}, "
        f"sandbox: {mode}")  # fmt: skip
    if jobs > 1 and len(tasks) > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs) as pool:
            for s in pool.imap_unordered(_worker, tasks):
                book.add(s)
                log(f"  {s.student}: {_fmt_points(s.total)}/{_fmt_points(book.max_total)} "
                    f"({s.seconds:.1f} s)")  # fmt: skip
    else:
        for task in tasks:
            s = _worker(task)
            book.add(s)
            log(f"  {s.student}: {_fmt_points(s.total)}/{_fmt_points(book.max_total)} "
                f"({s.seconds:.1f} s)")  # fmt: skip
    book.finish()
    return book
