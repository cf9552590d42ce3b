"""Layers: forward values, finite-difference gradient checks, initializer plug-in, bad input."""

import numpy as np
import pytest
from gradcheck import numerical_grad, rel_err
from weightinit import initializers as I
from weightinit.layers import (
    SELU,
    Conv2D,
    Dense,
    Flatten,
    Identity,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    activation,
    mlp,
    small_cnn,
    softmax,
    softmax_cross_entropy,
)

EPS = 1e-6


def check_layer_grads(layer, x, rng):
    """Gradient of L = sum(forward(x) * R) wrt the input and every parameter."""
    y = layer.forward(x)
    r = rng.standard_normal(y.shape)

    def loss():
        return float(np.sum(layer.forward(x) * r))

    layer.forward(x)
    dx = layer.backward(r)
    assert dx.shape == x.shape
    assert rel_err(dx, numerical_grad(loss, x, EPS)) < 1e-6
    for name, p in layer.params.items():
        layer.forward(x)
        layer.backward(r)
        analytic = layer.grads[name].copy()
        assert rel_err(analytic, numerical_grad(loss, p, EPS)) < 1e-6, name


@pytest.mark.parametrize(
    "make",
    [
        lambda: Dense(5, 3, weight_init="glorot_normal", bias_init="normal", rng=1),
        lambda: ReLU(),
        lambda: LeakyReLU(0.2),
        lambda: Tanh(),
        lambda: Sigmoid(),
        lambda: SELU(),
        lambda: Identity(),
        lambda: Flatten(),
    ],
    ids=["dense", "relu", "leaky_relu", "tanh", "sigmoid", "selu", "identity", "flatten"],
)
def test_gradients_of_elementwise_and_dense_layers(make):
    rng = np.random.default_rng(0)
    layer = make()
    shape = (4, 5) if isinstance(layer, Dense) else (3, 2, 3, 2)
    x = rng.standard_normal(shape)
    # keep inputs away from the kinks of relu-like functions, where the derivative jumps
    x[np.abs(x) < 1e-3] = 0.5
    check_layer_grads(layer, x, rng)


@pytest.mark.parametrize(
    ("stride", "padding", "dilation"), [(1, 0, 1), (2, 1, 1), (1, 2, 2), ((2, 1), (0, 1), 1)]
)
def test_conv_layer_gradients(stride, padding, dilation):
    rng = np.random.default_rng(3)
    layer = Conv2D(
        2, 3, (3, 2), stride=stride, padding=padding, dilation=dilation,
        weight_init="he_normal", bias_init="normal", rng=4,
    )  # fmt: skip
    x = rng.standard_normal((2, 2, 7, 6))
    check_layer_grads(layer, x, rng)


def test_maxpool_forward_and_gradient():
    x = np.arange(2 * 1 * 5 * 4, dtype=float).reshape(2, 1, 5, 4)
    rng = np.random.default_rng(0)
    x = x + 0.01 * rng.standard_normal(x.shape)  # no ties
    pool = MaxPool2D(2)
    y = pool.forward(x)
    assert y.shape == (2, 1, 2, 2)  # the fifth row is dropped
    np.testing.assert_allclose(y[0, 0, 0, 0], x[0, 0, :2, :2].max())
    check_layer_grads(pool, x, rng)
    dx = pool.backward(np.ones_like(y))
    assert np.all(dx[:, :, 4, :] == 0)
    assert dx.sum() == y.size


def test_activation_values():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(ReLU().forward(x), [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(LeakyReLU(0.1).forward(x), [-0.2, -0.05, 0, 0.5, 2])
    np.testing.assert_allclose(Sigmoid().forward(np.array([0.0])), [0.5])
    # SELU constants of Klambauer et al. (2017)
    np.testing.assert_allclose(SELU().forward(np.array([1.0])), [1.0507009873554805])
    np.testing.assert_allclose(
        SELU().forward(np.array([-1.0])), [1.0507009873554805 * 1.6732632423543772 * np.expm1(-1)]
    )
    # a standard-normal input stays standardized through SELU (its fixed point)
    z = np.random.default_rng(0).standard_normal(200_000)
    s = SELU().forward(z)
    assert abs(s.mean()) < 0.01 and abs(s.std() - 1) < 0.01


def test_softmax_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4))
    y = np.array([0, 1, 2, 3, 1, 0])
    loss, g = softmax_cross_entropy(z, y)
    p = softmax(z)
    np.testing.assert_allclose(loss, -np.mean(np.log(p[np.arange(6), y])))
    num = numerical_grad(lambda: softmax_cross_entropy(z, y)[0], z, EPS)
    assert rel_err(g, num) < 1e-7
    # huge logits stay finite (log-sum-exp trick)
    loss, g = softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([1, 1]))
    assert np.isfinite(loss) and np.all(np.isfinite(g))


def test_whole_network_gradient():
    rng = np.random.default_rng(0)
    net = small_cnn(channels=(2, 3), image_size=4, n_classes=3, weight_init="he_normal", rng=0)
    x = rng.standard_normal((2, 1, 4, 4))
    y = np.array([0, 2])

    def loss():
        return softmax_cross_entropy(net.forward(x), y)[0]

    _, d = softmax_cross_entropy(net.forward(x), y)
    net.backward(d)
    for _i, name, p, g in list(net.parameters()):
        analytic = g.copy()
        assert rel_err(analytic, numerical_grad(loss, p, EPS)) < 1e-5, name


def test_initializer_plugs_in_by_name_and_by_function():
    a = Dense(30, 20, weight_init="he_normal", rng=7)
    b = I.he_normal((20, 30), rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.params["W"], b)
    c = Conv2D(4, 6, 3, weight_init=lambda shape, rng: np.full(shape, 0.5), rng=0)
    assert c.params["W"].shape == (6, 4, 3, 3) and np.all(c.params["W"] == 0.5)
    d = Dense(3, 2, weight_init="constant", init_kwargs={"value": 0.25})
    assert np.all(d.params["W"] == 0.25) and np.all(d.params["b"] == 0)


def test_builders_shapes_and_determinism():
    net = mlp([64, 32, 32, 10], activation_name="tanh", weight_init="lecun_normal", rng=0)
    assert len(net.weighted_layers) == 3
    assert net.forward(np.zeros((5, 64))).shape == (5, 10)
    net2 = mlp([64, 32, 32, 10], activation_name="tanh", weight_init="lecun_normal", rng=0)
    for (_, _, p, _), (_, _, q, _) in zip(net.parameters(), net2.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)
    cnn = small_cnn(rng=0)
    assert cnn.forward(np.zeros((3, 1, 8, 8))).shape == (3, 10)
    assert cnn.predict(np.zeros((3, 1, 8, 8))).shape == (3,)
    leaky = mlp([4, 4, 2], activation_name="leaky_relu", negative_slope=0.3)
    assert leaky.layers[1].negative_slope == 0.3


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: Dense(0, 3), ValueError, "in_features"),
        (lambda: Dense(2.5, 3), TypeError, "in_features"),
        (lambda: Dense(3, 2).forward(np.zeros((4, 5))), ValueError, "in_features=3"),
        (lambda: Dense(3, 2).forward(np.zeros(3)), ValueError, "2-D"),
        (lambda: Dense(3, 2).forward(np.array([["a", "b", "c"]])), TypeError, "numeric"),
        (lambda: Dense(3, 2, weight_init="nope"), ValueError, "unknown initializer"),
        (lambda: Dense(3, 2, weight_init=lambda s, r: np.zeros((2, 2))), ValueError, "shape"),
        (
            lambda: Dense(3, 2, weight_init=lambda s, r: np.full(s, np.nan)),
            ValueError,
            "non-finite",
        ),
        (lambda: Conv2D(1, 2, 3, stride=0), ValueError, "stride"),
        (lambda: Conv2D(1, 2, 3, padding=-1), ValueError, "padding"),
        (lambda: Conv2D(1, 2, (3, 3, 3)), ValueError, "kernel_size"),
        (lambda: Conv2D(2, 2, 3).forward(np.zeros((1, 3, 5, 5))), ValueError, "channel"),
        (lambda: activation("swish"), ValueError, "relu"),
        (lambda: LeakyReLU("0.1"), TypeError, "negative_slope"),
        (lambda: LeakyReLU(float("nan")), ValueError, "negative_slope"),
        (lambda: MaxPool2D(0), ValueError, "size"),
        (lambda: MaxPool2D(3).forward(np.zeros((1, 1, 2, 2))), ValueError, "larger"),
        (
            lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
            ValueError,
            r"\[0, 3\)",
        ),
        (
            lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])),
            TypeError,
            "integers",
        ),
        (lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0])), ValueError, "shape"),
        (lambda: Sequential([ReLU(), "relu"]), TypeError, r"layers\[1\]"),
        (lambda: mlp([10]), ValueError, "sizes"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------- precision
F32, F64 = np.float32, np.float64

PARAM_FREE = [ReLU, lambda: LeakyReLU(0.1), Tanh, Sigmoid, SELU, Identity, Flatten, MaxPool2D]


@pytest.mark.parametrize("make", PARAM_FREE, ids=lambda m: getattr(m, "__name__", "leaky"))
@pytest.mark.parametrize("dtype", [F32, F64])
def test_parameter_free_layers_keep_the_dtype(make, dtype):
    rng = np.random.default_rng(0)
    layer = make()
    x = rng.standard_normal((3, 2, 4, 4)).astype(dtype)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert (y.dtype, dx.dtype) == (dtype, dtype)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_layers_with_parameters_create_them_in_their_dtype_and_cast_inputs(dtype):
    rng = np.random.default_rng(1)
    other = F64 if dtype == F32 else F32
    for layer, shape in (
        (Dense(6, 4, rng=0, bias_init="normal", dtype=dtype), (5, 6)),
        (Conv2D(2, 3, 3, padding=1, rng=0, dtype=dtype), (2, 2, 5, 5)),
        (Conv2D(2, 3, (3, 2), stride=2, dilation=(1, 2), rng=0, dtype=dtype), (2, 2, 7, 8)),
    ):
        assert all(p.dtype == dtype for p in layer.params.values())
        # the rule: inputs (x in forward, dy in backward) are cast to the parameter dtype
        for x in (
            rng.standard_normal(shape).astype(dtype),
            rng.standard_normal(shape).astype(other),
            rng.integers(-3, 3, size=shape),
        ):
            y = layer.forward(x)
            assert y.dtype == dtype, (layer, x.dtype)
            dx = layer.backward(np.ones(y.shape, dtype=other))
            assert dx.dtype == dtype
            assert all(g.dtype == dtype for g in layer.grads.values())


def test_float32_network_is_the_rounded_float64_network():
    x = np.random.default_rng(2).standard_normal((16, 1, 8, 8))
    for build in (
        lambda dt: small_cnn(weight_init="he_normal", rng=3, dtype=dt),
        lambda dt: mlp([64, 32, 32, 10], weight_init="he_normal", rng=3, dtype=dt),
    ):
        net64, net32 = build(F64), build(F32)
        for (_, _, p64, _), (_, _, p32, _) in zip(
            net64.parameters(), net32.parameters(), strict=True
        ):
            assert p32.dtype == F32
            np.testing.assert_array_equal(p32, p64.astype(F32))
        inp = x if isinstance(net64.layers[0], Conv2D) else x.reshape(16, 64)
        y64, y32 = net64.forward(inp), net32.forward(inp)
        assert y32.dtype == F32 and y64.dtype == F64
        np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-4)
        d64 = net64.backward(np.ones_like(y64))
        d32 = net32.backward(np.ones_like(y64))  # a float64 gradient is cast too
        assert d32.dtype == F32
        np.testing.assert_allclose(d32, d64, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex128", "nope", object])
def test_unsupported_dtypes_are_rejected(dtype):
    for make in (
        lambda: Dense(2, 2, dtype=dtype),
        lambda: Conv2D(1, 1, 3, dtype=dtype),
        lambda: mlp([2, 2], dtype=dtype),
        lambda: small_cnn(dtype=dtype),
    ):
        with pytest.raises(TypeError, match=r"dtype must be numpy\.float32 or numpy\.float64"):
            make()


# --------------------------------------------------------------------------- Conv2D's cache
@pytest.mark.parametrize("chunk_bytes", [None, 1], ids=["default chunks", "one image per chunk"])
def test_conv_layer_reuses_its_im2col_matrix_exactly(chunk_bytes, monkeypatch):
    # the layer keeps the forward's im2col matrix (and its memory) for backward; every
    # result must equal the stateless functions (checked against loops in test_conv.py),
    # whatever the batch sizes, the order and the chunks the passes work through
    from weightinit import conv as conv_module
    from weightinit.conv import conv2d, conv2d_backward

    if chunk_bytes is not None:
        monkeypatch.setattr(conv_module, "_CHUNK_BYTES", chunk_bytes)

    rng = np.random.default_rng(4)
    for stride in (1, 2):  # the two ways of building the matrix
        layer = Conv2D(3, 4, 3, stride=stride, padding=1, rng=0, bias_init="normal")
        w, b = layer.params["W"], layer.params["b"]
        seen = {}  # batch size -> the memory of its im2col matrix
        for n, training in ((5, True), (2, True), (5, True), (3, False), (7, True), (5, True)):
            x = rng.standard_normal((n, 3, 6, 5))
            before = {key[0].n for key in layer._workspaces}
            y = layer.forward(x, training=training)
            kept = {key[0].n: ws for key, ws in layer._workspaces.items()}
            assert len(kept) <= 2  # the last two input shapes
            if training:  # the matrix lives in the workspace kept for the next step
                cols = kept[n].cols()
                if n in before:  # a shape still kept: the same memory again
                    assert cols is seen[n]
                seen[n] = cols
            else:  # evaluation keeps nothing new
                assert set(kept) == before
            np.testing.assert_array_equal(y, conv2d(x, w, b, stride=stride, padding=1))
            dy = rng.standard_normal(y.shape)
            dx = layer.backward(dy)
            want = conv2d_backward(dy, x, w, stride=stride, padding=1)
            for got, ref in zip((dx, layer.grads["W"], layer.grads["b"]), want, strict=True):
                np.testing.assert_array_equal(got, ref)
            # nothing returned lives in the workspace the next step overwrites
            for ws in layer._workspaces.values():
                for arr in (dx, y, layer.grads["W"], layer.grads["b"]):
                    for kept_array in (ws.cols(), ws.buf(), ws.dy()):
                        assert not np.may_share_memory(arr, kept_array)
        assert set(seen) == {2, 5, 7}
        # a second backward after one forward still works (it rebuilds the matrix)
        dx2 = layer.backward(dy)
        np.testing.assert_array_equal(dx2, dx)


def test_conv_layer_backward_checks_the_gradient_shape():
    layer = Conv2D(1, 2, 3, rng=0)
    layer.forward(np.zeros((2, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"gradient must have shape \(2, 2, 3, 3\)"):
        layer.backward(np.zeros((2, 2, 5, 5)))


# --------------------------------------------------------------------------- network sizes
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sizes": [10**9, 10**9, 10]}, "sizes"),  # one huge layer: was Dense's in_features
        ({"sizes": [30_000, 30_000, 30_000]}, "sizes"),  # each < 2 GiB, together 13 GiB
        ({"sizes": [10**9, 10], "dtype": np.float32}, "sizes"),
    ],
)
def test_mlp_refuses_sizes_above_the_limit_naming_sizes(kwargs, name):
    import tracemalloc

    from weightinit._validate import MAX_BYTES
    from weightinit.layers import mlp

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=rf"^{name} asks for a set of weights and biases of .* "
                           r"above the library's limit of 2 GiB \(weightinit._validate.MAX_BYTES\)"):  # fmt: skip
            mlp(**kwargs)
        assert tracemalloc.get_traced_memory()[1] < 10**7  # refused before allocating
    finally:
        tracemalloc.stop()
    assert MAX_BYTES == 2 * 1024**3  # the documented limit the message states


def test_mlp_size_limit_counts_all_layers_in_the_dtype(monkeypatch):
    import weightinit._validate as V
    from weightinit.layers import mlp

    # with a limit of 1000 bytes: [10, 12] has 120 weights + 12 biases = 1056 bytes in
    # float64 (refused) and 528 in float32 (built); [10, 10, 10] has 2 × 110 entries:
    # each layer fits (880 bytes), both together (1760) do not
    monkeypatch.setattr(V, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match=r"^sizes asks for .* of 9.83e-07 GiB"):  # 1056 bytes
        mlp([10, 12])
    assert mlp([10, 12], dtype=np.float32).layers[0].params["W"].dtype == np.float32
    mlp([10, 10])
    with pytest.raises(ValueError, match=r"^sizes asks for"):
        mlp([10, 10, 10])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"channels": (10**6, 10**6)}, "channels"),
        ({"channels": (8, 4_000_000)}, "channels"),  # 8 × 4e6 × 3 × 3: 2.3 GB of conv weights
        ({"in_channels": 10**9}, "in_channels"),
        ({"image_size": 10**6}, "image_size"),
        ({"channels": (8, 4000), "image_size": 256}, "image_size"),  # classifier 4000·128²·10
    ],
)
def test_small_cnn_refuses_sizes_above_the_limit_naming_the_argument(kwargs, name):
    from weightinit.layers import small_cnn

    with pytest.raises(ValueError, match=rf"^{name} asks for a set of .*weights.* above the "
                       r"library's limit of 2 GiB"):  # fmt: skip
        small_cnn(**kwargs)
