"""The kinds of hidden test an exercise can have, and how each judges the outputs.

A hidden test asks the sandbox for calls of one student function (``calls``, with the
input arrays of ``inputs``) and judges what came back (``judge``). The expected
answers are computed here, outside the sandbox, from the library (the instructor's
reference), so the student's process never sees them. ``judge`` receives only calls
that returned normally; exceptions, time-outs and stubs are turned into verdicts by
the grader before.

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
