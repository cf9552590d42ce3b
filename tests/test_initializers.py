"""Tests for :mod:`weightinit.initializers`.

The expected bounds and standard deviations are written out from the papers'
and frameworks' formulas with fans computed by hand, instead of being
recomputed with the library's own helpers. The statistical checks follow the
style of PyTorch's own ``test_nn_init``: draw many values with a fixed seed and
run a Kolmogorov-Smirnov test against the intended distribution. Because the
seed is fixed, each check is deterministic; the negative controls show that the
same checks do reject a wrong distribution.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats
from weightinit import initializers as wi
from weightinit.initializers import Distribution

ALL_NAMES = wi.available()

# The standard deviation of N(0, 1) truncated to [-2, 2], to 17 significant
# digits (the constant that appears in Keras's VarianceScaling source).
TRUNC_STD = 0.87962566103423978

KS_SEED = 20_240
KS_ALPHA = 1e-4
KS_N = 20_000

# A small dense and a small conv shape that every initializer accepts.
GENERIC_SHAPES = [(8, 5), (6, 4, 3, 3)]


def _is_constant(name):
    spec = getattr(wi.get(name), "distribution", None)
    return spec is not None and spec((6, 4, 3, 3)).kind == "constant"


def _continuous_names():
    out = []
    for name in ALL_NAMES:
        spec = getattr(wi.get(name), "distribution", None)
        if spec is not None and spec((6, 4, 3, 3)).kind != "constant":
            out.append(name)
    return out


CONTINUOUS_NAMES = _continuous_names()


def test_registry_is_not_trivially_small():
    # Guards the parametrizations below against an accidentally empty registry.
    assert len(ALL_NAMES) >= 20
    assert len(CONTINUOUS_NAMES) >= 15
    assert {"zeros", "ones", "constant"} <= {n for n in ALL_NAMES if _is_constant(n)}
    assert sorted(ALL_NAMES) == ALL_NAMES


# --------------------------------------------------------------------------- every initializer


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("shape", GENERIC_SHAPES, ids=["dense", "conv"])
def test_same_seed_same_array(name, shape):
    init = wi.get(name)
    a = init(shape, rng=123)
    b = init(shape, rng=123)
    np.testing.assert_array_equal(a, b)
    # A Generator seeded the same way gives the very same numbers as the int seed.
    c = init(shape, rng=np.random.default_rng(123))
    np.testing.assert_array_equal(a, c)
    # The seed is keyword-only: a positional second argument is the PyTorch gain trap.
    with pytest.raises(TypeError, match=r"pass the seed as a keyword.*xavier_uniform_\(w, 2\)"):
        init(shape, 123)


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("shape", GENERIC_SHAPES, ids=["dense", "conv"])
def test_different_seeds_differ_unless_constant(name, shape):
    init = wi.get(name)
    a = init(shape, rng=1)
    b = init(shape, rng=2)
    if _is_constant(name):
        np.testing.assert_array_equal(a, b)
        assert np.unique(a).size == 1
    else:
        assert not np.array_equal(a, b)
        # Entries of one draw are not all the same either.
        assert np.unique(a).size == a.size


@pytest.mark.parametrize("name", ALL_NAMES)
def test_generator_state_advances_between_calls(name):
    init = wi.get(name)
    gen = np.random.default_rng(7)
    a = init((6, 4, 3, 3), rng=gen)
    b = init((6, 4, 3, 3), rng=gen)
    assert np.array_equal(a, b) == _is_constant(name)


FLOAT_DTYPES = [np.float32, np.float64, "float32", np.dtype("float64"), np.float16]
NON_FLOAT_DTYPES = [np.int32, int, "int64", bool, np.complex128, np.uint8]

# (bad rng, exception, message) — every initializer must refuse these.
BAD_RNGS = [
    (
        "42",
        TypeError,
        r"rng must be a non-negative int seed, a numpy\.random\.Generator or None, got str '42'",
    ),
    (4.0, TypeError, r"rng must be a non-negative int seed.*got float 4\.0"),
    (True, TypeError, r"rng must be a non-negative int seed.*got bool True"),
    (np.random.RandomState(0), TypeError, r"rng must be a non-negative int seed.*got RandomState"),
    (-1, ValueError, r"rng seed must be a non-negative integer, got -1"),
    (np.int64(-5), ValueError, r"rng seed must be a non-negative integer, got -5"),
]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_dtype_shape_and_finiteness(name):
    init = wi.get(name)
    for dtype in FLOAT_DTYPES:
        for shape in GENERIC_SHAPES:
            w = init(shape, rng=0, dtype=dtype)
            assert isinstance(w, np.ndarray)
            assert w.dtype == np.dtype(dtype), (dtype, shape)
            assert w.shape == shape
            assert np.all(np.isfinite(w))


@pytest.mark.parametrize("name", ALL_NAMES)
def test_default_dtype_is_float64_and_lower_precision_is_a_cast(name):
    init = wi.get(name)
    w64 = init((6, 4, 3, 3), rng=3)
    assert w64.dtype == np.float64
    w32 = init((6, 4, 3, 3), rng=3, dtype=np.float32)
    np.testing.assert_array_equal(w32, w64.astype(np.float32))
    # float64 output carries full double precision, not float32 values widened.
    widened = w64.astype(np.float32).astype(np.float64)
    assert np.array_equal(w64, widened) == _is_constant(name)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_rng_none_gives_fresh_draws(name):
    init = wi.get(name)
    a = init((6, 4, 3, 3))
    b = init((6, 4, 3, 3), rng=None)
    assert a.shape == b.shape == (6, 4, 3, 3)
    assert np.array_equal(a, b) == _is_constant(name)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_non_float_dtype_is_type_error(name):
    for dtype in NON_FLOAT_DTYPES:
        with pytest.raises(TypeError, match=r"dtype must be a floating dtype"):
            wi.get(name)((8, 5), rng=0, dtype=dtype)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_unintelligible_dtype_is_type_error(name):
    with pytest.raises(TypeError, match=r"dtype must be a numpy floating dtype, got 'not-a-dtype'"):
        wi.get(name)((8, 5), rng=0, dtype="not-a-dtype")


@pytest.mark.parametrize("name", ALL_NAMES)
def test_bad_rng(name):
    for rng, exc, match in BAD_RNGS:
        with pytest.raises(exc, match=match):
            wi.get(name)((8, 5), rng=rng)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_unexpected_keyword_is_type_error(name):
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'no_such_option'"):
        wi.get(name)((8, 5), rng=0, no_such_option=1)


# --------------------------------------------------------------------------- exact bounds and stds

# (shape, layout, fan_in, fan_out) with the fans worked out by hand.
FAN_CASES = [
    pytest.param((10, 784), "torch", 784, 10, id="torch-dense-784-10"),
    pytest.param((64, 32, 3, 3), "torch", 32 * 9, 64 * 9, id="torch-conv3x3"),
    pytest.param((20, 6, 5), "torch", 6 * 5, 20 * 5, id="torch-conv1d"),
    pytest.param((2, 3, 3, 4, 5), "torch", 3 * 60, 2 * 60, id="torch-conv3d"),
    pytest.param((784, 10), "keras", 784, 10, id="keras-dense-784-10"),
    pytest.param((3, 5, 16, 8), "keras", 16 * 15, 8 * 15, id="keras-conv3x5"),
    pytest.param((1, 1), "torch", 1, 1, id="torch-1x1"),
    # Odd fan_in + fan_out, so the fan average is not a whole number.
    pytest.param((7, 4), "torch", 4, 7, id="torch-dense-odd-avg"),
    pytest.param((3, 3, 5, 2), "keras", 45, 18, id="keras-conv-odd-avg"),
]


def _close(x, y, rel=1e-14):
    return math.isclose(x, y, rel_tol=rel)


def _assert_uniform(dist, half_width):
    assert dist.kind == "uniform"
    assert dist.loc == 0.0
    assert _close(dist.scale, half_width)
    lo, hi = dist.bounds
    assert _close(hi, half_width)
    assert _close(lo, -half_width)
    assert _close(dist.var, half_width**2 / 3.0)


def _assert_normal(dist, std):
    assert dist.kind == "normal"
    assert dist.loc == 0.0
    assert _close(dist.scale, std)
    assert _close(dist.std, std)
    assert dist.bounds == (-math.inf, math.inf)


def _assert_keras_truncated(dist, target_var):
    # Keras: stddev = sqrt(scale / n) / 0.8796..., then truncated at 2 stddev.
    sigma = math.sqrt(target_var) / TRUNC_STD
    assert dist.kind == "truncated_normal"
    assert dist.loc == 0.0
    assert _close(dist.scale, sigma)
    assert dist.cutoff == 2.0
    assert _close(dist.bounds[1], 2.0 * sigma)
    assert _close(dist.bounds[0], -2.0 * sigma)
    # The division by 0.8796 is there so that the drawn values have the target variance.
    assert _close(dist.var, target_var, rel=1e-12)


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
def test_lecun(shape, layout, fi, fo):
    _assert_uniform(wi.lecun_uniform.distribution(shape, layout=layout), math.sqrt(3.0 / fi))
    _assert_normal(wi.lecun_normal.distribution(shape, layout=layout), math.sqrt(1.0 / fi))


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
@pytest.mark.parametrize("g", [1.0, 5.0 / 3.0, math.sqrt(2.0), 0.5])
def test_glorot(shape, layout, fi, fo, g):
    uni = wi.glorot_uniform.distribution(shape, gain=g, layout=layout)
    _assert_uniform(uni, g * math.sqrt(6.0 / (fi + fo)))
    nor = wi.glorot_normal.distribution(shape, gain=g, layout=layout)
    _assert_normal(nor, g * math.sqrt(2.0 / (fi + fo)))


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
def test_glorot_default_gain_is_one_and_xavier_aliases(shape, layout, fi, fo):
    _assert_uniform(
        wi.glorot_uniform.distribution(shape, layout=layout), math.sqrt(6.0 / (fi + fo))
    )
    _assert_normal(wi.glorot_normal.distribution(shape, layout=layout), math.sqrt(2.0 / (fi + fo)))
    assert wi.get("xavier_uniform") is wi.glorot_uniform
    assert wi.get("xavier_normal") is wi.glorot_normal


def test_glorot_uniform_known_value():
    # Linear(300 -> 100): sqrt(6 / 400) = sqrt(0.015), worked out by hand.
    dist = wi.glorot_uniform.distribution((100, 300))
    assert _close(dist.scale, 0.12247448713915890)


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
def test_he(shape, layout, fi, fo):
    _assert_uniform(wi.he_uniform.distribution(shape, layout=layout), math.sqrt(6.0 / fi))
    _assert_normal(wi.he_normal.distribution(shape, layout=layout), math.sqrt(2.0 / fi))
    _assert_uniform(
        wi.he_uniform.distribution(shape, mode="fan_out", layout=layout), math.sqrt(6.0 / fo)
    )
    _assert_normal(
        wi.he_normal.distribution(shape, mode="fan_out", layout=layout), math.sqrt(2.0 / fo)
    )


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES[:4])
@pytest.mark.parametrize("alpha", [0.01, 0.2, -0.3, 1.0])
def test_he_negative_slope(shape, layout, fi, fo, alpha):
    # He et al. (2015), eq. (15): Var(w) = 2 / ((1 + a²) n).
    uni = wi.he_uniform.distribution(shape, negative_slope=alpha, layout=layout)
    _assert_uniform(uni, math.sqrt(6.0 / ((1.0 + alpha**2) * fi)))
    nor = wi.he_normal.distribution(shape, negative_slope=alpha, layout=layout, mode="fan_out")
    _assert_normal(nor, math.sqrt(2.0 / ((1.0 + alpha**2) * fo)))


def test_msra_aliases():
    assert wi.get("msra_uniform") is wi.he_uniform
    assert wi.get("msra_normal") is wi.he_normal


def _torch_gain(nonlinearity, a):
    # Written out from torch.nn.init.calculate_gain.
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1.0 + a**2))
    return {"relu": math.sqrt(2.0), "tanh": 5.0 / 3.0, "linear": 1.0, "sigmoid": 1.0, "selu": 0.75}[
        nonlinearity
    ]


KAIMING_SETTINGS = [
    ("leaky_relu", 0.0),
    ("leaky_relu", 0.1),
    ("leaky_relu", math.sqrt(5.0)),
    ("relu", 0.0),
    ("relu", 0.7),  # ``a`` is ignored unless the nonlinearity is leaky_relu
    ("tanh", 0.0),
    ("linear", 0.0),
    ("sigmoid", 0.0),
    ("selu", 0.0),
]


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
@pytest.mark.parametrize(("nonlinearity", "a"), KAIMING_SETTINGS)
def test_kaiming_matches_pytorch(shape, layout, fi, fo, nonlinearity, a):
    for mode, fan in (("fan_in", fi), ("fan_out", fo)):
        g = _torch_gain(nonlinearity, a)
        # Same arithmetic as torch.nn.init.kaiming_uniform_ / kaiming_normal_.
        std = g / math.sqrt(fan)
        bound = math.sqrt(3.0) * std
        # PyTorch's ``a`` is the library's ``negative_slope`` (``a=`` is a deprecated
        # alias, tested below: passing it here gave 324 DeprecationWarnings)
        kw = {"negative_slope": a, "mode": mode, "nonlinearity": nonlinearity, "layout": layout}
        _assert_uniform(wi.kaiming_uniform.distribution(shape, **kw), bound)
        _assert_normal(wi.kaiming_normal.distribution(shape, **kw), std)


@pytest.mark.parametrize("init", [wi.kaiming_uniform, wi.kaiming_normal])
def test_kaiming_a_is_a_deprecated_alias(init):
    ref = init.distribution((8, 5), negative_slope=0.3, nonlinearity="leaky_relu")
    with pytest.warns(DeprecationWarning, match=r"a= is deprecated.*negative_slope"):
        alias = init.distribution((8, 5), a=0.3, nonlinearity="leaky_relu")
    assert (alias.kind, alias.scale) == (ref.kind, ref.scale)
    with pytest.warns(DeprecationWarning, match=r"a= is deprecated"):
        np.testing.assert_array_equal(
            init((8, 5), rng=0, a=0.3), init((8, 5), rng=0, negative_slope=0.3)
        )


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
def test_kaiming_defaults_are_he_relu(shape, layout, fi, fo):
    # PyTorch's defaults: a=0, mode="fan_in", nonlinearity="leaky_relu" -> sqrt(2) gain.
    _assert_uniform(wi.kaiming_uniform.distribution(shape, layout=layout), math.sqrt(6.0 / fi))
    _assert_normal(wi.kaiming_normal.distribution(shape, layout=layout), math.sqrt(2.0 / fi))


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
def test_torch_default(shape, layout, fi, fo):
    _assert_uniform(wi.torch_default.distribution(shape, layout=layout), 1.0 / math.sqrt(fi))
    assert wi.get("glorot_bengio_standard") is wi.torch_default


def test_torch_default_known_values():
    # Linear(784 -> 10): 1/28; Conv2d(3 -> 64, 3x3): 1/sqrt(27).
    assert _close(wi.torch_default.distribution((10, 784)).scale, 1.0 / 28.0)
    assert _close(wi.torch_default.distribution((64, 3, 3, 3)).scale, 0.19245008972987526)


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
@pytest.mark.parametrize(
    ("variance_norm", "which"),
    [
        ("fan_in", "in"),
        ("FAN_IN", "in"),  # Caffe's prototxt spelling
        ("fan_out", "out"),
        ("FAN_OUT", "out"),
        ("average", "avg"),
        ("AVERAGE", "avg"),
    ],
)
def test_caffe_fillers(shape, layout, fi, fo, variance_norm, which):
    n = {"in": fi, "out": fo, "avg": (fi + fo) / 2.0}[which]
    xav = wi.caffe_xavier.distribution(shape, variance_norm=variance_norm, layout=layout)
    _assert_uniform(xav, math.sqrt(3.0 / n))
    msra = wi.caffe_msra.distribution(shape, variance_norm=variance_norm, layout=layout)
    _assert_normal(msra, math.sqrt(2.0 / n))


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
def test_caffe_default_variance_norm_is_fan_in(shape, layout, fi, fo):
    _assert_uniform(wi.caffe_xavier.distribution(shape, layout=layout), math.sqrt(3.0 / fi))
    _assert_normal(wi.caffe_msra.distribution(shape, layout=layout), math.sqrt(2.0 / fi))


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
def test_keras_truncated_normals(shape, layout, fi, fo):
    _assert_keras_truncated(wi.keras_lecun_normal.distribution(shape, layout=layout), 1.0 / fi)
    _assert_keras_truncated(
        wi.keras_glorot_normal.distribution(shape, layout=layout), 2.0 / (fi + fo)
    )
    _assert_keras_truncated(wi.keras_he_normal.distribution(shape, layout=layout), 2.0 / fi)


@pytest.mark.parametrize(
    ("shape", "fi", "fo"),
    [((784, 10), 784, 10), ((3, 3, 8, 16), 72, 144), ((7, 4, 32), 28, 224)],
)
def test_keras_variants_read_shapes_channels_last_by_default(shape, fi, fo):
    _assert_keras_truncated(wi.keras_lecun_normal.distribution(shape), 1.0 / fi)
    _assert_keras_truncated(wi.keras_glorot_normal.distribution(shape), 2.0 / (fi + fo))
    _assert_keras_truncated(wi.keras_he_normal.distribution(shape), 2.0 / fi)


def test_keras_truncation_constant():
    assert wi.KERAS_TRUNCATION_STD == TRUNC_STD
    assert _close(stats.truncnorm(-2.0, 2.0).std(), TRUNC_STD, rel=1e-15)


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("scale", [1.0, 2.0, 1.0 / 3.0])
def test_variance_scaling(shape, layout, fi, fo, mode, scale):
    n = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2.0}[mode]
    kw = {"scale": scale, "mode": mode, "layout": layout}
    uni = wi.variance_scaling.distribution(shape, distribution="uniform", **kw)
    _assert_uniform(uni, math.sqrt(3.0 * scale / n))
    nor = wi.variance_scaling.distribution(shape, distribution="normal", **kw)
    _assert_normal(nor, math.sqrt(scale / n))
    # Keras's spelling of the plain normal.
    assert wi.variance_scaling.distribution(shape, distribution="untruncated_normal", **kw) == nor
    tn = wi.variance_scaling.distribution(shape, distribution="truncated_normal", **kw)
    _assert_keras_truncated(tn, scale / n)


@pytest.mark.parametrize(("shape", "layout", "fi", "fo"), FAN_CASES)
def test_variance_scaling_defaults_are_keras(shape, layout, fi, fo):
    # Keras VarianceScaling(): scale=1, mode="fan_in", distribution="truncated_normal".
    _assert_keras_truncated(wi.variance_scaling.distribution(shape, layout=layout), 1.0 / fi)


def test_simple_initializers_defaults():
    # Keras RandomUniform / TruncatedNormal defaults and the classic N(0, 0.01²).
    uni = wi.uniform.distribution((3, 3))
    assert uni.bounds == (-0.05, 0.05)
    assert wi.normal.distribution((3, 3)) == Distribution("normal", 0.0, 0.01)
    assert wi.truncated_normal.distribution((3, 3)) == Distribution(
        "truncated_normal", 0.0, 0.05, 2.0
    )
    assert wi.uniform.distribution((3,), low=0.0, high=1.0).bounds == (0.0, 1.0)
    assert wi.uniform.distribution((3,), low=-1.0, high=3.0).bounds == (-1.0, 3.0)


@pytest.mark.parametrize("value", [0.0, 1.0, -2.5, 7])
def test_constants(value):
    w = wi.constant((4, 3, 2), rng=0, value=value)
    assert np.all(w == value)
    assert np.all(wi.zeros((4, 3)) == 0.0)
    assert np.all(wi.ones((4, 3)) == 1.0)
    assert wi.constant.distribution((2, 2), value=value).var == 0.0
    # A 1-D shape is fine for shape-agnostic initializers.
    assert wi.ones((5,)).shape == (5,)


def test_constant_default_value_is_zero():
    assert np.all(wi.constant((3, 3)) == 0.0)


# --------------------------------------------------------------------------- Distribution


@pytest.mark.parametrize("a", [0.05, 1.0, 3.7, 1e-3])
def test_distribution_var_uniform(a):
    assert Distribution("uniform", 0.0, a).var == a**2 / 3.0
    assert Distribution("uniform", 5.0, a).var == a**2 / 3.0
    assert _close(Distribution("uniform", 0.0, a).std, a / math.sqrt(3.0))


@pytest.mark.parametrize("sigma", [0.01, 1.0, 2.5])
def test_distribution_var_normal(sigma):
    assert Distribution("normal", 0.0, sigma).var == sigma**2
    assert _close(Distribution("normal", 1.0, sigma).std, sigma)


@pytest.mark.parametrize("sigma", [0.01, 1.0, 2.5])
@pytest.mark.parametrize("cutoff", [2.0, 1.0, 1.5, 3.0])
def test_distribution_var_truncated_normal_matches_scipy(sigma, cutoff):
    dist = Distribution("truncated_normal", 0.0, sigma, cutoff)
    expected = sigma**2 * stats.truncnorm(-cutoff, cutoff).var()
    assert _close(dist.var, expected, rel=1e-12)
    assert _close(dist.std, math.sqrt(expected), rel=1e-12)
    assert dist.bounds == (-cutoff * sigma, cutoff * sigma)


def test_truncated_normal_variance_is_the_formula_with_scipy_stats_to_the_bit():
    # Distribution.var evaluates 1 - 2c phi(c) / (2 Phi(c) - 1) without scipy.stats (an
    # import of ~0.7 s per process): the same bits as with scipy.stats.norm
    for c in np.concatenate([np.linspace(0.01, 12.0, 2000), [1.0, 2.0, 3.0]]):
        c = float(c)
        want = 1.0 - 2.0 * c * stats.norm.pdf(c) / (2.0 * stats.norm.cdf(c) - 1.0)
        assert Distribution("truncated_normal", 0.0, 1.0, c).var == want, c


def test_distribution_constant():
    dist = Distribution("constant", 0.3)
    assert dist.var == 0.0
    assert dist.std == 0.0
    assert dist.bounds == (0.3, 0.3)
    with pytest.raises(ValueError, match=r"constant has no continuous scipy distribution"):
        dist.scipy()


@pytest.mark.parametrize(
    "dist",
    [
        Distribution("uniform", 0.5, 2.0),
        Distribution("normal", -1.0, 0.3),
        Distribution("truncated_normal", 2.0, 0.7, 1.5),
    ],
    ids=str,
)
def test_distribution_scipy_matches_moments_and_bounds(dist):
    frozen = dist.scipy()
    assert _close(frozen.mean(), dist.loc, rel=1e-12)
    assert _close(frozen.var(), dist.var, rel=1e-12)
    lo, hi = dist.bounds
    assert frozen.support() == pytest.approx((lo, hi))


def test_distribution_str():
    assert str(wi.distribution("glorot_uniform", (20, 10))) == "U(-0.447214, 0.447214)"
    assert str(Distribution("normal", 0.0, 0.5)) == "N(0, 0.5²)"
    assert str(Distribution("truncated_normal", 0.0, 0.5, 2.0)) == "N(0, 0.5²) truncated at ±2σ"
    assert str(Distribution("constant", 1.0)) == "constant 1"


# --------------------------------------------------------------------------- sampled bounds

BIG_SHAPE = (250, 400)  # 10^5 draws; fan_in = 400, fan_out = 250 in the torch layout
BIG_N = 100_000

UNIFORM_CASES = [
    pytest.param("lecun_uniform", {}, math.sqrt(3.0 / 400), id="lecun_uniform"),
    pytest.param("glorot_uniform", {}, math.sqrt(6.0 / 650), id="glorot_uniform"),
    pytest.param("glorot_uniform", {"gain": 2.0}, 2.0 * math.sqrt(6.0 / 650), id="glorot_gain2"),
    pytest.param("he_uniform", {}, math.sqrt(6.0 / 400), id="he_uniform"),
    pytest.param(
        "kaiming_uniform", {"mode": "fan_out"}, math.sqrt(6.0 / 250), id="kaiming_fan_out"
    ),
    pytest.param("torch_default", {}, 1.0 / 20.0, id="torch_default"),
    pytest.param("caffe_xavier", {}, math.sqrt(3.0 / 400), id="caffe_xavier"),
    pytest.param(
        "variance_scaling",
        {"distribution": "uniform", "mode": "fan_avg", "scale": 2.0},
        math.sqrt(6.0 / 325),
        id="variance_scaling_uniform",
    ),
    pytest.param("uniform", {}, 0.05, id="uniform"),
]


@pytest.mark.parametrize(("name", "params", "limit"), UNIFORM_CASES)
def test_uniform_draws_stay_inside_and_reach_the_limit(name, params, limit):
    w = wi.get(name)(BIG_SHAPE, rng=11, **params)
    assert w.size == BIG_N
    assert np.max(np.abs(w)) <= limit
    # With 10^5 draws the chance that nothing lands in the outer 0.1 % on one side
    # is (1 - 5e-4)^(10^5) ≈ e^-50: both ends must be (almost) reached.
    assert w.max() > limit * (1.0 - 1e-3)
    assert w.min() < -limit * (1.0 - 1e-3)


def test_uniform_with_shifted_bounds_reaches_both_ends():
    w = wi.uniform(BIG_SHAPE, rng=12, low=-1.0, high=3.0)
    assert w.min() >= -1.0
    assert w.max() < 3.0
    assert w.min() < -1.0 + 4e-3
    assert w.max() > 3.0 - 4e-3


TRUNC_CASES = [
    pytest.param("keras_lecun_normal", {}, math.sqrt(1.0 / 250) / TRUNC_STD, id="keras_lecun"),
    pytest.param("keras_glorot_normal", {}, math.sqrt(2.0 / 650) / TRUNC_STD, id="keras_glorot"),
    pytest.param("keras_he_normal", {}, math.sqrt(2.0 / 250) / TRUNC_STD, id="keras_he"),
    pytest.param("variance_scaling", {}, math.sqrt(1.0 / 400) / TRUNC_STD, id="variance_scaling"),
    pytest.param("truncated_normal", {}, 0.05, id="truncated_normal"),
]


@pytest.mark.parametrize(("name", "params", "sigma"), TRUNC_CASES)
def test_truncated_normals_never_pass_two_sigma(name, params, sigma):
    # keras_* read BIG_SHAPE channels-last: fan_in = 250, fan_out = 400.
    w = wi.get(name)(BIG_SHAPE, rng=13, **params)
    cut = 2.0 * sigma
    assert np.max(np.abs(w)) <= cut
    # The density near the cut-off is about 0.057/sigma, so on 10^5 draws the last
    # 1 % of the range is hit many times on both sides.
    assert w.max() > 0.99 * cut
    assert w.min() < -0.99 * cut
    # The drawn std is the target std, not sigma: Keras's correction works.
    assert abs(w.std() / (sigma * TRUNC_STD) - 1.0) < 0.01


def test_untruncated_normal_does_pass_two_sigma():
    # Control for the test above: about 4.6 % of normal draws lie beyond 2 sigma.
    w = wi.he_normal(BIG_SHAPE, rng=13)
    sigma = math.sqrt(2.0 / 400)
    frac = np.mean(np.abs(w) > 2.0 * sigma)
    assert 0.04 < frac < 0.052


def test_truncated_normal_with_other_cutoff_and_mean():
    w = wi.truncated_normal(BIG_SHAPE, rng=14, mean=1.0, std=0.5, cutoff=1.0)
    assert w.min() >= 0.5
    assert w.max() <= 1.5
    assert w.min() < 0.505
    assert w.max() > 1.495


# --------------------------------------------------------------------------- statistical tests

T_SHAPE = (40, 20, 5, 5)  # torch conv: fan_in 500, fan_out 1000, 20 000 entries
K_SHAPE = (5, 5, 20, 40)  # the same kernel channels-last
D_SHAPE = (100, 200)  # torch dense: fan_in 200, fan_out 100


def _u(a):
    return stats.uniform(loc=-a, scale=2.0 * a)


def _n(s):
    return stats.norm(loc=0.0, scale=s)


def _tn(target_var):
    return stats.truncnorm(-2.0, 2.0, loc=0.0, scale=math.sqrt(target_var) / TRUNC_STD)


# (name, params, shape, independently built scipy distribution)
KS_CASES = [
    ("lecun_uniform", {}, T_SHAPE, _u(math.sqrt(3.0 / 500))),
    ("lecun_uniform", {"layout": "keras"}, K_SHAPE, _u(math.sqrt(3.0 / 500))),
    ("lecun_normal", {}, D_SHAPE, _n(math.sqrt(1.0 / 200))),
    ("lecun_normal", {"layout": "keras"}, K_SHAPE, _n(math.sqrt(1.0 / 500))),
    ("glorot_uniform", {}, T_SHAPE, _u(math.sqrt(6.0 / 1500))),
    (
        "glorot_uniform",
        {"gain": 5.0 / 3.0, "layout": "keras"},
        K_SHAPE,
        _u(5.0 / 3.0 * math.sqrt(6.0 / 1500)),
    ),
    ("xavier_uniform", {}, D_SHAPE, _u(math.sqrt(6.0 / 300))),
    ("glorot_normal", {}, T_SHAPE, _n(math.sqrt(2.0 / 1500))),
    ("xavier_normal", {"gain": 2.0}, D_SHAPE, _n(2.0 * math.sqrt(2.0 / 300))),
    ("he_uniform", {}, T_SHAPE, _u(math.sqrt(6.0 / 500))),
    ("he_uniform", {"mode": "fan_out", "layout": "keras"}, K_SHAPE, _u(math.sqrt(6.0 / 1000))),
    ("msra_uniform", {"negative_slope": 0.2}, T_SHAPE, _u(math.sqrt(6.0 / (1.04 * 500)))),
    ("he_normal", {}, T_SHAPE, _n(math.sqrt(2.0 / 500))),
    ("msra_normal", {"mode": "fan_out"}, D_SHAPE, _n(math.sqrt(2.0 / 100))),
    ("kaiming_uniform", {}, T_SHAPE, _u(math.sqrt(6.0 / 500))),
    (
        "kaiming_uniform",
        {"nonlinearity": "tanh", "mode": "fan_out"},
        T_SHAPE,
        _u(5.0 / 3.0 * math.sqrt(3.0 / 1000)),
    ),
    ("kaiming_normal", {}, D_SHAPE, _n(math.sqrt(2.0 / 200))),
    (
        "kaiming_normal",
        {"nonlinearity": "selu", "layout": "keras"},
        K_SHAPE,
        _n(0.75 / math.sqrt(500)),
    ),
    ("torch_default", {}, T_SHAPE, _u(1.0 / math.sqrt(500))),
    ("glorot_bengio_standard", {}, D_SHAPE, _u(1.0 / math.sqrt(200))),
    ("caffe_xavier", {}, T_SHAPE, _u(math.sqrt(3.0 / 500))),
    ("caffe_xavier", {"variance_norm": "average"}, T_SHAPE, _u(math.sqrt(3.0 / 750))),
    ("caffe_msra", {}, T_SHAPE, _n(math.sqrt(2.0 / 500))),
    ("caffe_msra", {"variance_norm": "fan_out"}, D_SHAPE, _n(math.sqrt(2.0 / 100))),
    ("keras_lecun_normal", {}, K_SHAPE, _tn(1.0 / 500)),
    ("keras_glorot_normal", {}, K_SHAPE, _tn(2.0 / 1500)),
    ("keras_he_normal", {}, K_SHAPE, _tn(2.0 / 500)),
    ("keras_he_normal", {"layout": "torch"}, D_SHAPE, _tn(2.0 / 200)),
    ("variance_scaling", {}, T_SHAPE, _tn(1.0 / 500)),
    (
        "variance_scaling",
        {"distribution": "uniform", "mode": "fan_avg", "scale": 2.0},
        T_SHAPE,
        _u(math.sqrt(6.0 / 750)),
    ),
    (
        "variance_scaling",
        {"distribution": "normal", "mode": "fan_out", "scale": 0.5},
        D_SHAPE,
        _n(math.sqrt(0.5 / 100)),
    ),
    ("uniform", {"low": -0.3, "high": 0.1}, D_SHAPE, stats.uniform(loc=-0.3, scale=0.4)),
    ("normal", {"mean": 0.5, "std": 2.0}, D_SHAPE, stats.norm(loc=0.5, scale=2.0)),
    (
        "truncated_normal",
        {"mean": -1.0, "std": 0.5, "cutoff": 1.5},
        D_SHAPE,
        stats.truncnorm(-1.5, 1.5, loc=-1.0, scale=0.5),
    ),
]

KS_IDS = [f"{name}-{i}" for i, (name, *_rest) in enumerate(KS_CASES)]


def test_ks_table_covers_every_continuous_initializer():
    # A newly registered random initializer needs a row in KS_CASES.
    missing = set(CONTINUOUS_NAMES) - {row[0] for row in KS_CASES}
    assert not missing, f"add KS_CASES rows for {sorted(missing)}"


def _ks_pvalue(sample, dist):
    # Kolmogorov's asymptotic p-value is accurate at these sample sizes and far
    # cheaper than scipy's exact one for n > 10^4.
    return stats.kstest(sample, dist.cdf, method="asymp").pvalue


def _draw(name, params, shape, seed=KS_SEED):
    w = wi.get(name)(shape, rng=seed, **params).ravel()
    assert w.size == KS_N
    return w


@pytest.mark.parametrize(("name", "params", "shape", "expected"), KS_CASES, ids=KS_IDS)
def test_ks_against_independent_formula(name, params, shape, expected):
    w = _draw(name, params, shape)
    assert _ks_pvalue(w, expected) > KS_ALPHA


@pytest.mark.parametrize(("name", "params", "shape", "expected"), KS_CASES, ids=KS_IDS)
def test_ks_against_own_distribution(name, params, shape, expected):
    w = _draw(name, params, shape)
    own = wi.get(name).distribution(shape, **params).scipy()
    assert _ks_pvalue(w, own) > KS_ALPHA


@pytest.mark.parametrize(("name", "params", "shape", "expected"), KS_CASES, ids=KS_IDS)
def test_reported_distribution_has_formula_moments(name, params, shape, expected):
    dist = wi.get(name).distribution(shape, **params)
    assert dist.loc == pytest.approx(expected.mean(), rel=1e-12, abs=1e-15)
    assert _close(dist.std, expected.std(), rel=1e-12)
    lo, hi = dist.bounds
    assert (lo, hi) == pytest.approx(expected.support(), rel=1e-12)


def _std_tolerance(expected, n):
    # Relative standard error of a sample std is about sqrt((kurtosis - 1) / (4 n));
    # allow five of them.
    excess = float(expected.stats(moments="k"))
    return 5.0 * math.sqrt((excess + 2.0) / (4.0 * n))


@pytest.mark.parametrize(("name", "params", "shape", "expected"), KS_CASES, ids=KS_IDS)
def test_sample_mean_and_std(name, params, shape, expected):
    w = _draw(name, params, shape, seed=KS_SEED + 1)
    sd = expected.std()
    assert abs(w.mean() - expected.mean()) < 4.0 * sd / math.sqrt(w.size)
    tol = _std_tolerance(expected, w.size)
    assert tol < 0.03  # keep the tolerance honest
    assert abs(w.std() / sd - 1.0) < tol


@pytest.mark.parametrize("name", CONTINUOUS_NAMES)
def test_ks_every_registered_scheme_with_defaults(name):
    # Automatically covers a newly registered scheme: draws vs. its own distribution.
    shape = T_SHAPE
    w = wi.get(name)(shape, rng=KS_SEED + 2).ravel()
    own = wi.get(name).distribution(shape)
    assert _ks_pvalue(w, own.scipy()) > KS_ALPHA
    assert abs(w.mean() - own.loc) < 4.0 * own.std / math.sqrt(w.size)
    assert abs(w.std() / own.std - 1.0) < 0.03


# Negative controls: the same machinery rejects a wrong distribution.


def test_ks_rejects_glorot_draws_against_he_distribution():
    w = _draw("glorot_uniform", {}, T_SHAPE)
    wrong = wi.he_uniform.distribution(T_SHAPE).scipy()
    assert _ks_pvalue(w, wrong) < KS_ALPHA
    right = wi.glorot_uniform.distribution(T_SHAPE).scipy()
    assert _ks_pvalue(w, right) > KS_ALPHA


def test_ks_rejects_truncated_draws_against_untruncated_normal():
    # Same sigma before truncation: about 2.3 % of the mass is moved inwards.
    w = _draw("truncated_normal", {"std": 0.5}, D_SHAPE)
    assert _ks_pvalue(w, stats.norm(scale=0.5)) < KS_ALPHA
    assert _ks_pvalue(w, stats.truncnorm(-2, 2, scale=0.5)) > KS_ALPHA


def test_ks_rejects_normal_against_truncated_normal_of_equal_variance():
    # he_normal and keras_he_normal have the same variance 2/fan_in; only the shape
    # differs, which needs more draws to see (KS distance ≈ 0.017).
    w = wi.he_normal(BIG_SHAPE, rng=KS_SEED).ravel()
    keras = wi.keras_he_normal.distribution(BIG_SHAPE, layout="torch").scipy()
    assert _close(keras.std(), math.sqrt(2.0 / 400), rel=1e-9)
    assert _ks_pvalue(w, keras) < KS_ALPHA
    assert _ks_pvalue(w, _n(math.sqrt(2.0 / 400))) > KS_ALPHA


def test_ks_rejects_uniform_against_normal_of_equal_variance():
    w = _draw("lecun_uniform", {}, T_SHAPE)
    assert _ks_pvalue(w, _n(math.sqrt(1.0 / 500))) < KS_ALPHA


def test_std_check_rejects_a_five_percent_error():
    # KS alone hardly sees a 5 % scale error at this sample size; the std check does.
    w = _draw("he_normal", {}, T_SHAPE)
    wrong = _n(1.05 * math.sqrt(2.0 / 500))
    assert abs(w.std() / wrong.std() - 1.0) > _std_tolerance(wrong, w.size)


# --------------------------------------------------------------------------- orthogonal


def _flatten(w, layout):
    if layout == "torch":
        return w.reshape(w.shape[0], -1)
    return w.reshape(-1, w.shape[-1])


@pytest.mark.parametrize(
    ("shape", "layout", "rows", "cols"),
    [
        ((5, 12), "torch", 5, 12),
        ((12, 5), "torch", 12, 5),
        ((10, 10), "torch", 10, 10),
        ((8, 3, 3, 3), "torch", 8, 27),
        ((64, 2, 3, 3), "torch", 64, 18),
        ((16, 4, 5), "torch", 16, 20),
        ((12, 5), "keras", 12, 5),
        ((5, 12), "keras", 5, 12),
        ((3, 3, 2, 8), "keras", 18, 8),
        ((3, 3, 4, 64), "keras", 36, 64),
    ],
)
@pytest.mark.parametrize("g", [1.0, 2.0, math.sqrt(2.0)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, layout, rows, cols, g):
    w = wi.orthogonal(shape, rng=5, gain=g, layout=layout)
    assert w.shape == shape
    m = _flatten(w, layout)
    assert m.shape == (rows, cols)
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram, g**2 * np.eye(min(rows, cols)), atol=1e-12)
    if rows != cols:
        # The other product is only a projection, not the identity.
        other = m.T @ m if rows <= cols else m @ m.T
        assert not np.allclose(other, g**2 * np.eye(max(rows, cols)), atol=1e-6)


def test_orthogonal_float32():
    m = wi.orthogonal((6, 4, 3, 3), rng=1, dtype=np.float32).reshape(6, -1)
    assert m.dtype == np.float32
    np.testing.assert_allclose(m @ m.T, np.eye(6), atol=1e-5)


def test_orthogonal_default_layout_is_torch():
    # (3, 3, 2, 8) read torch-style: 3 rows of 48 entries.
    np.testing.assert_array_equal(
        wi.orthogonal((3, 3, 2, 8), rng=4), wi.orthogonal((3, 3, 2, 8), rng=4, layout="torch")
    )
    m = wi.orthogonal((3, 3, 2, 8), rng=4).reshape(3, -1)
    np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)


def test_orthogonal_determinism_and_seed_sensitivity():
    a = wi.orthogonal((8, 3, 3, 3), rng=9, layout="torch")
    np.testing.assert_array_equal(a, wi.orthogonal((8, 3, 3, 3), rng=9))
    np.testing.assert_array_equal(a, wi.orthogonal((8, 3, 3, 3), rng=np.random.default_rng(9)))
    assert not np.array_equal(a, wi.orthogonal((8, 3, 3, 3), rng=10))


def test_orthogonal_signs_are_not_biased():
    # Without folding the signs of diag(R) into Q, numpy's QR returns matrices whose
    # top-left entry is always negative. Haar-distributed matrices have mean-zero
    # entries (variance 1/n), so both signs must show up about equally often.
    corners = np.array([wi.orthogonal((4, 4), rng=s)[0, 0] for s in range(400)])
    assert (corners > 0).any()
    assert (corners < 0).any()
    assert abs(corners.mean()) < 4.0 * 0.5 / math.sqrt(corners.size)


# --------------------------------------------------------------------------- get / distribution


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("glorot_uniform", wi.glorot_uniform),
        ("xavier_uniform", wi.glorot_uniform),
        ("GLOROT_UNIFORM", wi.glorot_uniform),
        ("He_Normal", wi.he_normal),
        ("orthogonal", wi.orthogonal),
        ("torch_default", wi.torch_default),
        ("zeros", wi.zeros),
        ("variance_scaling", wi.variance_scaling),
    ],
)
def test_get_by_name(name, fn):
    assert wi.get(name) is fn


@pytest.mark.parametrize("name", ALL_NAMES)
def test_get_every_available_name(name):
    assert callable(wi.get(name))


def test_get_passes_callables_through():
    def my_init(shape, rng=None):
        return np.full(shape, 0.5)

    assert wi.get(my_init) is my_init
    assert wi.get(np.zeros) is np.zeros
    assert wi.get(wi.he_uniform) is wi.he_uniform


@pytest.mark.parametrize("name", ["glorot", "he", "", "kaiming"])
def test_get_unknown_name_lists_available(name):
    with pytest.raises(
        ValueError, match=rf"unknown initializer name {re.escape(repr(name))}; available: "
    ) as exc:
        wi.get(name)
    for known in ALL_NAMES:
        assert known in str(exc.value)


@pytest.mark.parametrize("value", [3, None, 1.5, ("glorot_uniform",)])
def test_get_non_string_non_callable_is_type_error(value):
    with pytest.raises(TypeError, match=r"initializer must be a name \(str\) or a callable"):
        wi.get(value)


@pytest.mark.parametrize("name", [*CONTINUOUS_NAMES, "zeros", "ones", "constant"])
@pytest.mark.parametrize("shape", [(10, 784), (16, 8, 3, 3)])
def test_distribution_function_matches_initializer_attribute(name, shape):
    assert wi.distribution(name, shape) == wi.get(name).distribution(shape)
    assert wi.distribution(name, list(shape)) == wi.get(name).distribution(shape)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("glorot_uniform", {"gain": 2.0}),
        ("he_normal", {"mode": "fan_out", "negative_slope": 0.1}),
        ("variance_scaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"}),
        ("caffe_msra", {"variance_norm": "average", "layout": "keras"}),
        ("uniform", {"low": 0.0, "high": 1.0}),
    ],
)
def test_distribution_function_passes_params(name, params):
    shape = (16, 8, 3, 3)
    got = wi.distribution(name, shape, **params)
    assert got == wi.get(name).distribution(shape, **params)
    assert got != wi.get(name).distribution(shape)


def test_distribution_function_accepts_a_callable_initializer():
    assert wi.distribution(wi.he_uniform, (10, 20)) == wi.he_uniform.distribution((10, 20))


def test_distribution_of_orthogonal_is_an_error():
    with pytest.raises(
        ValueError,
        match=r"initializer 'orthogonal' does not draw entries from a fixed distribution",
    ):
        wi.distribution("orthogonal", (4, 4))


def test_distribution_of_plain_callable_is_an_error():
    with pytest.raises(ValueError, match=r"does not draw entries from a fixed distribution"):
        wi.distribution(lambda shape, rng=None: np.zeros(shape), (4, 4))


# --------------------------------------------------------------------------- torch_default_bias


@pytest.mark.parametrize("fan_in", [1, 27, 784, 2.5])
def test_torch_default_bias_bound(fan_in):
    bound = 1.0 / math.sqrt(fan_in)
    b = wi.torch_default_bias((BIG_N,), rng=3, fan_in=fan_in)
    assert b.shape == (BIG_N,)
    assert np.max(np.abs(b)) <= bound
    assert b.max() > bound * (1 - 1e-3)
    assert b.min() < -bound * (1 - 1e-3)


def test_torch_default_bias_distribution_and_determinism():
    b = wi.torch_default_bias((KS_N,), rng=KS_SEED, fan_in=784)
    assert _ks_pvalue(b, stats.uniform(loc=-1.0 / 28.0, scale=2.0 / 28.0)) > KS_ALPHA
    np.testing.assert_array_equal(b, wi.torch_default_bias((KS_N,), rng=KS_SEED, fan_in=784))
    np.testing.assert_array_equal(
        b, wi.torch_default_bias((KS_N,), rng=np.random.default_rng(KS_SEED), fan_in=784)
    )
    assert not np.array_equal(b, wi.torch_default_bias((KS_N,), rng=KS_SEED + 1, fan_in=784))
    b32 = wi.torch_default_bias((10,), rng=0, fan_in=784, dtype=np.float32)
    assert b32.dtype == np.float32
    # Same bound as the layer's weight with that fan-in.
    assert _close(wi.torch_default.distribution((10, 784)).scale, 1.0 / 28.0)


@pytest.mark.parametrize(
    ("fan_in", "exc", "match"),
    [
        (0, ValueError, r"fan_in must be a positive finite number, got 0"),
        (-3, ValueError, r"fan_in must be a positive finite number, got -3"),
        (math.nan, ValueError, r"fan_in must be a positive finite number, got nan"),
        (math.inf, ValueError, r"fan_in must be a positive finite number, got inf"),
        ("784", TypeError, r"fan_in must be a positive number, got str '784'"),
        (True, TypeError, r"fan_in must be a positive number, got bool True"),
    ],
)
def test_torch_default_bias_bad_fan_in(fan_in, exc, match):
    with pytest.raises(exc, match=match):
        wi.torch_default_bias((10,), rng=0, fan_in=fan_in)


def test_torch_default_bias_needs_fan_in():
    with pytest.raises(TypeError, match=r"fan_in"):
        wi.torch_default_bias((10,), rng=0)


# --------------------------------------------------------------------------- bad input

BAD_INPUT = [
    # non-positive fan through a zero dim
    ("he_uniform", ((0, 3), {}), ValueError, r"shape\[0\] must be a positive integer, got 0"),
    (
        "glorot_normal",
        ((16, 8, 0, 3), {}),
        ValueError,
        r"shape\[2\] must be a positive integer, got 0",
    ),
    ("uniform", ((4, -1), {}), ValueError, r"shape\[1\] must be a positive integer, got -1"),
    # too few dims for a fan-based scheme
    ("glorot_uniform", ((10,), {}), ValueError, r"shape must have at least 2 dimension"),
    ("lecun_normal", ((10,), {}), ValueError, r"shape must have at least 2 dimension"),
    ("keras_he_normal", ((10,), {}), ValueError, r"shape must have at least 2 dimension"),
    ("orthogonal", ((10,), {}), ValueError, r"shape must have at least 2 dimension"),
    # non-integer shapes
    ("he_normal", ((3.0, 4), {}), TypeError, r"shape\[0\] must be a positive integer, got float"),
    ("lecun_uniform", ("34", {}), TypeError, r"shape must be a tuple or list of positive integers"),
    # modes, distributions, Caffe norms
    (
        "variance_scaling",
        ((8, 5), {"mode": "fan_sum"}),
        ValueError,
        r"mode must be one of \('fan_in', 'fan_out', 'fan_avg'\), got 'fan_sum'",
    ),
    (
        "he_uniform",
        ((8, 5), {"mode": "FAN_SUM"}),
        ValueError,
        r"mode must be one of .*got 'FAN_SUM'",
    ),
    ("he_uniform", ((8, 5), {"mode": 1}), TypeError, r"mode must be a string, one of .*got int 1"),
    (
        "kaiming_uniform",
        ((8, 5), {"mode": "fan_avg"}),
        ValueError,
        r"mode must be one of \('fan_in', 'fan_out'\), got 'fan_avg'",
    ),
    (
        "kaiming_normal",
        ((8, 5), {"mode": "fan_avg"}),
        ValueError,
        r"mode must be one of \('fan_in', 'fan_out'\), got 'fan_avg'",
    ),
    (
        "variance_scaling",
        ((8, 5), {"distribution": "gaussian"}),
        ValueError,
        r"distribution must be one of \('uniform', 'normal', 'truncated_normal'\), got 'gaussian'",
    ),
    (
        "caffe_xavier",
        ((8, 5), {"variance_norm": "fan_avg"}),
        ValueError,
        r"variance_norm must be one of \('fan_in', 'fan_out', 'average'\), got 'fan_avg'",
    ),
    (
        "caffe_msra",
        ((8, 5), {"variance_norm": 2}),
        TypeError,
        r"variance_norm must be a string, one of .*got int 2",
    ),
    # bad scalars
    ("normal", ((8, 5), {"std": -1.0}), ValueError, r"std must be > 0, got -1\.0"),
    ("normal", ((8, 5), {"std": 0.0}), ValueError, r"std must be > 0, got 0\.0"),
    ("normal", ((8, 5), {"mean": math.nan}), ValueError, r"mean must be finite, got nan"),
    ("normal", ((8, 5), {"std": "0.1"}), TypeError, r"std must be a real number, got str"),
    ("truncated_normal", ((8, 5), {"std": 0.0}), ValueError, r"std must be > 0"),
    ("truncated_normal", ((8, 5), {"cutoff": 0.0}), ValueError, r"cutoff must be > 0"),
    ("truncated_normal", ((8, 5), {"mean": math.inf}), ValueError, r"mean must be finite"),
    (
        "uniform",
        ((8, 5), {"low": 1.0, "high": 1.0}),
        ValueError,
        r"uniform needs low < high, got low=1\.0, high=1\.0",
    ),
    (
        "uniform",
        ((8, 5), {"low": 2.0, "high": -2.0}),
        ValueError,
        r"uniform needs low < high, got low=2\.0, high=-2\.0",
    ),
    ("uniform", ((8, 5), {"high": math.nan}), ValueError, r"high must be finite"),
    ("constant", ((8, 5), {"value": "1"}), TypeError, r"value must be a real number, got str"),
    ("glorot_uniform", ((8, 5), {"gain": -1.0}), ValueError, r"gain must be > 0, got -1\.0"),
    ("glorot_normal", ((8, 5), {"gain": 0.0}), ValueError, r"gain must be > 0, got 0\.0"),
    ("orthogonal", ((8, 5), {"gain": 0.0}), ValueError, r"gain must be > 0, got 0\.0"),
    ("orthogonal", ((8, 5), {"gain": -2.0}), ValueError, r"gain must be > 0, got -2\.0"),
    ("variance_scaling", ((8, 5), {"scale": 0.0}), ValueError, r"scale must be > 0, got 0\.0"),
    (
        "he_uniform",
        ((8, 5), {"negative_slope": "0.1"}),
        TypeError,
        r"negative_slope must be a real number",
    ),
    (
        "he_normal",
        ((8, 5), {"negative_slope": math.nan}),
        ValueError,
        r"negative_slope must be finite",
    ),
    # nonlinearities
    (
        "kaiming_uniform",
        ((8, 5), {"nonlinearity": "gelu"}),
        ValueError,
        r"nonlinearity must be one of \('linear', .*got 'gelu'",
    ),
    (
        "kaiming_normal",
        ((8, 5), {"nonlinearity": "swish"}),
        ValueError,
        r"nonlinearity must be one of \('linear', .*got 'swish'",
    ),
    (
        "kaiming_uniform",
        ((8, 5), {"negative_slope": math.nan}),
        ValueError,
        r"negative_slope must be finite",
    ),
    # layouts
    (
        "lecun_uniform",
        ((8, 5), {"layout": "tf"}),
        ValueError,
        r"layout must be one of \('torch', 'keras'\), got 'tf'",
    ),
    (
        "keras_glorot_normal",
        ((8, 5), {"layout": "channels_last"}),
        ValueError,
        r"layout must be one of \('torch', 'keras'\), got 'channels_last'",
    ),
    (
        "orthogonal",
        ((8, 5), {"layout": "tf"}),
        ValueError,
        r"layout must be one of \('torch', 'keras'\), got 'tf'",
    ),
    # unexpected keywords
    ("glorot_uniform", ((8, 5), {"gian": 2.0}), TypeError, r"unexpected keyword argument 'gian'"),
    ("he_normal", ((8, 5), {"a": 0.1}), TypeError, r"unexpected keyword argument 'a'"),
    ("zeros", ((8, 5), {"value": 1.0}), TypeError, r"unexpected keyword argument 'value'"),
]


@pytest.mark.parametrize(
    ("name", "call", "exc", "match"),
    BAD_INPUT,
    ids=[f"{row[0]}-{i}" for i, row in enumerate(BAD_INPUT)],
)
def test_bad_input(name, call, exc, match):
    shape, params = call
    with pytest.raises(exc, match=match):
        wi.get(name)(shape, rng=0, **params)
    if name != "orthogonal" and not (exc is TypeError and "unexpected keyword" in match):
        # The distribution builder validates the same way, without drawing.
        with pytest.raises(exc, match=match):
            wi.distribution(name, shape, **params)


def test_distribution_sample_takes_rng_and_dtype_by_keyword():
    dist = Distribution("normal", 0.0, 1.0)
    np.testing.assert_array_equal(dist.sample((4,), rng=3), dist.sample((4,), rng=3))
    with pytest.raises(TypeError, match=r"^Distribution\.sample\(\) takes the shape as its only"):
        dist.sample((4,), 3)
    with pytest.raises(TypeError, match=r"pass the seed as a keyword"):
        dist.sample((4,), None, np.float32)


def test_every_public_function_that_draws_takes_rng_keyword_only():
    # issue 12: a positional seed is a trap (PyTorch's second argument is a parameter). Every
    # public function or method of the package with an ``rng`` (or ``seed``) parameter takes
    # it keyword-only; as_generator(rng), whose one argument *is* the seed, is the exception.
    import importlib
    import inspect
    import pkgutil

    import weightinit

    exceptions = {"initializers.as_generator"}
    found, wrong = 0, []
    for info in pkgutil.iter_modules(weightinit.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"weightinit.{info.name}")
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            targets = [(name, obj)]
            if inspect.isclass(obj):
                targets = [(f"{name}.__init__", obj.__init__)] + [
                    (f"{name}.{k}", v)
                    for k, v in vars(obj).items()
                    if callable(v) and not k.startswith("_")
                ]
            for label, fn in targets:
                try:
                    params = inspect.signature(fn).parameters
                except (TypeError, ValueError):
                    continue
                for p in ("rng", "seed"):
                    if p in params and f"{info.name}.{label}" not in exceptions:
                        found += 1
                        if params[p].kind is not inspect.Parameter.KEYWORD_ONLY:
                            wrong.append(f"{info.name}.{label}({p})")
    assert found >= 40  # the scan reaches the initializers, layers, data, experiments...
    assert wrong == []
