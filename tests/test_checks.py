"""Tests for :mod:`weightinit.checks`, the self-checks students call on their code.

Each check must accept correct implementations, written here independently of
the library (plain numpy with the fans computed by hand), and reject each
typical mistake the course warns about with the hint that names it. The printed
feedback is captured with ``capsys`` and the hints are matched by a distinctive
phrase, so a check that fails for the wrong reason also fails its test.
"""

from __future__ import annotations

import doctest
import math
import re

import numpy as np
import pytest
from weightinit import checks
from weightinit.checks import FAIL, PASS, check_conv2d, check_fans, check_initializer, check_value

TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


# --------------------------------------------------------------------------- helpers
def _fans_torch(shape):
    k = math.prod(shape[2:])
    return shape[1] * k, shape[0] * k


def _fans_keras(shape):
    k = math.prod(shape[:-2])
    return shape[-2] * k, shape[-1] * k


def _truncated(rng, std, shape):
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return std * z


def _verdict(out: str) -> str:
    lines = out.strip().splitlines()
    assert lines, "the check printed nothing"
    return lines[-1]


def _run(capsys, check, *args, **kwargs):
    result = check(*args, **kwargs)
    out = capsys.readouterr().out
    assert isinstance(result, bool)
    verdict = _verdict(out)
    assert verdict.startswith(PASS if result else FAIL), out
    return result, out


# --------------------------------------------------------------------------- correct initializers
def he_normal(shape, rng):
    fan_in, _ = _fans_torch(shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def he_uniform(shape, rng):
    fan_in, _ = _fans_torch(shape)
    a = math.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=shape)


def lecun_uniform(shape, rng):
    fan_in, _ = _fans_torch(shape)
    a = math.sqrt(3.0 / fan_in)
    return rng.uniform(-a, a, size=shape)


def lecun_normal(shape, rng):
    fan_in, _ = _fans_torch(shape)
    return math.sqrt(1.0 / fan_in) * rng.standard_normal(shape)


def glorot_uniform(shape, rng):
    fan_in, fan_out = _fans_torch(shape)
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape)


def glorot_normal(shape, rng):
    fan_in, fan_out = _fans_torch(shape)
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_normal_fan_out(shape, rng):
    _, fan_out = _fans_torch(shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_out), size=shape)


def keras_he_normal(shape, rng):
    fan_in, _ = _fans_keras(shape)
    return _truncated(rng, math.sqrt(2.0 / fan_in) / TRUNC_STD, shape)


def keras_glorot_uniform(shape, rng):
    fan_in, fan_out = _fans_keras(shape)
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape)


def zeros(shape, rng):
    return np.zeros(shape)


def glorot_uniform_tanh(shape, rng):
    fan_in, fan_out = _fans_torch(shape)
    a = 5.0 / 3.0 * math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape)


CORRECT = [
    (he_normal, "he_normal", {}, {}),
    (he_normal, "kaiming_normal", {}, {"nonlinearity": "relu"}),
    (he_uniform, "he_uniform", {}, {}),
    (lecun_uniform, "lecun_uniform", {}, {}),
    (lecun_normal, "lecun_normal", {}, {}),
    (glorot_uniform, "glorot_uniform", {}, {}),
    (glorot_normal, "xavier_normal", {}, {}),
    (glorot_uniform_tanh, "glorot_uniform", {}, {"gain": 5.0 / 3.0}),
    (he_normal_fan_out, "he_normal", {}, {"mode": "fan_out"}),
    (keras_he_normal, "keras_he_normal", {"layout": "keras"}, {}),
    (keras_glorot_uniform, "glorot_uniform", {"layout": "keras"}, {}),
    (zeros, "zeros", {}, {}),
    (he_normal, "he_normal", {"shape": (64, 8, 5, 5)}, {}),
    (he_normal, "he_normal", {"shape": (20, 50)}, {}),
    (lecun_uniform, "lecun_uniform", {"seed": 7}, {}),
]


@pytest.mark.parametrize(
    ("fn", "scheme", "opts", "kw"), CORRECT, ids=[f"{c[0].__name__}-{c[1]}" for c in CORRECT]
)
def test_check_initializer_accepts_correct(capsys, fn, scheme, opts, kw):
    ok, out = _run(capsys, check_initializer, fn, scheme, **opts, **kw)
    assert ok, out
    assert "✘" not in out
    assert "→" not in out  # no hint for a correct implementation


def test_check_initializer_accepts_the_library_itself(capsys):
    from weightinit import initializers as wi

    for name in ("glorot_uniform", "he_normal", "lecun_uniform", "torch_default", "caffe_msra"):
        ok, out = _run(capsys, check_initializer, lambda s, r, n=name: wi.get(n)(s, rng=r), name)
        assert ok, out


def test_check_initializer_accepts_truncated_normal(capsys):
    def keras_lecun_normal(shape, rng):
        fan_in, _ = _fans_keras(shape)
        return _truncated(rng, math.sqrt(1.0 / fan_in) / TRUNC_STD, shape)

    ok, out = _run(
        capsys, check_initializer, keras_lecun_normal, "keras_lecun_normal", layout="keras"
    )
    assert ok, out
    assert "truncated at ±2σ" in out


# --------------------------------------------------------------------------- typical mistakes
def variance_as_std(shape, rng):
    fan_in, _ = _fans_torch(shape)
    return rng.normal(0.0, 2.0 / fan_in, size=shape)


def fan_out_instead_of_fan_in(shape, rng):
    _, fan_out = _fans_torch(shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_out), size=shape)


def uniform_limit_sqrt_1_over_n(shape, rng):
    fan_in, _ = _fans_torch(shape)
    a = math.sqrt(1.0 / fan_in)
    return rng.uniform(-a, a, size=shape)


def fan_without_kernel_area(shape, rng):
    fan_in = shape[1]
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def nonzero_mean_uniform(shape, rng):
    fan_in, _ = _fans_torch(shape)
    return rng.uniform(0.0, math.sqrt(3.0 / fan_in), size=shape)


def nonzero_mean_normal(shape, rng):
    fan_in, _ = _fans_torch(shape)
    std = math.sqrt(2.0 / fan_in)
    return rng.normal(std, std, size=shape)


def global_state(shape, rng):
    fan_in, _ = _fans_torch(shape)
    return np.random.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)  # noqa: NPY002


def own_generator(shape, rng):
    fan_in, _ = _fans_torch(shape)
    return np.random.default_rng(0).normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def missing_factor_two(shape, rng):
    fan_in, _ = _fans_torch(shape)
    return rng.normal(0.0, math.sqrt(1.0 / fan_in), size=shape)


def keras_no_truncation_correction(shape, rng):
    fan_in, _ = _fans_keras(shape)
    return _truncated(rng, math.sqrt(2.0 / fan_in), shape)


def keras_not_truncated(shape, rng):
    fan_in, _ = _fans_keras(shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def normal_instead_of_uniform(shape, rng):
    fan_in, fan_out = _fans_torch(shape)
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def transposed_shape(shape, rng):
    return rng.normal(0.0, 0.1, size=(shape[1], shape[0], *shape[2:]))


def unscaled_normal(shape, rng):
    return rng.standard_normal(shape)


def unscaled_uniform(shape, rng):
    return rng.uniform(-1.0, 1.0, size=shape)


def stub(shape, rng):
    raise NotImplementedError("Exercise: write your solution here")


def crashes(shape, rng):
    return rng.normal(0.0, 1.0 / 0.0, size=shape)


def returns_nan(shape, rng):
    return np.full(shape, np.nan)


MISTAKES = [
    (variance_as_std, "he_normal", {}, "did you use the variance as the standard deviation?"),
    (fan_out_instead_of_fan_in, "he_normal", {}, "did you use fan_out instead of fan_in?"),
    (he_normal, "he_normal", {"mode": "fan_out"}, "did you use fan_in instead of fan_out?"),
    (uniform_limit_sqrt_1_over_n, "lecun_uniform", {}, "sqrt(3/n), not sqrt(1/n)"),
    (fan_without_kernel_area, "he_normal", {}, "your fan ignores the kernel area kh·kw"),
    (nonzero_mean_uniform, "lecun_uniform", {}, "your weights have a non-zero mean"),
    (nonzero_mean_normal, "he_normal", {}, "your weights have a non-zero mean"),
    (global_state, "he_normal", {}, "not with np.random.* (the global state)"),
    (own_generator, "he_normal", {}, "instead of creating your own generator"),
    (missing_factor_two, "he_normal", {}, "off by a factor √2"),
    (glorot_uniform, "glorot_uniform", {"gain": math.sqrt(2.0)}, "off by a factor √2"),
    (normal_instead_of_uniform, "glorot_uniform", {}, "yours looks normal"),
    (transposed_shape, "he_normal", {}, "returned shape (16, 32, 3, 3), expected (32, 16, 3, 3)"),
    (stub, "he_normal", {}, "# BEGIN STUB and # END STUB"),
    (zeros, "he_normal", {}, "every entry of your array equals 0"),
    (unscaled_normal, "he_normal", {}, "without multiplying them by the target std"),
    (unscaled_uniform, "glorot_uniform", {}, "your weights look like U(-1, 1)"),
    (crashes, "he_normal", {}, "your function raised ZeroDivisionError"),
    (returns_nan, "he_normal", {}, "contains NaN or infinite values"),
]


@pytest.mark.parametrize(
    ("fn", "scheme", "kw", "message"),
    MISTAKES,
    ids=[f"{m[0].__name__}-{m[1]}-{len(m[2])}" for m in MISTAKES],
)
def test_check_initializer_rejects_typical_mistake(capsys, fn, scheme, kw, message):
    ok, out = _run(capsys, check_initializer, fn, scheme, **kw)
    assert not ok, out
    assert message in out, out


def test_variance_as_std_reports_ratio(capsys):
    # he_normal on (32, 16, 3, 3): std sqrt(2/144) = 0.1179, the variance 2/144 = 0.01389
    _, out = _run(capsys, check_initializer, variance_as_std, "he_normal")
    # the variance 2/144 = 0.0139 is 1/0.1179 = 8.49 times smaller than the std 0.1179
    ratios = [float(r) for r in re.findall(r"(\d+\.\d\d)× too small", out)]
    assert len(ratios) == 2, out
    assert 8.2 < ratios[0] < 8.8, out


def test_kernel_area_mistake_is_right_on_dense_shape(capsys):
    _, out = _run(capsys, check_initializer, fan_without_kernel_area, "he_normal")
    dense_part = out.split("shape (100, 400)")[1]
    conv_part = out.split("shape (100, 400)")[0]
    assert "✘ std" in conv_part
    assert "✘" not in dense_part.split("→")[0]


def test_keras_truncation_mistakes(capsys):
    ok, out = _run(
        capsys, check_initializer, keras_no_truncation_correction, "keras_he_normal", layout="keras"
    )
    assert not ok
    assert "divide the std of the normal by 0.8796" in out
    ok, out = _run(
        capsys, check_initializer, keras_not_truncated, "keras_he_normal", layout="keras"
    )
    assert not ok
    assert "values within" in out and "✘ values within" in out


def test_unscaled_normal_is_not_called_a_shifted_mean(capsys):
    _, out = _run(capsys, check_initializer, unscaled_normal, "he_normal")
    assert "✘ mean" not in out
    assert "non-zero mean" not in out


def test_constant_scheme_rejects_random_weights(capsys):
    ok, out = _run(capsys, check_initializer, he_normal, "zeros")
    assert not ok
    assert "✘ every entry equals 0" in out


def test_stub_is_reported_not_raised(capsys):
    ok, out = _run(capsys, check_initializer, stub, "glorot_uniform")
    assert not ok
    assert "your function raised NotImplementedError: Exercise: write your solution here" in out


def test_feedback_is_deterministic(capsys):
    _, first = _run(capsys, check_initializer, fan_out_instead_of_fan_in, "he_normal")
    _, second = _run(capsys, check_initializer, fan_out_instead_of_fan_in, "he_normal")
    assert first == second


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((he_normal, "no_such_scheme"), {}, "unknown initializer"),
        ((he_normal, "orthogonal"), {}, "does not draw every entry"),
        ((he_normal, "he_normal"), {"bogus": 1}, "bad parameters"),
        ((he_normal, "he_normal"), {"layout": "jax"}, "layout"),
        ((he_normal, "he_normal"), {"shape": (3, 0)}, "positive integer"),
        ((he_normal, "he_normal"), {"shape": (5,)}, "at least 2"),
        ((he_normal, "he_normal"), {"seed": -1}, "seed"),
        (("not a function", "he_normal"), {}, "fn must be"),
    ],
)
def test_check_initializer_bad_arguments_raise(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_initializer(*args, **kwargs)


# --------------------------------------------------------------------------- check_fans
def test_check_fans_accepts_correct(capsys):
    ok, out = _run(capsys, check_fans, _fans_torch)
    assert ok, out
    ok, out = _run(capsys, check_fans, _fans_keras, layout="keras")
    assert ok, out


def test_check_fans_accepts_floats_and_lists(capsys):
    ok, out = _run(capsys, check_fans, lambda s: [float(v) for v in _fans_torch(s)])
    assert ok, out


@pytest.mark.parametrize(
    ("fn", "layout", "message"),
    [
        (lambda s: _fans_torch(s)[::-1], "torch", "fan_in and fan_out are swapped"),
        (lambda s: _fans_keras(s)[::-1], "keras", "C_in is shape[-2]"),
        (lambda s: (s[1], s[0]), "torch", "multiply the channels by the kernel area"),
        (_fans_keras, "torch", "you read the shape in the keras layout"),
        (lambda s: _fans_torch(s)[0], "torch", "expected a pair (fan_in, fan_out)"),
        (lambda s: (*_fans_torch(s), 1), "torch", "returned 3 values"),
        (stub, "torch", "NotImplementedError"),
    ],
    ids=["swapped", "swapped-keras", "no-kernel", "other-layout", "scalar", "triple", "stub"],
)
def test_check_fans_rejects_mistakes(capsys, fn, layout, message):
    if fn is stub:
        fn = lambda s: stub(s, None)  # noqa: E731
    ok, out = _run(capsys, check_fans, fn, layout=layout)
    assert not ok
    assert message in out, out


def test_check_fans_bad_arguments():
    with pytest.raises(ValueError, match="layout"):
        check_fans(_fans_torch, layout="caffe")
    with pytest.raises(ValueError, match="fn must be"):
        check_fans(42)


# --------------------------------------------------------------------------- check_conv2d
def conv_loop(x, w, stride=1, padding=0):
    """A direct, loop-based cross-correlation written independently of the library."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    y = np.zeros((n, f, ho, wo))
    for b in range(n):
        for o in range(f):
            for i in range(ho):
                for j in range(wo):
                    patch = x[b, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                    y[b, o, i, j] = np.sum(patch * w[o])
    return y


def conv_einsum(x, w):
    kh, kw = w.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return np.einsum("nchwpq,fcpq->nfhw", win, w)


def test_check_conv2d_accepts_correct(capsys):
    for fn in (conv_loop, conv_einsum):
        ok, out = _run(capsys, check_conv2d, fn)
        assert ok, out
    for stride, padding in ((2, 0), (1, 1), (2, 1), (3, 2)):
        ok, out = _run(capsys, check_conv2d, conv_loop, stride=stride, padding=padding)
        assert ok, out
        assert f"stride={stride}, padding={padding}" in out


def flipped_kernel(x, w):
    return conv_loop(x, w[:, :, ::-1, ::-1])


def full_convolution(x, w):
    kh, kw = w.shape[2:]
    return conv_loop(x, w, padding=max(kh, kw) - 1)[
        :, :, : x.shape[2] + kh - 1, : x.shape[3] + kw - 1
    ]


def swapped_kernel_axes(x, w):
    return conv_loop(x, np.swapaxes(w, 2, 3))


def only_first_sample(x, w):
    y = conv_loop(x, w)
    y[1:] = 0.0
    return y


def wrong_sum(x, w):
    return conv_loop(x, w) * 2.0


@pytest.mark.parametrize(
    ("fn", "kwargs", "message"),
    [
        (flipped_kernel, {}, "you flipped the kernel"),
        (full_convolution, {}, "you computed a 'full' convolution"),
        (swapped_kernel_axes, {}, "you swapped kh and kw"),
        (only_first_sample, {}, "loop over the whole batch"),
        (wrong_sum, {}, "compare one output pixel by hand"),
        (
            lambda x, w, stride, padding: conv_loop(x, w, stride=stride),
            {"stride": 1, "padding": 2},
            "you ignored the padding",
        ),
        (
            lambda x, w, stride, padding: conv_loop(x, w, padding=padding),
            {"stride": 2, "padding": 1},
            "you ignored the stride",
        ),
        (
            lambda x, w, stride, padding: conv_loop(x, w)[:, :, :-1],
            {"stride": 2, "padding": 0},
            "output shape",
        ),
        (lambda x, w: conv_loop(x, w)[:, :, :-1], {}, "H_out = (H + 2·padding - kh) // stride + 1"),
        (lambda x, w: stub(x, w), {}, "NotImplementedError"),
        (lambda x, w: "y", {}, "not an array of numbers"),
        (lambda x, w: conv_loop(x, w, padding=1), {"stride": 1, "padding": 0}, "output shape"),
    ],
    ids=[
        "flipped",
        "full",
        "kh-kw-swapped",
        "batch",
        "factor",
        "padding-ignored",
        "stride-ignored",
        "wrong-shape-strided",
        "wrong-shape",
        "stub",
        "string",
        "unwanted-padding",
    ],
)
def test_check_conv2d_rejects_mistakes(capsys, fn, kwargs, message):
    ok, out = _run(capsys, check_conv2d, fn, **kwargs)
    assert not ok
    assert message in out, out


def test_check_conv2d_does_not_pass_keywords_for_defaults(capsys):
    ok, out = _run(capsys, check_conv2d, lambda x, w: conv_loop(x, w))
    assert ok, out


def test_check_conv2d_bad_arguments():
    with pytest.raises(ValueError, match="stride"):
        check_conv2d(conv_loop, stride=0)
    with pytest.raises(ValueError, match="padding"):
        check_conv2d(conv_loop, padding=-1)
    with pytest.raises(ValueError, match="fn must be"):
        check_conv2d(None)


# --------------------------------------------------------------------------- check_value
def test_check_value_accepts_within_tolerance(capsys):
    ok, out = _run(capsys, check_value, 0.0139, 2 / 144, name="Var(w)")
    assert ok, out
    ok, out = _run(capsys, check_value, np.float32(1.04), 1.0, name="ratio")
    assert ok, out
    ok, out = _run(capsys, check_value, lambda: 0.5, 0.52, name="std", rel_tol=0.1)
    assert ok, out
    ok, out = _run(capsys, check_value, np.array([3.0]), 3.0, name="n")
    assert ok, out
    ok, out = _run(capsys, check_value, 0.01, 0.0, name="mean")
    assert ok, out


@pytest.mark.parametrize(
    ("value", "expected", "message"),
    [
        (math.sqrt(2 / 144), 2 / 144, "a std instead of a variance?"),
        (2 / 144, math.sqrt(2 / 144), "a variance instead of a std?"),
        (0.5, 0.25, "twice the expected value"),
        (0.125, 0.25, "half the expected value"),
        (-0.25, 0.25, "wrong sign"),
        (None, 0.25, "has no value yet"),
        (..., 0.25, "has no value yet"),
        ("0.25x", 0.25, "should be a number, got text"),
        ("0.25", 0.25, "should be a number, got text"),
        (True, 1.0, "should be a number, got a bool"),
        (np.bool_(True), 1.0, "should be a number, got a bool"),
        (np.ones(3), 0.25, "should be one number"),
        (float("nan"), 0.25, "not a finite number"),
        (0.3, 0.25, "✘ v = 0.3 (expected 0.25, tolerance 5%)"),
    ],
)
def test_check_value_rejects(capsys, value, expected, message):
    ok, out = _run(capsys, check_value, value, expected, name="v")
    assert not ok
    assert message in out, out


def test_check_value_reports_stub(capsys):
    def measure():
        raise NotImplementedError("Exercise: write your solution here")

    ok, out = _run(capsys, check_value, measure, 1.0, name="Var(y)")
    assert not ok
    assert "NotImplementedError" in out


def test_check_value_bad_arguments():
    with pytest.raises(ValueError, match="name"):
        check_value(1.0, 1.0, name="")
    with pytest.raises(ValueError, match="expected"):
        check_value(1.0, "1", name="v")
    with pytest.raises(ValueError, match="expected"):
        check_value(1.0, math.inf, name="v")
    with pytest.raises(ValueError, match="rel_tol"):
        check_value(1.0, 1.0, name="v", rel_tol=0)


def test_module_docstring_example_runs():
    result = doctest.testmod(checks, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------- sharper feedback
def no_return(shape, rng):
    fan_in, _ = _fans_torch(shape)
    rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)  # the result is dropped


def test_forgotten_return_is_named(capsys):
    ok, out = _run(capsys, check_initializer, no_return, "he_normal")
    assert not ok
    assert "your function returned None" in out and "forget the `return`" in out, out
    assert "NaN" not in out
    ok, out = _run(capsys, check_fans, lambda s: None)
    assert not ok and "forget the `return`" in out, out
    ok, out = _run(capsys, check_conv2d, lambda x, w: None)
    assert not ok and "forget the `return`" in out, out
    ok, out = _run(capsys, check_value, lambda: None, 1.0, name="v")
    assert not ok and "forget the `return`" in out, out


@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 1, 1), (2, 1)])
def test_correct_initializer_passes_on_tiny_shapes(capsys, shape):
    ok, out = _run(capsys, check_initializer, he_normal, "he_normal", shape=shape)
    assert ok, out


def test_keras_layout_mistake_is_not_called_swapped(capsys):
    ok, out = _run(capsys, check_fans, _fans_keras, layout="torch")
    assert not ok
    assert "you read the shape in the keras layout" in out
    assert "swapped" not in out, out
    assert "FAIL: 1 problem found" in out


@pytest.mark.parametrize(
    ("fn", "scheme", "kw"),
    [
        (variance_as_std, "he_normal", {}),
        (fan_out_instead_of_fan_in, "he_normal", {}),
        (uniform_limit_sqrt_1_over_n, "lecun_uniform", {}),
        (missing_factor_two, "he_normal", {}),
        (fan_without_kernel_area, "he_normal", {}),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_one_mistake_is_one_problem(capsys, fn, scheme, kw):
    ok, out = _run(capsys, check_initializer, fn, scheme, **kw)
    assert not ok
    assert "FAIL: 1 problem found" in out, out
    assert out.count("→") == 1, out  # one hint


def leaky_he(slope_factor):
    def fn(shape, rng):
        fan_in, _ = _fans_torch(shape)
        return rng.normal(0.0, math.sqrt(2.0 / (slope_factor * fan_in)), size=shape)

    return fn


def test_leaky_he_factor_is_tested_and_diagnosed(capsys):
    ok, out = _run(capsys, check_initializer, leaky_he(1.04), "he_normal", negative_slope=0.2)
    assert ok, out
    ok, out = _run(capsys, check_initializer, leaky_he(1.0), "he_normal", negative_slope=0.2)
    assert not ok, out  # plain He is 2 % off: beyond the (tightened) tolerance
    assert "your std is plain He's" in out, out
    ok, out = _run(capsys, check_initializer, leaky_he(1.2), "he_normal", negative_slope=0.2)
    assert not ok
    assert "(1 + a) instead of (1 + a²)" in out, out


def _second_moment(kind):
    def fn(alpha, n=400_000, seed=0):
        y = np.random.default_rng(seed).standard_normal(n)
        f = np.where(y > 0, y, alpha * y)
        if kind == "var":
            return float(np.var(f) / y.var())
        if kind == "1+a":
            return (1 + alpha) / 2
        return float(np.mean(f**2) / y.var())

    return fn


def test_check_second_moment_diagnoses(capsys):
    ok, out = _run(capsys, checks.check_second_moment, _second_moment("right"), 0.2)
    assert ok, out
    ok, out = _run(capsys, checks.check_second_moment, _second_moment("var"), 0.2)
    assert not ok and "you measured Var(f(y)), not the second moment E[f(y)²]" in out, out
    ok, out = _run(capsys, checks.check_second_moment, _second_moment("1+a"), 0.5)
    assert not ok and "your value is (1 + a)/2" in out, out
    with pytest.raises(ValueError, match="alpha"):
        checks.check_second_moment(_second_moment("right"), 2.0)


def test_check_value_mistakes_give_their_hint(capsys):
    ok, out = _run(capsys, check_value, 0.6, 0.52, name="m", rel_tol=0.02,
                   mistakes={"(1 + a) instead of (1 + a²)": 0.6})  # fmt: skip
    assert not ok and "(1 + a) instead of (1 + a²)" in out
    with pytest.raises(ValueError, match="mistakes"):
        check_value(0.6, 0.52, name="m", mistakes={"x": "y"})


def test_slow_student_function_is_stopped(capsys, monkeypatch):
    monkeypatch.setattr(checks, "TIME_LIMIT", 0.3)

    def endless(shape, rng):
        while True:
            pass

    ok, out = _run(capsys, check_initializer, endless, "he_normal")
    assert not ok
    assert "took longer than 0.3 s and was stopped" in out, out
    assert "endless loop" in out

    def catches_everything(x, w):
        try:
            while True:
                pass
        except Exception:
            return None

    ok, out = _run(capsys, check_conv2d, catches_everything)
    assert not ok and "took longer than 0.3 s" in out, out


def test_check_value_prints_negative_zero_as_0(capsys):
    # a student's round(-1e-12, 9) is -0.0: the feedback said "= -0"
    from weightinit.checks import check_value

    assert check_value(-0.0, 0.0, name="error", rel_tol=1e-6)
    out = capsys.readouterr().out
    assert "error = 0 (expected 0," in out and "= -0" not in out


def test_check_value_states_a_small_tolerance():
    # rel_tol=1e-6 was printed as "tolerance 0%"
    import contextlib
    import io

    from weightinit.checks import check_value

    for rel_tol, text in [(1e-6, "tolerance 1e-06 relative)"), (0.02, "tolerance 2%)")]:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            check_value(1.0, 1.0, name="x", rel_tol=rel_tol)
        assert text in buf.getvalue()
