"""Structured initializers: delta-orthogonal, Dirac and identity kernels."""

import inspect

import numpy as np
import pytest
import weightinit as wi
from weightinit import initializers as I
from weightinit import structured as S
from weightinit.conv import conv2d
from weightinit.layers import Conv2D, Sequential, Tanh


def centre(w):
    return w[(slice(None), slice(None), *(k // 2 for k in w.shape[2:]))]


@pytest.mark.parametrize(
    "shape", [(16, 8, 3, 3), (8, 8, 5, 5), (32, 3, 3, 3), (6, 4, 3), (5, 5, 3, 3, 3)]
)
def test_delta_orthogonal_centre_is_orthonormal_and_rest_is_zero(shape):
    w = S.delta_orthogonal(shape, rng=0)
    assert w.shape == shape and w.dtype == np.float64
    h = centre(w)
    np.testing.assert_allclose(h.T @ h, np.eye(shape[1]), atol=1e-12)
    off = w.copy()
    off[(slice(None), slice(None), *(k // 2 for k in shape[2:]))] = 0.0
    assert np.count_nonzero(off) == 0
    # the centre matrix is dense (not, e.g., an identity): an orthogonal draw
    assert np.count_nonzero(h) == h.size


def test_delta_orthogonal_gain_seed_and_layout():
    a = S.delta_orthogonal((16, 8, 3, 3), rng=1, gain=2.0)
    np.testing.assert_allclose(centre(a).T @ centre(a), 4.0 * np.eye(8), atol=1e-12)
    np.testing.assert_array_equal(a, S.delta_orthogonal((16, 8, 3, 3), rng=1, gain=2.0))
    assert not np.array_equal(a, S.delta_orthogonal((16, 8, 3, 3), rng=2, gain=2.0))
    k = S.delta_orthogonal((3, 3, 8, 16), rng=1, gain=2.0, layout="keras")
    np.testing.assert_array_equal(k, np.transpose(a, (2, 3, 1, 0)))
    assert S.delta_orthogonal((16, 8, 3, 3), rng=1, dtype=np.float32).dtype == np.float32
    # a dense shape is the orthogonal matrix itself
    d = S.delta_orthogonal((10, 4), rng=3)
    np.testing.assert_allclose(d.T @ d, np.eye(4), atol=1e-12)


def test_delta_orthogonal_is_haar_distributed():
    # Haar: each entry of a column of an n x k orthonormal H has E[h^2] = 1/n and the sign
    # of the diagonal is symmetric (QR without the sign fix gives positive diagonals).
    n = 8
    hs = np.array([centre(S.delta_orthogonal((n, n, 3, 3), rng=s)) for s in range(2000)])
    np.testing.assert_allclose((hs**2).mean(axis=0), 1.0 / n, atol=0.02)
    diag_pos = (np.diagonal(hs, axis1=1, axis2=2) > 0).mean()
    assert abs(diag_pos - 0.5) < 0.03


def test_delta_orthogonal_network_is_an_isometry_at_every_pixel():
    # 10 layers of delta-orthogonal 3x3 convs (linear): output = product of centre matrices
    # applied per pixel, so the squared norm of every pixel's channel vector is preserved.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 6, 6))
    y = x
    for i in range(10):
        c_in = 4 if i == 0 else 8
        y = conv2d(y, S.delta_orthogonal((8, c_in, 3, 3), rng=i), padding=1)
    np.testing.assert_allclose((y**2).sum(axis=1), (x**2).sum(axis=1), rtol=1e-10)


def test_delta_orthogonal_plugs_into_a_layer():
    layer = Conv2D(4, 8, 3, padding=1, weight_init=S.delta_orthogonal, rng=0)
    np.testing.assert_array_equal(layer.params["W"], S.delta_orthogonal((8, 4, 3, 3), rng=0))
    net = Sequential([layer, Tanh()])
    assert net.forward(np.ones((1, 4, 5, 5))).shape == (1, 8, 5, 5)


@pytest.mark.parametrize("groups", [1, 2])
def test_dirac_conv_is_the_identity(groups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 7, 6))
    w = S.dirac((4, 4 // groups, 3, 3), groups=groups)
    if groups == 1:
        np.testing.assert_array_equal(conv2d(x, w, padding=1), x)
    # PyTorch's dirac_ pattern: one 1 per (group, d) at the centre
    assert w.sum() == 4 and np.count_nonzero(w) == 4
    for g in range(groups):
        for d in range(4 // groups):
            assert w[g * (4 // groups) + d, d, 1, 1] == 1.0


def test_dirac_rectangular_and_gain_and_keras_layout():
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 5))
    w = S.dirac((5, 3, 5, 5), gain=2.0)
    y = conv2d(x, w, padding=2)
    np.testing.assert_allclose(y[:, :3], 2.0 * x)
    np.testing.assert_array_equal(y[:, 3:], 0.0)
    np.testing.assert_array_equal(
        S.dirac((5, 5, 3, 5), layout="keras"), np.transpose(w / 2, (2, 3, 1, 0))
    )
    # 1-D kernel
    w1 = S.dirac((2, 2, 3))
    assert w1[0, 0, 1] == w1[1, 1, 1] == 1 and w1.sum() == 2


def test_eye():
    np.testing.assert_array_equal(S.eye((3, 5)), np.eye(3, 5))
    np.testing.assert_array_equal(
        S.eye((4, 4), gain=0.5, dtype=np.float32), 0.5 * np.eye(4, dtype=np.float32)
    )
    x = np.random.default_rng(2).standard_normal((6, 4))
    np.testing.assert_array_equal(x @ S.eye((4, 4)).T, x)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: S.delta_orthogonal((8, 16, 3, 3), rng=0),
            ValueError,
            r"out_channels >= in_channels",
        ),
        (
            lambda: S.delta_orthogonal((3, 3, 16, 8), rng=0, layout="keras"),
            ValueError,
            r"out_channels",
        ),
        (
            lambda: S.delta_orthogonal((8, 4, 3, 3), rng=0, gain=0.0),
            ValueError,
            r"gain must be > 0",
        ),
        (
            lambda: S.delta_orthogonal((8, 4, 3, 3), rng=0, gain="1"),
            TypeError,
            r"gain must be a real",
        ),
        (lambda: S.delta_orthogonal((8, 4, 3, 3), rng=-1), ValueError, r"rng seed"),
        (lambda: S.delta_orthogonal((8, 4, 3, 3), rng=0, layout="tf"), ValueError, r"layout"),
        (lambda: S.delta_orthogonal((8, 4, 3, 3), rng=0, dtype=int), TypeError, r"dtype"),
        (lambda: S.delta_orthogonal((8, 4, 1, 3, 3, 3), rng=0), ValueError, r"spatial"),
        (lambda: S.delta_orthogonal((8, 0, 3, 3), rng=0), ValueError, r"shape\[1\]"),
        (lambda: S.dirac((8, 8)), ValueError, r"convolution kernel"),
        (lambda: S.dirac((6, 3, 3, 3), groups=4), ValueError, r"groups=4 must divide"),
        (lambda: S.dirac((6, 3, 3, 3), groups=0), ValueError, r"groups must be a positive"),
        (lambda: S.dirac((6, 3, 3, 3), rng="0"), TypeError, r"rng must be"),
        (lambda: S.eye((4, 4, 3, 3)), ValueError, r"2-D"),
        (lambda: S.eye((4, 4), gain=-1.0), ValueError, r"gain must be > 0"),
        (lambda: S.eye((4, 4), dtype="int32"), TypeError, r"dtype"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_register_makes_names_available():
    S.register()
    try:
        assert wi.get("delta_orthogonal") is S.delta_orthogonal
        assert wi.get("dirac") is S.dirac and wi.get("eye") is S.eye
        layer = Conv2D(2, 4, 3, weight_init="delta_orthogonal", rng=0)
        np.testing.assert_array_equal(layer.params["W"], S.delta_orthogonal((4, 2, 3, 3), rng=0))
    finally:  # leave the global registry as the other tests expect it
        for name in S.STRUCTURED:
            I._REGISTRY.pop(name, None)
    with pytest.raises(ValueError, match="unknown initializer"):
        wi.get("delta_orthogonal")


@pytest.mark.parametrize("fn, shape", [(S.eye, (3, 3)), (S.dirac, (3, 3, 3)),
                                       (S.delta_orthogonal, (3, 3, 3))])  # fmt: skip
def test_a_gain_the_dtype_cannot_hold_is_refused(fn, shape):
    # issue 12 (fuzz): gain=1e300 in float32 gave inf, gain=1e-10 in float16 all zeros
    with pytest.raises(ValueError, match=r"^gain 1e\+300 overflows dtype float32"):
        fn(shape, gain=1e300, dtype=np.float32)
    with pytest.raises(ValueError, match=r"^gain 1e-10 underflows dtype float16"):
        fn(shape, gain=1e-10, dtype=np.float16)
    assert np.max(np.abs(fn(shape, gain=1e-300))) > 0


# --------------------------------------------------------------------------- keyword-only rng
@pytest.mark.parametrize(
    ("fn", "shape"),
    [(S.delta_orthogonal, (8, 4, 3, 3)), (S.dirac, (4, 4, 3, 3)), (S.eye, (4, 4))],
)
def test_rng_is_keyword_only_like_every_initializer(fn, shape):
    # delta_orthogonal(shape, 2) silently meant seed 2 (and PyTorch's dirac_(w, 2) means
    # groups=2): the same TypeError as glorot_uniform(shape, 2)
    with pytest.raises(TypeError) as ours:
        fn(shape, 2)
    with pytest.raises(TypeError) as theirs:
        I.glorot_uniform(shape, 2)
    name = fn.__name__
    assert str(ours.value) == str(theirs.value).replace("glorot_uniform", name)
    assert str(ours.value).startswith(f"{name}() takes the shape as its only positional")
    with pytest.raises(TypeError, match=r"rng=None"):
        fn(shape, None)
    params = inspect.signature(fn).parameters
    assert next(iter(params)) == "shape"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(params.values())[1:])
    np.testing.assert_array_equal(fn(shape, rng=3), fn(shape, rng=3))


def test_layers_pass_rng_by_keyword_to_the_structured_kernels():
    # weight_init=delta_orthogonal (chapter 9) worked by calling it positionally; the layer
    # now knows it is a library initializer and passes rng= (same draws as by hand)
    assert all(I.is_library_initializer(fn) for fn in S.STRUCTURED.values())
    layer = Conv2D(4, 8, 3, weight_init=S.delta_orthogonal, rng=5, init_kwargs={"gain": 1.5})
    expected = S.delta_orthogonal((8, 4, 3, 3), rng=np.random.default_rng(5), gain=1.5)
    np.testing.assert_array_equal(layer.params["W"], expected)
    layer = Conv2D(3, 3, 3, weight_init=S.dirac, rng=0)
    np.testing.assert_array_equal(layer.params["W"], S.dirac((3, 3, 3, 3)))
    assert not I.is_library_initializer(lambda shape, rng: np.zeros(shape))
