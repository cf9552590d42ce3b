"""Analysis: Jacobians, quadrature gains and the mean-field maps."""

import functools
import itertools
import math

import numpy as np
import pytest
import weightinit as wi
from gradcheck import numerical_grad
from weightinit import analysis as A
from weightinit.layers import (
    SELU,
    Conv2D,
    Dense,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Sequential,
    Tanh,
    mlp,
)


# --------------------------------------------------------------------------- Jacobian
def fd_jacobian(net, x, eps=1e-6):
    x = x.astype(np.float64).copy()
    m = net.forward(x[None], training=False).size
    rows = []
    for i in range(m):

        def f(i=i):
            return float(net.forward(x[None], training=False).reshape(-1)[i])

        rows.append(numerical_grad(f, x, eps).reshape(-1))
    return np.array(rows)


def test_jacobian_of_an_mlp_matches_finite_differences():
    net = mlp([5, 7, 6, 4], activation_name="tanh", weight_init="glorot_normal", rng=0)
    x = np.random.default_rng(1).standard_normal(5)
    j = A.jacobian(net, x)
    assert j.shape == (4, 5)
    np.testing.assert_allclose(j, fd_jacobian(net, x), rtol=1e-6, atol=1e-8)


def test_jacobian_of_a_cnn_matches_finite_differences_and_chunks_agree():
    net = Sequential(
        [
            Conv2D(2, 3, 3, padding=1, weight_init="he_normal", rng=0),
            SELU(),
            MaxPool2D(2),
            Flatten(),
            Dense(3 * 2 * 2, 5, weight_init="he_normal", rng=1),
        ]
    )
    x = np.random.default_rng(2).standard_normal((2, 4, 4))
    j = A.jacobian(net, x)
    assert j.shape == (5, 32)
    np.testing.assert_allclose(j, fd_jacobian(net, x), rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(A.jacobian(net, x, chunk_size=2), j)


def test_jacobian_of_a_linear_net_is_the_matrix_product():
    net = mlp([6, 8, 3], activation_name="linear", weight_init="glorot_normal", rng=4)
    w1, w2 = net.layers[0].params["W"], net.layers[2].params["W"]
    j = A.jacobian(net, np.ones(6))
    np.testing.assert_allclose(j, w2 @ w1, rtol=1e-12)


def test_orthogonal_linear_net_has_all_singular_values_one():
    net = mlp([32] * 21, activation_name="linear", weight_init="orthogonal", rng=0)
    s = A.jacobian_singular_values(net, np.random.default_rng(0).standard_normal(32))
    assert s.shape == (32,)
    np.testing.assert_allclose(s, 1.0, atol=1e-10)
    # A Gaussian start of the same variance is far from an isometry at depth 20.
    g = mlp([32] * 21, activation_name="linear", weight_init="lecun_normal", rng=0)
    sg = A.jacobian_singular_values(g, np.ones(32))
    assert sg.max() / sg.min() > 100
    assert np.all(np.diff(sg) <= 0)  # decreasing order


def test_jacobian_bad_input():
    net = mlp([3, 2], rng=0)
    with pytest.raises(TypeError, match="net must be a weightinit Sequential"):
        A.jacobian(net.layers[0], np.ones(3))
    with pytest.raises(ValueError, match="without the batch axis"):
        A.jacobian(net, 1.0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        A.jacobian(net, np.array([1.0, np.nan, 0.0]))
    with pytest.raises(TypeError, match="real numeric"):
        A.jacobian(net, np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match="in_features=3"):
        A.jacobian(net, np.ones(4))
    with pytest.raises(ValueError, match="chunk_size"):
        A.jacobian(net, np.ones(3), chunk_size=0)


# --------------------------------------------------------------------------- quadrature and gains
def monte_carlo(fn, q=1.0, n=400_000, seed=0):
    z = np.random.default_rng(seed).standard_normal(n) * math.sqrt(q)
    v = fn(z)
    return v.mean(), v.std(ddof=1) / math.sqrt(n)


@pytest.mark.parametrize(
    ("name", "layer"),
    [("tanh", Tanh()), ("relu", ReLU()), ("leaky_relu", LeakyReLU(0.2)), ("selu", SELU())],
)
@pytest.mark.parametrize("q", [0.3, 1.0, 2.5])
def test_moments_agree_with_monte_carlo(name, layer, q):
    slope = 0.2 if name == "leaky_relu" else None
    fwd, bwd = A.activation_moments(name, q, negative_slope=slope)

    def df(z):
        layer.forward(z)
        return layer.backward(np.ones_like(z))

    for value, fn in [(fwd, lambda z: layer.forward(z) ** 2), (bwd, lambda z: df(z) ** 2)]:
        mean, se = monte_carlo(fn, q)
        assert abs(value - mean) < 5 * se


def test_closed_forms():
    # E[relu(sqrt(q) z)^2] = q/2, E[tanh'(0)^2] = 1 at q = 0, selu is self-normalizing.
    np.testing.assert_allclose(A.activation_moments("relu", [0.5, 2.0])[0], [0.25, 1.0], rtol=1e-12)
    np.testing.assert_allclose(A.activation_moments("tanh", 0.0), (0.0, 1.0), atol=1e-15)
    np.testing.assert_allclose(A.activation_moments("selu", 1.0)[0], 1.0, atol=1e-12)
    np.testing.assert_allclose(A.gaussian_expectation(lambda z: z**4, 2.0), 12.0, rtol=1e-12)
    assert isinstance(A.gaussian_expectation(np.cos), float)
    np.testing.assert_allclose(A.gaussian_expectation(np.cos), math.exp(-0.5), rtol=1e-12)


@pytest.mark.parametrize(
    ("name", "slope"),
    [("linear", None), ("conv2d", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.3)],
)
def test_numerical_gain_reproduces_the_derived_pytorch_gains(name, slope):
    assert A.numerical_gain(name, negative_slope=slope) == pytest.approx(
        wi.gain(name, slope), rel=1e-10
    )


def test_numerical_gain_shows_the_heuristic_ones():
    tanh = A.numerical_gain("tanh")
    assert tanh == pytest.approx(1.5925, abs=1e-4)  # E[tanh(z)^2] = 0.39429...
    assert abs(tanh - wi.gain("tanh")) > 0.07  # PyTorch: 5/3
    assert A.numerical_gain("selu") == pytest.approx(1.0, abs=1e-10)  # PyTorch: 3/4
    assert wi.gain("selu") == 0.75
    assert A.numerical_gain("sigmoid") == pytest.approx(1.8462, abs=1e-4)  # PyTorch: 1
    # backward gain of tanh: 1 / sqrt(E[sech^4 z])
    mean, _ = monte_carlo(lambda z: np.cosh(z) ** -4, n=2_000_000)
    assert A.numerical_gain("tanh", mode="backward") == pytest.approx(mean**-0.5, rel=1e-3)


def test_split_rule_is_needed_for_kinks():
    # Plain Gauss-Hermite misses E[selu'(z)^2] by ~1 %, the split rule does not.
    layer = SELU()

    def dsq(z):
        layer.forward(z)
        return layer.backward(np.ones_like(z)) ** 2

    plain = A.gaussian_expectation(dsq)
    split = A.gaussian_expectation(dsq, split_at_zero=True)
    mean, se = monte_carlo(dsq)
    assert abs(split - mean) < 5 * se
    assert abs(plain - split) > 1e-3


# --------------------------------------------------------------------------- mean field
def test_length_map_and_fixed_point():
    qs = A.fixed_point(1.5, 0.3)
    assert A.length_map(qs, 1.5, 0.3) == pytest.approx(qs, rel=1e-9)
    # attracting: iterating from far away lands on it
    assert A.fixed_point(1.5, 0.3, q0=20.0) == pytest.approx(qs, rel=1e-8)
    # relu: q_{l+1} = sigma_w^2 q_l / 2 + sigma_b^2 -> q* = sigma_b^2 / (1 - sigma_w^2/2)
    assert A.fixed_point(1.2, 0.5, "relu") == pytest.approx(0.25 / (1 - 0.72), rel=1e-8)
    assert A.fixed_point(1.6, 0.0, "relu") == math.inf
    # tanh, sigma_w <= 1, small sigma_b: q* small; broadcasting
    out = A.fixed_point(np.array([1.2, 2.0]), np.array([[0.1], [0.5]]))
    assert out.shape == (2, 2)
    np.testing.assert_allclose(
        A.length_map(out, np.array([1.2, 2.0]), np.array([[0.1], [0.5]])), out
    )
    with pytest.raises(RuntimeError, match="did not converge"):
        A.fixed_point(math.sqrt(2), 0.1, "relu", max_iter=200)


def test_fixed_point_matches_a_wide_network():
    # the pre-activation second moment of a wide random tanh network approaches q*
    sw, sb, width = 1.8, 0.3, 1000
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, width))
    for _ in range(15):
        w = rng.normal(0, sw / math.sqrt(width), (width, width))
        b = rng.normal(0, sb, width)
        y = np.tanh(x) @ w.T + b
        x = y
    assert np.mean(y**2) == pytest.approx(A.fixed_point(sw, sb), rel=0.08)


def test_chi1_and_critical_line():
    # relu: chi1 = sigma_w^2 / 2 whatever q*
    assert A.chi1(1.3, 0.2, "relu") == pytest.approx(1.3**2 / 2, rel=1e-10)
    assert A.critical_sigma_w(0.0, "relu") == pytest.approx(math.sqrt(2))
    assert A.critical_sigma_w(0.0, "tanh") == 1.0
    sw = A.critical_sigma_w(0.3)
    assert sw > 1.0 and A.chi1(sw, 0.3) == pytest.approx(1.0, abs=1e-8)
    assert A.chi1(sw * 0.9, 0.3) < 1 < A.chi1(sw * 1.1, 0.3)
    assert A.depth_scale(sw * 0.9, 0.3) > 0 > A.depth_scale(sw * 1.1, 0.3)
    assert A.depth_scale(math.sqrt(2), 0.0, "relu") == math.inf
    with pytest.raises(ValueError, match="same sign"):
        A.critical_sigma_w(0.3, bracket=(2.0, 4.0))


def test_chi1_is_the_slope_of_the_correlation_map_at_one():
    sw, sb = 1.4, 0.2
    qs = A.fixed_point(sw, sb)
    h = 1e-4
    slope = (
        A.correlation_map(1.0, sw, sb, q_star=qs) - A.correlation_map(1 - h, sw, sb, q_star=qs)
    ) / h
    assert slope == pytest.approx(A.chi1(sw, sb), rel=2e-3)
    assert A.correlation_map(1.0, sw, sb) == pytest.approx(1.0, abs=1e-9)


def test_relu_correlation_map_is_the_arccosine_kernel():
    c = np.array([-0.9, -0.3, 0.0, 0.4, 0.9, 0.999])
    want = (np.sqrt(1 - c**2) + (np.pi - np.arccos(c)) * c) / np.pi
    got = A.correlation_map(c, math.sqrt(2), 0.0, "relu", q_star=1.0)
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_correlation_map_matches_monte_carlo():
    sw, sb, c = 2.0, 0.3, 0.6
    qs = A.fixed_point(sw, sb)
    rng = np.random.default_rng(3)
    z1, z2 = rng.standard_normal((2, 1_000_000))
    u1 = math.sqrt(qs) * z1
    u2 = math.sqrt(qs) * (c * z1 + math.sqrt(1 - c * c) * z2)
    v = (sw**2 * np.tanh(u1) * np.tanh(u2) + sb**2) / qs
    se = v.std(ddof=1) / math.sqrt(v.size)
    assert abs(A.correlation_map(c, sw, sb) - v.mean()) < 5 * se


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: A.activation_moments("swish"), ValueError, "unknown nonlinearity 'swish'"),
        (lambda: A.activation_moments(3), TypeError, "nonlinearity must be a name"),
        (lambda: A.activation_moments("tanh", -1.0), ValueError, "q must be >= 0"),
        (lambda: A.activation_moments("tanh", np.nan), ValueError, "q must be finite"),
        (lambda: A.activation_moments("tanh", n=1), ValueError, "n .* must be >= 2"),
        (lambda: A.activation_moments("leaky_relu", negative_slope="a"), TypeError, "^negative_s"),
        (lambda: A.gaussian_expectation(3.0), TypeError, "fn must be a callable"),
        (lambda: A.numerical_gain("tanh", mode="both"), ValueError, "mode must be"),
        (lambda: A.length_map(1.0, 0.0), ValueError, "sigma_w must be > 0"),
        (lambda: A.length_map(1.0, 1.0, -0.1), ValueError, "sigma_b must be >= 0"),
        (lambda: A.length_map(1.0, "1"), TypeError, "sigma_w must be a real"),
        (lambda: A.fixed_point(1.0, 0.1, tol=0), ValueError, "tol must be > 0"),
        (lambda: A.correlation_map(1.5, 1.0, 0.1), ValueError, r"c must lie in \[-1, 1\]"),
        (lambda: A.correlation_map(0.5, 1.0, 0.0, q_star=0.0), ValueError, "q_star must be finite"),
        (lambda: A.chi1(1.6, 0.0, "relu"), ValueError, "q_star is infinite"),
        (lambda: A.critical_sigma_w(0.1, bracket=(2.0, 1.0)), ValueError, "low < high"),
        (lambda: A.critical_sigma_w(0.1, bracket=3.0), ValueError, "pair"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------- issue 12 (fuzz)
def test_critical_sigma_w_of_homogeneous_activations_for_every_sigma_b():
    # chi1 = sigma_w² E[f'(z)²] whatever q*: the edge does not move with sigma_b (it used
    # to fail with "q_star is infinite" because the bracket reached the exploding side)
    for sb in (0.0, 0.1, 0.5):
        assert A.critical_sigma_w(sb, "relu") == pytest.approx(math.sqrt(2), rel=1e-12)
        assert A.critical_sigma_w(sb, "linear") == pytest.approx(1.0, rel=1e-12)
        assert A.critical_sigma_w(sb, "leaky_relu", negative_slope=0.5) == pytest.approx(
            math.sqrt(2 / 1.25), rel=1e-12
        )
    # selu: unbounded, so the bracket's upper end diverges; that side counts as chaotic
    sw = A.critical_sigma_w(0.1, "selu")
    assert A.chi1(sw, 0.1, "selu") == pytest.approx(1.0, abs=1e-8)


def test_quadrature_nodes_are_bounded():
    # above 371 nodes numpy's Gauss-Hermite weights are NaN: the result was NaN
    assert math.isfinite(A.gaussian_expectation(np.tanh, 1.0, n=A.MAX_NODES))
    with pytest.raises(ValueError, match=r"^n \(number of quadrature nodes\) must be"):
        A.gaussian_expectation(np.tanh, 1.0, n=A.MAX_NODES + 1)
    with pytest.raises(ValueError, match=r"^n \("):
        A.correlation_map(0.5, 1.5, 0.1, n=10**6)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: A.gaussian_expectation(lambda x: None), TypeError, "^fn must return"),
        (lambda: A.gaussian_expectation(lambda x: 1.0, [1.0, 2.0]), ValueError, "^fn must be vec"),
        (lambda: A.gaussian_expectation(np.log, 1.0), ValueError, "fn returns NaN"),
        (lambda: A.gaussian_expectation(np.tanh, split_at_zero="no"), TypeError, "^split_at_zero"),
        (lambda: A.gaussian_expectation(np.tanh, []), ValueError, "^q must not be empty"),
        (lambda: A.activation_moments("relu", 1e308), ValueError, "q is too large"),
        (lambda: A.length_map(1.0, 1e200), ValueError, "sigma_w"),
        (lambda: A.depth_scale(np.zeros((0, 3))), ValueError, "^sigma_w must not be empty"),
        (lambda: A.correlation_map("", 1.5, 0.1), TypeError, "^c must be a real"),
        (lambda: A.correlation_map([], 1.5, 0.1), ValueError, "^c must not be empty"),
    ],
)
def test_bad_input_is_named(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_numerical_gain_mode_is_case_insensitive():
    assert A.numerical_gain("relu", mode="Backward") == A.numerical_gain("relu", mode="backward")


def test_non_convergence_is_a_value_error_too():
    # RuntimeError as documented before, and a ValueError like every rejection
    with pytest.raises(A.ConvergenceError, match="max_iter=50") as info:
        A.fixed_point(math.sqrt(2), 0.1, "relu", max_iter=50)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- leaky slope name
#: every function of the module that takes the leaky slope, called with it (kw: the slope)
SLOPE_CALLS = {
    "activation_moments": lambda **kw: A.activation_moments("leaky_relu", 2.0, **kw),
    "numerical_gain": lambda **kw: A.numerical_gain("leaky_relu", mode="backward", **kw),
    "length_map": lambda **kw: A.length_map(2.0, 1.2, 0.1, "leaky_relu", **kw),
    "fixed_point": lambda **kw: A.fixed_point(1.2, 0.1, "leaky_relu", **kw),
    "chi1": lambda **kw: A.chi1(1.2, 0.1, "leaky_relu", **kw),
    "correlation_map": lambda **kw: A.correlation_map(0.5, 1.2, 0.1, "leaky_relu", **kw),
    "critical_sigma_w": lambda **kw: A.critical_sigma_w(0.1, "leaky_relu", **kw),
    "depth_scale": lambda **kw: A.depth_scale(1.2, 0.1, "leaky_relu", **kw),
}


def test_every_slope_taking_function_is_listed():
    import inspect

    takes = {
        name
        for name in A.__all__
        if callable(getattr(A, name))
        and not inspect.isclass(getattr(A, name))
        and {"negative_slope", "param"} & set(inspect.signature(getattr(A, name)).parameters)
    }
    assert takes == set(SLOPE_CALLS)
    for name in takes:  # the slope is keyword-only, called negative_slope
        params = inspect.signature(getattr(A, name)).parameters
        assert params["negative_slope"].kind is inspect.Parameter.KEYWORD_ONLY
        assert params["param"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("name", sorted(SLOPE_CALLS))
def test_param_is_a_deprecated_alias_of_negative_slope(name):
    call = SLOPE_CALLS[name]
    expected = call(negative_slope=0.3)
    with pytest.warns(DeprecationWarning, match=r"param= is deprecated.*negative_slope") as rec:
        got = call(param=0.3)
    assert len(rec) == 1  # one warning, however many functions the call goes through
    assert rec[0].filename == __file__  # it points at the caller's line
    np.testing.assert_array_equal(got, expected)
    # the slope matters: 0.3 is not the default 0.01
    assert not np.array_equal(call(negative_slope=None), expected)
    with pytest.raises(TypeError, match="give the slope once: negative_slope, or its deprecated"):
        call(negative_slope=0.3, param=0.3)


def test_numerical_gain_refuses_a_positional_slope():
    # numerical_gain(name, 0.2) meant the slope; now the slope is keyword-only
    with pytest.raises(TypeError, match=r"negative_slope=0\.2"):
        A.numerical_gain("leaky_relu", 0.2)
    with pytest.raises(TypeError, match="only positional argument"):
        A.numerical_gain("leaky_relu", None)


# --------------------------------------------------------------------------- quadrature accuracy
from scipy.integrate import quad  # noqa: E402

#: activations and slopes of the accuracy tests (every one the module knows)
QUAD_ACTS = [("tanh", None), ("sigmoid", None), ("relu", None), ("leaky_relu", 0.2),
             ("linear", None), ("selu", None)]  # fmt: skip
QUAD_Q = [1e-4, 1e-2, 0.3, 1.0, 4.0, 10.0, 100.0, 1e3, 1e4, 1e6]


def _quad_moment(g, q):
    """E[g(sqrt(q) z)] by adaptive quadrature, with breakpoints at 0 and at the activation's
    scale 1/sqrt(q), which the adaptive rule would otherwise have to find."""
    s = math.sqrt(q)
    pts = [k / s for k in (0.25, 0.5, 1, 2, 4, 8, 16, 32) if k / s < 12]
    total = 0.0
    for sign in (-1.0, 1.0):
        edges = [0.0, *pts, 40.0]
        for a, b in itertools.pairwise(edges):
            total += quad(lambda t, sg=sign: g(sg * s * t) * math.exp(-0.5 * t * t), a, b,
                          epsabs=1e-15, epsrel=1e-13, limit=200)[0]  # fmt: skip
    return total / math.sqrt(2 * math.pi)


@functools.cache
def _reference(name, slope, q):
    f, df, _ = A._f_and_df(name, slope)

    def scalar(fn):
        return lambda u: float(fn(np.array([u]))[0]) ** 2

    return _quad_moment(scalar(f), q), _quad_moment(scalar(df), q)


@pytest.mark.parametrize(("name", "slope"), QUAD_ACTS)
def test_moments_match_scipy_quad_over_the_documented_q_range(name, slope):
    # tanh'(sqrt(q) z)² is a spike of width 1/sqrt(q): Gauss-Hermite with 100 nodes gave
    # chi1(4.0) = 2.26 (2.37 with 200); the graded panel rule is accurate to MOMENT_RTOL
    assert A.Q_RANGE[0] <= min(QUAD_Q) and max(QUAD_Q) <= A.Q_RANGE[1]
    fwd, bwd = A.activation_moments(name, np.array(QUAD_Q), negative_slope=slope)
    want = np.array([_reference(name, slope, q) for q in QUAD_Q])
    np.testing.assert_allclose(fwd, want[:, 0], rtol=A.MOMENT_RTOL, atol=0)
    np.testing.assert_allclose(bwd, want[:, 1], rtol=A.MOMENT_RTOL, atol=0)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "selu"])
@pytest.mark.parametrize("sigma_w", [0.5, 1.0, 2.0, 4.0])
def test_length_map_and_chi1_match_scipy_quad(name, sigma_w):
    sb = 0.1
    for q in (0.3, 10.0, 1e3):
        fwd, bwd = _reference(name, None, q)
        assert A.length_map(q, sigma_w, sb, name) == pytest.approx(
            sigma_w**2 * fwd + sb**2, rel=A.MOMENT_RTOL
        )
        assert A.chi1(sigma_w, sb, name, q_star=q) == pytest.approx(
            sigma_w**2 * bwd, rel=A.MOMENT_RTOL
        )


def test_chi1_at_large_q_star_no_longer_depends_on_the_node_count():
    # the report of issue 12: chi1(4.0) was 2.26 with 100 nodes and 2.37 with 200
    values = [A.chi1(4.0, n=n) for n in (100, 200, A.MAX_NODES)]
    q_star = A.fixed_point(4.0)
    assert q_star > 12
    want = 16.0 * _quad_moment(lambda u: (1.0 - math.tanh(u) ** 2) ** 2, q_star)
    np.testing.assert_allclose(values, want, rtol=1e-11)
    assert A.chi1(4.0, n=60) == pytest.approx(want, rel=1e-8)  # 6 nodes per panel
    assert want == pytest.approx(2.3768015837827, rel=1e-12)


def test_correlation_map_of_tanh_matches_nested_quad_at_large_q_star():
    # the 2-D rule had the same problem (Gauss-Hermite 60 x 60: error 3e-4 at sigma_w = 4)
    sw, sb, c = 4.0, 0.3, 0.7
    qs = A.fixed_point(sw, sb)
    rq, s = math.sqrt(qs), math.sqrt(1 - c * c)

    def inner(z1):
        b, w = -c * z1 / s, 1.0 / (rq * s)
        pts = [b + k * w for k in (-16, -4, -1, 0, 1, 4, 16) if abs(b + k * w) < 12]
        val = quad(lambda z2: math.tanh(rq * (c * z1 + s * z2)) * math.exp(-0.5 * z2 * z2),
                   -12, 12, points=pts, limit=400, epsabs=1e-14)[0]  # fmt: skip
        return val * math.tanh(rq * z1) * math.exp(-0.5 * z1 * z1)

    pts = [k / rq for k in (-16, -4, -1, 0, 1, 4, 16)]
    e = quad(inner, -12, 12, points=pts, limit=400, epsabs=1e-13)[0] / (2 * math.pi)
    want = (sw**2 * e + sb**2) / qs
    assert A.correlation_map(c, sw, sb, q_star=qs) == pytest.approx(want, abs=1e-9)
    assert A.correlation_map(c, sw, sb, q_star=qs, n=200) == pytest.approx(want, abs=1e-12)
