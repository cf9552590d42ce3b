"""The kinds of hidden test an exercise can have, and how each judges the outputs.

A hidden test asks the sandbox for calls of one student function (``calls``, with the
input arrays of ``inputs``) and judges what came back (``judge``). The expected
answers are computed here, outside the sandbox, from the library (the instructor's
reference), so the student's process never sees them. ``judge`` receives only calls
that returned normally; exceptions, time-outs and stubs are turned into verdicts by
the grader before, except the exception of a call marked ``"expect_error": True`` (an
invalid input that must raise), which reaches ``judge`` as an outcome with ``status``
``"error"``, ``type`` and ``message``.

Every judge reports ONE problem per function: the first thing that is wrong, with the
diagnosis of the typical mistake it matches when there is one (the std, or value,
that mistake produces is computed and compared).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as _stats
from weightinit import conv as _conv
from weightinit import initializers as _init
from weightinit.checks import _best_shape_family
from weightinit.fans import fans as _fans

#: Values the Kolmogorov-Smirnov test uses (of the draws of one shape).
KS_DRAWS = 20_000

NO_RETURN = (
    "your function returned None: did you forget the `return` statement "
    "(or return inside a loop that never runs)?"
)


@dataclass
class Judgement:
    """The outcome of one hidden test: correct or not, and the feedback lines."""

    correct: bool
    lines: list[str]


def _num(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.4g}"


def returned(outcome: dict, arrays: dict, key: str):
    """The returned value as an array, or a sentence saying why there is none."""
    kind = outcome.get("kind")
    if kind == "none":
        return None, NO_RETURN
    if kind != "array" or key not in arrays:
        return None, (
            f"your function returned a {outcome.get('type', '?')} "
            f"({outcome.get('repr', '')}), not numbers"
        )
    arr = arrays[key]
    if arr.dtype.kind == "b":
        return None, "your function returned booleans, not numbers"
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        return None, "your function returned NaN or infinite values"
    return arr, ""


def _best(candidates, measured, expected, rtol):
    """The candidate mistake that explains every measured value (closest first)."""
    best, best_err = None, math.inf
    for text, values in candidates:
        if all(
            abs(c - e) <= rtol * max(abs(e), 1e-12) for c, e in zip(values, expected, strict=False)
        ):
            continue  # this mistake is invisible on these inputs
        errs = [abs(m - c) / max(abs(c), 1e-12) for m, c in zip(measured, values, strict=False)]
        if max(errs) <= rtol and max(errs) < best_err:
            best, best_err = text, max(errs)
    return best


# --------------------------------------------------------------------------- initializers
#: Hidden shapes (PyTorch layout): 5×5 and non-square kernels, 3-D and 5-D weights, dense.
INIT_SHAPES = ((64, 32, 5, 5), (48, 24, 3, 5), (40, 20, 7), (16, 8, 3, 3, 3), (300, 200))


@dataclass
class InitializerTest:
    """An initializer ``fn(shape, rng)`` against ``distribution(scheme, shape, **kwargs)``.

    ``draws`` values per shape (fresh seeds): with 100,000 the standard error of the
    measured std is ≈ 0.22 % (normal; less for a uniform), so the tolerance
    ``std_rtol`` = 1.5 % is ≥ 6 standard errors, and the typical mistakes (≥ 5 % off)
    are far outside it. The leaky-He test uses 200,000 draws and 1 %: its mistake,
    plain He, is 2 % off, ≥ 12 standard errors.
    """

    function: str
    scheme: str
    kwargs: dict = field(default_factory=dict)
    shapes: tuple = INIT_SHAPES
    draws: int = 100_000
    seed: int = 9001
    std_rtol: float = 0.015
    #: extra typical mistakes: (hint, std_of(shape) -> std the mistake gives)
    mistakes: list = field(default_factory=list)

    def target(self, shape, **over):
        return _init.distribution(self.scheme, tuple(shape), **(self.kwargs | over))

    def _ncalls(self, shape):
        return max(2, math.ceil(self.draws / math.prod(shape)))

    def calls(self):
        out = []
        for i, shape in enumerate(self.shapes):
            base = self.seed + 1000 * i
            for j in range(self._ncalls(shape)):
                out.append(self._call(f"{i}:{j}", shape, base + j))
            out.append(self._call(f"{i}:again", shape, base))
        return out

    def _call(self, tag, shape, seed):
        key = f"{self.function}:{tag}"
        return {"key": key, "fn": self.function, "args": [tuple(shape), {"$rng": seed}]}

    def inputs(self):
        return {}

    def _candidates(self):
        t = [self.target(s).std for s in self.shapes]
        c = [
            (
                "your std is the target *variance*: take the square root, std = sqrt(Var(w)).",
                [v * v for v in t],
            ),
            (
                "your std is off by a factor √2: check the numerator of Var(w) (He 2, LeCun 1) "
                "and Glorot's denominator fan_in + fan_out.",
                [v * math.sqrt(2) for v in t],
            ),
            (
                "your std is off by a factor √2: check the numerator of Var(w) (He 2, LeCun 1) "
                "and Glorot's denominator fan_in + fan_out.",
                [v / math.sqrt(2) for v in t],
            ),
            (
                "your weights have std 1: multiply the standard normal draws by the target std.",
                [1.0] * len(t),
            ),
            (
                "your weights look like U(-1, 1): scale the interval to the scheme's limit.",
                [1 / math.sqrt(3)] * len(t),
            ),
            (
                "fan_in and fan_out are swapped: in the PyTorch layout (C_out, C_in, ...) the "
                "input channels are shape[1].",
                [self.target(_swap(s)).std for s in self.shapes],
            ),
            (
                "your fan ignores the kernel: for a conv weight fan_in = C_in × (product of every "
                "dimension after the first two).",
                [self.target(s[:2]).std for s in self.shapes],
            ),
            (
                "your fan assumes a 3×3 kernel: compute the kernel area from the shape "
                "(the product of every dimension after the first two).",
                [self.target((*s[:2], 3, 3)).std for s in self.shapes],
            ),
            (
                "your kernel area uses only shape[2] × shape[3]: a weight can have 1 or 3 "
                "kernel dimensions; multiply every dimension after the first two.",
                [self.target(s[:4] if len(s) > 4 else s).std for s in self.shapes],
            ),
            (
                "you read the shape in the Keras layout (kh, kw, C_in, C_out); these "
                "exercises use PyTorch's (C_out, C_in, kh, kw).",
                [self.target(s, layout="keras").std for s in self.shapes],
            ),
            (
                "your std is √3 times too large: for U(-a, a) the std is a/√3, so the limit "
                "is a = √3·std (or you used the std's formula as the limit's).",
                [v * math.sqrt(3) for v in t],
            ),
        ]
        if self.target(self.shapes[0]).kind == "uniform":
            c.append(
                (
                    "your values look like U(-sqrt(v), sqrt(v)) with v the target variance: the "
                    "limit of a uniform with variance v is sqrt(3v).",
                    [v / math.sqrt(3) for v in t],
                )
            )
        c += [(text, [f(s) for s in self.shapes]) for text, f in self.mistakes]
        return c  # fmt: skip

    def judge(self, outcomes, arrays) -> Judgement:
        lines: list[str] = []
        stds, targets = [], []
        for i, shape in enumerate(self.shapes):
            shape = tuple(shape)
            parts = []
            keys = [f"{self.function}:{i}:{j}" for j in range(self._ncalls(shape))]
            keys.append(f"{self.function}:{i}:again")
            for key in keys:
                arr, why = returned(outcomes[key], arrays, key)
                if arr is None:
                    return Judgement(False, [f"shape {shape}: {why}"])
                if arr.shape != shape:
                    return Judgement(False, [
                        f"shape {shape}: you returned an array of shape {arr.shape}; return "
                        "exactly the shape you are given (size=shape)."])  # fmt: skip
                parts.append(arr)
            target = self.target(shape)
            if np.all(parts[0] == parts[0].flat[0]) and target.kind != "constant":
                return Judgement(False, [
                    f"shape {shape}: every entry equals {_num(float(parts[0].flat[0]))}; draw "
                    "random weights with the generator you are given."])  # fmt: skip
            if not np.array_equal(parts[0], parts[-1]):
                return Judgement(False, [
                    f"shape {shape}: the same seed gave different weights: draw with the rng "
                    "argument, not with np.random.* (the global state)."])  # fmt: skip
            if np.array_equal(parts[0], parts[1]):
                return Judgement(False, [
                    f"shape {shape}: two different generators gave the same weights: use the "
                    "rng argument instead of creating your own generator."])  # fmt: skip
            sample = np.concatenate([p.ravel() for p in parts[:-1]])
            mean, std = float(sample.mean()), float(sample.std())
            tol = max(6.0 * max(std, target.std) / math.sqrt(sample.size), 0.02 * target.std)
            if abs(mean - target.loc) > tol:
                return Judgement(False, [
                    f"shape {shape}: mean {_num(mean)}, expected {target.loc:g}: centre the "
                    "weights (U(-a, a), not U(0, a); a normal with loc=0)."])  # fmt: skip
            stds.append(std)
            targets.append(target.std)
            lo, hi = target.bounds
            if math.isfinite(lo):
                eps = 1e-9 * max(abs(lo), abs(hi))
                if sample.min() < lo - eps or sample.max() > hi + eps:
                    fam = _best_shape_family(sample[:KS_DRAWS] - mean)
                    looks = "" if fam == target.kind else (
                        f"; the scheme draws from a {target.kind.replace('_', ' ')} "
                        f"distribution, yours looks {fam.replace('_', ' ')}")  # fmt: skip
                    lines.append(
                        f"shape {shape}: values outside [{_num(lo)}, {_num(hi)}] (yours "
                        f"[{_num(float(sample.min()))}, {_num(float(sample.max()))}]){looks}"
                    )
            if abs(std / target.std - 1) <= self.std_rtol and not lines:
                p = float(_stats.kstest(sample[:KS_DRAWS], target.scipy().cdf).pvalue)
                if p < 1e-4:
                    fam = _best_shape_family(sample - mean)
                    lines.append(
                        f"shape {shape}: mean and std are right but the distribution is not "
                        f"{target.kind.replace('_', ' ')} (KS p = {p:.1e}); yours looks "
                        f"{fam.replace('_', ' ')}."
                    )
        wrong = [
            (s, m, t)
            for s, m, t in zip(self.shapes, stds, targets, strict=True)
            if abs(m / t - 1) > self.std_rtol
        ]
        if wrong:
            s, m, t = wrong[0]
            head = (
                f"std wrong on {len(wrong)} of {len(self.shapes)} shapes, e.g. {tuple(s)}: "
                f"{_num(m)}, expected {_num(t)} (×{m / t:.3f})"
            )
            hint = _best(self._candidates(), stds, targets, self.std_rtol)
            return Judgement(False, [head] + ([f"→ {hint}"] if hint else [
                "→ recompute Var(w) from the fans of each shape; std = sqrt(Var(w))."]))  # fmt: skip
        if lines:
            return Judgement(False, lines[:1])
        shown = ", ".join(str(tuple(s)) for s in self.shapes)
        return Judgement(True, [f"right distribution on {shown}"])


def _swap(shape):
    return (shape[1], shape[0], *shape[2:])


# --------------------------------------------------------------------------- conv2d
@dataclass
class ConvTest:
    """A stride-1, unpadded cross-correlation ``fn(x, w)`` against ``weightinit.conv.conv2d``."""

    function: str
    #: (x shape, w shape): 5×5, non-square, 1×1 kernels, kernel as large as the input
    cases: tuple = (
        ((2, 3, 9, 8), (4, 3, 5, 5)),
        ((3, 2, 7, 10), (5, 2, 2, 4)),
        ((1, 1, 6, 6), (2, 1, 1, 1)),
        ((2, 4, 5, 5), (3, 4, 5, 5)),
        ((4, 3, 12, 11), (6, 3, 3, 3)),
    )
    seed: int = 77

    def inputs(self):
        rng = np.random.default_rng(self.seed)
        out = {}
        for i, (xs, ws) in enumerate(self.cases):
            out[f"x{i}"] = np.round(rng.normal(size=xs), 3)
            out[f"w{i}"] = np.round(rng.normal(size=ws), 3)
        return out

    def calls(self):
        return [
            {"key": f"{self.function}:{i}", "fn": self.function,
             "args": [{"$array": f"x{i}"}, {"$array": f"w{i}"}]}
            for i in range(len(self.cases))
        ]  # fmt: skip

    def judge(self, outcomes, arrays) -> Judgement:
        inputs = self.inputs()
        for i, (xs, ws) in enumerate(self.cases):
            key = f"{self.function}:{i}"
            y, why = returned(outcomes[key], arrays, key)
            case = f"x {xs}, w {ws}"
            if y is None:
                return Judgement(False, [f"{case}: {why}"])
            x, w = inputs[f"x{i}"], inputs[f"w{i}"]
            expected = _conv.conv2d(x, w)
            if y.shape != expected.shape:
                hint = "the output has shape (N, C_out, H - kh + 1, W - kw + 1)."
                (h, wd), (kh, kw) = xs[2:], ws[2:]
                if y.shape == (xs[0], ws[0], h + kh - 1, wd + kw - 1):
                    hint = "you computed a 'full' convolution; keep only positions where the kernel fits."
                elif y.shape == (xs[0], ws[0], h - kw + 1, wd - kh + 1):
                    hint = "you swapped kh and kw: the kernel is w[f, c, :kh, :kw]."
                elif y.shape == (xs[0], ws[0], h - 2, wd - 2):
                    hint = "your output size assumes a 3×3 kernel: read kh, kw from w.shape."
                return Judgement(False, [
                    f"{case}: output shape {y.shape}, expected {expected.shape}", f"→ {hint}"])  # fmt: skip
            if np.allclose(y, expected, rtol=1e-6, atol=1e-8):
                continue
            err = float(np.max(np.abs(y - expected)))
            hint = ("compare one output pixel by hand: y[n, f, i, j] = sum over c, p, q of "
                    "w[f, c, p, q] · x[n, c, i + p, j + q].")  # fmt: skip
            if np.allclose(y, _conv.conv2d(x, w[:, :, ::-1, ::-1]), rtol=1e-6, atol=1e-8):
                hint = ("you flipped the kernel (the convolution of mathematics); deep learning's "
                        "is the cross-correlation, without flipping.")  # fmt: skip
            elif np.allclose(y[:1], expected[:1], rtol=1e-6, atol=1e-8) and xs[0] > 1:
                hint = "the first sample is right but not the others: loop over the whole batch."
            elif np.allclose(y, _conv.conv2d(x[:, :1], w[:, :1]), rtol=1e-6, atol=1e-8):
                hint = "you used only the first input channel: sum over every input channel c."
            return Judgement(
                False, [f"{case}: values wrong (max abs error {err:.3g})", f"→ {hint}"]
            )
        return Judgement(True, [f"matches conv2d on {len(self.cases)} hidden cases "
                                "(5×5, non-square, 1×1 and input-sized kernels)"])  # fmt: skip


# --------------------------------------------------------------------------- fans
@dataclass
class FansTest:
    """``fn(shape) -> (fan_in, fan_out)`` in the PyTorch layout."""

    function: str
    shapes: tuple = ((1, 1), (10, 784), (7, 3, 5, 5), (6, 2, 5, 3), (8, 4, 1, 1),
                     (12, 5, 7), (4, 3, 2, 3, 4))  # fmt: skip

    def inputs(self):
        return {}

    def calls(self):
        return [{"key": f"{self.function}:{i}", "fn": self.function, "args": [tuple(s)]}
                for i, s in enumerate(self.shapes)]  # fmt: skip

    def judge(self, outcomes, arrays) -> Judgement:
        answers = []
        for i, shape in enumerate(self.shapes):
            key = f"{self.function}:{i}"
            got, why = returned(outcomes[key], arrays, key)
            if got is None:
                return Judgement(False, [f"{shape}: {why}"])
            if got.shape != (2,):
                return Judgement(False, [f"{shape}: returned {got.size} value(s), expected the "
                                         "pair (fan_in, fan_out)"])  # fmt: skip
            answers.append(tuple(float(v) for v in got))
        expected = [tuple(float(v) for v in _fans(s)) for s in self.shapes]
        wrong = [i for i, (a, e) in enumerate(zip(answers, expected, strict=True)) if a != e]
        if not wrong:
            return Judgement(True, [f"right on {len(self.shapes)} hidden shapes "
                                    "(dense, 3-D, 4-D, 5-D)"])  # fmt: skip
        # one mistake, one problem: the typical mistake that explains EVERY answer
        hint = "fan_in = C_in × kernel size, fan_out = C_out × kernel size (PyTorch layout)."
        for text, rule in self._mistakes():
            pairs = zip(answers, self.shapes, strict=True)
            if all(a == tuple(float(v) for v in rule(s)) for a, s in pairs):
                hint = text
                break
        i = wrong[0]
        return Judgement(False, [
            f"wrong on {len(wrong)} of {len(self.shapes)} shapes, e.g. {self.shapes[i]}: yours "
            f"{answers[i]}, expected {expected[i]}", f"→ {hint}"])  # fmt: skip

    @staticmethod
    def _mistakes():
        def k(s):
            return math.prod(s[2:])

        return [
            ("fan_in and fan_out are swapped: C_in is shape[1], C_out is shape[0].",
             lambda s: _fans(s)[::-1]),
            ("multiply the channels by the kernel size (every dimension after the first two).",
             lambda s: (s[1], s[0])),
            ("your kernel size is fixed at 3×3: compute it from the shape.",
             lambda s: (s[1] * 9, s[0] * 9) if len(s) > 2 else (s[1], s[0])),
            ("your kernel size uses only shape[2] and shape[3]; multiply every dimension after "
             "the first two.", lambda s: _fans(s[:4]) if len(s) > 4 else _fans(s)),
            ("you read the shape in the Keras layout (…, C_in, C_out); this exercise uses "
             "PyTorch's (C_out, C_in, …).", lambda s: _fans(s, "keras")),
            ("your kernel size is counted twice or squared: fan_in = C_in × kernel size.",
             lambda s: (s[1] * k(s) ** 2, s[0] * k(s) ** 2)),
        ]  # fmt: skip


# --------------------------------------------------------------------------- numbers
@dataclass
class ValueTest:
    """A function returning one number, against a reference, with typical mistakes.

    ``cases``: list of ``(args, kwargs, optional)``; ``reference(args, kwargs) -> float``;
    ``mistakes``: ``(hint, value(args, kwargs) -> float)``; ``inputs``: arrays the
    ``args`` refer to as ``{"$array": name}`` (the judge gets the same arrays back).
    """

    function: str
    cases: list
    reference: object
    rtol: float
    mistakes: list = field(default_factory=list)
    arrays: dict = field(default_factory=dict)

    def inputs(self):
        return dict(self.arrays)

    def calls(self):
        return [
            {"key": f"{self.function}:{i}", "fn": self.function, "args": list(a),
             "kwargs": dict(k), "optional": dict(o)}
            for i, (a, k, o) in enumerate(self.cases)
        ]  # fmt: skip

    def _resolve(self, value):
        if isinstance(value, dict) and "$array" in value:
            return self.arrays[value["$array"]]
        return value

    def _show(self, args, kwargs):
        def show(v):
            if isinstance(v, dict) and "$array" in v:
                return f"<array {self.arrays[v['$array']].shape}>"
            return repr(v)

        return ", ".join([show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()])

    def judge(self, outcomes, arrays) -> Judgement:
        got, exp, resolved = [], [], []
        for i, (a, k, o) in enumerate(self.cases):
            key = f"{self.function}:{i}"
            arr, why = returned(outcomes[key], arrays, key)
            call = f"{self.function}({self._show(a, k | o)})"
            if arr is None:
                return Judgement(False, [f"{call}: {why}"])
            if arr.size != 1:
                return Judgement(False, [f"{call}: returned {arr.size} numbers, expected one"])
            args = [self._resolve(v) for v in a]
            kw = {n: self._resolve(v) for n, v in (k | o).items()}
            got.append(float(arr.reshape(())))
            exp.append(float(self.reference(args, kw)))
            resolved.append((args, kw))
        bad = [
            i
            for i, (g, e) in enumerate(zip(got, exp, strict=False))
            if abs(g - e) > self.rtol * max(abs(e), 1e-12)
        ]
        if not bad:
            return Judgement(True, [f"right on {len(self.cases)} hidden cases"])
        i = bad[0]
        a, k, o = self.cases[i]
        call = f"{self.function}({self._show(a, k | o)})"
        cands = [(t, [f(*r) for r in resolved]) for t, f in self.mistakes]
        hint = _best(cands, got, exp, self.rtol)
        lines = [f"wrong on {len(bad)} of {len(self.cases)} cases, e.g. {call} = "
                 f"{_num(got[i])}, expected {_num(exp[i])} (tolerance {self.rtol:.1%})"]  # fmt: skip
        return Judgement(False, [*lines, f"→ {hint}"] if hint else lines)


# --------------------------------------------------------------------------- structured kernels
@dataclass
class DeltaOrthogonalTest:
    """A delta-orthogonal kernel ``fn(shape, rng)``: ``(out, in, kh, kw)`` with an ``out × in``
    matrix ``H`` of orthonormal columns at the centre tap ``[kh // 2, kw // 2]``, drawn
    uniformly (Haar), and exact zeros at every other tap; ``ValueError`` when out < in.

    Deterministic properties, on every shape of ``shapes`` (5×5, non-square, 1 input channel):
    the exact shape; ``HᵀH = I`` within ``atol`` (a float32 kernel, a scaled matrix, the
    triangular factor R, normalized columns that are not orthogonal, PyTorch's
    ``orthogonal_`` on the flattened kernel fail it, each with its diagnosis); every other tap exactly 0; ``H`` dense
    (> ``min_density`` non-zero: the identity/Dirac kernel or a permutation fail it); the same
    seed gives the same kernel also after thousands of other calls (so ``np.random.*``,
    the global state, fails) and another seed another kernel.

    The distribution, over ``haar_draws`` seeds on ``haar_shape`` (out = 16, in = 4): under
    the Haar measure every entry has ``E[H_ij²] = 1/out``; the entry's square has sd 0.081
    (a Beta(1/2, 15/2) variable), so with 2000 seeds the standard error of each of the 64
    means is 0.0018 and the tolerance ``m2_tol`` = 0.01 is 5.5 standard errors (a matrix
    orthogonalized from near the identity, or a Householder reflection, has diagonal
    second moments far above 1/16). The sign test pools the diagonal entries ``H_jj``, one
    per column: a Haar matrix times a diagonal ±1 matrix is Haar, so these signs are
    independent fair coins, 8000 of them, standard error 0.0056, and the tolerance
    ``sign_tol`` = 0.03 is 5.4 standard errors. QR without the sign fix gives
    ``P(H_00 > 0) = 0`` with LAPACK (and ≈ 0.06–0.1 for the other diagonal entries).
    """

    function: str
    shapes: tuple = ((16, 8, 3, 3), (8, 8, 5, 5), (32, 3, 3, 3), (4, 1, 3, 3), (8, 4, 3, 5))
    invalid: tuple = (8, 16, 3, 3)
    haar_shape: tuple = (16, 4, 3, 3)
    haar_draws: int = 2000
    seed: int = 9101
    atol: float = 1e-10
    min_density: float = 0.9
    m2_tol: float = 0.01
    sign_tol: float = 0.03

    def inputs(self):
        return {}

    def _call(self, tag, shape, seed, **extra):
        key = f"{self.function}:{tag}"
        return {"key": key, "fn": self.function, "args": [tuple(shape), {"$rng": seed}]} | extra

    def calls(self):
        out = []
        for i, shape in enumerate(self.shapes):
            out += [self._call(f"{i}:0", shape, self.seed + 10 * i),
                    self._call(f"{i}:1", shape, self.seed + 10 * i + 1)]  # fmt: skip
        out += [self._call(f"haar:{k}", self.haar_shape, self.seed + 100_000 + k)
                for k in range(self.haar_draws)]  # fmt: skip
        # the same seeds again, after thousands of calls: the global state has moved on
        out += [self._call(f"{i}:again", s, self.seed + 10 * i) for i, s in enumerate(self.shapes)]
        out.append(self._call("invalid", self.invalid, self.seed - 1, expect_error=True))
        return out

    @staticmethod
    def _centre(shape):
        return shape[2] // 2, shape[3] // 2

    def _structure(self, shape, w, dtype) -> str | None:
        """The first structural problem of one kernel, or None."""
        out, cin, kh, kw = shape
        c = self._centre(shape)
        h = w[:, :, c[0], c[1]]
        mass = np.abs(w).sum(axis=(0, 1))
        used = [tuple(int(v) for v in t) for t in np.argwhere(mass > 0)]
        eye = np.eye(cin)

        def orthonormal_columns(m, tol):
            return float(np.abs(m.T @ m - np.eye(m.shape[1])).max()) <= tol

        if len(used) == 1 and used[0] != c:
            p, q = used[0]
            hint = ""
            if (p, q) == (kh // 2, kh // 2) or (p, q) == (kw // 2, kw // 2):
                hint = " (the kernel is not square: the row is kh // 2, the column kw // 2)"
            elif (p, q) == (0, 0):
                hint = " ([0, 0] is the corner, not the centre)"
            return (f"shape {shape}: your matrix is at tap [{p}, {q}]; the centre tap is "
                    f"[{c[0]}, {c[1]}] = [kh // 2, kw // 2]{hint}.")  # fmt: skip
        if not used:
            return f"shape {shape}: your kernel is all zeros; put the orthogonal matrix at the centre tap."
        if len(used) == kh * kw > 1 and all(np.array_equal(w[:, :, p, q], h) for p, q in used):
            return (f"shape {shape}: the matrix is at every one of the {kh * kw} taps; only the "
                    f"centre tap [{c[0]}, {c[1]}] holds it, every other tap is exactly 0.")  # fmt: skip
        gram = h.T @ h
        err = float(np.abs(gram - eye).max())
        if err > self.atol:
            head = (f"shape {shape}: the centre matrix H ({out} × {cin}) does not have "
                    f"orthonormal columns: max |HᵀH − I| = {err:.2g}")  # fmt: skip
            flat = w.reshape(out, -1)
            if dtype in ("float32", "float16") and err < 1e-3:
                why = (f"your kernel is {dtype}, whose rounding alone gives this error: return "
                       "float64 (np.zeros(shape) is float64).")  # fmt: skip
            elif len(used) > 1 and (orthonormal_columns(flat.T, 1e-8)
                                    or orthonormal_columns(flat, 1e-8)):  # fmt: skip
                why = ("your whole kernel, flattened to (out, in·kh·kw), is one orthogonal "
                       "matrix (PyTorch's orthogonal_): delta-orthogonal puts an out × in "
                       "orthogonal matrix at the centre tap and zeros elsewhere.")  # fmt: skip
            elif (
                np.abs(gram - np.diag(np.diag(gram))).max() <= 1e-8
                and np.ptp(np.diag(gram)) <= 1e-8
            ):
                s = math.sqrt(max(float(gram[0, 0]), 0.0))
                why = (f"the columns are orthogonal but have length {s:.4g}, not 1: do not scale "
                       "Q (no gain, no std).")  # fmt: skip
            elif np.abs(np.diag(gram) - 1).max() <= 1e-8:
                why = ("the columns have length 1 but are not orthogonal to each other: "
                       "orthogonalize a Gaussian matrix with np.linalg.qr.")  # fmt: skip
            elif out > 1 and cin > 1 and np.abs(np.tril(h, -1)).max() == 0:
                why = ("H is upper triangular: you placed R, the triangular factor of the QR "
                       "decomposition; Q is the one with orthonormal columns.")  # fmt: skip
            else:
                why = ("draw an out × in Gaussian matrix and take Q of its reduced QR "
                       "decomposition: Q has orthonormal columns.")  # fmt: skip
            return f"{head}\n→ {why}"
        off = [t for t in used if t != c]
        if off:
            shown = ", ".join(f"[{p}, {q}]" for p, q in off[:3])
            return (f"shape {shape}: taps other than the centre [{c[0]}, {c[1]}] are not zero "
                    f"({len(off)} of them, e.g. {shown}): every other tap must be exactly 0.")  # fmt: skip
        density = float(np.mean(h != 0))
        if density <= self.min_density:
            what = ("the identity (a Dirac kernel)" if np.array_equal(np.abs(h), np.eye(out, cin))
                    else "a permutation-like matrix")  # fmt: skip
            return (f"shape {shape}: only {density:.0%} of the centre matrix is non-zero: it is "
                    f"{what}, not a random orthogonal matrix; take Q of the QR decomposition of "
                    "a Gaussian matrix drawn with rng.")  # fmt: skip
        return None

    def judge(self, outcomes, arrays) -> Judgement:
        name = self.function
        for i, shape in enumerate(self.shapes):
            shape = tuple(shape)
            parts = []
            for tag in ("0", "1", "again"):
                key = f"{name}:{i}:{tag}"
                arr, why = returned(outcomes[key], arrays, key)
                if arr is None:
                    return Judgement(False, [f"shape {shape}: {why}"])
                if arr.shape != shape:
                    return Judgement(False, [
                        f"shape {shape}: you returned an array of shape {arr.shape}; return the "
                        "whole kernel, exactly the shape you are given."])  # fmt: skip
                parts.append(arr)
            problem = self._structure(shape, parts[0], outcomes[f"{name}:{i}:0"].get("dtype"))
            if problem:
                return Judgement(False, problem.split("\n"))
            if not np.array_equal(parts[0], parts[2]):
                return Judgement(False, [
                    f"shape {shape}: the same seed gave different kernels: draw with the rng "
                    "argument, not with np.random.* (the global state)."])  # fmt: skip
            if np.array_equal(parts[0], parts[1]):
                return Judgement(False, [
                    f"shape {shape}: two different generators gave the same kernel: draw with "
                    "the rng argument instead of creating your own generator."])  # fmt: skip
        # the distribution of H over many seeds
        hs = []
        c = self._centre(self.haar_shape)
        for k in range(self.haar_draws):
            key = f"{name}:haar:{k}"
            arr, why = returned(outcomes[key], arrays, key)
            if arr is None or arr.shape != tuple(self.haar_shape):
                got = why or f"an array of shape {arr.shape}"
                return Judgement(False, [f"shape {tuple(self.haar_shape)}: {got}"])
            hs.append(arr[:, :, c[0], c[1]])
        h = np.stack(hs)
        out, cin = h.shape[1:]
        err = float(np.abs(np.einsum("kij,kil->kjl", h, h) - np.eye(cin)).max())
        if err > self.atol:
            return Judgement(False, [f"shape {tuple(self.haar_shape)}: HᵀH ≠ I for some seeds "
                                     f"(max |HᵀH − I| = {err:.2g})."])  # fmt: skip
        m2 = (h**2).mean(axis=0)
        dev = np.abs(m2 - 1 / out)
        n = self.haar_draws
        if dev.max() > self.m2_tol:
            i, j = np.unravel_index(int(dev.argmax()), dev.shape)
            diag = float(np.mean([m2[d, d] for d in range(cin)]))
            lines = [f"H is not uniformly distributed: over {n} seeds the mean of H[{i}, {j}]² is "
                     f"{m2[i, j]:.3f}, expected 1/out = {1 / out:.4f} for every entry "
                     f"(tolerance {self.m2_tol})"]  # fmt: skip
            if diag > 1 / out + self.m2_tol:
                lines.append(f"→ the diagonal entries are too large (mean H[j, j]² = {diag:.3f}): "
                             "your matrix is close to the identity (a perturbed identity, a "
                             "reflection I − 2vvᵀ); orthogonalize a Gaussian matrix instead.")  # fmt: skip
            else:
                lines.append("→ take Q of the QR decomposition of a matrix of independent "
                             "standard normal entries (rng.standard_normal((out, in))).")  # fmt: skip
            return Judgement(False, lines)
        diag_pos = h[:, np.arange(cin), np.arange(cin)] > 0
        p00, pdiag = float(diag_pos[:, 0].mean()), float(diag_pos.mean())
        if abs(pdiag - 0.5) > self.sign_tol:
            return Judgement(False, [
                f"H is not uniformly distributed: P(H[0, 0] > 0) = {p00:.3f} over {n} seeds and "
                f"P(H[j, j] > 0) = {pdiag:.3f} over the diagonal, expected 0.5 (tolerance "
                f"{self.sign_tol})",
                "→ multiply each column of Q by the sign of the matching diagonal entry of R "
                "(q * np.sign(np.diag(r))): without it the signs follow LAPACK's convention."])  # fmt: skip
        # out < in must be refused
        bad = outcomes[f"{name}:invalid"]
        shown = tuple(self.invalid)
        if bad.get("status") == "ok":
            return Judgement(False, [
                f"shape {shown} (out < in): you returned a {bad.get('type', 'value')}; no "
                f"{shown[0]} × {shown[1]} matrix has orthonormal columns: raise ValueError "
                "saying that out must be at least in."])  # fmt: skip
        if bad.get("type") != "ValueError":
            return Judgement(False, [
                f"shape {shown} (out < in): your function raised {bad.get('type')}: "
                f"{bad.get('message', '')}; raise ValueError (out must be at least in)."])  # fmt: skip
        if "broadcast" in bad.get("message", ""):
            return Judgement(False, [
                f"shape {shown} (out < in): the ValueError came from numpy ("
                f"{bad.get('message', '')[:80]}), not from a check of yours: test out < in "
                "first and raise ValueError naming the shape."])  # fmt: skip
        shown_shapes = ", ".join(str(tuple(s)) for s in self.shapes)
        return Judgement(True, [
            f"orthonormal columns at the centre tap, zeros elsewhere, seeded, on {shown_shapes}; "
            f"uniform over {n} seeds (max |mean H² − 1/out| = {dev.max():.4f}, "
            f"P(H[j, j] > 0) = {pdiag:.3f}); ValueError for {shown}"])  # fmt: skip
