"""muP vs the standard parametrization: multipliers, gradients, the update scale vs width."""

import numpy as np
import pytest
from gradcheck import numerical_grad
from weightinit.layers import Dense, Sequential
from weightinit.mup import ScaledDense, mup_mlp, width_multipliers
from weightinit.training import SGD


def test_scaled_dense_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    layer = ScaledDense(5, 3, w_mult=2.5, b_mult=0.3, weight_std=0.7, rng=1)
    layer.params["b"][...] = rng.standard_normal(3)
    x = rng.standard_normal((4, 5))
    c = rng.standard_normal((4, 3))

    def loss():
        return float(np.sum(c * layer.forward(x)))

    loss()
    dx = layer.backward(c)
    np.testing.assert_allclose(dx, numerical_grad(loss, x, 1e-6), rtol=1e-7, atol=1e-9)
    for name in ("W", "b"):
        loss()
        layer.backward(c)
        analytic = layer.grads[name].copy()
        np.testing.assert_allclose(
            analytic, numerical_grad(loss, layer.params[name], 1e-6), rtol=1e-7, atol=1e-9
        )


def test_one_sgd_step_moves_the_effective_weight_by_m_squared():
    """SGD on W with multiplier m equals SGD with rate m²·η on the effective weight m·W."""
    rng = np.random.default_rng(3)
    x, c = rng.standard_normal((8, 6)), rng.standard_normal((8, 4))
    m, lr = 3.0, 0.01
    scaled = Sequential([ScaledDense(6, 4, w_mult=m, weight_std=0.2, rng=0)])
    plain = Sequential([Dense(6, 4, weight_init="zeros", rng=0)])
    plain.layers[0].params["W"][...] = scaled.layers[0].effective_weight
    for net, rate in ((scaled, lr), (plain, m * m * lr)):
        net.forward(x)
        net.backward(c)
        SGD(net, lr=rate, momentum=0.0).step()
    np.testing.assert_allclose(
        scaled.layers[0].effective_weight, plain.layers[0].params["W"], rtol=1e-12
    )


def test_mup_equals_sp_at_the_base_width():
    x = np.random.default_rng(0).standard_normal((16, 20))
    a = mup_mlp([20, 64, 64, 10], parametrization="mup", base_width=64, rng=5)
    b = mup_mlp([20, 64, 64, 10], parametrization="sp", rng=5)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


@pytest.mark.parametrize("p", ["sp", "mup"])
def test_initial_variances_follow_the_table(p):
    n, base = 512, 64
    net = mup_mlp([100, n, n, 10], parametrization=p, base_width=base, rng=0)
    dense = [layer for layer in net.layers if isinstance(layer, ScaledDense)]
    r = n / base if p == "mup" else 1.0
    expected = [2 / 100, 2 / n, 1 / (n * r)]  # ReLU gain² / fan_in, output 1/(fan_in·r)
    for layer, var in zip(dense, expected, strict=True):
        measured = float(np.var(layer.effective_weight))
        assert measured == pytest.approx(var, rel=0.05)


def _output_change(p, width, lr=0.01):
    """Mean |Δf| of the outputs after one SGD step on the linear loss L = Σ c·f.

    The loss gradient ``c`` is fixed and independent of the width, so the change
    measures only how the parametrization scales the update.
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 16))
    c = rng.standard_normal((64, 4)) / 64
    changes = []
    for seed in range(3):
        net = mup_mlp([16, width, width, 4], parametrization=p, base_width=64, rng=seed)
        before = net.forward(x)
        net.backward(c)
        SGD(net, lr=lr, momentum=0.0).step()
        changes.append(np.mean(np.abs(net.forward(x) - before)))
    return float(np.mean(changes))


def test_update_of_the_outputs_grows_with_width_in_sp_but_not_in_mup():
    """Yang & Hu's point: with one learning rate, SP's output update grows with the width."""
    sp = _output_change("sp", 2048) / _output_change("sp", 256)
    mup = _output_change("mup", 2048) / _output_change("mup", 256)
    assert sp > 5  # ~ linear in width (8x here)
    assert 0.67 < mup < 1.5


def test_width_multipliers_values_and_errors():
    m = width_multipliers("muP", 256, 64)
    assert m["r"] == 4 and m["input_w_mult"] == 2 and m["output_w_mult"] == 0.5
    assert m["lr_factor"] == {"input": 4, "hidden": 1, "output": 0.25}
    assert width_multipliers("sp", 256, 64)["r"] == 1.0
    with pytest.raises(ValueError, match="parametrization"):
        width_multipliers("ntk", 256, 64)
    with pytest.raises(TypeError, match="width"):
        width_multipliers("sp", 2.5, 64)
    with pytest.raises(ValueError, match="one hidden width"):
        mup_mlp([10, 32, 64, 2])
    with pytest.raises(ValueError, match="sizes"):
        mup_mlp([10, 2])
    with pytest.raises(ValueError, match="w_mult"):
        ScaledDense(3, 2, w_mult=0.0)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        ScaledDense(3, 2).forward(np.ones((2, 4)))
    with pytest.raises(RuntimeError, match="before forward"):
        ScaledDense(3, 2).backward(np.ones((2, 2)))


# --------------------------------------------------------------------------- issue 12 (fuzz)
def test_scaled_dense_checks_its_input_and_gradient():
    # forward took any array (NaN, strings); backward raised AttributeError on an int dy
    layer = ScaledDense(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"^ScaledDense input contains NaN"):
        layer.forward(np.full((2, 3), np.nan))
    with pytest.raises(TypeError, match=r"^ScaledDense input must be a real numeric array"):
        layer.forward(np.array([["a", "b", "c"]]))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^dy: the output gradient must have shape \(2, 2\)"):
        layer.backward(3)
    with pytest.raises(ValueError, match=r"^dy contains NaN"):
        layer.backward(np.full((2, 2), np.nan))


def test_mup_names_its_own_arguments():
    # activation_name was reported as "nonlinearity" (from fans.gain)
    with pytest.raises(ValueError, match=r"^activation_name must be one of"):
        mup_mlp([3, 4, 2], activation_name="bogus")
    with pytest.raises(ValueError, match=r"^sizes asks for a weight of"):
        mup_mlp([3, 10**5, 10**5, 2])
    # a width ratio beyond float range raised OverflowError
    with pytest.raises(ValueError, match=r"^width / base_width = "):
        width_multipliers("mup", 10**400, 1)
    assert width_multipliers("MuP", 8, 2) == width_multipliers("mup", 8, 2)


def test_float32_mup_mlp_is_the_float64_one_rounded_and_stays_float32():
    x = np.random.default_rng(1).standard_normal((8, 20))
    c = np.random.default_rng(2).standard_normal((8, 10))
    nets = {dt: mup_mlp([20, 128, 128, 10], base_width=32, rng=3, dtype=dt)
            for dt in (np.float32, np.float64)}  # fmt: skip
    for (_, _, p32, _), (_, _, p64, _) in zip(nets[np.float32].parameters(),
                                             nets[np.float64].parameters(), strict=True):  # fmt: skip
        assert p32.dtype == np.float32 and p64.dtype == np.float64
        np.testing.assert_array_equal(p32, p64.astype(np.float32))
    out = nets[np.float32].forward(x)  # float64 input, cast by the layers
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, nets[np.float64].forward(x), rtol=1e-4, atol=1e-5)
    dx = nets[np.float32].backward(c)
    assert dx.dtype == np.float32
    for _, _, p, g in nets[np.float32].parameters():
        assert g.dtype == np.float32 == p.dtype
    SGD(nets[np.float32], lr=0.1, momentum=0.9).step()
    assert all(p.dtype == np.float32 for _, _, p, _ in nets[np.float32].parameters())
    with pytest.raises(TypeError, match="dtype"):
        mup_mlp([20, 32, 10], dtype=np.float16)
    with pytest.raises(TypeError, match="dtype"):
        ScaledDense(3, 2, dtype=int)
