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
* :func:`check_value` -- a number you measured or derived.

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

import inspect
import math
import numbers

import numpy as np
from scipy import stats as _stats

from . import conv as _conv
from . import initializers as _init
from .fans import LAYOUTS, check_shape
from .fans import fans as _fans

__all__ = ["FAIL", "PASS", "check_conv2d", "check_fans", "check_initializer", "check_value"]

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

_STUB_HINT = "write your code between the markers # BEGIN SOLUTION and # END SOLUTION"


# --------------------------------------------------------------------------- helpers
class _Report:
    """Collects ✔/✘ lines and hints, prints them, and gives the verdict."""

    def __init__(self, title: str):
        self.failures = 0
        self.mean_bad = False
        self.hints: list[str] = []
        print(title)

    def line(self, ok: bool, text: str, indent: int = 2) -> bool:
        print(" " * indent + f"{OK_MARK if ok else BAD_MARK} {text}")
        if not ok:
            self.failures += 1
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


def _call_student(report: _Report, fn, *args, **kwargs):
    """Call the student's function; on an exception report it and return (False, None)."""
    try:
        return True, fn(*args, **kwargs)
    except NotImplementedError as exc:
        msg = f": {exc}" if str(exc) else ""
        report.line(False, f"your function raised NotImplementedError{msg}")
        report.hint(_STUB_HINT + ", then run this cell again.")
    except Exception as exc:  # the student's code may raise anything
        report.line(False, f"your function raised {type(exc).__name__}: {exc}")
        report.hint("fix the error in your function (read the message above) and run again.")
    return False, None


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
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.4g}"


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
    if not _check_determinism(report, fn, shape, seed, targets[0].kind == "constant"):
        return report.verdict("your initializer")
    stds = []
    for i, (s, target) in enumerate(zip(shapes, targets, strict=True)):
        measured = _check_one_shape(report, fn, s, target, seed + 1000 * (i + 1))
        if measured is None:
            return report.verdict("your initializer")
        stds.append(measured)
    if targets[0].kind != "constant":
        _diagnose_std(report, scheme, shapes, targets, stds, layout, scheme_kwargs)
    return report.verdict("your initializer")


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
        report.line(False, shape_message(arr.shape))
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
    if not constant and np.all(outs[0] == outs[0].flat[0]):
        report.line(False, f"every entry of your array equals {_num(float(outs[0].flat[0]))}")
        report.hint(
            "the weights must be random: draw them with the generator you are given, "
            "e.g. rng.normal(0.0, std, size=shape) or rng.uniform(-a, a, size=shape)."
        )
        return False
    same_seed = np.array_equal(outs[0], outs[1])
    other_seed = np.array_equal(outs[0], outs[2])
    if not same_seed:
        report.line(False, "the same seed gave different weights")
        report.hint(
            "you are ignoring the seed: draw with the generator you are given "
            "(rng.normal, rng.uniform), not with np.random.* (the global state)."
        )
        return False
    if other_seed and not constant:
        report.line(False, "two different generators gave the same weights")
        report.hint(
            "you are ignoring the seed: use the rng argument instead of creating "
            "your own generator inside the function."
        )
        return False
    report.line(True, "same seed, same weights; another seed, other weights")
    return True


def _draw(report, fn, shape, seed):
    """Call fn with fresh generators until at least MIN_DRAWS values are drawn."""
    size = math.prod(shape)
    calls = max(1, math.ceil(MIN_DRAWS / size))
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


def _check_one_shape(report, fn, shape, target, seed):
    """Statistical checks on one shape; returns the measured std (None on a crash)."""
    sample = _draw(report, fn, shape, seed)
    if sample is None:
        return None
    report.info(f"shape {shape}: target {target}, std {_num(target.std)}")
    mean, std = float(sample.mean()), float(sample.std())
    if target.kind == "constant":
        ok = bool(np.allclose(sample, target.loc, rtol=0.0, atol=1e-12))
        if not report.line(ok, f"every entry equals {target.loc:g}", indent=4):
            report.info(f"yours: mean {_num(mean)}, std {_num(std)}", indent=6)
            report.hint(f"fill the array with {target.loc:g}, e.g. np.full(shape, {target.loc:g}).")
        return std

    n = sample.size
    # 5 standard errors of the mean (of whichever std is larger), at least 5 % of the target std
    tol = max(5.0 * max(std, target.std) / math.sqrt(n), 0.05 * target.std)
    mean_ok = abs(mean - target.loc) <= tol
    report.line(mean_ok, f"mean {_num(mean)} (target {target.loc:g})", indent=4)
    if not mean_ok:
        report.mean_bad = True
        report.hint(
            f"your weights have a non-zero mean: they must be centred on {target.loc:g}. "
            "Use U(-a, a) (not U(0, a) or rng.random()) and a normal with loc=0."
        )
    ratio = std / target.std
    std_ok = abs(ratio - 1.0) <= STD_RTOL
    text = f"std {_num(std)} (target {_num(target.std)})"
    if not std_ok:
        text += f": {_ratio_text(std, target.std)}"
    report.line(std_ok, text, indent=4)

    lo, hi = target.bounds
    if math.isfinite(lo):
        eps = 1e-9 * max(abs(lo), abs(hi))
        inside = float(sample.min()) >= lo - eps and float(sample.max()) <= hi + eps
        report.line(
            inside,
            f"values within [{_num(lo)}, {_num(hi)}] (yours: [{_num(float(sample.min()))}, "
            f"{_num(float(sample.max()))}])",
            indent=4,
        )
        if not inside and target.kind == "truncated_normal" and std_ok:
            report.hint(
                f"values beyond ±{target.cutoff:g}σ must be redrawn: a truncated normal "
                "has no values outside its bounds."
            )
    p = float(_stats.kstest(sample, target.scipy().cdf).pvalue)
    ks_ok = p >= KS_ALPHA
    report.line(ks_ok, f"KS test against {target}: p = {p:.4f}", indent=4)
    if not ks_ok and mean_ok and std_ok:
        fam = _best_shape_family(sample - mean)
        if fam != target.kind:
            report.hint(
                f"mean and std are right but the shape of the distribution is not: the scheme "
                f"draws from a {_kind_name(target.kind)} distribution, yours looks "
                f"{_kind_name(fam)}."
            )
    return std


def _diagnose_std(report, scheme, shapes, targets, stds, layout, kwargs) -> None:
    """Compare the measured stds with the stds the typical mistakes would give."""
    expected = [t.std for t in targets]
    if all(abs(m / e - 1.0) <= STD_RTOL for m, e in zip(stds, expected, strict=True)):
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
    best, best_err = None, math.inf
    for text, cand in candidates:
        if all(abs(c / e - 1.0) <= DIAGNOSE_RTOL for c, e in zip(cand, expected, strict=True)):
            continue  # this mistake is invisible on these shapes
        errs = [abs(m / c - 1.0) for m, c in zip(stds, cand, strict=True)]
        if max(errs) <= DIAGNOSE_RTOL and max(errs) < best_err:
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
    for shape in shapes:
        ok, out = _call_student(report, fn, shape)
        if not ok:
            return report.verdict("your fan computation")
        expected = _fans(shape, layout)
        try:
            got = tuple(float(v) for v in out)
        except (TypeError, ValueError):
            report.line(False, f"{shape}: returned {out!r}, expected a pair (fan_in, fan_out)")
            report.hint("return a tuple of two numbers: return fan_in, fan_out")
            continue
        if len(got) != 2:
            report.line(False, f"{shape}: returned {len(got)} values, expected (fan_in, fan_out)")
            report.hint("return a tuple of two numbers: return fan_in, fan_out")
            continue
        ok = got == tuple(float(e) for e in expected)
        shown = tuple(int(v) if float(v).is_integer() else v for v in got)
        report.line(ok, f"{shape}: yours {shown}, expected {expected}")
        if ok:
            continue
        k = math.prod(shape[2:]) if layout == "torch" else math.prod(shape[:-2])
        if got == (float(expected[1]), float(expected[0])):
            report.hint(
                "fan_in and fan_out are swapped: in the "
                + (
                    "torch layout the shape is (C_out, C_in, kh, kw), so C_in is shape[1]."
                    if layout == "torch"
                    else "keras layout the shape is (kh, kw, C_in, C_out), so C_in is shape[-2]."
                )
            )
        elif k > 1 and got == (expected[0] / k, expected[1] / k):
            report.hint(
                "for a conv kernel multiply the channels by the kernel area: "
                "fan_in = C_in·kh·kw, fan_out = C_out·kh·kw."
            )
        elif got == tuple(float(v) for v in _fans(shape, other_layout)):
            report.hint(
                f"you read the shape in the {other_layout} layout; this check uses the "
                f"{layout} layout."
            )
    return report.verdict("your fan computation")


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
def check_value(value, expected, *, name, rel_tol=0.05) -> bool:
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
    report.line(ok, f"{name} = {_num(v)} (expected {_num(expected)}, tolerance {rel_tol:.0%})")
    if not ok and expected > 0 and v > 0 and abs(expected - 1.0) > 2 * rel_tol:
        if abs(v * v / expected - 1.0) <= rel_tol:
            report.hint(
                f"{name} looks like the square root of the expected value: a std instead of a variance?"
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
