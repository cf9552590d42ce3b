"""Self-checks for students' code: call one on your function and read the feedback.

Every programming exercise of the course ends with a call to one of these
functions. Each one runs your code on a few fixed, seeded inputs, compares the
result with the library's reference, prints short lines marked ✔ (fine) or ✘
(wrong) with a hint on what is probably wrong, and ends with a verdict line that
starts with ``PASS`` or ``FAIL``. It returns ``True`` on a pass, ``False`` otherwise.

* :func:`check_initializer` -- an initializer ``fn(shape, rng)`` against a named
  scheme: output shape, mean, standard deviation, bounds, a Kolmogorov-Smirnov
  test and determinism for a seed, on a conv and on a dense shape;
* :func:`check_fans` -- a fan computation ``fn(shape) -> (fan_in, fan_out)``;
* :func:`check_conv2d` -- a convolution ``fn(x, w)`` against :func:`weightinit.conv.conv2d`;
* :func:`check_value` -- a number you measured or derived;
* :func:`check_second_moment` -- a measured E[f(y)²] / Var(y) for a leaky ReLU.

A call of your function that takes longer than :data:`TIME_LIMIT` seconds is stopped
and reported; a function that returns ``None`` (a forgotten ``return``) is told so.
One mistake is reported as one problem, however many lines it turns red.

The checks never raise because of *your* code: if your function raises (the
``NotImplementedError`` of an exercise stub, for instance), the check reports it
and returns ``False``. A wrong argument to the check itself (an unknown scheme
name, say) raises :class:`ValueError`.

The printed text is deterministic: every random input is seeded and every number
is rounded, so a notebook that calls a check prints the same thing every run.

Examples
--------
>>> import numpy as np
>>> from weightinit.checks import check_initializer
>>> def my_he_normal(shape, rng):
...     fan_in = shape[1] * int(np.prod(shape[2:]))
...     return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
>>> ok = check_initializer(my_he_normal, "he_normal")  # doctest: +ELLIPSIS
Checking your initializer against he_normal ...
>>> ok
True
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
import signal
import threading

import numpy as np

from . import conv as _conv
from . import initializers as _init
from .fans import LAYOUTS, check_shape
from .fans import fans as _fans

__all__ = [
    "FAIL",
    "PASS",
    "check_conv2d",
    "check_fans",
    "check_initializer",
    "check_second_moment",
    "check_value",
]

#: First word of the verdict line of a passed check.
PASS = "PASS"
#: First word of the verdict line of a failed check.
FAIL = "FAIL"

OK_MARK = "✔"
BAD_MARK = "✘"

#: Relative tolerance on a standard deviation (≥ 5 standard errors for 10,000 draws).
STD_RTOL = 0.03
#: A hint about a typical mistake is given when the measured std is this close to
#: the std that mistake produces.
DIAGNOSE_RTOL = 0.06
#: p-value below which the Kolmogorov-Smirnov test rejects the distribution.
KS_ALPHA = 1e-4
#: Minimum number of values the statistical checks draw per shape.
MIN_DRAWS = 10_000

_STUB_HINT = (
    "write your code in place of the raise NotImplementedError line, between the markers "
    "# BEGIN STUB and # END STUB"
)
_NO_RETURN_HINT = "did you forget the `return` statement? A function without `return` gives None."
#: Seconds a single call of a student's function may take before it is stopped.
TIME_LIMIT = 10.0


# --------------------------------------------------------------------------- helpers
class _Report:
    """Collects ✔/✘ lines and hints, prints them, and gives the verdict.

    Each ✘ line names the *problem* it shows (``"std"``, ``"shape"``...); the verdict
    counts distinct problems, so one mistake seen on two shapes is one problem.
    """

    def __init__(self, title: str):
        self.problems: list[str] = []
        self.mean_bad = False
        self.hints: list[str] = []
        print(title)

    @property
    def failures(self) -> int:
        return len(self.problems)

    def line(self, ok: bool, text: str, indent: int = 2, problem: str | None = None) -> bool:
        print(" " * indent + f"{OK_MARK if ok else BAD_MARK} {text}")
        if not ok:
            key = problem or text
            if key not in self.problems:
                self.problems.append(key)
        return ok

    def info(self, text: str, indent: int = 2) -> None:
        print(" " * indent + text)

    def hint(self, text: str) -> None:
        if text not in self.hints:
            self.hints.append(text)

    def verdict(self, what: str) -> bool:
        for h in self.hints:
            print(f"  → {h}")
        if self.failures == 0:
            print(f"{PASS}: {what} is correct.")
            return True
        n = self.failures
        print(f"{FAIL}: {n} problem{'s' if n > 1 else ''} found in {what}; see the ✘ lines above.")
        return False


class _TooSlow(BaseException):  # a BaseException: `except Exception` in student code misses it
    """Raised inside the student's function when it exceeds :data:`TIME_LIMIT`."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Stop the code inside after ``seconds`` (SIGALRM; only in the main thread, on POSIX)."""
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0  # nobody else is timing us
    )
    if not usable:
        yield
        return

    def _raise(signum, frame):
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _call_student(report: _Report, fn, *args, **kwargs):
    """Call the student's function; on an exception report it and return (False, None).

    A call longer than :data:`TIME_LIMIT` seconds is stopped and reported; ``None`` as
    the result (a forgotten ``return``) is reported too.
    """
    try:
        with _time_limit(TIME_LIMIT):
            out = fn(*args, **kwargs)
    except _TooSlow:
        report.line(False, f"your function took longer than {TIME_LIMIT:g} s and was stopped",
                    problem="slow")  # fmt: skip
        report.hint("look for an endless loop (a while loop whose condition never changes) or "
                    "a loop over far more values than needed.")  # fmt: skip
        return False, None
    except NotImplementedError as exc:
        msg = f": {exc}" if str(exc) else ""
        report.line(False, f"your function raised NotImplementedError{msg}", problem="stub")
        report.hint(_STUB_HINT + ", then run this cell again.")
        return False, None
    except Exception as exc:  # the student's code may raise anything
        report.line(False, f"your function raised {type(exc).__name__}: {exc}", problem="raised")
        report.hint("fix the error in your function (read the message above) and run again.")
        return False, None
    if out is None:
        report.line(False, "your function returned None", problem="none")
        report.hint(_NO_RETURN_HINT)
        return False, None
    return True, out


def _as_float_array(report: _Report, value, what: str):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        report.line(False, f"{what} is not an array of numbers (got {type(value).__name__})")
        report.hint("return a numpy array, e.g. the result of rng.normal(...) or rng.uniform(...).")
        return None
    if not np.all(np.isfinite(arr)):
        report.line(False, f"{what} contains NaN or infinite values")
        report.hint("look for a division by zero or the square root of a negative number.")
        return None
    return arr


def _num(x: float) -> str:
    """A number rounded to 4 significant digits (deterministic text)."""
    if x == 0:
        return "0"  # also for -0.0, which a rounded float can be
    if not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.4g}"


def _tol(rel_tol: float) -> str:
    """A relative tolerance as text: "2%", or "1e-06 relative" below 1 % (not "0%")."""
    return f"{rel_tol:.0%}" if rel_tol >= 0.01 else f"{rel_tol:.0e} relative"


def _ratio_text(measured: float, expected: float) -> str:
    if expected == 0:
        return f"{_num(measured)} (expected 0)"
    r = measured / expected
    if r >= 1:
        return f"{r:.2f}× too large"
    return f"{1 / r:.2f}× too small" if r > 0 else "zero"


def _spec_accepts(spec, name: str) -> bool:
    try:
        return name in inspect.signature(spec).parameters
    except (TypeError, ValueError):  # pragma: no cover - every spec has a signature
        return False


def _target(scheme: str, shape, layout: str, kwargs) -> _init.Distribution:
    """The reference distribution; bad arguments of the check raise ValueError."""
    try:
        init = _init.get(scheme)
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    spec = getattr(init, "distribution", None)
    if spec is None:
        raise ValueError(
            f"check_initializer cannot check {scheme!r}: it does not draw every entry from "
            "one fixed distribution"
        )
    params = dict(kwargs)
    if _spec_accepts(spec, "layout"):
        params["layout"] = layout
    try:
        return spec(shape, **params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for scheme {scheme!r}: {exc}") from None


def _fan_swapped(shape, layout):
    if layout == "torch":
        return (shape[1], shape[0], *shape[2:])
    return (*shape[:-2], shape[-1], shape[-2])


def _no_kernel(shape, layout):
    ones = (1,) * (len(shape) - 2)
    return (*shape[:2], *ones) if layout == "torch" else (*ones, *shape[-2:])


def _dense_shape(layout, avoid):
    shape = (100, 400) if layout == "torch" else (400, 100)
    if tuple(avoid) == shape:
        shape = (120, 300) if layout == "torch" else (300, 120)
    return shape


def _kind_name(kind: str) -> str:
    return {"uniform": "uniform", "normal": "normal", "truncated_normal": "truncated normal"}[kind]


def _best_shape_family(sample: np.ndarray) -> str:
    """Which zero-mean family (fitted to the sample's std) the sample resembles most."""
    from scipy import stats as _stats  # imported when a check needs it: ~0.7 s of CPU

    s = float(sample.std())
    trunc = _stats.truncnorm(-2.0, 2.0, scale=s / _init.KERAS_TRUNCATION_STD)
    fams = {
        "uniform": _stats.uniform(loc=-s * math.sqrt(3.0), scale=2.0 * s * math.sqrt(3.0)),
        "normal": _stats.norm(scale=s),
        "truncated_normal": trunc,
    }
    stat = {k: _stats.kstest(sample, d.cdf).statistic for k, d in fams.items()}
    return min(stat, key=stat.get)


# --------------------------------------------------------------------------- initializers
def check_initializer(fn, scheme, shape=None, *, seed=0, layout="torch", **scheme_kwargs) -> bool:
    """Check a student's initializer ``fn(shape, rng)`` against a named scheme.

    ``fn`` is called with a weight shape and a :class:`numpy.random.Generator`
    and must return an array of that shape drawn with that generator. It is
    compared with ``weightinit.initializers.distribution(scheme, shape,
    layout=layout, **scheme_kwargs)`` on ``shape`` and on a dense shape
    (``(100, 400)`` in the torch layout, ``(400, 100)`` in the keras layout):

    * the output shape;
    * determinism: the same seed gives the same array, another seed another one;
    * the mean (≈ the distribution's centre, 0 for every variance-scaling scheme);
    * the standard deviation, within 3 %;
    * the bounds (uniform and truncated normal schemes);
    * a Kolmogorov-Smirnov test on at least 10,000 values (fresh generators);

    and, when the standard deviation is off, which typical mistake gives the
    measured value: the variance used as the standard deviation, fan_out instead
    of fan_in (or the reverse), a uniform limit ``sqrt(1/n)`` instead of
    ``sqrt(3/n)``, a conv fan that ignores the kernel area ``kh·kw``, a missing
    or extra factor 2, the truncation correction. Constant schemes (``zeros``,
    ``ones``, ``constant``) are checked entry by entry.

    Parameters
    ----------
    fn : callable
        The student's initializer, ``fn(shape, rng) -> ndarray``.
    scheme : str
        A name known to :func:`weightinit.initializers.get`, e.g. ``"glorot_uniform"``.
    shape : tuple of int, optional
        The shape to test; default ``(32, 16, 3, 3)`` in the torch layout and
        ``(3, 3, 16, 32)`` in the keras layout (a conv kernel with 16 input and
        32 output channels).
    seed : int, default 0
        Seed of the generators handed to ``fn``.
    layout : {"torch", "keras"}
        How the scheme reads fans off a shape (see :mod:`weightinit.fans`).
    **scheme_kwargs
        Parameters of the scheme, e.g. ``gain=5/3`` or ``mode="fan_out"``.

    Returns
    -------
    bool
        True if every check passed. The feedback is printed.

    Raises
    ------
    ValueError
        ``fn`` is not callable, the scheme is unknown or has no fixed
        distribution, or ``shape``, ``layout``, ``seed`` or the scheme's
        parameters are invalid.
    """
    if not callable(fn):
        raise ValueError(f"fn must be your initializer function, got {type(fn).__name__}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if shape is None:
        shape = (32, 16, 3, 3) if layout == "torch" else (3, 3, 16, 32)
    try:
        shape = check_shape(shape, min_dims=2)
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    shapes = [shape, _dense_shape(layout, shape)]
    targets = [_target(scheme, s, layout, scheme_kwargs) for s in shapes]
    kw = "".join(f", {k}={v!r}" for k, v in sorted(scheme_kwargs.items()))
    report = _Report(f"Checking your initializer against {scheme}{kw} (layout {layout!r})")

    seed = int(seed)
    rtol, draws = _resolution(scheme_kwargs)
    if not _check_determinism(report, fn, shape, seed, targets[0].kind == "constant"):
        return report.verdict("your initializer")
    stds = []
    for i, (s, target) in enumerate(zip(shapes, targets, strict=True)):
        measured = _check_one_shape(report, fn, s, target, seed + 1000 * (i + 1), rtol, draws)
        if measured is None:
            return report.verdict("your initializer")
        stds.append(measured)
    if targets[0].kind != "constant":
        _diagnose_std(report, scheme, shapes, targets, stds, layout, scheme_kwargs, rtol)
    return report.verdict("your initializer")


def _resolution(kwargs) -> tuple[float, int]:
    """Tolerance on the std and draws per shape: tighter for a leaky slope.

    With ``negative_slope=a`` the leaky factor changes the std by 1 - 1/sqrt(1 + a²)
    (1.9 % at a = 0.2, under the usual 3 %): the tolerance becomes half that and the
    number of draws grows until 5 standard errors of the std (≈ 1/sqrt(2n)) fit in it.
    """
    a = kwargs.get("negative_slope")
    if not isinstance(a, numbers.Real) or isinstance(a, bool) or a == 0:
        return STD_RTOL, MIN_DRAWS
    effect = 1.0 - 1.0 / math.sqrt(1.0 + float(a) ** 2)
    rtol = min(STD_RTOL, max(effect / 2.0, 0.004))
    draws = max(MIN_DRAWS, math.ceil(0.5 * (5.0 / rtol) ** 2))
    return rtol, draws


def _student_array(report, fn, shape, seed, shape_message, shape_hint):
    """Call ``fn(shape, rng)`` with a fresh generator; its float array, or None on a problem.

    An exception, a non-numeric result or a wrong shape is reported (the wrong shape
    with ``shape_message(got)`` and ``shape_hint``) and gives None.
    """
    ok, out = _call_student(report, fn, shape, np.random.default_rng(seed))
    if not ok:
        return None
    arr = _as_float_array(report, out, "the returned value")
    if arr is None:
        return None
    if arr.shape != shape:
        report.line(False, shape_message(arr.shape), problem="shape")
        report.hint(shape_hint)
        return None
    return arr


def _check_determinism(report, fn, shape, seed, constant) -> bool:
    outs = []
    for s in (seed, seed, seed + 1):
        arr = _student_array(
            report, fn, shape, s,
            lambda got: f"returned shape {got}, expected {shape}",
            "return an array of exactly the shape you are given, e.g. rng.normal(0, std, size=shape).",
        )  # fmt: skip
        if arr is None:
            return False
        outs.append(arr)
    report.line(True, f"returns an array of shape {shape}")
    if not constant and outs[0].size > 1 and np.all(outs[0] == outs[0].flat[0]):
        report.line(False, f"every entry of your array equals {_num(float(outs[0].flat[0]))}",
                    problem="constant")  # fmt: skip
        report.hint(
            "the weights must be random: draw them with the generator you are given, "
            "e.g. rng.normal(0.0, std, size=shape) or rng.uniform(-a, a, size=shape)."
        )
        return False
    same_seed = np.array_equal(outs[0], outs[1])
    other_seed = np.array_equal(outs[0], outs[2])
    if not same_seed:
        report.line(False, "the same seed gave different weights", problem="seed")
        report.hint(
            "you are ignoring the seed: draw with the generator you are given "
            "(rng.normal, rng.uniform), not with np.random.* (the global state)."
        )
        return False
    if other_seed and not constant:
        report.line(False, "two different generators gave the same weights", problem="seed")
        report.hint(
            "you are ignoring the seed: use the rng argument instead of creating "
            "your own generator inside the function."
        )
        return False
    report.line(True, "same seed, same weights; another seed, other weights")
    return True


def _draw(report, fn, shape, seed, draws=MIN_DRAWS):
    """Call fn with fresh generators until at least ``draws`` values are drawn."""
    size = math.prod(shape)
    calls = max(1, math.ceil(draws / size))
    parts = []
    for i in range(calls):
        arr = _student_array(
            report, fn, shape, seed + i,
            lambda got: f"for shape {shape} your function returned shape {got}",
            "return an array of exactly the shape you are given.",
        )  # fmt: skip
        if arr is None:
            return None
        parts.append(arr.ravel())
    return np.concatenate(parts)


def _check_one_shape(report, fn, shape, target, seed, std_rtol=STD_RTOL, draws=MIN_DRAWS):
    """Statistical checks on one shape; returns the measured std (None on a crash).

    A failed bound or Kolmogorov-Smirnov line that follows from a wrong mean or std is
    counted as the same problem (one mistake, one problem).
    """
    sample = _draw(report, fn, shape, seed, draws)
    if sample is None:
        return None
    report.info(f"shape {shape}: target {target}, std {_num(target.std)}")
    mean, std = float(sample.mean()), float(sample.std())
    if target.kind == "constant":
        ok = bool(np.allclose(sample, target.loc, rtol=0.0, atol=1e-12))
        if not report.line(ok, f"every entry equals {target.loc:g}", indent=4, problem="value"):
            report.info(f"yours: mean {_num(mean)}, std {_num(std)}", indent=6)
            report.hint(f"fill the array with {target.loc:g}, e.g. np.full(shape, {target.loc:g}).")
        return std

    n = sample.size
    # 5 standard errors of the mean (of whichever std is larger), at least 5 % of the target std
    tol = max(5.0 * max(std, target.std) / math.sqrt(n), 0.05 * target.std)
    mean_ok = abs(mean - target.loc) <= tol
    report.line(mean_ok, f"mean {_num(mean)} (target {target.loc:g})", indent=4, problem="mean")
    if not mean_ok:
        report.mean_bad = True
        report.hint(
            f"your weights have a non-zero mean: they must be centred on {target.loc:g}. "
            "Use U(-a, a) (not U(0, a) or rng.random()) and a normal with loc=0."
        )
    ratio = std / target.std
    std_ok = abs(ratio - 1.0) <= std_rtol
    text = f"std {_num(std)} (target {_num(target.std)})"
    if not std_ok:
        text += f": {_ratio_text(std, target.std)}"
    report.line(std_ok, text, indent=4, problem="std")
    follows = "std" if not std_ok else ("mean" if not mean_ok else None)

    lo, hi = target.bounds
    if math.isfinite(lo):
        eps = 1e-9 * max(abs(lo), abs(hi))
        inside = float(sample.min()) >= lo - eps and float(sample.max()) <= hi + eps
        report.line(
            inside,
            f"values within [{_num(lo)}, {_num(hi)}] (yours: [{_num(float(sample.min()))}, "
            f"{_num(float(sample.max()))}])",
            indent=4,
            problem=follows or "bounds",
        )
        if not inside and target.kind == "truncated_normal" and std_ok:
            report.hint(
                f"values beyond ±{target.cutoff:g}σ must be redrawn: a truncated normal "
                "has no values outside its bounds."
            )
    from scipy import stats as _stats

    p = float(_stats.kstest(sample, target.scipy().cdf).pvalue)
    ks_ok = p >= KS_ALPHA
    report.line(ks_ok, f"KS test against {target}: p = {p:.4f}", indent=4,
                problem=follows or "distribution")  # fmt: skip
    if not ks_ok and mean_ok and std_ok:
        fam = _best_shape_family(sample - mean)
        if fam != target.kind:
            report.hint(
                f"mean and std are right but the shape of the distribution is not: the scheme "
                f"draws from a {_kind_name(target.kind)} distribution, yours looks "
                f"{_kind_name(fam)}."
            )
    return std


def _diagnose_std(report, scheme, shapes, targets, stds, layout, kwargs, rtol=STD_RTOL) -> None:
    """Compare the measured stds with the stds the typical mistakes would give."""
    expected = [t.std for t in targets]
    if all(abs(m / e - 1.0) <= rtol for m, e in zip(stds, expected, strict=True)):
        return
    kind = targets[0].kind
    mode = kwargs.get("mode", "fan_in")
    candidates: list[tuple[str, list[float]]] = [
        (
            "your std is the target *variance*: did you use the variance as the standard "
            "deviation? Take the square root: std = sqrt(Var(w)).",
            [e * e for e in expected],
        ),
        (
            "your std is off by a factor √2: check the numerator of Var(w) (He: 2/fan_in, "
            "LeCun: 1/fan_in) and whether Glorot's denominator is fan_in + fan_out.",
            [e * math.sqrt(2.0) for e in expected],
        ),
        (
            "your std is off by a factor √2: check the numerator of Var(w) (He: 2/fan_in, "
            "LeCun: 1/fan_in) and whether Glorot's denominator is fan_in + fan_out.",
            [e / math.sqrt(2.0) for e in expected],
        ),
    ]
    candidates += [
        (
            "your weights have std 1: did you draw standard normal numbers without "
            "multiplying them by the target std?",
            [1.0 for _ in expected],
        ),
        (
            "your weights look like U(-1, 1): scale the interval to U(-a, a) with the "
            "limit a of the scheme.",
            [1.0 / math.sqrt(3.0) for _ in expected],
        ),
    ]
    other = "fan_in" if mode == "fan_out" else "fan_out"
    this = "fan_out" if mode == "fan_out" else "fan_in"
    candidates.append(
        (
            f"your std matches the {other} version: did you use {other} instead of {this}? "
            f"In the {layout} layout, fan_in = C_in·kh·kw and fan_out = C_out·kh·kw.",
            [_target(scheme, _fan_swapped(s, layout), layout, kwargs).std for s in shapes],
        )
    )
    if len(shapes[0]) > 2:
        candidates.append(
            (
                "right on the dense shape, wrong on the conv shape: your fan ignores the "
                "kernel area kh·kw. For a conv kernel fan_in = C_in·kh·kw.",
                [_target(scheme, _no_kernel(s, layout), layout, kwargs).std for s in shapes],
            )
        )
    if kind == "uniform":
        candidates.append(
            (
                "your values look like U(-sqrt(v), sqrt(v)) with v the target variance: the "
                "limit of a uniform with variance v is a = sqrt(3v) (Var U(-a, a) = a²/3), "
                "e.g. sqrt(3/n), not sqrt(1/n).",
                [e / math.sqrt(3.0) for e in expected],
            )
        )
    if kind == "truncated_normal":
        shrink = targets[0].std / targets[0].scale
        candidates.append(
            (
                f"truncating at ±{targets[0].cutoff:g}σ shrinks the std by a factor "
                f"{shrink:.4f}: divide the std of the normal by {shrink:.4f} before truncating.",
                [e * shrink for e in expected],
            )
        )
    slope = kwargs.get("negative_slope")
    if isinstance(slope, numbers.Real) and not isinstance(slope, bool) and slope != 0:
        a = float(slope)
        plain = {k: v for k, v in kwargs.items() if k != "negative_slope"}
        candidates += [
            (
                f"your std is plain He's: a leaky ReLU of slope a = {a:g} keeps (1 + a²)/2 of "
                "the variance, so Var(w) = 2 / ((1 + a²)·fan_in).",
                [_target(scheme, s, layout, plain).std for s in shapes],
            ),
            (
                "you used (1 + a) instead of (1 + a²): the negative half of a leaky ReLU "
                "scales the variance by a², so Var(w) = 2 / ((1 + a²)·fan_in).",
                [e * math.sqrt((1 + a * a) / (1 + a)) for e in expected],
            ),
        ]
    # a diagnosis must fit within the measurement's resolution, and never be looser than
    # DIAGNOSE_RTOL; mistakes closer to the target than that are skipped as invisible
    tol = min(DIAGNOSE_RTOL, 2 * rtol)
    best, best_err = None, math.inf
    for text, cand in candidates:
        if all(abs(c / e - 1.0) <= rtol for c, e in zip(cand, expected, strict=True)):
            continue  # this mistake is invisible on these shapes
        errs = [abs(m / c - 1.0) for m, c in zip(stds, cand, strict=True)]
        if max(errs) <= tol and max(errs) < best_err:
            best, best_err = text, max(errs)
    if best is not None:
        report.hint(best)
    elif not report.mean_bad:  # a shifted distribution has its own hint
        parts = ", ".join(
            f"{_ratio_text(m, e)} on {s}" for m, e, s in zip(stds, expected, shapes, strict=True)
        )
        report.hint(
            f"your std is {parts}. Recompute Var(w) for the scheme from the fans of each shape "
            "and use std = sqrt(Var(w))."
        )


# --------------------------------------------------------------------------- fans
_FAN_SHAPES_TORCH = [
    (10, 784),
    (64, 256),
    (32, 16, 3, 3),
    (64, 3, 5, 5),
    (8, 4, 1, 1),
    (6, 2, 5, 3),
]


def check_fans(fn, *, layout="torch") -> bool:
    """Check a student's ``fn(shape) -> (fan_in, fan_out)`` on dense and conv shapes.

    The answers are compared with :func:`weightinit.fans.fans` on two dense
    shapes and four conv shapes (one with a ``1×1`` and one with a non-square
    kernel). Wrong answers are explained when they match a typical mistake: the
    two fans swapped, a conv fan without the kernel area ``kh·kw``, or the other
    layout's reading of the shape.

    Parameters
    ----------
    fn : callable
        The student's function, ``fn(shape) -> (fan_in, fan_out)``.
    layout : {"torch", "keras"}
        ``"torch"``: dense ``(out, in)``, conv ``(out, in, kh, kw)``;
        ``"keras"``: dense ``(in, out)``, conv ``(kh, kw, in, out)``.

    Returns
    -------
    bool
        True if every answer is right. The feedback is printed.

    Raises
    ------
    ValueError
        ``fn`` is not callable or ``layout`` is unknown.
    """
    if not callable(fn):
        raise ValueError(f"fn must be your fan function, got {type(fn).__name__}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    report = _Report(f"Checking your fan computation (layout {layout!r})")
    shapes = _FAN_SHAPES_TORCH
    if layout == "keras":
        shapes = [(s[1], s[0]) if len(s) == 2 else (*s[2:], s[1], s[0]) for s in shapes]
    other_layout = "keras" if layout == "torch" else "torch"
    answers = {}
    for shape in shapes:
        ok, out = _call_student(report, fn, shape)
        if not ok:
            return report.verdict("your fan computation")
        expected = _fans(shape, layout)
        try:
            got = tuple(float(v) for v in out)
        except (TypeError, ValueError):
            report.line(False, f"{shape}: returned {out!r}, expected a pair (fan_in, fan_out)",
                        problem="pair")  # fmt: skip
            report.hint("return a tuple of two numbers: return fan_in, fan_out")
            continue
        if len(got) != 2:
            report.line(False, f"{shape}: returned {len(got)} values, expected (fan_in, fan_out)",
                        problem="pair")  # fmt: skip
            report.hint("return a tuple of two numbers: return fan_in, fan_out")
            continue
        ok = got == tuple(float(e) for e in expected)
        shown = tuple(int(v) if float(v).is_integer() else v for v in got)
        report.line(ok, f"{shape}: yours {shown}, expected {expected}", problem="fans")
        answers[shape] = got
    if report.failures and answers:
        hint = _fans_mistake(answers, layout, other_layout)
        if hint:
            report.hint(hint)
    return report.verdict("your fan computation")


def _fans_mistake(answers, layout, other_layout) -> str | None:
    """The one typical mistake that explains EVERY answer (not just the first wrong one)."""

    def kernel(shape):
        return math.prod(shape[2:]) if layout == "torch" else math.prod(shape[:-2])

    swapped_where = (
        "torch layout the shape is (C_out, C_in, kh, kw), so C_in is shape[1]."
        if layout == "torch"
        else "keras layout the shape is (kh, kw, C_in, C_out), so C_in is shape[-2]."
    )
    rules = [
        (
            f"fan_in and fan_out are swapped: in the {swapped_where}",
            lambda s: _fans(s, layout)[::-1],
        ),
        (
            "for a conv kernel multiply the channels by the kernel area: "
            "fan_in = C_in·kh·kw, fan_out = C_out·kh·kw.",
            lambda s: tuple(f / kernel(s) for f in _fans(s, layout)),
        ),
        (
            f"you read the shape in the {other_layout} layout; this check uses the {layout} "
            "layout.",
            lambda s: _fans(s, other_layout),
        ),
        (
            "your kernel area is fixed at 3×3: compute kh·kw from the shape.",
            lambda s: tuple(f / kernel(s) * (9 if len(s) > 2 else 1) for f in _fans(s, layout)),
        ),
    ]
    for text, rule in rules:
        if all(got == tuple(float(v) for v in rule(s)) for s, got in answers.items()):
            return text
    return None


# --------------------------------------------------------------------------- conv2d
def check_conv2d(fn, *, stride=1, padding=0) -> bool:
    """Check a student's 2-D convolution against :func:`weightinit.conv.conv2d`.

    ``fn(x, w)`` is called (``fn(x, w, stride=stride, padding=padding)`` if
    ``stride`` or ``padding`` is not the default) with a seeded input ``x`` of shape
    ``(2, 3, 7, 6)`` and filters ``w`` of shape ``(4, 3, 3, 2)`` (a non-square
    kernel, so swapped axes show), and must return the cross-correlation
    ``y[n, f, i, j] = sum_{c,p,q} w[f, c, p, q] · x_pad[n, c, i·s + p, j·s + q]``
    of shape ``(N, F, H_out, W_out)``. A wrong result is explained when it
    matches a typical mistake: a flipped kernel (a true convolution instead of
    the cross-correlation of deep learning), padding or stride ignored, a "full"
    instead of a "valid" output size.

    Parameters
    ----------
    fn : callable
        The student's convolution.
    stride, padding : int, default 1 and 0
        Passed to ``fn`` as keywords when not the defaults.

    Returns
    -------
    bool
        True if the output matches the library's. The feedback is printed.

    Raises
    ------
    ValueError
        ``fn`` is not callable, or ``stride``/``padding`` are not a positive /
        non-negative integer.
    """
    if not callable(fn):
        raise ValueError(f"fn must be your convolution function, got {type(fn).__name__}")
    for name, value, low in (("stride", stride, 1), ("padding", padding, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    stride, padding = int(stride), int(padding)
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(2, 3, 7, 6)), 3)
    w = np.round(rng.normal(size=(4, 3, 3, 2)), 3)
    expected = _conv.conv2d(x, w, stride=stride, padding=padding)
    extra = f" (stride={stride}, padding={padding})" if (stride, padding) != (1, 0) else ""
    report = _Report(
        f"Checking your conv2d{extra}: x {x.shape}, w {w.shape}, expected y {expected.shape}"
    )
    kwargs = {} if (stride, padding) == (1, 0) else {"stride": stride, "padding": padding}
    ok, out = _call_student(report, fn, x.copy(), w.copy(), **kwargs)
    if not ok:
        return report.verdict("your conv2d")
    y = _as_float_array(report, out, "the returned value")
    if y is None:
        return report.verdict("your conv2d")
    if y.shape != expected.shape:
        report.line(False, f"output shape {y.shape}, expected {expected.shape}")
        h, wd = x.shape[2:]
        kh, kw = w.shape[2:]
        full = (x.shape[0], w.shape[0], h + kh - 1, wd + kw - 1)
        if y.shape == full:
            report.hint(
                "you computed a 'full' convolution: only positions where the kernel fits "
                "inside the (padded) input count, H_out = (H + 2·padding - kh) // stride + 1."
            )
        elif padding and y.shape == _conv.conv2d(x, w, stride=stride).shape:
            report.hint(
                f"you ignored the padding: add {padding} row(s) and column(s) of zeros on "
                "each side of the image before sliding the kernel."
            )
        elif stride > 1 and y.shape == _conv.conv2d(x, w, padding=padding).shape:
            report.hint(f"you ignored the stride: move the kernel {stride} pixels at a time.")
        elif y.shape == (x.shape[0], w.shape[0], h - kw + 1, wd - kh + 1):
            report.hint("you swapped kh and kw: the kernel is w[f, c, :kh, :kw].")
        else:
            report.hint(
                "the output has shape (N, C_out, H_out, W_out) with "
                "H_out = (H + 2·padding - kh) // stride + 1 (and likewise W_out)."
            )
        return report.verdict("your conv2d")
    report.line(True, f"output shape {y.shape}")
    close = bool(np.allclose(y, expected, rtol=1e-6, atol=1e-8))
    if close:
        report.line(True, "values match weightinit.conv.conv2d")
    else:
        # the error is printed only when large: tiny round-off differs between machines
        err = float(np.max(np.abs(y - expected)))
        report.line(False, f"values differ from weightinit.conv.conv2d (max abs error {err:.3g})")
        flipped = _conv.conv2d(x, w[:, :, ::-1, ::-1], stride=stride, padding=padding)
        if np.allclose(y, flipped, rtol=1e-6, atol=1e-8):
            report.hint(
                "you flipped the kernel: that is the convolution of mathematics. Deep-learning "
                "'convolution' is a cross-correlation: multiply w[f, c, p, q] with "
                "x[n, c, i + p, j + q] without flipping."
            )
        elif np.allclose(y[0], expected[0], rtol=1e-6, atol=1e-8):
            report.hint("the first sample is right but not the others: loop over the whole batch.")
        else:
            report.hint(
                "compare one output pixel by hand: y[n, f, i, j] = sum over c, p, q of "
                "w[f, c, p, q] · x_pad[n, c, i·stride + p, j·stride + q]."
            )
    return report.verdict("your conv2d")


# --------------------------------------------------------------------------- values
def check_value(value, expected, *, name, rel_tol=0.05, mistakes=None) -> bool:
    """Check a number the student measured or derived (a variance, a std, a fan...).

    Parameters
    ----------
    value : float or callable
        The student's number. A callable is called without arguments first (so a
        stub that raises ``NotImplementedError`` is reported instead of crashing
        the cell that calls the check).
    expected : float
        The right value.
    name : str
        What the number is, used in the feedback (e.g. ``"Var(y)"``).
    rel_tol : float, default 0.05
        Accepted relative error, ``|value - expected| <= rel_tol·|expected|``
        (an absolute ``rel_tol`` when ``expected`` is 0).
    mistakes : dict of str to float, optional
        Typical mistakes of this exercise: ``{hint: the value that mistake gives}``.
        A wrong value within ``rel_tol`` of one of them gets its hint, e.g.
        ``{"you measured Var(f(y)), not E[f(y)²]": 0.418}``.

    Returns
    -------
    bool
        True if the value is close enough. The feedback is printed.

    Raises
    ------
    ValueError
        ``expected`` is not a finite real number, ``name`` is not a string or
        ``rel_tol`` is not a positive number.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if isinstance(expected, bool) or not isinstance(expected, numbers.Real):
        raise ValueError(f"expected must be a real number, got {expected!r}")
    if not math.isfinite(expected):
        raise ValueError(f"expected must be finite, got {expected!r}")
    if isinstance(rel_tol, bool) or not isinstance(rel_tol, numbers.Real) or not rel_tol > 0:
        raise ValueError(f"rel_tol must be a positive number, got {rel_tol!r}")
    mistakes = dict(mistakes or {})
    for hint, wrong in mistakes.items():
        if (
            not isinstance(hint, str)
            or isinstance(wrong, bool)
            or not isinstance(wrong, numbers.Real)
        ):
            raise ValueError(f"mistakes must map hint texts to numbers, got {hint!r}: {wrong!r}")
    expected, rel_tol = float(expected), float(rel_tol)
    report = _Report(f"Checking your value of {name}")
    if callable(value):
        ok, value = _call_student(report, value)
        if not ok:
            return report.verdict(f"your {name}")
    if value is None or value is Ellipsis:
        report.line(False, f"{name} has no value yet (got {value!r})")
        report.hint(_STUB_HINT + ".")
        return report.verdict(f"your {name}")
    if isinstance(value, (str, bytes, bool, np.bool_)):
        kind = "a bool" if isinstance(value, (bool, np.bool_)) else "text"
        report.line(False, f"{name} should be a number, got {kind} ({value!r})")
        report.hint("compute the number itself, e.g. float(np.var(y)); not a string or a "
                    "comparison.")  # fmt: skip
        return report.verdict(f"your {name}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.size != 1:
        report.line(False, f"{name} should be one number, got {type(value).__name__}")
        report.hint("reduce your result to a single float, e.g. float(np.var(y)).")
        return report.verdict(f"your {name}")
    v = float(arr.reshape(()))
    if not math.isfinite(v):
        report.line(False, f"{name} = {v}: not a finite number")
        report.hint("look for a division by zero or an overflow.")
        return report.verdict(f"your {name}")
    scale = abs(expected) if expected != 0 else 1.0
    ok = abs(v - expected) <= rel_tol * scale
    report.line(ok, f"{name} = {_num(v)} (expected {_num(expected)}, tolerance {_tol(rel_tol)})")
    known = next(
        (h for h, m in mistakes.items() if not ok and abs(v - m) <= rel_tol * max(abs(m), 1e-12)),
        None,
    )
    if known is not None:
        report.hint(known)
        return report.verdict(f"your {name}")
    if not ok and expected > 0 and v > 0 and abs(expected - 1.0) > 2 * rel_tol:
        if abs(v * v / expected - 1.0) <= rel_tol:
            report.hint(
                f"{name} looks like the square root of the expected value: a std instead of a "
                "variance?"
            )
        elif abs(math.sqrt(v) / expected - 1.0) <= rel_tol:
            report.hint(
                f"{name} looks like the square of the expected value: a variance instead of a std?"
            )
    if not ok and expected != 0 and v != 0 and abs(v / expected - 2.0) <= rel_tol:
        report.hint(f"{name} is twice the expected value: check for a factor 2.")
    elif not ok and expected != 0 and v != 0 and abs(v / expected - 0.5) <= rel_tol:
        report.hint(f"{name} is half the expected value: check for a factor 2.")
    elif not ok and expected != 0 and abs(v / expected + 1.0) <= rel_tol:
        report.hint(f"{name} has the wrong sign.")
    return report.verdict(f"your {name}")


def check_second_moment(fn, alpha=0.2, *, rel_tol=0.02) -> bool:
    """Check ``fn(alpha)``, a measured E[f(y)²] / Var(y) for a leaky ReLU f of slope ``alpha``.

    For y ~ N(0, 1), E[f(y)²] = (1 + alpha²)/2 (He et al., 2015, eq. 15 with the leaky
    slope). Wrong values are explained when they match a typical mistake: the variance
    Var(f(y)) measured instead of the second moment E[f(y)²] (the mean of f(y) is not 0:
    Var(f(y)) = (1 + a²)/2 - (1 - a)²/(2π)), the factor (1 + a) instead of (1 + a²),
    or the slope ignored (ReLU's 1/2).

    Parameters
    ----------
    fn : callable
        The student's ``fn(alpha) -> float``.
    alpha : float, default 0.2
        The negative slope, ``0 <= alpha <= 1``.
    rel_tol : float, default 0.02
        Accepted relative error (a Monte-Carlo estimate from 400,000 draws is within
        about 0.5 %).

    Returns
    -------
    bool
        True if the value is close enough. The feedback is printed.

    Raises
    ------
    ValueError
        ``fn`` is not callable or ``alpha`` is not a number in [0, 1].
    """
    if not callable(fn):
        raise ValueError(f"fn must be your function of alpha, got {type(fn).__name__}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    a = float(alpha)
    mistakes = {
        "you measured Var(f(y)), not the second moment E[f(y)²]: f(y) does not have mean 0, "
        "and the next layer's variance needs E[f(y)²] = mean of f(y)².": (1 + a * a) / 2
        - (1 - a) ** 2 / (2 * math.pi),
        "your value is (1 + a)/2: the negative half of a leaky ReLU scales y by a, so its "
        "variance by a²; the factor is (1 + a²)/2.": (1 + a) / 2,
        "your value ignores the slope (ReLU's 1/2): apply the leaky ReLU with the given "
        "alpha.": 0.5,
    }
    mistakes = {h: m for h, m in mistakes.items() if abs(m - (1 + a * a) / 2) > rel_tol / 2}
    return check_value(
        lambda: fn(a),
        (1 + a * a) / 2,
        name=f"E[f(y)²] / Var(y) for a leaky ReLU of slope {a:g}",
        rel_tol=rel_tol,
        mistakes=mistakes,
    )
