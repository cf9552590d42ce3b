"""weightinit.stacked: all seeds trained at once give the per-seed loop's records and weights.

Tolerance. Every operation of the stacked engine is the loop's operation on the same numbers
(the same GEMM per seed, the same elementwise formulas, reductions over the same axes, the
convolutions through the library's own Conv2D), so on this machine the results are bitwise
identical. The tests allow 1e-12 relative in float64 and 1e-5 in float32 on losses and
weights, room for a BLAS that picks another kernel for a batched product than for a single
one (a difference of one rounding, ~1e-16 or ~1e-7, which a few dozen SGD steps amplify by
at most a few orders of magnitude on these tiny runs); accuracies, divergence flags and the
step at which a run diverged must be identical.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from weightinit import compare, experiments, stacked
from weightinit.data import Dataset, load_digits
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
    mlp,
    small_cnn,
)
from weightinit.mup import mup_mlp
from weightinit.normalization import BatchNorm
from weightinit.pooling import AvgPool2D
from weightinit.residual import Residual, fixup_init, residual_mlp, zero_init_last
from weightinit.training import train

SEEDS = [3, 0, 7]
FIELDS = ("train_loss", "train_acc", "test_loss", "test_acc", "step_loss")


@pytest.fixture(scope="module")
def flat():
    return load_digits(flat=True).subset(120)


@pytest.fixture(scope="module")
def images():
    return load_digits().subset(96)


def _rtol(dtype):
    return 1e-12 if np.dtype(dtype) == np.float64 else 1e-5


def _same_history(h, ref, rtol):
    assert (h.diverged, h.diverged_at_step) == (ref.diverged, ref.diverged_at_step)
    for name in FIELDS:
        a, b = np.array(getattr(h, name)), np.array(getattr(ref, name))
        assert a.shape == b.shape, name
        if name.endswith("acc"):
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=0, err_msg=name)
    assert h.profiles == []


def _same_weights(net, ref, rtol):
    for (_, name, p, _), (_, _, q, _) in zip(net.parameters(), ref.parameters(), strict=True):
        assert p.dtype == q.dtype, name
        np.testing.assert_allclose(p, q, rtol=rtol, atol=1e-300, err_msg=name)


def _check_against_train(build, data, seeds=SEEDS, check=None, **kw):
    """train_stacked on build(seed) for all seeds equals train() seed by seed: histories
    and the trained weights written back (and ``check(net, ref)``, if given, holds for
    each seed's two trained networks)."""
    nets = [build(s) for s in seeds]
    runs = stacked.train_stacked(nets, data, seeds, **kw)
    assert runs.seeds == tuple(seeds) and len(runs.histories) == len(seeds)
    first = nets[0].layers[0].params  # W of a weighted layer, gamma of a BatchNorm
    rtol = _rtol(next(iter(first.values())).dtype) if first else 1e-12
    for net, seed, hist in zip(nets, seeds, runs.histories, strict=True):
        ref = build(seed)
        ref_hist = train(ref, data, rng=seed, profile=False, **kw)
        _same_history(hist, ref_hist, rtol)
        _same_weights(net, ref, rtol)
        if check is not None:
            check(net, ref)
    return runs


# --------------------------------------------------------------------------- equality
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "selu",
                                        "identity"])  # fmt: skip
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 0.01)])
def test_mlp_equals_train(flat, activation, optimizer, lr):
    def build(seed):
        return mlp([64, 24, 16, 10], activation_name=activation, weight_init="he_normal",
                   rng=seed)  # fmt: skip

    runs = _check_against_train(build, flat, epochs=2, batch_size=16, lr=lr, optimizer=optimizer)
    assert not any(h.diverged for h in runs.histories)
    # 120 examples in batches of 16: 8 steps per epoch, the last one of 8 examples
    assert all(len(h.step_loss) == 16 for h in runs.histories)
    np.testing.assert_array_equal(runs.epochs_done, [2, 2, 2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 0.005)])
def test_small_cnn_equals_train(images, dtype, optimizer, lr):
    def build(seed):
        return small_cnn(weight_init="he_normal", rng=seed, dtype=dtype)

    runs = _check_against_train(build, images, epochs=2, batch_size=32, lr=lr,
                                optimizer=optimizer)  # fmt: skip
    assert all(len(h.test_acc) == 3 for h in runs.histories)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_float32_mlp_with_weight_decay_equals_train(flat, activation):
    def build(seed):
        return mlp([64, 32, 10], activation_name=activation, weight_init="glorot_uniform",
                   rng=seed, dtype=np.float32)  # fmt: skip

    for optimizer in ("sgd", "adam"):
        _check_against_train(build, flat, epochs=2, batch_size=32, lr=0.01, momentum=0.5,
                             weight_decay=1e-3, optimizer=optimizer)  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("parametrization", ["sp", "mup"])
@pytest.mark.parametrize("optimizer,lr,momentum", [("sgd", 0.5, 0.0), ("adam", 0.01, 0.9)])
def test_mup_mlp_equals_train(flat, dtype, parametrization, optimizer, lr, momentum):
    """muP's ScaledDense (multipliers in the forward pass and in every gradient)."""

    def build(seed):
        return mup_mlp([64, 48, 48, 10], parametrization=parametrization, base_width=16,
                       rng=seed, dtype=dtype)  # fmt: skip

    assert stacked.why_not_stacked([build(0), build(1)]) is None
    runs = _check_against_train(build, flat, epochs=2, batch_size=32, lr=lr,
                                momentum=momentum, optimizer=optimizer)  # fmt: skip
    assert not any(h.diverged for h in runs.histories)


def test_mup_mlps_with_other_multipliers_are_not_stacked():
    nets = [mup_mlp([64, 32, 10], base_width=base, rng=0) for base in (16, 32)]
    assert "differs from nets[0] at layer 0 (ScaledDense)" in stacked.why_not_stacked(nets)


@pytest.mark.parametrize("splits,every_epoch", [(("test",), False), ((), True),
                                                (("test", "train"), True)])  # fmt: skip
def test_fewer_records_equal_train_with_the_same_options(flat, splits, every_epoch):
    def build(seed):
        return mlp([64, 16, 10], weight_init="he_normal", rng=seed)

    runs = _check_against_train(build, flat, epochs=2, batch_size=32, lr=0.05, splits=splits,
                                every_epoch=every_epoch)  # fmt: skip
    n_records = (3 if every_epoch else 1) if "test" in splits else 0
    assert all(len(h.test_acc) == n_records for h in runs.histories)
    auto = experiments.train_seeds(build, flat, SEEDS, epochs=2, lr=0.05, profile=False,
                                   splits=splits, every_epoch=every_epoch)  # fmt: skip
    loop = experiments.train_seeds(build, flat, SEEDS, epochs=2, lr=0.05, profile=False,
                                   splits=splits, every_epoch=every_epoch, stacked=False)  # fmt: skip
    for h, ref in zip(auto.histories, loop.histories, strict=True):
        _same_history(h, ref, 1e-12)


def test_other_layers_and_conv_geometries_equal_train(images):
    """Stride, dilation, uneven padding, average pooling with a leftover row, a float32
    layer after a float64 one, Identity, SELU and a final LeakyReLU."""

    def build(seed):
        return Sequential([
            Conv2D(1, 4, 3, stride=2, padding=1, weight_init="he_normal", rng=seed),
            SELU(),
            Conv2D(4, 6, (2, 3), padding=(1, 1), dilation=(1, 2), weight_init="he_uniform",
                   rng=seed + 100, dtype=np.float32),
            Identity(),
            AvgPool2D(2),
            Flatten(),
            Dense(12, 10, weight_init="lecun_normal", bias_init="normal", rng=seed + 200),
            LeakyReLU(0.2),
        ])  # fmt: skip

    _check_against_train(build, images, epochs=2, batch_size=20, lr=0.05)


def test_flatten_then_dense_casts_like_the_layers(images):
    # the input is float64; the float32 Dense casts it after Flatten, as in the loop
    def build(seed):
        return Sequential([Flatten(), Dense(64, 10, rng=seed, dtype=np.float32), Tanh(),
                           Dense(10, 10, rng=seed + 1, dtype=np.float32)])  # fmt: skip

    runs = _check_against_train(build, images, epochs=1, batch_size=32, lr=0.1)
    assert all(isinstance(v, float) for v in runs.histories[0].step_loss)


def test_max_pool_with_leftover_rows_equals_train():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2, 7, 7))
    data = Dataset(X[:40], rng.integers(0, 3, 40), X[40:], rng.integers(0, 3, 20), 3)

    def build(seed):
        return Sequential([Conv2D(2, 3, 3, padding=1, rng=seed), Sigmoid(), MaxPool2D(3),
                           Flatten(), Dense(12, 3, rng=seed)])  # fmt: skip

    _check_against_train(build, data, seeds=[0, 1], epochs=2, batch_size=16, lr=0.5)


# --------------------------------------------------------------------------- divergence
def _residual_build(start, dtype):
    """seed -> a residual MLP (4 blocks of width 16) started as ``start``."""

    def build(seed):
        def make(**kw):
            return residual_mlp(64, 16, 4, 10, rng=seed, dtype=dtype, **kw)

        if start == "He":
            return make()
        if start == "zero-init last":
            return zero_init_last(make())
        if start == "Fixup":
            return fixup_init(make(gate=True, gate_init=1.0))
        if start == "ReZero":
            return make(gate=True)
        if start == "transformer, gate 0.5":
            return make(style="transformer", hidden=24, gate=True, gate_init=0.5)
        # a convolutional block: Conv2D -> ReLU -> Conv2D on 4 channels, gated
        branch = [Conv2D(4, 4, 3, padding=1, rng=seed, dtype=dtype), ReLU(),
                  Conv2D(4, 4, 3, padding=1, rng=seed + 100, dtype=dtype)]  # fmt: skip
        return Sequential([Conv2D(1, 4, 3, padding=1, rng=seed, dtype=dtype), ReLU(),
                           Residual(branch, gate=True, gate_init=0.5, dtype=dtype),
                           Flatten(), Dense(256, 10, rng=seed, dtype=dtype)])  # fmt: skip

    return build


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 0.01)])
@pytest.mark.parametrize("start", ["He", "zero-init last", "Fixup", "ReZero",
                                   "transformer, gate 0.5", "conv"])  # fmt: skip
def test_residual_networks_equal_train(flat, images, dtype, optimizer, lr, start):
    """Residual blocks (gated or not, dense or convolutional branches): the same records
    and weights (gates included) as train() seed by seed."""
    build = _residual_build(start, dtype)
    assert stacked.why_not_stacked([build(s) for s in SEEDS]) is None
    data = images if start == "conv" else flat
    _check_against_train(build, data, epochs=2, batch_size=32, lr=lr, optimizer=optimizer)


def test_residual_network_whose_stream_overflows_diverges_as_in_train(flat):
    """At a large rate the stream of these residual MLPs overflows: every seed stops at the
    step train() stops it, with the same records. Seed 3's stream overflows in the sum
    ``x + g·F(x)`` of a block while its branch output is finite, so the next block's branch
    gets a non-finite input: train() raised that branch's input ValueError ("x (the network
    input) contains NaN or infinite values") instead of recording the divergence, before
    a Sequential inside another network let its values follow IEEE arithmetic."""
    build = _residual_build("transformer, gate 0.5", np.float32)
    with np.errstate(all="ignore"):
        runs = _check_against_train(build, flat, epochs=2, batch_size=16, lr=0.5)
    assert [h.diverged for h in runs.histories] == [True, True, True]
    assert [h.diverged_at_step for h in runs.histories] == [4, 3, 3]


def _bn_mlp(dtype, momentum=0.1, scale=1.0, wild=None):
    """seed -> [Dense -> BatchNorm -> ReLU] x 2 -> Dense (chapter 10's sweep), the hidden
    weights times ``scale``; seed ``wild`` gets a last layer 1e307 times larger (its
    logits overflow)."""

    def build(seed):
        gen = np.random.default_rng(seed)
        stack, fan_in = [], 64
        for _ in range(2):
            dense = Dense(fan_in, 16, weight_init="he_normal", rng=gen, dtype=dtype)
            dense.params["W"] *= scale
            stack += [dense, BatchNorm(16, momentum=momentum, dtype=dtype), ReLU()]
            fan_in = 16
        stack.append(Dense(16, 10, weight_init="he_normal", rng=gen, dtype=dtype))
        if seed == wild:
            stack[-1].params["W"] *= 1e307
        return Sequential(stack)

    return build


def _bn_cnn(dtype):
    def build(seed):
        return Sequential([Conv2D(1, 4, 3, padding=1, rng=seed, dtype=dtype),
                           BatchNorm(4, dtype=dtype), ReLU(), MaxPool2D(2), Flatten(),
                           Dense(64, 10, rng=seed, dtype=dtype)])  # fmt: skip

    return build


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 0.01)])
@pytest.mark.parametrize("arch", ["mlp", "mlp, momentum None", "mlp, weights x 1e3", "cnn",
                                  "residual MLP with BatchNorm", "BatchNorm first",
                                  "BatchNorm first, cnn"])  # fmt: skip
def test_batchnorm_networks_equal_train(flat, images, dtype, optimizer, lr, arch):
    """BatchNorm (dense and convolutional, in residual branches too, or first: evaluated on
    one batch shared by the seeds): the same records, weights and running statistics as
    train() seed by seed."""
    if arch == "BatchNorm first":
        data = flat

        def build(seed):
            return Sequential([BatchNorm(64, dtype=dtype), Dense(64, 16, rng=seed, dtype=dtype),
                               ReLU(), Dense(16, 10, rng=seed, dtype=dtype)])  # fmt: skip
    elif arch == "BatchNorm first, cnn":
        data = images

        def build(seed):
            return Sequential([BatchNorm(1, dtype=dtype),
                               Conv2D(1, 4, 3, padding=1, rng=seed, dtype=dtype), ReLU(),
                               Flatten(), Dense(256, 10, rng=seed, dtype=dtype)])  # fmt: skip
    elif arch == "cnn":
        build, data = _bn_cnn(dtype), images
    elif arch.startswith("residual"):
        data = flat

        def build(seed):
            return residual_mlp(64, 16, 3, 10, norm="batch", rng=seed, dtype=dtype)
    else:
        momentum = None if "None" in arch else 0.1
        build, data = _bn_mlp(dtype, momentum, 1e3 if "1e3" in arch else 1.0), flat
    assert stacked.why_not_stacked([build(s) for s in SEEDS]) is None
    runs = _check_against_train(build, data, check=_same_norm_statistics, epochs=2,
                                batch_size=32, lr=lr, optimizer=optimizer)  # fmt: skip
    assert not any(h.diverged for h in runs.histories)


def _same_norm_statistics(net, ref):
    def norms(n):
        for layer in n.layers:
            inner = layer.branch.layers if isinstance(layer, Residual) else [layer]
            yield from (x for x in inner if isinstance(x, BatchNorm))

    pairs = list(zip(norms(net), norms(ref), strict=True))
    assert pairs, "no BatchNorm layer"
    for a, b in pairs:
        assert a.num_batches_tracked == b.num_batches_tracked > 0
        np.testing.assert_array_equal(a.running_mean, b.running_mean)
        np.testing.assert_array_equal(a.running_var, b.running_var)
        assert a.running_mean.dtype == b.running_mean.dtype


def test_batchnorm_seed_that_overflows_stops_alone_with_its_statistics(flat):
    """Seed 1's logits overflow in the first step's forward pass: it stops there, and the
    others train on with their running statistics updated once per step (the engine runs
    that step's forward pass again without seed 1, after taking the statistics back), as
    train() leaves them."""
    build = _bn_mlp(np.float64, wild=1)
    with np.errstate(all="ignore"):
        runs = _check_against_train(build, flat, seeds=[0, 1, 2], check=_same_norm_statistics,
                                    epochs=2, batch_size=16, lr=0.05, every_epoch=False)  # fmt: skip
    assert [(h.diverged, h.diverged_at_step) for h in runs.histories] == [
        (False, None), (True, 0), (False, None)]  # fmt: skip


def _one_seed_wild(sizes=(64, 32, 32, 10), first_std=None, std=0.1):
    """mlp whose seed 1 starts with every weight (or only the first layer's) of ``std``."""

    def build(seed):
        net = mlp(list(sizes), weight_init="normal", init_kwargs={"std": 0.1}, rng=seed)
        if seed == 1:
            layers = net.weighted_layers[:1] if first_std else net.weighted_layers
            for i in layers:
                w = net.layers[i].params["W"]
                w *= (first_std or std) / 0.1
        return net

    return build


def test_a_seed_that_overflows_at_a_step_stops_alone(flat):
    # seed 1's logits are ~1e180: finite at the start, overflowing after one update
    build = _one_seed_wild(std=1e60)
    runs = _check_against_train(build, flat, seeds=[0, 1, 2], epochs=2, batch_size=16, lr=0.5)
    h = runs.histories
    assert [x.diverged for x in h] == [False, True, False]
    assert h[1].diverged_at_step == 1 and len(h[1].step_loss) == 1
    np.testing.assert_array_equal(runs.epochs_done, [2, 0, 2])


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # train()'s update warns
def test_a_seed_whose_parameters_overflow_stops_alone(flat):
    # seed 1's hidden units are ~1e306: lr times the last layer's gradient overflows in the
    # update; the other seeds train on
    build = _one_seed_wild(sizes=(64, 32, 10), first_std=1e305)
    runs = _check_against_train(build, flat, seeds=[0, 1, 2], epochs=1, batch_size=16, lr=1e4)
    h = runs.histories[1]
    assert h.diverged and h.diverged_at_step == len(h.step_loss) == 1
    assert not runs.histories[0].diverged and not runs.histories[2].diverged
    # written back as the loop leaves it: after the update that overflowed
    nets = [build(s) for s in (0, 1, 2)]
    stacked.train_stacked(nets, flat, [0, 1, 2], epochs=1, batch_size=16, lr=1e4)
    assert not all(np.all(np.isfinite(p)) for _, _, p, _ in nets[1].parameters())
    assert all(np.all(np.isfinite(p)) for _, _, p, _ in nets[0].parameters())


def test_a_seed_that_overflows_at_initialization_has_no_records(flat):
    build = _one_seed_wild(std=1e150)
    runs = _check_against_train(build, flat, seeds=[0, 1, 2], epochs=1, batch_size=32, lr=0.1)
    h = runs.histories[1]
    assert h.diverged and h.diverged_at_step == 0 and h.test_acc == h.train_acc == []
    assert not runs.histories[0].diverged and not runs.histories[2].diverged


def test_an_evaluation_that_overflows_stops_the_seed_after_the_train_split(flat):
    # huge test inputs: seed 1 (weights x1e5) overflows on the test set only; the train
    # split is evaluated first and recorded, as train() records it
    data = Dataset(flat.X_train, flat.y_train, flat.X_test * 1e300, flat.y_test, 10)
    build = _one_seed_wild(sizes=(64, 16, 10), std=1e4)
    runs = _check_against_train(build, data, seeds=[0, 1, 2], epochs=2, batch_size=32, lr=0.01)
    h = runs.histories[1]
    assert h.diverged and h.diverged_at_step == 0
    assert len(h.train_acc) == 1 and h.test_acc == []


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # train()'s evaluate warns
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 0.01)])
@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_a_seed_dropped_mid_training_leaves_the_others_and_their_state(flat, images, arch,
                                                                        optimizer, lr):  # fmt: skip
    # seed 1's bias makes every example not of class 0 cost 1.16e307: a minibatch of 16
    # such examples sums past the float64 maximum (15 do not), so seed 1 stops at the
    # first step whose minibatch holds no 0 -- not the first step. The other seeds'
    # optimizer state (velocity, Adam moments) must survive its removal from the stack.
    def build(seed):
        net = mlp([64, 16, 10], rng=seed) if arch == "mlp" else small_cnn(channels=(3, 4), rng=seed)
        if seed == 1:
            net.layers[-1].params["b"][0] = 1.16e307
        return net

    data = flat if arch == "mlp" else images
    runs = _check_against_train(build, data, seeds=[0, 1, 2], epochs=2, batch_size=16, lr=lr,
                                optimizer=optimizer)  # fmt: skip
    h = runs.histories
    assert [x.diverged for x in h] == [False, True, False] and h[1].diverged_at_step > 0
    assert len(h[0].test_acc) == 3 and len(h[1].test_acc) == 1


# --------------------------------------------------------------------------- compare
def _compare_both(build, data, seeds, **kw):
    fast = compare.train_seeds(build, data, seeds, stacked=True, **kw)
    slow = compare.train_seeds(build, data, seeds, stacked=False, **kw)
    auto = compare.train_seeds(build, data, seeds, **kw)
    for runs in (fast, auto):
        assert runs.seeds == slow.seeds and runs.n_test == slow.n_test
        np.testing.assert_array_equal(runs.diverged, slow.diverged)
        np.testing.assert_array_equal(runs.test_acc, slow.test_acc)  # NaN where diverged
        np.testing.assert_allclose(runs.epoch_loss, slow.epoch_loss, rtol=1e-12, atol=0)
    return fast


@pytest.mark.parametrize("every_epoch", [True, False])
@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 0.01)])
def test_compare_train_seeds_stacked_equals_loop(flat, images, every_epoch, optimizer, lr):
    kw = dict(epochs=2, batch_size=16, lr=lr, optimizer=optimizer, every_epoch=every_epoch)
    runs = _compare_both(lambda s: mlp([64, 20, 10], activation_name="tanh", rng=s), flat,
                         range(3), **kw)  # fmt: skip
    assert runs.test_acc.shape == (3, 3 if every_epoch else 1)
    _compare_both(lambda s: small_cnn(channels=(4,), rng=s), images, [5, 6], **kw)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # the loop's update warns
@pytest.mark.parametrize("every_epoch", [True, False])
def test_compare_train_seeds_divergence_equals_loop(flat, every_epoch):
    kw = dict(epochs=2, batch_size=16, lr=0.5, every_epoch=every_epoch)
    runs = _compare_both(_one_seed_wild(std=1e60), flat, [0, 1, 2], **kw)
    np.testing.assert_array_equal(runs.diverged, [False, True, False])
    assert np.isnan(runs.epoch_loss[1]).all() and np.isnan(runs.test_acc[1, 1:]).all()
    assert np.isfinite(runs.epoch_loss[[0, 2]]).all()
    # overflow at initialization (every_epoch) or in the first step
    runs = _compare_both(_one_seed_wild(std=1e150), flat, [0, 1, 2], **kw)
    np.testing.assert_array_equal(runs.diverged, [False, True, False])
    # parameters that overflow in the first update
    runs = _compare_both(_one_seed_wild(sizes=(64, 32, 10), first_std=1e305), flat, [0, 1, 2],
                         **{**kw, "lr": 1e4})  # fmt: skip
    assert runs.diverged[1] and np.isnan(runs.epoch_loss[1]).all()
    # an evaluation that overflows after the last epoch keeps that epoch's loss
    data = Dataset(flat.X_train, flat.y_train, flat.X_test * 1e300, flat.y_test, 10)
    runs = _compare_both(_one_seed_wild(sizes=(64, 16, 10), std=1e4), data, [0, 1, 2],
                         epochs=2, batch_size=32, lr=0.01, every_epoch=False)  # fmt: skip
    assert runs.diverged[1] and np.isfinite(runs.epoch_loss[1]).all()
    assert np.isnan(runs.test_acc[1, 0])


def test_compare_train_seeds_every_seed_diverging(flat):
    runs = _compare_both(lambda s: mlp([64, 64, 10], weight_init="normal",
                                       init_kwargs={"std": 10.0}, rng=s),
                         flat, [0, 1], epochs=2, lr=1e300, momentum=0.0)  # fmt: skip
    assert runs.diverged.all()


# --------------------------------------------------------------------------- experiments
def test_experiments_train_seeds_stacked_equals_loop(images):
    kw = dict(epochs=2, batch_size=32, lr=0.05, profile=False)

    def build(seed):
        return small_cnn(channels=(4, 6), weight_init="he_normal", rng=seed)

    fast = experiments.train_seeds(build, images, [1, 2, 3], keep_nets=True, stacked=True, **kw)
    slow = experiments.train_seeds(build, images, [1, 2, 3], keep_nets=True, stacked=False,
                                   **kw)  # fmt: skip
    auto = experiments.train_seeds(build, images, [1, 2, 3], **kw)
    for a, b, c in zip(fast.histories, slow.histories, auto.histories, strict=True):
        _same_history(a, b, 1e-12)
        _same_history(c, b, 1e-12)
    for a, b in zip(fast.nets, slow.nets, strict=True):
        _same_weights(a, b, 1e-12)
    assert auto.nets == [] and fast.seeds == slow.seeds == [1, 2, 3]
    np.testing.assert_array_equal(fast.curves("test_acc"), slow.curves("test_acc"))


def test_experiments_train_seeds_with_profiles_uses_the_loop(flat):
    build = lambda s: mlp([64, 8, 10], rng=s)  # noqa: E731
    runs = experiments.train_seeds(build, flat, [0, 1], epochs=1)  # profile=True: the loop
    assert len(runs.histories[0].profiles) == 2
    with pytest.raises(ValueError, match="profile=True"):
        experiments.train_seeds(build, flat, [0, 1], epochs=1, stacked=True)
    with pytest.raises(ValueError, match="not reproduced"):
        experiments.train_seeds(build, flat, [0, 1], epochs=1, profile=False, probe=3,
                                stacked=True)  # fmt: skip
    # the stacked path raises train()'s errors
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match="epochs"):
            experiments.train_seeds(build, flat, [0, 1], epochs=bad, profile=False)
    with pytest.raises(ValueError, match="optimizer"):
        experiments.train_seeds(build, flat, [0, 1], profile=False, optimizer="rmsprop")
    with pytest.raises(ValueError, match="lr"):
        experiments.train_seeds(build, flat, [0, 1], profile=False, lr=-1.0)


# --------------------------------------------------------------------------- fallback
class _FrozenConv2D(Conv2D):
    """Chapter 1's frozen layer: zero gradients for its parameters."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        return dx


def _frozen(net, layers):
    """``net`` with the layers at the indices ``layers`` frozen (``trainable = False``)."""
    for i in layers:
        net.layers[i].trainable = False
    return net


def _frozen_cnn(seed):
    net = small_cnn(channels=(4, 4), rng=seed)
    old = net.layers[2]
    net.layers[2] = _FrozenConv2D(4, 4, 3, padding=1)
    net.layers[2].params = {k: v.copy() for k, v in old.params.items()}
    return net


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (_frozen_cnn, "subclass of Conv2D"),
        (lambda s: Sequential([Dense(64, 8, rng=s), BatchNorm(8, affine=False), ReLU(),
                               Dense(8, 10, rng=s)]), "no affine parameters"),
        (lambda s: _frozen(Sequential([Dense(64, 8, rng=s), BatchNorm(8), ReLU(),
                                       Dense(8, 10, rng=s)]), [1]), "BatchNorm\\) is frozen"),
        (lambda s: residual_mlp(64, 8, 2, 10, norm="layer", rng=s), "LayerNorm"),
        (lambda s: mlp([64, 8 + s, 10], rng=s), "differs from nets\\[0\\]"),
        (lambda s: mlp([64, 8, 10], rng=s, dtype=np.float32 if s else np.float64), "differs"),
        (lambda s: mlp([64, 8, 10], activation_name="leaky_relu", negative_slope=0.1 * (s + 1),
                       rng=s), "differs"),
        (lambda s: Sequential([Flatten(), ReLU()]), "no weighted layer"),
        (lambda s: _frozen(mlp([64, 8, 10], rng=s), [0, 2]), "no trainable weighted layer"),
        (lambda s: _frozen(mlp([64, 8, 10], rng=s), [0] if s else []), "differs"),
        (lambda s: _frozen(residual_mlp(64, 8, 2, 10, rng=s), [1]), "frozen"),
        (lambda s: Sequential([Dense(64, 8, rng=s), Residual([Residual([Dense(8, 8, rng=s)])]),
                               Dense(8, 10, rng=s)]), "residual block in its branch"),
        (lambda s: Sequential([Dense(64, 8, rng=s), Residual([ReLU()]), Dense(8, 10, rng=s)]),
         "its branch has no weighted layer"),
        (lambda s: residual_mlp(64, 8, 2, 10, gate=bool(s), rng=s), "differs"),
    ],
)  # fmt: skip
def test_unsupported_networks_fall_back_to_the_loop(flat, images, build, reason):
    data = images if build is _frozen_cnn else flat
    nets = [build(s) for s in (0, 1)]
    assert re.search(reason, stacked.why_not_stacked(nets) or "")
    with pytest.raises(ValueError, match="cannot be trained stacked"):
        compare.train_seeds(build, data, [0, 1], epochs=1, stacked=True)
    with pytest.raises(ValueError, match="cannot be trained stacked"):
        stacked.train_stacked(nets, data, [0, 1], epochs=1)
    if reason == "no weighted layer":
        return
    if "differs" in reason:  # a loop over different networks is fine
        compare.train_seeds(build, data, [0, 1], epochs=1, batch_size=64)
        return
    auto = compare.train_seeds(build, data, [0, 1], epochs=1, batch_size=32)
    loop = compare.train_seeds(build, data, [0, 1], epochs=1, batch_size=32, stacked=False)
    np.testing.assert_array_equal(auto.test_acc, loop.test_acc)
    np.testing.assert_array_equal(auto.epoch_loss, loop.epoch_loss)


def test_shared_networks_and_replaced_methods_are_not_stacked():
    net = mlp([4, 3, 2], rng=0)
    assert "share a layer" in stacked.why_not_stacked([net, net])
    other = mlp([4, 3, 2], rng=1)
    other.layers[0].params["W"] = net.layers[0].params["W"]
    assert "share memory" in stacked.why_not_stacked([net, other])
    view = mlp([4, 3, 2], rng=1)
    view.layers[2].params["b"] = net.layers[2].params["b"][:]
    assert "share memory" in stacked.why_not_stacked([net, view])
    patched = mlp([4, 3, 2], rng=1)
    patched.layers[1].forward = lambda x, training=True: x
    assert "replaced on the instance" in stacked.why_not_stacked([net, patched])
    odd = mlp([4, 3, 2], rng=1)
    odd.layers[0].params["W"] = odd.layers[0].params["W"].astype(np.float32)
    assert "float64 array" in stacked.why_not_stacked([net, odd])
    assert stacked.why_not_stacked([net, mlp([4, 3, 2], rng=2)]) is None
    assert "5 layers, nets[0] has 3" in stacked.why_not_stacked([net, mlp([4, 3, 3, 2], rng=2)])

    class MySequential(Sequential):
        pass

    assert "subclass of Sequential" in stacked.why_not_stacked([MySequential(net.layers)])
    replaced = mlp([4, 3, 2], rng=1)
    replaced.forward = lambda x, training=True: x
    assert "replaced on the instance" in stacked.why_not_stacked([replaced])
    extra = mlp([4, 3, 2], rng=1)
    extra.layers[0].params["gain"] = np.ones(3)
    assert "not W and b" in stacked.why_not_stacked([extra])
    relu = mlp([4, 3, 2], rng=1)
    relu.layers[1].params["slope"] = np.ones(1)
    assert "has parameters" in stacked.why_not_stacked([relu])


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(nets="nets"), TypeError, "nets"),
        (dict(nets=[]), ValueError, "nets"),
        (dict(nets=[3]), TypeError, "nets"),
        (dict(data="digits"), TypeError, "data"),
        (dict(seeds=[0]), ValueError, "seeds"),
        (dict(seeds=[0, -1]), ValueError, "seeds"),
        (dict(seeds=[0, 1.0]), TypeError, "seeds"),
        (dict(seeds=5), TypeError, "seeds"),
        (dict(epochs=0), ValueError, "epochs"),
        (dict(epochs=1.5), TypeError, "epochs"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(optimizer="rmsprop"), ValueError, "optimizer"),
        (dict(lr=0.0), ValueError, "lr"),
        (dict(momentum=1.0), ValueError, "momentum"),
        (dict(optimizer="adam", betas=(0.9, 1.0)), ValueError, "betas"),
        (dict(splits=("valid",)), ValueError, "splits"),
        (dict(splits="test"), TypeError, "splits"),
        (dict(every_epoch="no"), TypeError, "every_epoch"),
        (dict(write_back=1), TypeError, "write_back"),
    ],
)
def test_train_stacked_validation(flat, kwargs, exc, match):
    args = dict(nets=[mlp([64, 4, 10], rng=s) for s in (0, 1)], data=flat, seeds=[0, 1],
                epochs=1)  # fmt: skip
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        stacked.train_stacked(**args)


def test_network_that_does_not_fit_the_data_raises_the_layers_error(flat):
    with pytest.raises(ValueError, match="in_features"):
        stacked.train_stacked([mlp([32, 4, 10], rng=s) for s in (0, 1)], flat, [0, 1], epochs=1)
    with pytest.raises(ValueError, match="labels"):
        stacked.train_stacked([mlp([64, 4, 3], rng=s) for s in (0, 1)], flat, [0, 1], epochs=1)
    # the output must be (batch, classes), as for softmax_cross_entropy
    with pytest.raises(ValueError, match="logits"):
        stacked.train_stacked([Sequential([Conv2D(1, 10, 8, rng=s)]) for s in (0, 1)],
                              load_digits().subset(20), [0, 1], epochs=1)  # fmt: skip
    # a first network that overflows on the probe: the next one is asked
    nets = [mlp([64, 4, 3], weight_init="normal", init_kwargs={"std": 1e200}, rng=0),
            mlp([64, 4, 3], rng=1)]  # fmt: skip
    with pytest.raises(ValueError, match="labels"):
        stacked.train_stacked(nets, flat, [0, 1], epochs=1)


def test_stacked_argument_of_train_seeds(flat):
    with pytest.raises(TypeError, match="stacked"):
        compare.train_seeds(lambda s: mlp([64, 4, 10], rng=s), flat, [0, 1], epochs=1,
                            stacked="yes")  # fmt: skip
    with pytest.raises(TypeError, match="stacked"):
        experiments.train_seeds(lambda s: mlp([64, 4, 10], rng=s), flat, [0, 1], epochs=1,
                                profile=False, stacked=1)  # fmt: skip
    with pytest.raises(TypeError, match="every_epoch"):
        compare.train_seeds(lambda s: mlp([64, 4, 10], rng=s), flat, [0, 1], epochs=1,
                            every_epoch="no")  # fmt: skip


def test_write_back_false_leaves_the_networks(flat):
    nets = [mlp([64, 4, 10], rng=s) for s in (0, 1)]
    before = [p.copy() for net in nets for _, _, p, _ in net.parameters()]
    stacked.train_stacked(nets, flat, [0, 1], epochs=1, write_back=False)
    after = [p for net in nets for _, _, p, _ in net.parameters()]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- frozen layers
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("frozen", [[0], [2], [0, 2], [6], [0, 6]])
def test_frozen_layers_equal_train_and_do_not_move(images, dtype, frozen):
    """layer.trainable = False: the stacked engine skips the frozen layers' updates (and
    their weight gradients, and the backward pass below the lowest trainable layer) and
    still gives the loop's records and weights; the frozen parameters stay bitwise."""

    def build(seed):
        return _frozen(small_cnn(weight_init="he_normal", rng=seed, dtype=dtype), frozen)

    for optimizer, lr in (("sgd", 0.05), ("adam", 0.005)):
        kw = dict(epochs=2, batch_size=32, lr=lr, optimizer=optimizer, weight_decay=1e-3)
        nets = [build(s) for s in SEEDS]
        runs = stacked.train_stacked(nets, images, SEEDS, **kw)
        for net, seed, hist in zip(nets, SEEDS, runs.histories, strict=True):
            ref = build(seed)
            _same_history(hist, train(ref, images, rng=seed, profile=False, **kw), _rtol(dtype))
            _same_weights(net, ref, _rtol(dtype))
            start = build(seed)
            for i, name, p, _ in net.parameters():
                p0 = start.layers[i].params[name]
                if i in frozen:
                    np.testing.assert_array_equal(p, p0, err_msg=f"frozen {i} {name}")
                else:
                    assert not np.array_equal(p, p0), f"trainable {i} {name} did not move"


def test_frozen_dense_layers_in_an_mlp_equal_train(flat):
    def build(seed):  # the first and a middle dense layer frozen
        return _frozen(mlp([64, 24, 16, 10], activation_name="tanh", rng=seed), [0, 2])

    _check_against_train(build, flat, epochs=2, batch_size=16, lr=0.05)


def test_experiments_train_seeds_stacks_frozen_networks(images):
    def build(seed):
        return _frozen(small_cnn(channels=(4, 4), weight_init="he_normal", rng=seed), [0])

    assert stacked.why_not_stacked([build(0), build(1)]) is None
    kw = dict(epochs=1, profile=False, keep_nets=True)
    auto = experiments.train_seeds(build, images, [0, 1], stacked=True, **kw)
    loop = experiments.train_seeds(build, images, [0, 1], stacked=False, **kw)
    np.testing.assert_array_equal(auto.final(), loop.final())
    for seed, a, b in zip([0, 1], auto.nets, loop.nets, strict=True):
        _same_weights(a, b, 1e-12)
        np.testing.assert_array_equal(a.layers[0].params["W"], build(seed).layers[0].params["W"])


@pytest.mark.parametrize("every_epoch", [True, False])
def test_experiments_train_seeds_splits_and_every_epoch_equal_the_loop(images, every_epoch):
    def build(seed):
        return small_cnn(channels=(4, 4), weight_init="he_normal", rng=seed, dtype=np.float32)

    kw = dict(epochs=2, profile=False, splits=("test",), every_epoch=every_epoch)
    auto = experiments.train_seeds(build, images, [0, 1], stacked=True, **kw)
    loop = experiments.train_seeds(build, images, [0, 1], stacked=False, **kw)
    for a, b in zip(auto.histories, loop.histories, strict=True):
        _same_history(a, b, 1e-5)
        assert a.train_loss == [] and len(a.test_acc) == (3 if every_epoch else 1)


def test_seed_runs_metrics_include_step_loss_and_name_what_was_not_recorded(images):
    def build(seed):
        return small_cnn(channels=(2, 2), rng=seed, dtype=np.float32)

    runs = experiments.train_seeds(build, images, [0, 1], epochs=2, profile=False,
                                   splits=("test",), every_epoch=False)  # fmt: skip
    steps = runs.curves("step_loss")
    assert steps.shape == (2, 2 * 3)  # 96 examples in batches of 32, two epochs
    mean, lo, hi = runs.band("STEP_LOSS")
    np.testing.assert_allclose(mean, steps.mean(axis=0))
    np.testing.assert_allclose(hi - lo, 2 * steps.std(axis=0, ddof=1))
    assert runs.final().shape == (2,)
    for call in (runs.final, runs.curves, runs.summary):
        with pytest.raises(ValueError, match=r"train_loss.*not recorded.*splits"):
            call("train_loss")
