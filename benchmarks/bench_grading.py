"""Benchmark the grader: a generated class of submissions of the 9 notebooks of the book.

Usage::

    python benchmarks/bench_grading.py --students 30 -j 2        # = make bench-grade

The class is made from the instructor's notebooks of ``chapters/`` (8 chapters and the
explorer): each student's copy has its exercise cells filled in, most correctly (in
code written differently from the solutions), some with a typical mistake, some left
as stubs. While the chapters are not yet in the exercise pattern (no ``weightinit``
cell metadata), the benchmark injects the pattern's cells for the nine programming
exercises into copies of the real notebooks, so the notebooks keep their real size
and outputs. The grader then runs exactly as ``make grade`` does (bubblewrap sandbox,
``-j N``); reported: the median and maximum grading time per submission (the wall
time of one student's exercises in its worker), and the total for the class.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grading import grader  # noqa: E402

STUB_BODY = '    # BEGIN STUB\n    raise NotImplementedError("write {name}")\n    # END STUB\n'

#: exercise id -> (chapter file stem prefix, points, [(function, signature)], correct code,
#: typical mistake code)
EXERCISES = {
    "ex-kernels-loop-conv": ("01", 2, [("conv2d_loops", "x, w")], '''import numpy as np


def conv2d_loops(x, w):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    out = np.zeros((n, f, h - kh + 1, wd - kw + 1))
    for i in range(h - kh + 1):
        for j in range(wd - kw + 1):
            out[:, :, i, j] = np.einsum("ncpq,fcpq->nf", x[:, :, i:i + kh, j:j + kw], w)
    return out
''', '''import numpy as np


def conv2d_loops(x, w):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    out = np.zeros((n, f, h - kh + 1, wd - kw + 1))
    for i in range(h - kh + 1):
        for j in range(wd - kw + 1):
            out[:, :, i, j] = np.einsum("ncpq,fcpq->nf", x[:, :, i:i + kh, j:j + kw],
                                        w[:, :, ::-1, ::-1])
    return out
'''),
    "ex-zero-maxdiff": ("02", 1, [("max_filter_difference", "W")], '''import numpy as np


def max_filter_difference(W):
    f = np.asarray(W, dtype=float).reshape(len(W), -1)
    return float(max((np.abs(f[i] - f[j]).max() for i in range(len(f))
                      for j in range(i + 1, len(f))), default=0.0))
''', '''import numpy as np


def max_filter_difference(W):
    f = np.asarray(W, dtype=float).reshape(len(W), -1)
    return float(np.abs(np.diff(f, axis=0)).max()) if len(f) > 1 else 0.0
'''),
    "ex-small-measure": ("03", 2, [("shrink_factor", "sigma_w, width, x, depth=10, seed=0")],
                         '''from weightinit import layers, stats


def shrink_factor(sigma_w, width, x, depth=10, seed=0):
    net = layers.mlp([x.shape[1]] + [width] * depth + [10], activation_name="relu",
                     weight_init="normal", init_kwargs={"std": sigma_w}, rng=seed)
    s = stats.depth_profile(net, x).act_std[:depth]
    return float((s[-1] / s[0]) ** (1 / (depth - 1)))
''', '''from weightinit import layers, stats


def shrink_factor(sigma_w, width, x, depth=10, seed=0):
    net = layers.mlp([x.shape[1]] + [width] * depth + [10], activation_name="relu",
                     weight_init="normal", init_kwargs={"std": sigma_w}, rng=seed)
    s = stats.depth_profile(net, x).act_std[:depth]
    return float(s[-1] / s[0])
'''),
    "ex-variance-conv-fans": ("04", 1, [("conv_fans", "shape")], '''import math


def conv_fans(shape):
    k = math.prod(shape[2:])
    return shape[1] * k, shape[0] * k
''', '''def conv_fans(shape):
    k = shape[2] * shape[3] if len(shape) == 4 else 1
    return shape[1] * k, shape[0] * k
'''),
    "ex-variance-leaky-mc": ("04", 1, [("leaky_second_moment", "alpha, n_samples=400_000, seed=0")],
                             '''import numpy as np


def leaky_second_moment(alpha, n_samples=400_000, seed=0):
    y = np.random.default_rng(seed).standard_normal(n_samples)
    f = np.maximum(y, alpha * y) if alpha <= 1 else np.minimum(y, alpha * y)
    return float(np.mean(f ** 2) / np.var(y))
''', '''import numpy as np


def leaky_second_moment(alpha, n_samples=400_000, seed=0):
    y = np.random.default_rng(seed).standard_normal(n_samples)
    f = np.where(y > 0, y, alpha * y)
    return float(np.var(f) / np.var(y))
'''),
    "ex-lecun-code": ("05", 2, [("my_lecun_normal", "shape, rng")], '''import numpy as np


def my_lecun_normal(shape, rng):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    return rng.standard_normal(shape) / np.sqrt(fan_in)
''', '''import numpy as np


def my_lecun_normal(shape, rng):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    return rng.normal(0.0, 1.0 / fan_in, size=shape)
'''),
    "ex-glorot-code": ("06", 2, [("my_glorot_uniform", "shape, rng")], '''import numpy as np


def my_glorot_uniform(shape, rng):
    k = int(np.prod(shape[2:]))
    a = np.sqrt(6.0 / ((shape[0] + shape[1]) * k))
    return a * (2.0 * rng.random(shape) - 1.0)
''', '''import numpy as np


def my_glorot_uniform(shape, rng):
    k = int(np.prod(shape[2:]))
    a = np.sqrt(2.0 / ((shape[0] + shape[1]) * k))
    return rng.uniform(-a, a, size=shape)
'''),
    "ex-he-code": ("07", 3, [("my_he_normal", "shape, rng"), ("my_leaky_he_normal", "shape, rng")],
                   '''import numpy as np


def my_he_normal(shape, rng):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def my_leaky_he_normal(shape, rng):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    return rng.normal(0.0, np.sqrt(2.0 / (1.04 * fan_in)), size=shape)
''', '''import numpy as np


def my_he_normal(shape, rng):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def my_leaky_he_normal(shape, rng):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
'''),
    "ex-together-code": ("08", 3, [("my_torch_default", "shape, rng"), ("my_caffe_xavier", "shape, rng")],
                         '''import numpy as np


def my_torch_default(shape, rng):
    b = 1.0 / np.sqrt(shape[1] * int(np.prod(shape[2:])))
    return rng.uniform(-b, b, size=shape)


def my_caffe_xavier(shape, rng):
    b = np.sqrt(3.0 / (shape[1] * int(np.prod(shape[2:]))))
    return rng.uniform(-b, b, size=shape)
''', '''import numpy as np


def my_torch_default(shape, rng):
    b = np.sqrt(3.0 / (shape[1] * int(np.prod(shape[2:]))))
    return rng.uniform(-b, b, size=shape)


def my_caffe_xavier(shape, rng):
    b = np.sqrt(3.0 / (shape[1] * int(np.prod(shape[2:]))))
    return rng.uniform(-b, b, size=shape)
'''),
}  # fmt: skip


def _stub(functions) -> str:
    parts = ["import numpy as np\n"]
    for name, sig in functions:
        parts.append(f'\ndef {name}({sig}):\n    """Exercise."""\n' + STUB_BODY.format(name=name))
    return "\n".join(parts)


def _cell(source, exercise, role, **extra):
    meta = {"weightinit": {"exercise": exercise, "role": role, **extra}}
    return nbformat.v4.new_code_cell(source, metadata=meta)


def make_reference(chapters: Path, out: Path) -> Path:
    """The instructor's notebooks, with the pattern's cells injected where they are missing."""
    out.mkdir(parents=True)
    have = set(grader.load_reference(chapters))
    for path in sorted(chapters.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for ex, (prefix, points, functions, solution, _) in EXERCISES.items():
            if ex in have or not path.name.startswith(prefix):
                continue
            nb.cells += [
                _cell(_stub(functions), ex, "stub", points=points),
                _cell(solution, ex, "solution"),
                _cell("# Self-check\npass", ex, "check"),
            ]
        nbformat.write(nb, out / path.name)
    return out


def make_class(reference: Path, out: Path, n: int, seed: int = 0) -> None:
    """``n`` students: 60 % right everywhere, 30 % with mistakes, 10 % partly blank."""
    rnd = random.Random(seed)
    for k in range(n):
        kind = "strong" if k % 10 < 6 else ("weak" if k % 10 < 9 else "blank")
        folder = out / f"student{k:03d}"
        folder.mkdir(parents=True)
        for path in sorted(reference.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            cells = []
            for cell in nb.cells:
                meta = cell.metadata.get("weightinit", {})
                role, ex = meta.get("role"), meta.get("exercise")
                if role == "solution":
                    continue  # not in the student edition
                if role == "stub" and ex in EXERCISES:
                    _, _, _, right, wrong = EXERCISES[ex]
                    if kind == "strong" or (kind == "weak" and rnd.random() < 0.6):
                        cell.source = right
                    elif kind == "weak":
                        cell.source = wrong
                    elif rnd.random() < 0.5:
                        cell.source = right
                cells.append(cell)
            nb.cells = cells
            nbformat.write(nb, folder / path.name)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=30)
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--chapters", type=Path, default=ROOT / "chapters")
    p.add_argument("--keep", type=Path, default=None, help="copy the outputs here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wi-bench-") as tmp:
        tmp = Path(tmp)
        reference = make_reference(args.chapters, tmp / "reference")
        make_class(reference, tmp / "class", args.students)
        n_nb = len(list(reference.glob("*.ipynb")))
        start = time.perf_counter()
        book = grader.grade_class(tmp / "class", reference, tmp / "out", jobs=args.jobs,
                                  log=lambda *a, **k: None)  # fmt: skip
        total = time.perf_counter() - start
        per = [s.seconds for s in book.students]
        verdicts: dict[str, int] = {}
        for s in book.students:
            for r in s.results:
                verdicts[r.verdict] = verdicts.get(r.verdict, 0) + 1
        if args.keep:
            shutil.copytree(tmp / "out", args.keep, dirs_exist_ok=True)
    print(f"{len(per)} submissions of {n_nb} notebooks, {len(book.ids)} exercises, -j {args.jobs}")
    print(f"per submission: median {statistics.median(per):.1f} s, max {max(per):.1f} s")
    print(f"whole class: {total:.1f} s wall clock ({total / len(per):.2f} s per submission)")
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
