"""Generate a class of submissions from a student edition: strong, weak and hostile students.

Usage::

    python tests/make_adversarial.py STUDENT_EDITION OUT_FOLDER [--canary FILE]

Every submission is the student edition's notebooks with some exercise cells filled
in (found by their ``weightinit`` metadata, as the grader finds them) and, for the
hostile students, one attack each from issue 9: a printed PASS, a monkeypatched
check, swapped and added check cells, the library's implementation imported under
the exercise's name, ``os._exit``, endless loops, a file that is not JSON, a syntax
error, deleting a file and writing into a classmate's folder outside the sandbox,
reading the instructor's notebooks (through ``weightinit.__file__`` and by path), the
network. :func:`make_class` returns, for every student, the verdict expected for
each exercise and a phrase the feedback must contain; ``tests/test_grading.py``
grades the class and compares.

The exercises are those of the fixture course (``tests/fixtures/course``):
``ex-kernels-loop-conv`` (``conv2d_loops``), ``ex-variance-conv-fans``
(``conv_fans``) and ``ex-he-code`` (``my_he_normal``, ``my_leaky_he_normal``).

:func:`make_part2_class` does the same for the Part II exercises of the real chapters
(``ex-orthogonal-code``, ``ex-norm-residual-code``, ``ex-data-lsuv-code``) from the
student edition of the book: a strong student, two students with typical mistakes
and one with the library's implementation under the exercise's name.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import nbformat

K, F, H = "ex-kernels-loop-conv", "ex-variance-conv-fans", "ex-he-code"

# ------------------------------------------------------------------ correct code, written
# differently from the instructor's solutions
CONV_OK = """import numpy as np


def conv2d_loops(x, w):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    out = np.empty((n, f, h - kh + 1, wd - kw + 1))
    for b in range(n):
        for o in range(f):
            for i in range(h - kh + 1):
                for j in range(wd - kw + 1):
                    out[b, o, i, j] = np.sum(x[b, :, i:i + kh, j:j + kw] * w[o])
    return out
"""
FANS_OK = """def conv_fans(shape):
    k = 1
    for d in shape[2:]:
        k *= d
    return shape[1] * k, shape[0] * k
"""
HE_OK = """import numpy as np


def _fan_in(shape):
    return shape[1] * int(np.prod(shape[2:]))


def my_he_normal(shape, rng):
    return np.sqrt(2.0 / _fan_in(shape)) * rng.standard_normal(shape)


def my_leaky_he_normal(shape, rng):
    a = 0.2
    return np.sqrt(2.0 / ((1 + a * a) * _fan_in(shape))) * rng.standard_normal(shape)
"""


def _he(he_std: str, leaky_std: str, head: str = "import numpy as np\n") -> str:
    return f"""{head}

def my_he_normal(shape, rng):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    return rng.normal(0.0, {he_std}, size=shape)


def my_leaky_he_normal(shape, rng):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    return rng.normal(0.0, {leaky_std}, size=shape)
"""


HE_STD = "np.sqrt(2.0 / fan_in)"
LEAKY_STD = "np.sqrt(2.0 / ((1 + 0.2**2) * fan_in))"


# ------------------------------------------------------------------ notebook editing
def _load(folder: Path) -> dict[str, nbformat.NotebookNode]:
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def _cells(nbs, exercise, role):
    for name, nb in nbs.items():
        for i, cell in enumerate(nb.cells):
            meta = cell.metadata.get("weightinit", {})
            if meta.get("exercise") == exercise and meta.get("role") == role:
                yield name, nb, i, cell


def fill(nbs, exercise, code):
    """Replace the stub cell of ``exercise`` by ``code``."""
    found = list(_cells(nbs, exercise, "stub"))
    assert found, f"no stub cell for {exercise}"
    found[0][3].source = code


def set_check(nbs, exercise, code):
    next(_cells(nbs, exercise, "check"))[3].source = code


def add_cell(nbs, exercise, code, metadata=None):
    """Insert a code cell after the check cell of ``exercise``."""
    _, nb, i, _ = next(_cells(nbs, exercise, "check"))
    nb.cells.insert(i + 1, nbformat.v4.new_code_cell(code, metadata=metadata or {}))


def remove(nbs, exercise, role):
    _, nb, i, _ = next(_cells(nbs, exercise, role))
    del nb.cells[i]


def _write(nbs, folder: Path, rename=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in nbs.items():
        for cell in nb.cells:
            cell.pop("id", None)  # as if saved by another Jupyter
        nb.nbformat_minor = 4
        nbformat.write(nb, folder / (rename(name) if rename else name))


# ------------------------------------------------------------------ the class
def make_class(edition: Path, out: Path, canary: Path, reference: Path) -> dict[str, dict]:
    """Write one folder per student in ``out``; return the expected verdicts and phrases.

    ``canary`` is a file outside every submission that one student tries to delete;
    ``reference`` is the instructor's chapter folder that two students try to read.
    """
    chapters = Path(edition) / "chapters"
    out = Path(out)
    classmate = out / "strong"
    expected: dict[str, dict] = {}

    def student(name, verdicts, setup=None, rename=None, drop=()):
        nbs = _load(chapters)
        for d in drop:
            del nbs[d]
        if setup:
            setup(nbs)
        _write(nbs, out / name, rename)
        expected[name] = verdicts

    # -- strong, untouched, instructor-equivalent, renamed -----------------------------
    def strong(nbs):
        fill(nbs, K, CONV_OK)
        fill(nbs, F, FANS_OK)
        fill(nbs, H, HE_OK)

    student("strong", {K: ("CORRECT", "matches conv2d"), F: ("CORRECT", "hidden shapes"),
                       H: ("CORRECT", "right distribution")}, strong)  # fmt: skip
    student("untouched", {e: ("NOT ATTEMPTED", "untouched stub") for e in (K, F, H)})

    def renamed(nbs):
        strong(nbs)
        for nb in nbs.values():  # the exercise cells moved to the end of each notebook
            ex = [c for c in nb.cells if "weightinit" in c.metadata]
            nb.cells = [c for c in nb.cells if "weightinit" not in c.metadata] + ex

    student("renamed", {e: ("CORRECT", "correct") for e in (K, F, H)}, renamed,
            rename=lambda n: "homework_" + n.split("_", 1)[1])  # fmt: skip

    # -- typical mistakes --------------------------------------------------------------
    def weak1(nbs):
        fill(nbs, K, CONV_OK.replace("* w[o])", "* w[o, :, ::-1, ::-1])"))
        fill(nbs, F, "def conv_fans(shape):\n    k = 1\n    for d in shape[2:]:\n        k *= d\n"
                     "    return shape[0] * k, shape[1] * k\n")  # fmt: skip
        fill(nbs, H, _he(HE_STD, HE_STD))

    student("weak1", {K: ("WRONG", "you flipped the kernel"),
                      F: ("WRONG", "fan_in and fan_out are swapped"),
                      H: ("WRONG", "your std is plain He's")}, weak1)  # fmt: skip

    def weak2(nbs):
        fill(nbs, K, CONV_OK.replace("    return out\n", "    out = out * 1\n"))
        fill(nbs, F, "def conv_fans(shape):\n    if len(shape) == 2:\n        return shape[1], "
                     "shape[0]\n    return shape[1] * 9, shape[0] * 9\n")  # fmt: skip
        fill(nbs, H, _he("2.0 / fan_in", "np.sqrt(2.0 / ((1 + 0.2) * fan_in))"))

    student("weak2", {K: ("WRONG", "did you forget the `return`"),
                      F: ("WRONG", "your kernel size is fixed at 3×3"),
                      H: ("WRONG", "(1 + a) instead of (1 + a²)")}, weak2)  # fmt: skip

    def weak3(nbs):
        fill(nbs, K, CONV_OK.replace("out[b, o, i, j] = np.sum(x[b, :,", "out[b, o, i, j] = "
                                     "np.sum(x[0, :,"))  # fmt: skip
        fill(nbs, F, "def conv_fans(shape):\n    k = 1\n    for d in shape[:-2]:\n        k *= d\n"
                     "    return shape[-2] * k, shape[-1] * k\n")  # fmt: skip
        fill(nbs, H, _he(HE_STD, LEAKY_STD).replace("rng.normal", "np.random.normal"))

    student("weak3", {K: ("WRONG", "the first sample is right"),
                      F: ("WRONG", "Keras layout"),
                      H: ("WRONG", "np.random.*")}, weak3)  # fmt: skip

    def kernel9(nbs):
        fill(nbs, H, _he("np.sqrt(2.0 / (shape[1] * 9))", "np.sqrt(2.0 / (1.04 * shape[1] * 9))"))

    student("kernel9", {K: ("NOT ATTEMPTED", ""), F: ("NOT ATTEMPTED", ""),
                        H: ("WRONG", "your fan assumes a 3×3 kernel")}, kernel9)  # fmt: skip

    # -- hostile: fake verdicts ------------------------------------------------------------
    student("print_pass", {K: ("NOT ATTEMPTED", ""), F: ("NOT ATTEMPTED", ""),
                           H: ("CHEATED", "prints a PASS verdict")},
            lambda nbs: set_check(nbs, H, 'print("PASS: your initializer is correct.")'))  # fmt: skip
    student("monkeypatch", {K: ("NOT ATTEMPTED", ""), F: ("NOT ATTEMPTED", ""),
                            H: ("CHEATED", "replaces weightinit.checks.check_initializer")},
            lambda nbs: add_cell(nbs, H, "import weightinit.checks\nweightinit.checks."
                                 "check_initializer = lambda *a, **k: True"))  # fmt: skip

    def swapped(nbs):
        set_check(nbs, H, 'from weightinit.checks import check_value\n'
                          'passed = check_value(1.0, 1.0, name="my_he_normal")')  # fmt: skip

    student("swapped_check", {K: ("NOT ATTEMPTED", ""), F: ("NOT ATTEMPTED", ""),
                              H: ("NOT ATTEMPTED", "the check cell was edited")}, swapped)  # fmt: skip

    def added(nbs):
        check = next(_cells(nbs, H, "check"))[3]
        for _ in range(2):
            add_cell(nbs, H, check.source, dict(check.metadata))
        add_cell(nbs, H, 'from weightinit.checks import check_value\n'
                         'check_value(1.0, 1.0, name="bonus")')  # fmt: skip

    student("added_checks", {K: ("NOT ATTEMPTED", ""), F: ("NOT ATTEMPTED", ""),
                             H: ("NOT ATTEMPTED", "2 check cell(s) added")}, added)  # fmt: skip

    def alias(nbs):
        fill(nbs, K, "from weightinit.conv import conv2d as conv2d_loops\n")
        fill(nbs, F, "import weightinit as wi\n\nconv_fans = wi.fans\n")
        fill(nbs, H, "import weightinit as wi\nfrom weightinit.initializers import he_normal "
                     "as my_he_normal\n\n\ndef my_leaky_he_normal(shape, rng):\n    return "
                     "wi.get('he_normal')(shape, rng=rng, negative_slope=0.2)\n")  # fmt: skip

    student("library_alias", {K: ("CHEATED", "weightinit.conv.conv2d"),
                              F: ("CHEATED", "weightinit.fans"),
                              H: ("CHEATED", "weightinit.initializers.he_normal")}, alias)  # fmt: skip

    # -- hostile: crashes, loops, broken files ---------------------------------------------
    def exits(nbs):
        fill(nbs, K, "import os\n\n\ndef conv2d_loops(x, w):\n    os._exit(1)\n")
        fill(nbs, F, FANS_OK)

    student("os_exit", {K: ("CRASHED", "exited with status 1"), F: ("CORRECT", ""),
                        H: ("NOT ATTEMPTED", "")}, exits)  # fmt: skip

    def loops(nbs):
        fill(nbs, K, "def conv2d_loops(x, w):\n    while True:\n        pass\n")
        fill(nbs, F, "while True:\n    pass\n")
        fill(nbs, H, "import numpy as np\n\n\ndef my_he_normal(shape, rng):\n    try:\n"
                     "        while True:\n            pass\n    except BaseException:\n"
                     "        while True:\n            pass\n\n\n"
                     "def my_leaky_he_normal(shape, rng):\n    return None\n")  # fmt: skip

    student("infinite_loop", {K: ("TIMEOUT", "was stopped"), F: ("TIMEOUT", "took longer"),
                              H: ("TIMEOUT", "did not finish")}, loops)  # fmt: skip

    def bad_json(folder):
        (folder / "07_he.ipynb").write_text("this is { not JSON", encoding="utf-8")

    student("not_json", {K: ("NOT ATTEMPTED", ""), F: ("NOT ATTEMPTED", ""),
                         H: ("INVALID FILE", "not JSON")})  # fmt: skip
    bad_json(out / "not_json")
    student("syntax_error", {K: ("ERROR", "SyntaxError"), F: ("NOT ATTEMPTED", ""),
                             H: ("NOT ATTEMPTED", "")},
            lambda nbs: fill(nbs, K, "def conv2d_loops(x, w)\n    return x\n"))  # fmt: skip
    student("missing", {K: ("MISSING", "expected in 01_kernels.ipynb"),
                        F: ("MISSING", "no notebook"), H: ("NOT ATTEMPTED", "")},
            lambda nbs: remove(nbs, F, "stub"), drop=("01_kernels.ipynb",))  # fmt: skip

    # -- hostile: the file system, the instructor's files, the network ---------------------
    def vandal(nbs):
        fill(nbs, K, f"import os\n\n\ndef conv2d_loops(x, w):\n    os.remove({str(canary)!r})\n")
        fill(nbs, F, f"def conv_fans(shape):\n    with open({str(classmate / 'hacked.txt')!r}, "
                     "'w') as fh:\n        fh.write('x')\n    return 1, 1\n")  # fmt: skip
        fill(nbs, H, "import socket\n\n\ndef my_he_normal(shape, rng):\n"
                     "    socket.create_connection(('93.184.216.34', 80), timeout=1)\n\n\n"
                     "def my_leaky_he_normal(shape, rng):\n    return None\n")  # fmt: skip

    student("vandal", {K: ("ERROR", "FileNotFoundError"), F: ("ERROR", "FileNotFoundError"),
                       H: ("ERROR", "OSError")}, vandal)  # fmt: skip

    def snoop(nbs):
        fill(nbs, K, "import json\nimport pathlib\nimport weightinit\n\nroot = pathlib.Path("
                     "weightinit.__file__).parents[2]\nnb = json.loads((root / 'chapters' / "
                     "'01_kernels.ipynb').read_text())\nexec(''.join(nb['cells'][6]['source']))\n")  # fmt: skip
        target = str(Path(reference) / "04_variance.ipynb")
        fill(nbs, F, f"import json\n\n\ndef conv_fans(shape):\n    nb = json.load(open({target!r}))"
                     "\n    return len(nb['cells']), 0\n")  # fmt: skip

    student("snoop", {K: ("CHEATED", "__file__"), F: ("ERROR", "FileNotFoundError"),
                      H: ("NOT ATTEMPTED", "")}, snoop)  # fmt: skip
    return expected


# ------------------------------------------------------------------ Part II (real chapters)
ORTH, RES, LSUV = "ex-orthogonal-code", "ex-norm-residual-code", "ex-data-lsuv-code"

# polar factor instead of QR: uniform (Haar) too, and written differently from the solution
DELTA_OK = """import numpy as np


def my_delta_orthogonal(shape, rng):
    out_ch, in_ch, kh, kw = shape
    if out_ch < in_ch:
        raise ValueError(f"shape {shape}: need out >= in for orthonormal columns")
    u, _, vt = np.linalg.svd(rng.standard_normal((out_ch, in_ch)), full_matrices=False)
    kernel = np.zeros((out_ch, in_ch, kh, kw))
    kernel[:, :, kh // 2, kw // 2] = u @ vt
    return kernel
"""
DELTA_QR = DELTA_OK.replace(
    "u, _, vt = np.linalg.svd(rng.standard_normal((out_ch, in_ch)), full_matrices=False)",
    "q, r = np.linalg.qr(rng.standard_normal((out_ch, in_ch)))",
).replace("= u @ vt", "= q * np.sign(np.diag(r))")
STREAM_OK = """def my_stream_second_moment(depth, gate, q0=1.0, normalized=False):
    q = q0
    for _ in range(depth):
        q += gate**2 * (1.0 if normalized else q)
    return float(q)
"""
LSUV_OK = """import numpy as np


def lsuv_factor(W, x, target_var=1.0):
    y = x @ W.T
    return float(np.sqrt(target_var) / y.std())
"""


def make_part2_class(edition: Path, out: Path) -> dict[str, dict]:
    """Students for the Part II exercises of the real book; expected verdicts and phrases.

    Exercises of other chapters are left as stubs (NOT ATTEMPTED, checked by the caller).
    """
    chapters = Path(edition) / "chapters"
    expected: dict[str, dict] = {}

    def student(name, verdicts, codes):
        nbs = _load(chapters)
        for exercise, code in codes.items():
            fill(nbs, exercise, code)
        _write(nbs, Path(out) / name)
        expected[name] = verdicts

    student("p2_strong", {ORTH: ("CORRECT", "uniform over 2000 seeds"), RES: ("CORRECT", "hidden"),
                          LSUV: ("CORRECT", "hidden")},
            {ORTH: DELTA_OK, RES: STREAM_OK, LSUV: LSUV_OK})  # fmt: skip
    student("p2_weak1", {ORTH: ("WRONG", "sign of the matching diagonal entry of R"),
                         RES: ("WRONG", "you used g instead of g²"),
                         LSUV: ("WRONG", "not the variance")},
            {ORTH: DELTA_QR.replace(" * np.sign(np.diag(r))", ""),
             RES: STREAM_OK.replace("gate**2", "gate"),
             LSUV: LSUV_OK.replace("y.std()", "np.sqrt(np.mean(y**2))")})  # fmt: skip
    student("p2_weak2", {ORTH: ("WRONG", "[0, 0] is the corner"),
                         RES: ("WRONG", "the growth is linear, not a product"),
                         LSUV: ("WRONG", "you forgot the square root")},
            {ORTH: DELTA_OK.replace("kh // 2, kw // 2", "0, 0"),
             RES: STREAM_OK.replace("(1.0 if normalized else q)", "q"),
             LSUV: LSUV_OK.replace("np.sqrt(target_var) / y.std()", "target_var / y.var()")})  # fmt: skip
    student("p2_weak3", {ORTH: ("WRONG", "the kernel is not square"),
                         RES: ("WRONG", "you ignored q0"),
                         LSUV: ("WRONG", "your factor is inverted")},
            {ORTH: DELTA_OK.replace("kh // 2, kw // 2", "kh // 2, kh // 2"),
             RES: STREAM_OK.replace("q = q0", "q = 1.0"),
             LSUV: LSUV_OK.replace("np.sqrt(target_var) / y.std()", "y.std() / np.sqrt(target_var)")})  # fmt: skip
    student("p2_weak4", {ORTH: ("WRONG", "not from a check of yours"),
                         RES: ("NOT ATTEMPTED", "untouched stub"),
                         LSUV: ("NOT ATTEMPTED", "untouched stub")},
            {ORTH: DELTA_QR.replace("raise ValueError", "print")})  # fmt: skip
    student("p2_weak5", {ORTH: ("WRONG", "identity (a Dirac kernel)"),
                         RES: ("NOT ATTEMPTED", ""), LSUV: ("NOT ATTEMPTED", "")},
            {ORTH: DELTA_OK.replace("u @ vt", "np.eye(out_ch, in_ch)")})  # fmt: skip
    student("p2_raises", {ORTH: ("ERROR", "raised ValueError"), RES: ("NOT ATTEMPTED", ""),
                          LSUV: ("NOT ATTEMPTED", "")},
            {ORTH: DELTA_OK.replace("if out_ch < in_ch", "if out_ch >= in_ch")})  # fmt: skip
    student("p2_library", {ORTH: ("CHEATED", "weightinit.structured.delta_orthogonal"),
                           RES: ("CHEATED", "weightinit.residual.stream_second_moment"),
                           LSUV: ("CHEATED", "weightinit.lsuv")},
            {ORTH: "from weightinit.structured import delta_orthogonal as my_delta_orthogonal\n",
             RES: "from weightinit.residual import stream_second_moment as my_stream_second_moment\n",
             LSUV: "import numpy as np\nfrom weightinit import lsuv\n\n\ndef lsuv_factor(W, x, "
                "target_var=1.0):\n    return lsuv.lsuv(W, x)\n"})  # fmt: skip
    return expected


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("edition", type=Path, help="a student edition (with chapters/)")
    p.add_argument("out", type=Path)
    p.add_argument("--canary", type=Path, default=Path("/tmp/wi-canary.txt"))
    p.add_argument("--reference", type=Path, default=Path("tests/fixtures/course/chapters"))
    args = p.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.canary.write_text("must survive\n", encoding="utf-8")
    expected = make_class(args.edition, args.out, args.canary, args.reference)
    (args.out.parent / "expected_verdicts.json").write_text(json.dumps(expected, indent=1))
    print(f"{len(expected)} submissions in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
