"""SGD, the training loop, the data sets and the depth statistics."""

import math

import numpy as np
import pytest
from weightinit.data import Dataset, load_digits, make_spirals
from weightinit.layers import (
    Dense,
    Identity,
    ReLU,
    Sequential,
    Tanh,
    mlp,
    small_cnn,
    softmax_cross_entropy,
)
from weightinit.stats import (
    activation_summary,
    depth_profile,
    max_pairwise_difference,
    saturated_fraction,
)
from weightinit.training import SGD, Adam, evaluate, train


# --------------------------------------------------------------------------- data
def test_digits_shapes_scaling_and_determinism():
    d = load_digits()
    assert d.X_train.shape == (1347, 1, 8, 8) and d.X_test.shape == (450, 1, 8, 8)
    assert d.n_classes == 10 and d.y_train.dtype == np.int64
    # standardized with the training statistics
    assert abs(d.X_train.mean()) < 1e-12 and abs(d.X_train.std() - 1) < 1e-12
    # stratified: every class in both splits, in proportion
    counts = np.bincount(d.y_test, minlength=10)
    assert counts.min() >= 40
    e = load_digits()
    np.testing.assert_array_equal(d.X_train, e.X_train)
    f = load_digits(seed=1)
    assert not np.array_equal(d.y_train, f.y_train)
    flat = load_digits(flat=True, standardize=False)
    assert flat.X_train.shape == (1347, 64) and flat.X_train.min() >= 0 and flat.X_train.max() <= 1


def test_spirals():
    s = make_spirals(100, n_classes=3, seed=0)
    assert s.X_train.shape[1] == 2 and len(s.X_train) + len(s.X_test) == 300
    assert set(np.unique(s.y_train)) == {0, 1, 2}
    np.testing.assert_array_equal(s.X_test, make_spirals(100, n_classes=3, seed=0).X_test)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: load_digits(test_size=1.5), ValueError, "test_size"),
        (lambda: load_digits(test_size="half"), TypeError, "test_size"),
        (lambda: make_spirals(1), ValueError, "n_per_class"),
        (lambda: make_spirals(10, noise=-1), ValueError, "noise"),
        (lambda: load_digits().subset(0), ValueError, "n_train"),
    ],
)
def test_data_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------- SGD
def test_sgd_momentum_update_follows_the_formula():
    net = Sequential([Dense(2, 1, weight_init="constant", init_kwargs={"value": 1.0})])
    opt = SGD(net, lr=0.1, momentum=0.5, weight_decay=0.01)
    x = np.array([[1.0, 2.0]])
    w = net.layers[0].params["W"].copy()
    v = np.zeros_like(w)
    for _ in range(3):
        net.forward(x)
        net.backward(np.ones((1, 1)))
        g = net.layers[0].grads["W"] + 0.01 * w
        v = 0.5 * v + g
        w = w - 0.1 * v
        opt.step()
        np.testing.assert_allclose(net.layers[0].params["W"], w)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"lr": 0}, ValueError, "lr"),
        ({"lr": float("nan")}, ValueError, "lr"),
        ({"momentum": 1.0}, ValueError, "momentum"),
        ({"weight_decay": -1}, ValueError, "weight_decay"),
        ({"lr": "0.1"}, TypeError, "lr"),
    ],
)
def test_sgd_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SGD(Sequential([Dense(2, 2)]), **kwargs)


def test_sgd_needs_a_backward_pass():
    with pytest.raises(RuntimeError, match="backward"):
        SGD(Sequential([Dense(2, 2)])).step()


# --------------------------------------------------------------------------- training loop
@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_training_learns_and_is_reproducible(digits):
    small = digits.subset(400)
    h1 = train(small_cnn(weight_init="he_normal", rng=0), small, epochs=3, lr=0.05, rng=0)
    h2 = train(small_cnn(weight_init="he_normal", rng=0), small, epochs=3, lr=0.05, rng=0)
    assert len(h1.train_loss) == 4 and len(h1.profiles) == 4
    assert len(h1.step_loss) == 3 * math.ceil(400 / 32)
    assert h1.test_acc[0] < 0.3 < 0.85 < h1.final_test_acc
    assert h1.train_loss[-1] < h1.train_loss[0]
    assert h1.step_loss == h2.step_loss
    assert not h1.diverged


def test_zero_init_cannot_learn(digits):
    h = train(small_cnn(weight_init="zeros", rng=0), digits.subset(300), epochs=3, rng=0)
    assert h.final_test_acc < 0.25


def test_divergence_is_reported_not_hidden(digits):
    net = mlp([64, 64, 10], weight_init="normal", init_kwargs={"std": 10.0}, rng=0)
    flat = Dataset(digits.X_train.reshape(-1, 64), digits.y_train,
                   digits.X_test.reshape(-1, 64), digits.y_test, 10)  # fmt: skip
    h = train(net, flat, epochs=2, lr=1e300, momentum=0.0, rng=0, profile=False)
    assert h.diverged and h.diverged_at_step is not None
    assert len(h.step_loss) == h.diverged_at_step or len(h.step_loss) == h.diverged_at_step - 1


def test_fewer_records_train_the_same_weights(digits):
    """splits and every_epoch change what is evaluated, never the training."""
    flat = Dataset(digits.X_train.reshape(-1, 64)[:200], digits.y_train[:200],
                   digits.X_test.reshape(-1, 64)[:90], digits.y_test[:90], 10)  # fmt: skip

    def run(**kw):
        net = mlp([64, 32, 10], weight_init="he_normal", rng=4)
        return net, train(net, flat, epochs=3, batch_size=32, lr=0.05, rng=4, **kw)

    full_net, full = run(profile=False)
    assert len(full.train_loss) == len(full.test_acc) == 4
    for kw in (
        {"every_epoch": False},
        {"splits": ("test",)},
        {"splits": ["TEST", "train"]},
        {"splits": (), "every_epoch": False},
        {"every_epoch": False, "profile": True},
    ):
        net, h = run(**{"profile": False, **kw})
        assert h.step_loss == full.step_loss and not h.diverged
        for (_, _, p, _), (_, _, q, _) in zip(net.parameters(), full_net.parameters(),
                                              strict=True):  # fmt: skip
            np.testing.assert_array_equal(p, q)
        splits = [s.lower() for s in kw.get("splits", ("train", "test"))]
        every = kw.get("every_epoch", True)
        for split in ("train", "test"):
            for metric in ("loss", "acc"):
                got = getattr(h, f"{split}_{metric}")
                ref = getattr(full, f"{split}_{metric}")
                expected = [] if split not in splits else (ref if every else ref[-1:])
                assert got == expected, (kw, split, metric)
        assert len(h.profiles) == (1 if kw.get("profile") else 0)


def test_a_run_that_diverges_before_its_only_record_has_none(digits):
    net = mlp([64, 64, 10], weight_init="normal", init_kwargs={"std": 10.0}, rng=0)
    flat = Dataset(digits.X_train.reshape(-1, 64), digits.y_train,
                   digits.X_test.reshape(-1, 64), digits.y_test, 10)  # fmt: skip
    h = train(net, flat, epochs=2, lr=1e300, momentum=0.0, rng=0, profile=False,
              every_epoch=False)  # fmt: skip
    assert h.diverged and h.diverged_at_step is not None
    assert h.train_loss == h.test_loss == h.train_acc == h.test_acc == []


def test_evaluate_matches_predict(digits):
    net = small_cnn(rng=1)
    loss, acc = evaluate(net, digits.X_test, digits.y_test, batch_size=64)
    assert acc == pytest.approx(np.mean(net.predict(digits.X_test) == digits.y_test))
    assert loss > 0


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"batch_size": 2.5}, ValueError, "batch_size"),
        ({"rng": "seed"}, TypeError, "rng"),
        ({"splits": "test"}, TypeError, "splits"),
        ({"splits": ("test", "validation")}, ValueError, "splits"),
        ({"every_epoch": "no"}, TypeError, "every_epoch"),
    ],
)
def test_train_bad_input(digits, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train(small_cnn(rng=0), digits.subset(10), **kwargs)


def test_train_needs_a_dataset():
    with pytest.raises(TypeError, match="Dataset"):
        train(small_cnn(rng=0), (np.zeros((2, 1, 8, 8)), np.zeros(2)))


# --------------------------------------------------------------------------- statistics
def test_activation_summary_and_saturation():
    a = np.array([[0.0, 1.0, 0.0], [0.0, 3.0, 2.0]])
    s = activation_summary(a, "relu")
    assert s["dead"] == pytest.approx(1 / 3)  # the first unit is zero for both examples
    assert s["zero"] == pytest.approx(3 / 6)
    assert s["mean"] == pytest.approx(1.0)
    assert saturated_fraction(np.array([0.995, -0.999, 0.5, 0.0]), "tanh") == 0.5
    assert saturated_fraction(np.array([0.001, 0.5, 0.999, 0.7]), "sigmoid") == 0.5
    assert saturated_fraction(np.array([100.0]), "relu") == 0.0


def test_max_pairwise_difference():
    w = np.zeros((4, 2, 3, 3))
    assert max_pairwise_difference(w) == 0.0
    w[2, 1, 0, 0] = 0.5
    w[3, 1, 0, 0] = -0.25
    assert max_pairwise_difference(w) == 0.75
    with pytest.raises(ValueError, match="units on axis 0"):
        max_pairwise_difference(np.zeros(3))


def test_depth_profile_linear_orthogonal_network_preserves_std():
    # Orthogonal square weights in a linear network preserve every norm exactly.
    layers = []
    for _ in range(6):
        layers += [Dense(32, 32, weight_init="orthogonal", rng=len(layers)), Identity()]
    net = Sequential(layers)
    x = np.random.default_rng(0).standard_normal((64, 32))
    p = depth_profile(net, x, keep_activations=True)
    assert p.depth == 6 and len(p.activations) == 6
    np.testing.assert_allclose(np.linalg.norm(p.activations[-1]), np.linalg.norm(x))
    # Identity passes gradients through: what layer k sends back is what layer k-1 receives.
    np.testing.assert_allclose(p.input_grad_std[1:], p.grad_std[:-1], rtol=1e-12)
    # ... and the orthogonal layers keep the gradient's size (std up to its tiny mean)
    np.testing.assert_allclose(p.input_grad_std[0], p.grad_std[-1], rtol=1e-3)
    assert p.names[0] == "dense 1" and len(p.as_rows()) == 6


def test_depth_profile_he_keeps_relu_signal_and_small_init_loses_it():
    x = np.random.default_rng(0).standard_normal((512, 256))
    he = depth_profile(mlp([256] * 12, weight_init="he_normal", rng=0), x)
    small = depth_profile(mlp([256] * 12, weight_init="normal", rng=0), x)
    # He: pre-activation std stays within a factor ~1.5 of its first value over 11 layers
    assert 0.6 < he.pre_std[-1] / he.pre_std[0] < 1.6
    # std 0.01: each layer multiplies by sqrt(256/2)*0.01 ~ 0.11
    assert small.pre_std[-1] / small.pre_std[0] < 1e-8
    assert small.grad_std[0] < 1e-8 * small.grad_std[-1]


def test_depth_profile_with_labels_and_saturation():
    net = mlp([16, 32, 32, 4], activation_name="tanh", weight_init="normal",
              init_kwargs={"std": 3.0}, rng=0)  # fmt: skip
    x = np.random.default_rng(1).standard_normal((100, 16))
    p = depth_profile(net, x, np.zeros(100, dtype=np.int64))
    assert p.loss is not None and p.loss > 0
    assert p.saturated[0] > 0.5  # tanh pinned at +-1 with std-3 weights
    assert isinstance(net.layers[1], Tanh)


def test_depth_profile_rejects_overflow_and_non_networks():
    net = Sequential([Dense(2, 2, weight_init="constant", init_kwargs={"value": 1e200}), ReLU(),
                      Dense(2, 2, weight_init="constant", init_kwargs={"value": 1e200})])  # fmt: skip
    with np.errstate(over="ignore"), pytest.raises(FloatingPointError, match="not finite"):
        depth_profile(net, np.ones((1, 2)))
    with pytest.raises(TypeError, match="Sequential"):
        depth_profile([Dense(2, 2)], np.ones((1, 2)))


def _torch_like_adam_reference(p0, grads, lr, b1, b2, eps):
    """Adam written out step by step from Kingma & Ba's Algorithm 1, for one array."""
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p


def test_adam_matches_algorithm_1():
    net = Sequential([Dense(3, 2, rng=0)])
    p0 = net.layers[0].params["W"].copy()
    gen = np.random.default_rng(5)
    grads = [gen.standard_normal(p0.shape) for _ in range(4)]
    opt = Adam(net, lr=0.01, betas=(0.8, 0.95), eps=1e-6)
    for g in grads:
        net.layers[0].grads["W"] = g
        net.layers[0].grads["b"] = np.zeros_like(net.layers[0].params["b"])
        opt.step()
    expected = _torch_like_adam_reference(p0, grads, 0.01, 0.8, 0.95, 1e-6)
    np.testing.assert_allclose(net.layers[0].params["W"], expected, rtol=1e-12)
    # the first step moves every weight by lr (the bias-corrected ratio is sign(g))
    assert not np.allclose(expected, p0)


def test_adam_trains_and_rejects_bad_arguments():
    d = make_spirals(60, seed=0)
    net = mlp([2, 32, 3], weight_init="he_normal", rng=0)
    hist = train(net, d, epochs=30, lr=0.01, optimizer="adam", profile=False)
    assert hist.train_loss[-1] < 0.6 * hist.train_loss[0]
    net = Sequential([Dense(3, 2, rng=0)])
    with pytest.raises(ValueError, match="betas"):
        Adam(net, betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="betas"):
        Adam(net, betas=0.9)
    with pytest.raises(ValueError, match="optimizer"):
        train(net, d, optimizer="rmsprop")


# --------------------------------------------------------------------------- precision
@pytest.mark.parametrize("make_opt", [lambda n: SGD(n, weight_decay=0.01), lambda n: Adam(n)])
def test_optimizers_keep_float32_parameters_and_state(make_opt):
    net = mlp([4, 3, 2], rng=0, dtype=np.float32)
    opt = make_opt(net)
    x = np.random.default_rng(0).standard_normal((5, 4))  # float64 data, cast by the layer
    for _ in range(2):
        net.forward(x)
        net.backward(np.ones((5, 2)))
        # a gradient of another dtype (e.g. from a user's layer) does not promote
        net.layers[0].grads["b"] = net.layers[0].grads["b"].astype(np.float64)
        opt.step()
    assert all(p.dtype == np.float32 for _, _, p, _ in net.parameters())
    state = getattr(opt, "_velocity", None) or {**opt._m, **opt._v}
    assert state and all(v.dtype == np.float32 for v in state.values())


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_float32_training_matches_float64(digits, optimizer):
    small = digits.subset(400)
    lr = 0.05 if optimizer == "sgd" else 0.005
    hists = {}
    for dt in (np.float32, np.float64):
        net = small_cnn(weight_init="he_normal", rng=0, dtype=dt)
        hists[dt] = train(net, small, epochs=3, lr=lr, rng=0, optimizer=optimizer, profile=False)
        assert all(p.dtype == dt for _, _, p, _ in net.parameters())
        assert net.forward(small.X_test[:4]).dtype == dt
    h32, h64 = hists[np.float32], hists[np.float64]
    assert not h32.diverged and h32.final_test_acc > 0.85
    # same seed, same data order: float32 follows the float64 run closely
    assert abs(h32.final_test_acc - h64.final_test_acc) <= 0.03
    np.testing.assert_allclose(h32.step_loss[:5], h64.step_loss[:5], rtol=1e-3)


# --------------------------------------------------------------------------- frozen layers
def _snapshot(net):
    return [(i, name, p.copy()) for i, name, p, _ in net.parameters()]


def test_trainable_flag_defaults_to_true_and_takes_only_booleans():
    layer = Dense(3, 2, rng=0)
    assert layer.trainable is True and ReLU().trainable is True
    layer.trainable = False
    assert layer.trainable is False and layer.is_trainable("W") is False
    layer.trainable = np.bool_(True)
    assert layer.trainable is True
    for bad in (0, 1, "no", None):
        with pytest.raises(TypeError, match="trainable"):
            layer.trainable = bad
    assert layer.trainable is True
    net = Sequential([Dense(3, 4, rng=0), ReLU(), Dense(4, 2, rng=1)])
    net.layers[0].trainable = False
    assert [(i, n) for i, n, _, _ in net.trainable_parameters()] == [(2, "W"), (2, "b")]
    assert len(list(net.parameters())) == 4  # parameters() still lists every parameter
    assert "Dense(3, 4) (frozen)" in repr(net) and "Dense(4, 2) (frozen)" not in repr(net)


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 0.005)])
@pytest.mark.parametrize("frozen", [[0], [2], [0, 2], [6]])
def test_train_leaves_frozen_layers_unchanged_and_trains_the_others(digits, optimizer, lr,
                                                                    frozen):  # fmt: skip
    net = small_cnn(weight_init="he_normal", rng=0)
    for i in frozen:
        net.layers[i].trainable = False
    before = _snapshot(net)
    # weight decay must not move frozen weights either
    hist = train(net, digits.subset(200), epochs=2, lr=lr, optimizer=optimizer,
                 weight_decay=1e-3, rng=0, profile=False)  # fmt: skip
    assert not hist.diverged and hist.train_loss[-1] < hist.train_loss[0]
    for (i, name, p0), (_, _, p, _) in zip(before, net.parameters(), strict=True):
        if i in frozen:
            np.testing.assert_array_equal(p, p0, err_msg=f"frozen layer {i} {name} moved")
        else:  # every trainable parameter moved, below a frozen layer too (dx flows)
            assert not np.array_equal(p, p0), f"trainable layer {i} {name} did not move"


def test_frozen_layer_passes_the_same_gradient_as_a_trainable_one(digits):
    x, y = digits.X_train[:16], digits.y_train[:16]
    grads = []
    for trainable in (True, False):
        net = small_cnn(weight_init="he_normal", rng=0)
        net.layers[2].trainable = trainable
        _, dlogits = softmax_cross_entropy(net.forward(x), y)
        net.backward(dlogits)
        grads.append(net.layers[0].grads["W"])
    np.testing.assert_array_equal(grads[0], grads[1])


def test_residual_blocks_honour_frozen_inner_layers_and_frozen_blocks():
    from weightinit.residual import Residual

    block = Residual([Dense(4, 4, rng=0), ReLU(), Dense(4, 4, rng=1)], gate=True,
                     gate_init=0.5)  # fmt: skip
    net = Sequential([block, Dense(4, 3, rng=2)])
    block.branch.layers[0].trainable = False
    names = [n for i, n, _, _ in net.trainable_parameters() if i == 0]
    assert names == ["branch.2.W", "branch.2.b", "gate"]
    x = np.random.default_rng(0).standard_normal((8, 4))
    y = np.arange(8) % 3
    data = Dataset(x, y, x, y, 3)
    before = _snapshot(net)
    train(net, data, epochs=3, batch_size=4, rng=0, profile=False)
    moved = {(i, n): not np.array_equal(p0, p) for (i, n, p0), (_, _, p, _) in
             zip(before, net.parameters(), strict=True)}  # fmt: skip
    assert not moved[(0, "branch.0.W")] and not moved[(0, "branch.0.b")]
    assert moved[(0, "branch.2.W")] and moved[(0, "gate")] and moved[(1, "W")]
    block.trainable = False  # the whole block
    assert [i for i, *_ in net.trainable_parameters()] == [1, 1]


# --------------------------------------------------------------------------- what is recorded
def test_splits_and_every_epoch_choose_the_records_not_the_training(digits):
    small = digits.subset(200)

    def run(**kw):
        net = small_cnn(weight_init="he_normal", rng=0, channels=(4, 4))
        return train(net, small, epochs=3, rng=0, **{"profile": False, **kw}), net

    full, net_full = run()
    test_only, _ = run(splits=("test",))
    last, net_last = run(splits=["TEST", "train"], every_epoch=False)
    # training is the same whatever is evaluated
    assert full.step_loss == test_only.step_loss == last.step_loss
    np.testing.assert_array_equal(net_full.layers[0].params["W"], net_last.layers[0].params["W"])
    assert test_only.train_loss == [] and test_only.train_acc == []
    assert test_only.test_acc == full.test_acc and test_only.test_loss == full.test_loss
    assert last.test_acc == full.test_acc[-1:] and last.train_loss == full.train_loss[-1:]
    assert last.final_test_acc == full.final_test_acc
    with_profile, _ = run(every_epoch=False, profile=True)
    assert len(with_profile.profiles) == 1
    nothing, _ = run(splits=())
    assert nothing.test_acc == [] and nothing.train_loss == [] and nothing.step_loss


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"splits": "test"}, TypeError, "splits"),
        ({"splits": ("test", "validation")}, ValueError, "splits"),
        ({"splits": (1,)}, TypeError, "splits"),
        ({"every_epoch": 1}, TypeError, "every_epoch"),
    ],
)
def test_splits_and_every_epoch_bad_input(digits, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train(small_cnn(rng=0), digits.subset(40), epochs=1, **kwargs)


def test_every_epoch_false_still_reports_an_overflow_at_initialization(digits):
    net = mlp([64, 64, 10], weight_init="normal", init_kwargs={"std": 1e155}, rng=0)
    flat = Dataset(digits.X_train.reshape(-1, 64), digits.y_train,
                   digits.X_test.reshape(-1, 64), digits.y_test, 10)  # fmt: skip
    h = train(net, flat, epochs=2, rng=0, profile=False, every_epoch=False)
    assert h.diverged and h.diverged_at_step == 0 and h.step_loss == []


# --------------------------------------------------------------------------- BLAS threads
def _blas_threads():
    from threadpoolctl import threadpool_info

    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def test_training_runs_with_one_blas_thread_and_restores_the_setting(digits):
    """The training functions limit BLAS to one thread while they run (a multi-threaded
    product may round differently, so the records would depend on the thread count)."""
    from threadpoolctl import threadpool_limits
    from weightinit import compare, stacked

    seen = []

    class Probe(Identity):
        def forward(self, x, training=True):
            seen.append(_blas_threads())
            return super().forward(x, training)

    small = digits.subset(64)

    def build(seed):
        net = small_cnn(channels=(2, 2), rng=seed)
        net.layers.insert(0, Probe())
        return net

    with threadpool_limits(2, user_api="blas"):
        outside = _blas_threads()
        train(build(0), small, epochs=1, profile=False)
        evaluate(build(0), small.X_test, small.y_test)
        compare.train_seeds(build, small, [0, 1], epochs=1, stacked=False)
        assert _blas_threads() == outside  # restored
        nets = [small_cnn(channels=(2, 2), rng=s, dtype=np.float32) for s in (0, 1)]
        before = _blas_threads()
        stacked.train_stacked(nets, small, [0, 1], epochs=1)
        assert _blas_threads() == before
    assert seen and set(seen) == {1}


@pytest.mark.parametrize("stacked_engine", [False, True])
def test_float32_records_are_the_same_with_one_or_two_blas_threads(digits, stacked_engine):
    from threadpoolctl import threadpool_limits
    from weightinit.experiments import train_seeds

    def build(seed):
        return small_cnn(weight_init="he_normal", rng=seed, dtype=np.float32)

    runs = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            runs.append(train_seeds(build, digits, [0, 1], epochs=2, profile=False,
                                    stacked=stacked_engine))  # fmt: skip
    for a, b in zip(*(r.histories for r in runs), strict=True):
        assert a.step_loss == b.step_loss and a.test_acc == b.test_acc
