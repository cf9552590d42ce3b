"""Command line: ``python -m grading SUBMISSIONS [--reference chapters] [--out DIR] [-j N]``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .grader import Options, grade_class


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m grading", description=__doc__)
    p.add_argument(
        "submissions", type=Path, help="folder with one sub-folder (or one notebook) per student"
    )
    p.add_argument(
        "--reference",
        type=Path,
        default=Path("chapters"),
        help="the instructor's notebooks (exercise ids, points, stubs)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("grades"),
        help="output folder: grades.csv, verdicts.csv, feedback/",
    )
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--exercise-timeout", type=float, default=60.0, help="seconds per exercise")
    p.add_argument("--call-timeout", type=float, default=20.0, help="seconds per function call")
    p.add_argument("--submission-timeout", type=float, default=600.0, help="seconds per student")
    p.add_argument("--memory-mb", type=int, default=2048, help="address-space limit")
    p.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                   help="auto: bubblewrap if it works, else limits only (with a warning); "
                        "bwrap: refuse to run without it")  # fmt: skip
    args = p.parse_args(argv)
    if not args.submissions.is_dir():
        p.error(f"{args.submissions} is not a folder")
    if args.out.resolve() == args.submissions.resolve():
        p.error("--out must not be the submissions folder")
    options = Options(args.exercise_timeout, args.call_timeout, args.submission_timeout,
                      args.memory_mb << 20, args.sandbox)  # fmt: skip
    try:
        book = grade_class(args.submissions, args.reference, args.out, max(1, args.jobs), options)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = len(book.students)
    print(f"{n} students graded: {args.out / 'grades.csv'}, {args.out / 'verdicts.csv'}, "
          f"{args.out / 'feedback'}/")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
