"""AvgPool2D: values against a loop, finite-difference gradient, bad input."""

import numpy as np
import pytest
from gradcheck import numerical_grad
from weightinit.pooling import AvgPool2D


def test_values_match_a_loop_and_drop_incomplete_windows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 5, 7))
    y = AvgPool2D(2).forward(x)
    assert y.shape == (2, 3, 2, 3)
    for n, c, i, j in np.ndindex(y.shape):
        assert np.isclose(y[n, c, i, j], x[n, c, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean())
    g = AvgPool2D(5).forward(x[:, :, :5, :5])
    np.testing.assert_allclose(g[:, :, 0, 0], x[:, :, :5, :5].mean(axis=(2, 3)))


@pytest.mark.parametrize("size, shape", [(2, (2, 2, 5, 7)), (3, (1, 2, 6, 6)), (1, (1, 1, 2, 3))])
def test_gradient_matches_finite_differences(size, shape):
    rng = np.random.default_rng(1)
    pool = AvgPool2D(size)
    x = rng.normal(size=shape)
    r = rng.standard_normal(pool.forward(x).shape)
    dx = pool.backward(r)
    num = numerical_grad(lambda: float(np.sum(pool.forward(x) * r)), x, 1e-6)
    np.testing.assert_allclose(dx, num, atol=1e-8)
    # rows and columns outside every window get no gradient
    h, w = (shape[2] // size) * size, (shape[3] // size) * size
    assert np.all(dx[:, :, h:, :] == 0) and np.all(dx[:, :, :, w:] == 0)


def test_variance_of_independent_inputs_drops_by_window_area():
    x = np.random.default_rng(2).standard_normal((200, 4, 8, 8))
    assert abs(AvgPool2D(2).forward(x).var() / 0.25 - 1) < 0.05


def test_keeps_float32():
    pool = AvgPool2D(2)
    y = pool.forward(np.ones((1, 2, 4, 4), dtype=np.float32))
    assert y.dtype == np.float32
    assert pool.backward(np.ones_like(y)).dtype == np.float32


def test_bad_input():
    with pytest.raises(ValueError, match="size"):
        AvgPool2D(0)
    with pytest.raises(TypeError, match="size"):
        AvgPool2D(2.0)
    with pytest.raises(ValueError, match="4-D"):
        AvgPool2D(2).forward(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="larger than the input"):
        AvgPool2D(3).forward(np.zeros((1, 1, 2, 5)))
    with pytest.raises(RuntimeError, match="before forward"):
        AvgPool2D(2).backward(np.zeros((1, 1, 1, 1)))
    pool = AvgPool2D(2)
    pool.forward(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"dy: the output gradient must have shape \(1, 1, 2, 2\)"):
        pool.backward(np.zeros((1, 1, 3, 3)))
