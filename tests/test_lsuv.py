"""LSUV (Mishkin & Matas 2016): unit output variance per layer, orthonormal start, errors."""

import numpy as np
import pytest
from weightinit.layers import Dense, Sequential, mlp, small_cnn
from weightinit.lsuv import lsuv


def _outputs(net, x):
    net.forward(x, training=False, keep=True)
    return [net.outputs[i] for i in net.weighted_layers]


@pytest.mark.parametrize("init", ["glorot_uniform", "he_normal", "zeros_like_small"])
def test_every_weighted_layer_ends_at_unit_variance(init):
    x = np.random.default_rng(0).standard_normal((200, 32))
    kwargs = {"weight_init": "normal", "init_kwargs": {"std": 1e-3}} if init.startswith(
        "zeros") else {"weight_init": init}  # fmt: skip
    net = mlp([32, 64, 64, 64, 10], activation_name="tanh", rng=1, **kwargs)
    res = lsuv(net, x, rng=2)
    assert all(res.converged)
    for out in _outputs(net, x):
        assert abs(np.var(out) - 1.0) < 0.1
    # without biases the output is linear in W: one rescaling lands exactly on the target
    assert res.iterations == [1, 1, 1, 1]
    np.testing.assert_allclose(res.var_after, 1.0, rtol=1e-10)


def test_orthonormal_start_then_a_scalar_per_layer():
    x = np.random.default_rng(0).standard_normal((300, 48))
    net = mlp([48, 48, 48, 48], activation_name="relu", rng=0)
    res = lsuv(net, x, rng=5)
    for i, s in zip(res.layer_index, res.scale, strict=True):
        W = net.layers[i].params["W"]
        np.testing.assert_allclose(W @ W.T, s * s * np.eye(48), atol=1e-10)


def test_works_on_a_cnn_and_with_a_target_and_keeps_existing_weights_when_asked():
    x = np.random.default_rng(0).standard_normal((64, 1, 8, 8))
    net = small_cnn(rng=0)
    before = [net.layers[i].params["W"].copy() for i in net.weighted_layers]
    res = lsuv(net, x, target_var=0.5, orthonormal=False, max_iter=0)
    assert res.iterations == [0, 0, 0]
    assert res.var_before == res.var_after
    for i, W in zip(net.weighted_layers, before, strict=True):
        np.testing.assert_array_equal(net.layers[i].params["W"], W)
    res = lsuv(net, x, target_var=0.5, orthonormal=False)
    for out in _outputs(net, x):
        assert abs(np.var(out) - 0.5) < 0.1
    assert res.rows()[0]["layer"] == 1 and res.rows()[2]["index"] == 6 and len(res.rows()) == 3


def test_a_bias_makes_it_iterate():
    x = np.random.default_rng(0).standard_normal((100, 8)) + 3.0
    net = Sequential([Dense(8, 8, rng=0, bias_init="ones")])
    res = lsuv(net, x, tol=1e-6, max_iter=50, rng=0)
    assert res.converged == [True]
    assert abs(res.var_after[0] - 1.0) < 1e-6


def test_errors():
    x = np.ones((10, 4))
    with pytest.raises(TypeError, match="net"):
        lsuv([Dense(4, 2)], x)
    net = Sequential([Dense(4, 2, weight_init="zeros")])
    with pytest.raises(ValueError, match="cannot be rescaled"):
        lsuv(net, np.random.default_rng(0).standard_normal((10, 4)), orthonormal=False)
    net = mlp([4, 3, 2])
    with pytest.raises(ValueError, match="at least 2"):
        lsuv(net, np.ones((1, 4)))
    with pytest.raises(ValueError, match="NaN"):
        lsuv(net, np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="tol"):
        lsuv(net, x, tol=0)
    with pytest.raises(TypeError, match="max_iter"):
        lsuv(net, x, max_iter=2.5)
    with pytest.raises(ValueError, match="max_iter"):
        lsuv(net, x, max_iter=-1)
    with pytest.raises(TypeError, match="orthonormal"):
        lsuv(net, x, orthonormal="yes")
    with pytest.raises(TypeError, match="x"):
        lsuv(net, np.array([["a"] * 4] * 3))
    from weightinit.layers import ReLU

    with pytest.raises(ValueError, match="no layer"):
        lsuv(Sequential([ReLU()]), x)


def test_a_tolerance_below_round_off_stops_when_rescaling_no_longer_helps():
    # issue 12 (fuzz): with tol=1e-300 the loop rescaled until max_iter (minutes for
    # max_iter=10**6); it now stops once a rescaling leaves the variance unchanged
    x = np.random.default_rng(1).normal(size=(8, 4))
    result = lsuv(mlp([4, 6, 3], rng=0), x, tol=1e-300, max_iter=10**9)
    assert max(result.iterations) < 10
    np.testing.assert_allclose(result.var_after, 1.0, rtol=1e-12)
