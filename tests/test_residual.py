"""Residual blocks and their initializations: gradients, parameter sharing with the
optimizers, identity starts, Fixup/GPT-2 scalings, variance growth, bad input."""

import math

import numpy as np
import pytest
from gradcheck import numerical_grad, rel_err
from weightinit import data, training
from weightinit.layers import Conv2D, Dense, ReLU, Sequential, Tanh
from weightinit.normalization import BatchNorm, LayerNorm
from weightinit.residual import (
    Residual,
    fixup_init,
    gpt2_init,
    residual_blocks,
    residual_mlp,
    residual_profile,
    stream_second_moment,
    zero_init_last,
)
from weightinit.stats import depth_profile

EPS = 1e-6


def _randomize(layer, rng):
    for p in layer.params.values():
        p[...] = rng.normal(0.3, 0.7, size=p.shape)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: Residual([Dense(4, 5, rng=0), Tanh(), Dense(5, 4, rng=1)]), (6, 4)),
        (
            lambda: Residual(
                [Dense(4, 5, rng=0), Tanh(), Dense(5, 4, rng=1)], gate=True, gate_init=0.7
            ),
            (6, 4),
        ),
        (lambda: Residual([LayerNorm(4), Dense(4, 4, rng=2), Tanh()], gate=True), (5, 4)),
        (
            lambda: Residual(
                [BatchNorm(2), Tanh(), Conv2D(2, 2, 3, padding=1, rng=3)], gate=True, gate_init=-0.4
            ),
            (3, 2, 4, 4),
        ),
    ],
)
def test_block_gradients_match_finite_differences(make, shape):
    rng = np.random.default_rng(0)
    block = make()
    if block.gated and block.gate == 0.0:
        block.params["gate"][...] = 0.6  # a zero gate would hide the branch's gradients
    for layer in block.branch.layers:
        _randomize(layer, rng)
    x = rng.normal(size=shape)
    r = rng.standard_normal(shape)

    def loss():
        return float(np.sum(block.forward(x) * r))

    block.forward(x)
    dx = block.backward(r)
    assert rel_err(dx, numerical_grad(loss, x, EPS)) < 1e-6
    names = list(block.params)
    assert ("gate" in names) == block.gated
    for name in names:
        block.forward(x)
        block.backward(r)
        analytic = block.grads[name].copy()
        assert rel_err(analytic, numerical_grad(loss, block.params[name], EPS)) < 1e-6, name


def test_gate_zero_block_is_identity_but_gate_gets_gradient():
    rng = np.random.default_rng(1)
    block = Residual([Dense(3, 3, rng=0), ReLU(), Dense(3, 3, rng=1)], gate=True)
    x = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(block.forward(x), x)
    r = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(block.backward(r), r)
    f = block.branch.forward(x)
    assert np.isclose(block.grads["gate"][0], np.sum(r * f))
    assert np.all(block.grads["branch.2.W"] == 0)


def test_params_are_the_branch_arrays_and_parameters_sees_them():
    net = residual_mlp(8, 6, 3, 4, gate=True, rng=0)
    block = residual_blocks(net)[1]
    assert block.params["branch.1.W"] is block.branch.layers[1].params["W"]
    names = [(i, n) for i, n, _, _ in net.parameters()]
    assert len(names) == len(set(names))
    n_params = sum(p.size for _, _, p, _ in net.parameters())
    expected = 8 * 6 + 6 + 3 * (2 * (6 * 6 + 6) + 1) + 6 * 4 + 4
    assert n_params == expected


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.05), ("adam", 0.005)])
def test_training_updates_every_parameter_inside_blocks(optimizer, lr):
    digits = data.load_digits(flat=True).subset(300)
    net = residual_mlp(64, 16, 3, 10, norm="batch", gate=True, gate_init=0.5, rng=0)
    before = {(i, n): p.copy() for i, n, p, _ in net.parameters()}
    hist = training.train(net, digits, epochs=3, lr=lr, optimizer=optimizer, profile=True)
    assert not hist.diverged
    assert hist.train_loss[-1] < hist.train_loss[0] - 0.5
    for i, n, p, _ in net.parameters():
        assert not np.array_equal(p, before[(i, n)]), (i, n)
    # depth_profile runs on a network with blocks (it summarizes the stem and the head)
    assert hist.profiles[0].names == ["dense 1", "dense 2"]


def test_depth_profile_and_residual_profile_on_blocks():
    x = np.random.default_rng(2).normal(size=(64, 10))
    net = residual_mlp(10, 32, 5, 3, rng=0)
    prof = depth_profile(net, x)
    assert prof.depth == 2
    res = residual_profile(net, x)
    assert res.depth == 5
    assert np.all(np.diff(res.stream_ms) > 0)
    assert np.all(res.branch_ms > 0)


def test_unnormalized_stream_doubles_per_block_and_normalized_grows_linearly():
    """E[x_{l+1}^2] = 2 E[x_l^2] for a He ReLU branch; +1 per block with BatchNorm."""
    x = np.random.default_rng(3).normal(size=(512, 32))
    ratios = []
    for seed in range(6):
        p = residual_profile(residual_mlp(32, 256, 6, 3, rng=seed), x)
        ratios.append(np.diff(np.log2(np.r_[p.input_ms, p.stream_ms])))
    assert abs(np.mean(ratios) - 1.0) < 0.1
    p = residual_profile(residual_mlp(32, 256, 8, 3, norm="batch", rng=0), x, training=True)
    np.testing.assert_allclose(p.branch_ms, 1.0, atol=0.15)
    slope = np.polyfit(np.arange(1, 9), p.stream_ms, 1)[0]
    assert abs(slope - 1.0) < 0.15


def test_zero_init_last_makes_every_block_the_identity():
    x = np.random.default_rng(4).normal(size=(16, 12))
    for norm in (None, "layer"):
        net = zero_init_last(residual_mlp(12, 8, 4, 3, norm=norm, rng=0))
        for block in residual_blocks(net):
            assert np.all(block.branch.layers[-1].params["W"] == 0)
        p = residual_profile(net, x)
        np.testing.assert_allclose(p.stream_ms, p.input_ms)
        assert np.all(p.branch_ms == 0)
    # a branch that ends in a normalization layer gets gamma = 0 (torchvision)
    net = Sequential([Dense(4, 4, rng=0), Residual([Dense(4, 4, rng=1), BatchNorm(4)])])
    zero_init_last(net)
    assert np.all(net.layers[1].branch.layers[1].params["gamma"] == 0)
    assert np.all(net.layers[1].branch.layers[0].params["W"] != 0)


@pytest.mark.parametrize("m", [2, 3])
def test_fixup_scales_inner_layers_and_zeroes_last_and_head(m):
    L = 9
    net = residual_mlp(5, 6, L, 3, branch_depth=m, rng=0)
    before = [[lay.params["W"].copy() for lay in b.branch.layers if "W" in lay.params]
              for b in residual_blocks(net)]  # fmt: skip
    fixup_init(net)
    scale = L ** (-1 / (2 * m - 2))
    for b, w0 in zip(residual_blocks(net), before, strict=True):
        ws = [lay.params["W"] for lay in b.branch.layers if "W" in lay.params]
        for w, w_old in zip(ws[:-1], w0[:-1], strict=True):
            np.testing.assert_allclose(w, scale * w_old)
        assert np.all(ws[-1] == 0)
    assert np.all(net.layers[-1].params["W"] == 0)
    assert np.any(net.layers[0].params["W"] != 0)  # the stem keeps its He weights


def test_gpt2_init_std_of_projections():
    n_blocks = 6
    net = residual_mlp(64, 64, n_blocks, 10, style="transformer", norm="layer", rng=0)
    gpt2_init(net, rng=1)
    for b in residual_blocks(net):
        first, last = (lay for lay in b.branch.layers if isinstance(lay, Dense))
        assert abs(first.params["W"].std() / 0.02 - 1) < 0.03
        assert abs(last.params["W"].std() / (0.02 / math.sqrt(n_blocks)) - 1) < 0.03
        assert np.all(last.params["b"] == 0)
    assert abs(net.layers[0].params["W"].std() / 0.02 - 1) < 0.05
    gpt2_init(net, std=0.1, n_residual=2 * n_blocks, rng=2)
    last = residual_blocks(net)[0].branch.layers[-1]
    assert abs(last.params["W"].std() / (0.1 / math.sqrt(2 * n_blocks)) - 1) < 0.03


def test_gpt2_scaling_makes_added_second_moment_depth_independent():
    """Pre-LN branches add a fixed second moment c each: q_n = q_0 + n c on average.
    Scaled by 1/sqrt(n), the n branches add c in total, whatever n."""
    x = np.random.default_rng(5).normal(size=(256, 32))
    added, branches = {}, {}
    for scaled in (False, True):
        for n in (4, 32):
            net = residual_mlp(32, 32, n, 3, style="transformer", norm="layer", rng=0)
            gpt2_init(net, n_residual=None if scaled else 1, rng=0)
            p = residual_profile(net, x)
            added[scaled, n] = p.stream_ms[-1] - p.input_ms
            branches[scaled, n] = p.branch_ms.sum()
    c = 0.02**2 * 128 * (0.02**2 * 32 / 2)  # E[branch^2]: LN -> 32 -> relu -> 128 -> 32
    assert abs(branches[False, 4] / (4 * c) - 1) < 0.2
    assert abs(branches[True, 4] / c - 1) < 0.2
    assert abs(branches[True, 32] / c - 1) < 0.2
    assert 6 < added[False, 32] / added[False, 4] < 10


def test_builder_structures():
    net = residual_mlp(10, 8, 2, 3, style="transformer", norm="layer", hidden=16, rng=0)
    kinds = [type(lay).__name__ for lay in residual_blocks(net)[0].branch.layers]
    assert kinds == ["LayerNorm", "Dense", "ReLU", "Dense"]
    assert [type(lay).__name__ for lay in net.layers[-2:]] == ["LayerNorm", "Dense"]
    net = residual_mlp(10, 8, 2, 3, branch_depth=3, norm="batch", rng=0)
    kinds = [type(lay).__name__ for lay in residual_blocks(net)[0].branch.layers]
    assert kinds == ["BatchNorm", "ReLU", "Dense"] * 3
    assert net.forward(np.ones((4, 10))).shape == (4, 3)


def test_bad_input():
    with pytest.raises(TypeError, match="branch"):
        Residual("dense")
    with pytest.raises(TypeError, match="gate"):
        Residual([ReLU()], gate=1)
    with pytest.raises(ValueError, match="gate_init"):
        Residual([ReLU()], gate_init=0.5)
    with pytest.raises(ValueError, match="same shape"):
        Residual([Dense(3, 2, rng=0)]).forward(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        Residual([ReLU()]).backward(np.zeros((2, 3)))
    plain = Sequential([Dense(3, 3, rng=0)])
    for fn in (zero_init_last, fixup_init, gpt2_init):
        with pytest.raises(ValueError, match="no Residual block"):
            fn(plain)
        with pytest.raises(TypeError, match="Sequential"):
            fn([Dense(3, 3, rng=0)])
    with pytest.raises(ValueError, match="m >= 2"):
        fixup_init(residual_mlp(3, 3, 2, 2, branch_depth=1, rng=0))
    with pytest.raises(ValueError, match="no Residual block"):
        residual_profile(plain, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="norm"):
        residual_mlp(3, 3, 2, 2, norm="group")
    with pytest.raises(ValueError, match="style"):
        residual_mlp(3, 3, 2, 2, style="post")
    with pytest.raises(ValueError, match="branch_depth=2"):
        residual_mlp(3, 3, 2, 2, style="transformer", branch_depth=3)
    with pytest.raises(ValueError, match="n_blocks"):
        residual_mlp(3, 3, 0, 2)
    with pytest.raises(ValueError, match="std"):
        gpt2_init(residual_mlp(3, 3, 2, 2, rng=0), std=0.0)


def test_stream_second_moment_matches_measurement():
    """The prediction against wide networks, averaged over seeds (finite-width noise)."""
    x = np.random.default_rng(6).normal(size=(512, 16))
    for gate, normalized in [(1.0, False), (0.5, False), (1.0, True), (0.5, True)]:
        measured = []
        for seed in range(4):
            net = residual_mlp(16, 256, 5, 3, norm="batch" if normalized else None,
                               gate=True, gate_init=gate, rng=seed)  # fmt: skip
            p = residual_profile(net, x, training=True)
            measured.append(p.stream_ms[-1] / p.input_ms if not normalized else p.stream_ms[-1])
            q0 = p.input_ms
        predicted = stream_second_moment(5, gate, q0=1.0 if not normalized else q0,
                                         normalized=normalized)  # fmt: skip
        assert abs(np.mean(measured) / predicted - 1) < 0.12, (gate, normalized)


def test_stream_second_moment_values_and_errors():
    assert stream_second_moment(0, 3.0, q0=2.5) == 2.5
    assert stream_second_moment(7, 0.0) == 1.0
    assert stream_second_moment(10, 1.0) == 1024.0
    assert stream_second_moment(4, 0.5, q0=2.0, normalized=True) == 3.0
    assert isinstance(stream_second_moment(3, 1), float)
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="depth"):
            stream_second_moment(bad)
    with pytest.raises(ValueError, match="q0"):
        stream_second_moment(3, q0=0.0)
    with pytest.raises(TypeError, match="normalized"):
        stream_second_moment(3, normalized="yes")


@pytest.mark.parametrize("norm, style", [("batch", "preact"), ("layer", "transformer")])
def test_float32_network_keeps_its_dtype(norm, style):
    digits = data.load_digits(flat=True).subset(128)
    net = residual_mlp(64, 8, 2, 10, norm=norm, style=style, gate=True, gate_init=0.5, rng=0,
                       dtype=np.float32)  # fmt: skip
    assert all(p.dtype == np.float32 for _, _, p, _ in net.parameters())
    out = net.forward(digits.X_train[:16])  # float64 input is cast
    assert out.dtype == np.float32
    hist = training.train(net, digits, epochs=1, lr=0.05, profile=False)
    assert not hist.diverged
    assert all(p.dtype == np.float32 for _, _, p, _ in net.parameters())
    assert all(g.dtype == np.float32 for _, _, _, g in net.parameters())
    bn32 = BatchNorm(3, dtype=np.float32)
    bn32.forward(np.arange(12).reshape(4, 3))
    assert bn32.running_var.dtype == np.float32


def test_bad_dtype():
    for make in (lambda: BatchNorm(3, dtype=np.int32), lambda: LayerNorm(3, dtype="float16"),
                 lambda: Residual([ReLU()], dtype=np.complex64),
                 lambda: residual_mlp(3, 3, 1, 2, dtype=np.float16)):  # fmt: skip
        with pytest.raises(TypeError, match="dtype"):
            make()


# --------------------------------------------------------------------------- issue 12 (fuzz)
def test_choices_are_case_insensitive_and_gate_is_a_bool():
    ref = residual_mlp(3, 4, 2, 2, style="transformer", norm="layer", rng=0)
    net = residual_mlp(3, 4, 2, 2, style="Transformer", norm="Layer", rng=0)
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(net.forward(x), ref.forward(x))
    with pytest.raises(TypeError, match=r"^gate must be True or False"):
        residual_mlp(3, 4, 2, 2, gate="no")


def test_residual_block_checks_dy_and_profile_names_y():
    block = Residual([Dense(4, 4, rng=0)])
    block.forward(np.ones((2, 4)))
    # a string dy failed in a numpy ufunc
    with pytest.raises(TypeError, match=r"^dy must be a real numeric array"):
        block.backward("x")
    with pytest.raises(ValueError, match=r"^dy: the output gradient must have shape \(2, 4\)"):
        block.backward(np.ones((3, 4)))
    net = residual_mlp(3, 4, 2, 2, rng=0)
    # wrong labels were reported as the loss's "labels ... logits"
    with pytest.raises(ValueError, match=r"^y: labels must have shape \(6,\)"):
        residual_profile(net, np.ones((6, 3)), np.zeros(0, dtype=int))


def test_stream_second_moment_overflow_is_a_value_error():
    # gate=1e200 or depth=10**9 raised OverflowError
    for depth, gate in [(10, 1e200), (10**9, 1.0), (10**400, 1.0)]:
        with pytest.raises(ValueError, match=r"the predicted second moment overflows"):
            stream_second_moment(depth, gate)
    assert stream_second_moment(10**400, 0.0) == 1.0
    assert stream_second_moment(10**9, 1.0, normalized=True) == 1.0 + 10**9


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"in_features": 10**9}, "in_features"),
        ({"width": 10**5}, "width"),
        ({"n_classes": 10**9}, "n_classes"),
        ({"n_blocks": 10**8}, "n_blocks"),
        ({"style": "transformer", "hidden": 10**8}, "hidden"),
    ],
)
def test_residual_mlp_refuses_sizes_above_the_limit_naming_the_argument(kwargs, name):
    # it was Dense's "in_features × out_features" (or a long loop for n_blocks)
    args = {"in_features": 4, "width": 8, "n_blocks": 2, "n_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=rf"^{name} asks for a set of weights .* above the "
                       r"library's limit of 2 GiB"):  # fmt: skip
        residual_mlp(**args)
