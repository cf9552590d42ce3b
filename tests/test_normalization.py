"""BatchNorm and LayerNorm: finite-difference gradients, train/eval behaviour, PyTorch's
running statistics (formula level), training through the optimizers, bad input."""

import numpy as np
import pytest
from gradcheck import numerical_grad, rel_err
from weightinit import data, training
from weightinit.layers import Dense, ReLU, Sequential
from weightinit.normalization import BatchNorm, LayerNorm, normalize_backward

EPS = 1e-6


def check_grads(layer, x, rng, training_mode=True):
    """Gradient of L = sum(forward(x) * R) wrt the input and every parameter."""
    y = layer.forward(x, training_mode)
    r = rng.standard_normal(y.shape)

    def loss():
        return float(np.sum(layer.forward(x, training_mode) * r))

    layer.forward(x, training_mode)
    dx = layer.backward(r)
    assert dx.shape == x.shape
    assert rel_err(dx, numerical_grad(loss, x, EPS)) < 1e-6
    for name, p in layer.params.items():
        layer.forward(x, training_mode)
        layer.backward(r)
        analytic = layer.grads[name].copy()
        assert rel_err(analytic, numerical_grad(loss, p, EPS)) < 1e-6, name


def _with_random_affine(layer, rng):
    for p in layer.params.values():
        p[...] = rng.normal(0.5, 1.0, size=p.shape)
    return layer


@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 3, 4)])
@pytest.mark.parametrize("training_mode", [True, False])
def test_batchnorm_gradients(shape, training_mode):
    rng = np.random.default_rng(0)
    bn = _with_random_affine(BatchNorm(shape[1]), rng)
    bn.running_mean = rng.normal(size=shape[1])
    bn.running_var = rng.uniform(0.5, 2.0, size=shape[1])
    x = rng.normal(1.0, 2.0, size=shape)
    check_grads(bn, x, rng, training_mode)


def test_batchnorm_gradient_without_affine():
    rng = np.random.default_rng(1)
    check_grads(BatchNorm(3, affine=False), rng.normal(size=(5, 3)), rng)


@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 6)])
def test_layernorm_gradients(shape):
    rng = np.random.default_rng(2)
    ln = _with_random_affine(LayerNorm(shape[-1]), rng)
    check_grads(ln, rng.normal(-1.0, 3.0, size=shape), rng)
    check_grads(LayerNorm(shape[-1], elementwise_affine=False), rng.normal(size=shape), rng)


def test_batchnorm_training_output_is_standardized_per_feature():
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 3.0, size=(64, 4)) * np.array([1.0, 10.0, 0.1, 100.0])
    y = BatchNorm(4).forward(x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-3)
    xc = rng.normal(2.0, 4.0, size=(8, 3, 5, 5))
    yc = BatchNorm(3).forward(xc)
    np.testing.assert_allclose(yc.mean(axis=(0, 2, 3)), 0.0, atol=1e-10)
    np.testing.assert_allclose(yc.var(axis=(0, 2, 3)), 1.0, rtol=1e-3)


def test_batchnorm_conv_equals_dense_on_pixels():
    """Per-channel statistics over (N, H, W) = dense BatchNorm on every pixel as a row."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 3, 5, 6))
    conv_bn, dense_bn = BatchNorm(3), BatchNorm(3)
    for bn in (conv_bn, dense_bn):
        _with_random_affine(bn, np.random.default_rng(9))
    rows = x.transpose(0, 2, 3, 1).reshape(-1, 3)
    y_conv = conv_bn.forward(x)
    y_dense = dense_bn.forward(rows)
    np.testing.assert_allclose(y_conv.transpose(0, 2, 3, 1).reshape(-1, 3), y_dense, atol=1e-12)
    np.testing.assert_allclose(conv_bn.running_var, dense_bn.running_var, rtol=1e-12)


def test_batchnorm_running_statistics_follow_pytorch_formula():
    """running = (1 - m) running + m batch, with the unbiased batch variance."""
    rng = np.random.default_rng(5)
    batches = [rng.normal(2.0, 3.0, size=(10, 3)) for _ in range(4)]
    for momentum in (0.1, 0.5):
        bn = BatchNorm(3, momentum=momentum)
        mean, var = np.zeros(3), np.ones(3)
        for b in batches:
            bn.forward(b)
            mean = (1 - momentum) * mean + momentum * b.mean(axis=0)
            var = (1 - momentum) * var + momentum * b.var(axis=0, ddof=1)
        np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
        assert bn.num_batches_tracked == len(batches)
    # momentum=None: the cumulative average of the batch statistics
    bn = BatchNorm(3, momentum=None)
    for b in batches:
        bn.forward(b)
    np.testing.assert_allclose(bn.running_mean, np.mean([b.mean(0) for b in batches], 0))
    np.testing.assert_allclose(bn.running_var, np.mean([b.var(0, ddof=1) for b in batches], 0))


def test_batchnorm_eval_uses_running_statistics_and_does_not_update_them():
    rng = np.random.default_rng(6)
    bn = BatchNorm(2)
    x = rng.normal(size=(16, 2))
    # fresh running statistics (0, 1): evaluation is (almost) the identity
    np.testing.assert_allclose(bn.forward(x, training=False), x / np.sqrt(1 + 1e-5))
    for _ in range(200):
        bn.forward(rng.normal([3.0, -1.0], [2.0, 0.5], size=(32, 2)))
    before = bn.running_mean.copy(), bn.running_var.copy(), bn.num_batches_tracked
    test = rng.normal([3.0, -1.0], [2.0, 0.5], size=(4000, 2))
    y = bn.forward(test, training=False)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=0.1)
    np.testing.assert_allclose(y.std(axis=0), 1.0, atol=0.1)
    np.testing.assert_array_equal(bn.running_mean, before[0])
    np.testing.assert_array_equal(bn.running_var, before[1])
    assert bn.num_batches_tracked == before[2]
    # one example at a time works in evaluation mode and gives the batch result
    np.testing.assert_allclose(bn.forward(test[:1], training=False), y[:1])


def test_batchnorm_is_invariant_to_the_scale_of_its_input():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(32, 5))
    bn = BatchNorm(5, eps=1e-12)
    np.testing.assert_allclose(bn.forward(x), bn.forward(1000.0 * x), atol=1e-9)


def test_layernorm_rows_are_standardized_and_batch_independent():
    rng = np.random.default_rng(8)
    x = rng.normal(3.0, 5.0, size=(7, 16))
    ln = LayerNorm(16)
    y = ln.forward(x)
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-10)
    np.testing.assert_allclose(y.var(axis=1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(ln.forward(x[2:3]), y[2:3])
    np.testing.assert_allclose(ln.forward(x, training=False), y)


def test_optimizers_update_gamma_and_beta():
    digits = data.load_digits(flat=True).subset(200)
    for opt in ("sgd", "adam"):
        net = Sequential([Dense(64, 16, rng=0), BatchNorm(16), ReLU(), Dense(16, 16, rng=1),
                          LayerNorm(16), ReLU(), Dense(16, 10, rng=2)])  # fmt: skip
        hist = training.train(net, digits, epochs=3, lr=0.05 if opt == "sgd" else 0.01,
                              optimizer=opt, profile=False)  # fmt: skip
        assert not hist.diverged
        assert hist.train_loss[-1] < hist.train_loss[0] - 0.5
        for layer in (net.layers[1], net.layers[4]):
            assert not np.allclose(layer.params["gamma"], 1.0)
            assert not np.allclose(layer.params["beta"], 0.0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: BatchNorm(0), "num_features"),
        (lambda: BatchNorm(3.0), "num_features"),
        (lambda: BatchNorm(3, eps=0.0), "eps"),
        (lambda: BatchNorm(3, momentum=0.0), "momentum"),
        (lambda: BatchNorm(3, momentum=1.5), "momentum"),
        (lambda: BatchNorm(3, affine=1), "affine"),
        (lambda: LayerNorm(-2), "num_features"),
        (lambda: LayerNorm(4, eps=-1.0), "eps"),
        (lambda: LayerNorm(4, elementwise_affine="yes"), "elementwise_affine"),
    ],
)
def test_bad_constructor_arguments(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


def test_bad_inputs():
    bn = BatchNorm(3)
    with pytest.raises(ValueError, match="num_features=3"):
        bn.forward(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"\(N, F\) or \(N, C, H, W\)"):
        bn.forward(np.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match="more than 1 value"):
        bn.forward(np.ones((1, 3)))
    with pytest.raises(TypeError, match="real numeric"):
        bn.forward(np.array([["a", "b", "c"]] * 2))
    with pytest.raises(RuntimeError, match="before forward"):
        BatchNorm(3).backward(np.zeros((2, 3)))
    bn.forward(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="dy has shape"):
        bn.backward(np.zeros((3, 3)))
    ln = LayerNorm(4)
    with pytest.raises(ValueError, match="num_features = 4"):
        ln.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="num_features = 4"):
        ln.forward(np.zeros(4))
    with pytest.raises(RuntimeError, match="before forward"):
        LayerNorm(4).backward(np.zeros((2, 4)))


# --------------------------------------------------------------------------- issue 12 (fuzz)
def test_normalize_backward_checks_its_arguments():
    x = np.random.default_rng(0).normal(size=(4, 3))
    xhat = (x - x.mean(0)) / x.std(0)
    inv = 1 / x.std(0, keepdims=True)
    g = np.ones((4, 3))
    np.testing.assert_array_equal(
        normalize_backward(g, xhat, inv, [0]), normalize_backward(g, xhat, inv, (-2,))
    )
    # each of these failed inside numpy (AttributeError, broadcasting, tuple indices)
    for args, exc, match in [
        ((g, 1.0, inv, (0,)), ValueError, r"^dxhat must have the shape of xhat"),
        ((g, xhat, np.ones((2, 2)), (0,)), ValueError, r"^inv_std must broadcast"),
        ((g, xhat, inv, "bogus"), TypeError, r"^axes must be a tuple of ints"),
        ((g, xhat, inv, (2,)), ValueError, r"^axes must be axes of xhat"),
        ((g, xhat, inv, (0, -2)), ValueError, r"^axes must be distinct"),
        ((np.full((4, 3), np.nan), xhat, inv, (0,)), ValueError, r"^dxhat contains NaN"),
    ]:
        with pytest.raises(exc, match=match):
            normalize_backward(*args)


def test_norm_layers_check_dy():
    for layer in (BatchNorm(3), LayerNorm(3)):
        layer.forward(np.random.default_rng(0).normal(size=(4, 3)))
        with pytest.raises(ValueError, match=r"^dy contains NaN"):
            layer.backward(np.full((4, 3), np.nan))
        with pytest.raises(TypeError, match=r"^dy must be a real numeric array"):
            layer.backward(np.full((4, 3), "a"))


def test_batchnorm_training_flag_must_be_a_bool():
    # training=np.array([]) raised numpy's "truth value of an empty array is ambiguous"
    with pytest.raises(TypeError, match=r"^training must be True or False"):
        BatchNorm(3).forward(np.ones((4, 3)), training=np.array([]))
    out = BatchNorm(3).forward(np.arange(12.0).reshape(4, 3), training=np.bool_(True))
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
