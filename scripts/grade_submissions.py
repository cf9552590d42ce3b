"""Grade students' notebooks with the instructor's hidden tests (a thin wrapper).

The grader lives in ``grading/`` (instructor-only, never in the student edition);
this script runs it from the repository root::

    python scripts/grade_submissions.py submissions/ --reference chapters --out grades/ -j 2

It writes ``grades/grades.csv`` (one row per student, one column per exercise id,
``total``, ``max_total``), ``grades/verdicts.csv`` (every verdict with its full
feedback) and ``grades/feedback/<student>.md``. See ``chapters/instructors.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grading.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
