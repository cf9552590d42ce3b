"""Training gives bit-for-bit the weights of the plain formulas (the fast paths change no result).

The layers, the loss and the optimizers of :mod:`weightinit` skip work where they can
(checks of arrays a network already checked, temporaries) but must compute exactly what
the straightforward code computes. This file keeps that straightforward code, written
out as the library had it before the fast paths (commit 721205d): ``x @ W.T + b``,
``dy * (x > 0).astype(dtype)``, the softmax cross-entropy and the SGD/Adam updates as
formulas. A few networks are trained with :func:`weightinit.training.train` and with
this reference on the same minibatches; every final weight and every step's loss must
be *equal* (compared as bit patterns, so even the sign of a zero counts), not close.

Convolutions are not re-derived here: the reference calls the ``Conv2D`` layers of a
copy of the network (their exactness against a loop reference is tested in
``test_conv.py``), so the comparison covers everything around them.
"""

import copy
import itertools

import numpy as np
import pytest
from scipy.special import expit
from weightinit import layers as L
from weightinit.data import load_digits
from weightinit.training import train


# --------------------------------------------------------------------------- the reference
def _act_forward(layer, x):
    if isinstance(layer, L.ReLU):
        return np.maximum(x, 0.0)
    if isinstance(layer, L.LeakyReLU):
        return np.where(x > 0, x, layer.negative_slope * x)
    if isinstance(layer, L.Tanh):
        return np.tanh(x)
    if isinstance(layer, L.Sigmoid):
        return expit(x)
    if isinstance(layer, L.SELU):
        return layer.scale * np.where(x > 0, x, layer.alpha * np.expm1(np.minimum(x, 0.0)))
    assert isinstance(layer, L.Identity)
    return x


def _act_derivative(layer, x, y):
    if isinstance(layer, L.ReLU):
        return (x > 0).astype(x.dtype)
    if isinstance(layer, L.LeakyReLU):
        return np.where(x > 0, 1.0, layer.negative_slope).astype(x.dtype, copy=False)
    if isinstance(layer, L.Tanh):
        return 1.0 - y**2
    if isinstance(layer, L.Sigmoid):
        return y * (1.0 - y)
    if isinstance(layer, L.SELU):
        return layer.scale * np.where(x > 0, 1.0, layer.alpha * np.exp(np.minimum(x, 0.0)))
    return np.ones_like(x)


def _forward(layers, params, x):
    """Returns the output and what each layer keeps for the backward pass."""
    saved = []
    for k, layer in enumerate(layers):
        if isinstance(layer, L.Dense):
            x = x.astype(layer.dtype, copy=False)
            saved.append(x)
            x = x @ params[k]["W"].T + params[k]["b"]
        elif isinstance(layer, L.Conv2D):  # the layer of the copy, with the copy's weights
            saved.append(None)
            x = layer.forward(x)
        elif isinstance(layer, L.MaxPool2D):
            n, c, h, w = x.shape
            s = layer.size
            ho, wo = h // s, w // s
            blocks = x[:, :, : ho * s, : wo * s].reshape(n, c, ho, s, wo, s)
            y = blocks[:, :, :, 0, :, 0].copy()
            for i, j in itertools.product(range(s), range(s)):
                np.maximum(y, blocks[:, :, :, i, :, j], out=y)
            saved.append((x.shape, blocks == y[:, :, :, None, :, None]))
            x = y
        elif isinstance(layer, L.Flatten):
            saved.append(x.shape)
            x = x.reshape(x.shape[0], -1)
        else:
            y = _act_forward(layer, x)
            saved.append((x, y))
            x = y
    return x, saved


def _backward(layers, params, saved, dy):
    grads = [None] * len(layers)
    for k in range(len(layers) - 1, -1, -1):
        layer = layers[k]
        if isinstance(layer, L.Dense):
            dy = dy.astype(layer.dtype, copy=False)
            grads[k] = {"W": dy.T @ saved[k], "b": dy.sum(axis=0)}
            dy = dy @ params[k]["W"]
        elif isinstance(layer, L.Conv2D):
            dy = layer.backward(dy)
            grads[k] = layer.grads
        elif isinstance(layer, L.MaxPool2D):
            shape, mask = saved[k]
            g = mask * dy[:, :, :, None, :, None]
            n, c, h, w = shape
            _, _, ho, s, wo, _ = g.shape
            if (ho * s, wo * s) == (h, w):
                dy = g.reshape(shape)
            else:
                dy = np.zeros(shape, dtype=g.dtype)
                dy[:, :, : ho * s, : wo * s] = g.reshape(n, c, ho * s, wo * s)
        elif isinstance(layer, L.Flatten):
            dy = dy.reshape(saved[k])
        else:
            x, y = saved[k]
            dy = dy * _act_derivative(layer, x, y)
    return grads


def _softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    logsumexp = np.log(np.exp(z).sum(axis=1))
    loss = float(np.mean(logsumexp - z[np.arange(n), labels]))
    grad = np.exp(z - logsumexp[:, None])
    grad[np.arange(n), labels] -= 1.0
    return loss, grad / n


class _ReferenceTraining:
    """``train``'s minibatch loop with the reference layers, loss and optimizers."""

    def __init__(self, net, optimizer, lr, momentum, weight_decay):
        self.layers = copy.deepcopy(net.layers)
        # the copy's arrays, updated in place below (so the copied Conv2D layers use them)
        self.params = [layer.params for layer in self.layers]
        self.optimizer, self.lr, self.momentum, self.wd = optimizer, lr, momentum, weight_decay
        self.state, self.t = {}, 0

    def step(self, x, y):
        out, saved = _forward(self.layers, self.params, x)
        loss, dout = _softmax_cross_entropy(out, y)
        grads = _backward(self.layers, self.params, saved, dout)
        self.t += 1
        for k, name in ((k, name) for k, p in enumerate(self.params) for name in p):
            p, g = self.params[k][name], grads[k][name].astype(self.params[k][name].dtype)
            if self.wd and name == "W":
                g = g + self.wd * p
            key = (k, name)
            if self.optimizer == "sgd":
                v = self.state.get(key)
                v = g.copy() if v is None else self.momentum * v + g
                self.state[key] = v
                p -= self.lr * v
            else:
                b1, b2, eps = 0.9, 0.999, 1e-8
                m, v = self.state.get(key, (None, None))
                m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
                v = (1 - b2) * g * g if v is None else b2 * v + (1 - b2) * g * g
                self.state[key] = (m, v)
                c1, c2 = 1.0 - b1**self.t, 1.0 - b2**self.t
                p -= self.lr * (m / c1) / (np.sqrt(v / c2) + eps)
        return loss


# --------------------------------------------------------------------------- the comparison
def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(f"u{a.itemsize}")


NETS = {
    "mlp relu": lambda dt: L.mlp([64, 48, 48, 48, 10], weight_init="he_normal", rng=1, dtype=dt),
    "mlp tanh": lambda dt: L.mlp(
        [64, 48, 48, 10], activation_name="tanh", bias_init="normal", rng=2, dtype=dt
    ),
    "mlp sigmoid": lambda dt: L.mlp([64, 32, 10], activation_name="sigmoid", rng=3, dtype=dt),
    "mlp leaky_relu": lambda dt: L.mlp(
        [64, 32, 32, 10], activation_name="leaky_relu", negative_slope=0.2, rng=4, dtype=dt
    ),
    "mlp selu": lambda dt: L.mlp([64, 32, 32, 10], activation_name="selu", rng=5, dtype=dt),
    "mlp identity": lambda dt: L.mlp([64, 32, 10], activation_name="identity", rng=6, dtype=dt),
    "small_cnn": lambda dt: L.small_cnn(weight_init="he_normal", rng=7, dtype=dt),
}
CASES = [
    # (network, optimizer, learning rate, momentum, weight decay)
    ("mlp relu", "sgd", 0.05, 0.9, 0.0),
    ("mlp relu", "adam", 0.003, 0.0, 1e-3),
    ("mlp tanh", "sgd", 0.1, 0.5, 1e-3),
    ("mlp tanh", "adam", 0.01, 0.0, 0.0),
    ("mlp sigmoid", "sgd", 0.5, 0.9, 0.0),
    ("mlp leaky_relu", "sgd", 0.05, 0.9, 0.0),
    ("mlp selu", "adam", 0.003, 0.0, 0.0),
    ("mlp identity", "sgd", 0.01, 0.0, 0.0),
    ("small_cnn", "sgd", 0.05, 0.9, 0.0),
    ("small_cnn", "adam", 0.003, 0.0, 1e-4),
]


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Both sides on one BLAS thread, whatever OPENBLAS_NUM_THREADS says: threaded, OpenBLAS
    splits the float32 products of the library's convolution and of the plain formulas (other
    shapes) differently, and their last bits part."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def data():
    return {"flat": load_digits(flat=True).subset(160), "image": load_digits().subset(160)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(("name", "optimizer", "lr", "momentum", "wd"), CASES)
def test_train_equals_the_plain_formulas_bit_for_bit(data, name, optimizer, lr, momentum, wd,
                                                     dtype):  # fmt: skip
    d = data["image" if name == "small_cnn" else "flat"]
    net = NETS[name](dtype)
    ref = _ReferenceTraining(net, optimizer, lr, momentum, wd)
    epochs, batch, seed = 2, 32, 11
    hist = train(net, d, epochs=epochs, batch_size=batch, lr=lr, momentum=momentum,
                 weight_decay=wd, rng=seed, optimizer=optimizer, profile=False)  # fmt: skip
    assert not hist.diverged
    gen = np.random.default_rng(seed)  # train's shuffling: one permutation per epoch
    X = d.X_train.astype(dtype)  # the first layer casts its input; casting first is the same
    ref_loss = []
    for _ in range(epochs):
        order = gen.permutation(len(d.X_train))
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            ref_loss.append(ref.step(X[idx], d.y_train[idx]))
    assert len(hist.step_loss) == len(ref_loss) == epochs * 5
    assert hist.step_loss == ref_loss  # floats compared exactly
    for k, layer in enumerate(net.layers):
        for key, p in layer.params.items():
            want = ref.params[k][key]
            assert p.dtype == want.dtype == dtype
            assert np.array_equal(_bits(p), _bits(want)), f"layer {k} {key} differs"
    # the comparison has teeth: training moved the weights
    start = NETS[name](dtype)
    assert not np.array_equal(start.layers[0].params["W"], net.layers[0].params["W"])


def test_the_reference_detects_a_one_ulp_difference(data):
    """A control: the same run with the learning rate one ulp larger gives other bits."""
    d = data["flat"]
    finals = []
    for lr in (0.05, np.nextafter(0.05, 1.0)):
        net = NETS["mlp relu"](np.float64)
        train(net, d, epochs=1, lr=lr, rng=0, profile=False)
        finals.append(net.layers[0].params["W"])
    assert not np.array_equal(_bits(finals[0]), _bits(finals[1]))


@pytest.mark.parametrize("shape", [(3, 2, 8, 8), (2, 3, 7, 9), (1, 1, 3, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_pool_equals_the_plain_formulas_with_ties_and_cropping(shape, dtype):
    gen = np.random.default_rng(0)
    # few distinct values: many windows with tied maxima (the gradient goes to each)
    x = gen.integers(-2, 3, size=shape).astype(dtype)
    x[0, 0, 0, 0] = -0.0
    layer = L.MaxPool2D(2)
    y = layer.forward(x)
    dy = gen.standard_normal(y.shape).astype(dtype)
    dx = layer.backward(dy)
    want_y, saved = _forward([L.MaxPool2D(2)], [{}], x)
    n, c, h, w = shape
    want_dx = saved[0][1] * dy[:, :, :, None, :, None]  # mask * dy, then crop back
    full = np.zeros(shape, dtype=dtype)
    full[:, :, : (h // 2) * 2, : (w // 2) * 2] = want_dx.reshape(n, c, (h // 2) * 2, -1)
    assert np.array_equal(_bits(y), _bits(want_y))
    assert np.array_equal(_bits(dx), _bits(full))
    assert dx.dtype == dtype


@pytest.mark.parametrize("x_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dy_dtype", [np.float64, np.float32, np.int64])
def test_relu_backward_equals_the_plain_formula_for_mixed_dtypes(x_dtype, dy_dtype):
    gen = np.random.default_rng(1)
    x = gen.standard_normal((4, 5)).astype(x_dtype)
    x[0, :3] = [0.0, -0.0, np.finfo(x_dtype).tiny]
    dy = (gen.standard_normal((4, 5)) * 3).astype(dy_dtype)
    dy[1, 0] = -1 if dy_dtype == np.int64 else -0.0
    relu = L.ReLU()
    relu.forward(x)
    got = relu.backward(dy)
    as_float = dy.astype(np.float64) if dy_dtype == np.int64 else dy  # integers become float64
    want = as_float * (x > 0).astype(x.dtype)
    assert got.dtype == want.dtype
    assert np.array_equal(_bits(got), _bits(want))


def test_dense_with_a_replaced_bias_broadcasts_as_before():
    layer = L.Dense(3, 2, rng=0, dtype=np.float32)
    x = np.ones((4, 3), dtype=np.float32)
    layer.params["b"] = np.array([0.5, 0.25])  # float64: the sum is promoted, as x @ W.T + b
    y = layer.forward(x)
    want = x @ layer.params["W"].T + layer.params["b"]
    assert y.dtype == np.float64 and np.array_equal(y, want)
    layer.params["b"] = np.float32(1.0)  # a scalar bias broadcasts
    assert np.array_equal(layer.forward(x), x @ layer.params["W"].T + np.float32(1.0))
