"""Fuzz test over every public callable of the library (issue 12).

Every name in the ``__all__`` of every module that is callable must have a row in
:data:`TARGETS` (or a reasoned entry in :data:`NOT_FUZZED`), so a new function cannot be
forgotten: :func:`test_every_public_callable_has_a_row` fails until it gets one.

A row names the callable (or a small wrapper for a method, with the method's argument
names) and gives a hypothesis strategy for *valid* keyword arguments. Each example
draws valid arguments, then replaces none, one or two of them by hostile values (wrong
types, NaN/inf, huge, negative, empty, mis-cased strings, ...) and calls. The test
asserts, for every call:

* it returns within :data:`TIME_LIMIT` seconds (``signal.setitimer``), and allocates at
  most :data:`weightinit._validate.MAX_BYTES` (``tracemalloc`` peak; the address space
  is also capped during the test so a runaway allocation fails fast instead of
  swapping);
* it either returns, or raises ``TypeError``/``ValueError`` whose message names one of
  the callable's arguments (word match);
* an unmodified (valid) call returns; its result is finite when every input was finite
  (numbers, arrays, nested results and dataclasses are all inspected), and the row's
  ``check`` (dtype, shape, bounds) holds.

Array entries are drawn in ``[-1e3, 1e3]``: finite inputs of ordinary size. Inputs
whose correct result is beyond float64 (``1e300`` through a layer) are outside this
contract (see "API conventions" in CONTRIBUTING.md).

Runtime is kept under a minute with ``derandomize=True`` (deterministic in CI) and a
modest ``max_examples`` per row.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import pkgutil
import re
import resource
import signal
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pytest
import weightinit
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from weightinit import (
    checks,
    conv,
    data,
    display,
    fans,
    initializers,
    layers,
    plots,
    stats,
    training,
)
from weightinit._validate import MAX_BYTES

#: every public module of the package, found by walking it (a new module is not forgotten)
MODULES = [
    importlib.import_module(f"weightinit.{m.name}")
    for m in pkgutil.iter_modules(weightinit.__path__)
    if not m.name.startswith("_")
]

#: seconds a single call may take (generous: the test machine is shared)
TIME_LIMIT = 10.0


# --------------------------------------------------------------------------- hostile values
class _Opaque:
    def __repr__(self):
        return "<opaque>"


HOSTILE_VALUES = [
    None, True, False, 0, -1, 1, 2, 3, 10**9, 10**400, -(10**12), 0.0, -0.5, 0.5, 1e-300,
    1e300, 1e-6, math.nan, math.inf, -math.inf, "", "bogus", "Tanh", "RELU", "TORCH",
    "keras", "fan_avg", "he_normal", b"x", 1j, (), [], {}, (0,), (3, -1), (2.5, 3),
    (10**6, 10**6), (10**5, 10**5, 3, 3), np.array(3), np.array([]), np.zeros((0, 3)),
    np.full((2, 3), np.nan), np.ones((2, 3)), np.ones((1, 1, 4, 4)), np.array(["a", "b"]),
    _Opaque(), np.float16(1), np.int64(-3), np.float64(np.inf), lambda *a, **k: None,
]  # fmt: skip
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_VALUES),
    st.integers(-(10**6), 10**6),
    st.floats(width=64),
    st.text(max_size=4),
)


def _array(shape, low=-1e3, high=1e3):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, width=64))


SMALL_SHAPE = st.lists(st.integers(1, 6), min_size=2, max_size=4).map(tuple)
SEED = st.one_of(st.integers(0, 2**32), st.just(None))
DTYPE = st.sampled_from([np.float16, np.float32, np.float64, "float32"])
LAYOUT = st.sampled_from([None, "torch", "keras", "Keras", "TORCH"])


# --------------------------------------------------------------------------- the table
@dataclass
class Row:
    """One fuzzed callable: ``fn(**kwargs)`` with ``kwargs`` drawn from ``valid``."""

    fn: Callable
    valid: st.SearchStrategy  # of dict: keyword arguments accepted by fn
    check: Callable | None = None  # check(result, kwargs) for a valid call
    max_examples: int = 12
    names: tuple[str, ...] = ()  # argument names besides fn's own parameters
    corruptible: tuple[str, ...] | None = None  # default: every key of valid
    #: False where a finite input of any size may overflow float64 by IEEE rules (layer
    #: arithmetic, optimizer steps); the finite-result check then runs on valid calls only
    overflow_checked: bool = True


def _kw(**strategies):
    return st.fixed_dictionaries(strategies)


def _same_shape_dtype(result, kw):
    assert isinstance(result, np.ndarray)
    assert result.shape == tuple(kw["shape"])
    assert result.dtype == np.dtype(kw.get("dtype", np.float64))


INIT_PARAMS = {
    "gain": st.floats(0.1, 3.0),
    "negative_slope": st.floats(0.0, 1.0),
    "mode": st.sampled_from(["fan_in", "fan_out", "FAN_IN"]),
    "distribution": st.sampled_from(["uniform", "normal", "truncated_normal", "Normal"]),
    "nonlinearity": st.sampled_from(["relu", "tanh", "leaky_relu", "linear", "Sigmoid"]),
    "layout": LAYOUT,
    "value": st.floats(-2.0, 2.0),
    "low": st.floats(-1.0, -0.01),
    "high": st.floats(0.01, 1.0),
    "mean": st.floats(-1.0, 1.0),
    "std": st.floats(0.01, 2.0),
    "cutoff": st.floats(0.5, 3.0),
    "scale": st.floats(0.1, 3.0),
    "variance_norm": st.sampled_from(["fan_in", "fan_out", "average", "FAN_IN"]),
}


def _initializer_row(name: str) -> Row:
    fn = getattr(initializers, name)
    sig = inspect.signature(fn)
    strategies = {"shape": SMALL_SHAPE, "rng": SEED, "dtype": DTYPE}
    for p in sig.parameters:
        if p in INIT_PARAMS:
            strategies[p] = INIT_PARAMS[p]
    for p in ("a",):  # deprecated aliases are not part of the valid call
        strategies.pop(p, None)

    def check(result, kw):
        _same_shape_dtype(result, kw)
        spec = getattr(fn, "distribution", None)
        if spec is not None:
            params = {k: v for k, v in kw.items() if k not in ("shape", "rng", "dtype")}
            dist = spec(kw["shape"], **params)
            lo, hi = dist.bounds
            r = result.astype(np.float64)
            if dist.kind == "constant":  # the value, rounded once to the dtype
                assert np.all(result == np.dtype(kw.get("dtype", np.float64)).type(dist.loc))
                return
            assert np.all(r >= lo) and np.all(r <= hi), (name, lo, hi, r.min(), r.max())

    return Row(fn, _kw(**strategies), check)


@st.composite
def _conv_inputs(draw, backward=False):
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(5, 8)), draw(st.integers(5, 8))
    k = draw(st.integers(1, 3))
    stride, padding, dilation = (
        draw(st.integers(1, 2)),
        draw(st.integers(0, 2)),
        draw(st.integers(1, 2)),
    )
    kw = {
        "x": draw(_array((n, c, h, w))),
        "w": draw(_array((f, c, k, k), -1.0, 1.0)),
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
    }
    if backward:
        ho, wo = conv.conv2d_output_shape((h, w), (k, k), stride, padding, dilation)
        kw["dy"] = draw(_array((n, f, ho, wo)))
    else:
        kw["b"] = draw(st.one_of(st.none(), _array((f,))))
    return kw


def _net():
    return layers.mlp([3, 4, 2], rng=0)


def _spirals():
    return data.make_spirals(10, n_classes=2, seed=0)


def _layer_forward(make):
    def forward(x):
        return make().forward(x)

    return forward


def _layer_backward(make, x_shape):
    def backward(dy):
        layer = make()
        layer.forward(np.linspace(-1.0, 1.0, math.prod(x_shape)).reshape(x_shape))
        return layer.backward(dy)

    return backward


ACT_LAYERS = {
    "ReLU": layers.ReLU,
    "LeakyReLU": lambda: layers.LeakyReLU(0.1),
    "Tanh": layers.Tanh,
    "Sigmoid": layers.Sigmoid,
    "SELU": layers.SELU,
    "Identity": layers.Identity,
}


def _sequential_net():
    return layers.Sequential([layers.Dense(3, 2, rng=0), layers.ReLU()])


def _sequential_forward(x):
    return _sequential_net().forward(x)


def _sequential_predict(x, batch_size=1024):
    return _sequential_net().predict(x, batch_size)


def _sequential_backward(dy):
    net = _sequential_net()
    net.forward(np.ones((4, 3)))
    return net.backward(dy)


def _optimizer_step(cls):
    def step(lr, weight_decay):
        net = _net()
        opt = cls(net, lr=lr, weight_decay=weight_decay)
        net.forward(np.ones((2, 3)))
        net.backward(np.ones((2, 2)))
        opt.step()
        return net

    return step


def _distribution_sample(kind, loc, scale, cutoff, shape, rng, dtype):
    return initializers.Distribution(kind, loc, scale, cutoff).sample(shape, rng, dtype)


def _dataset_subset(n_train):
    return _spirals().subset(n_train)


def _make_fig():
    fig, ax = plt.subplots()
    ax.set_title("t")
    return fig


def _student_he(shape, rng):
    fan_in = shape[1] * math.prod(shape[2:])
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def _student_fans(shape):
    return fans.fans(shape, layout="torch")


def _finite_labels(n, k):
    return hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1))


TARGETS: dict[str, Row] = {
    # ---- fans
    "fans.check_shape": Row(fans.check_shape, _kw(shape=SMALL_SHAPE)),
    "fans.fans": Row(fans.fans, _kw(shape=SMALL_SHAPE, layout=LAYOUT)),
    "fans.gain": Row(
        fans.gain,
        _kw(
            nonlinearity=st.sampled_from([*list(fans.NONLINEARITIES), "Tanh"]),
            negative_slope=st.one_of(st.none(), st.floats(-1e6, 1e6)),
        ),
    ),
    "fans.looks_channels_last": Row(fans.looks_channels_last, _kw(shape=SMALL_SHAPE)),
    "fans.receptive_field": Row(fans.receptive_field, _kw(shape=SMALL_SHAPE, layout=LAYOUT)),
    # ---- initializers (rows for each scheme are added below)
    "initializers.Distribution": Row(
        _distribution_sample,
        _kw(
            kind=st.sampled_from(["uniform", "normal", "truncated_normal", "constant"]),
            loc=st.floats(-1.0, 1.0),
            scale=st.floats(0.01, 2.0),
            cutoff=st.floats(0.01, 4.0),
            shape=SMALL_SHAPE,
            rng=SEED,
            dtype=DTYPE,
        ),
        _same_shape_dtype,
    ),
    "initializers.as_generator": Row(initializers.as_generator, _kw(rng=SEED)),
    "initializers.available": Row(initializers.available, _kw(), max_examples=2),
    "initializers.distribution": Row(
        initializers.distribution,
        _kw(name=st.sampled_from(initializers.available()), shape=SMALL_SHAPE),
    ),
    "initializers.get": Row(
        initializers.get,
        _kw(
            name=st.sampled_from(
                [
                    *initializers.available(),
                    "GlorotUniform",
                    "HeNormal",
                    "kaiming_uniform_",
                    "XAVIER_NORMAL",
                ]
            )
        ),
    ),
    "initializers.is_library_initializer": Row(
        initializers.is_library_initializer, _kw(fn=st.sampled_from([initializers.zeros, len]))
    ),
    "initializers.torch_default_bias": Row(
        initializers.torch_default_bias,
        _kw(shape=SMALL_SHAPE, rng=SEED, fan_in=st.integers(1, 1000), dtype=DTYPE),
        _same_shape_dtype,
    ),
    # ---- conv
    "conv.conv2d": Row(conv.conv2d, _conv_inputs(), max_examples=10, overflow_checked=False),
    "conv.conv2d_backward": Row(
        conv.conv2d_backward, _conv_inputs(backward=True), max_examples=10, overflow_checked=False
    ),
    "conv.conv2d_output_shape": Row(
        conv.conv2d_output_shape,
        _kw(
            input_hw=st.tuples(st.integers(5, 50), st.integers(5, 50)),
            kernel_hw=st.tuples(st.integers(1, 3), st.integers(1, 3)),
            stride=st.integers(1, 3),
            padding=st.integers(0, 3),
            dilation=st.integers(1, 2),
        ),
    ),
    # ---- layers
    "layers.Dense": Row(
        layers.Dense,
        _kw(
            in_features=st.integers(1, 8),
            out_features=st.integers(1, 8),
            weight_init=st.sampled_from(["he_normal", "GlorotUniform", "zeros", _student_he]),
            bias_init=st.sampled_from(["zeros", "ones", "normal"]),
            rng=SEED,
        ),
    ),
    "layers.Dense.forward": Row(
        _layer_forward(lambda: layers.Dense(3, 2, rng=0)),
        _kw(x=_array((4, 3))),
        names=("input",),
        overflow_checked=False,
    ),
    "layers.Dense.backward": Row(
        _layer_backward(lambda: layers.Dense(3, 2, rng=0), (4, 3)),
        _kw(dy=_array((4, 2))),
        overflow_checked=False,
    ),
    "layers.Conv2D": Row(
        layers.Conv2D,
        _kw(
            in_channels=st.integers(1, 3),
            out_channels=st.integers(1, 3),
            kernel_size=st.integers(1, 3),
            stride=st.integers(1, 2),
            padding=st.integers(0, 2),
            dilation=st.integers(1, 2),
            weight_init=st.sampled_from(["he_normal", "HeNormal", "orthogonal"]),
            rng=SEED,
        ),
    ),
    "layers.Conv2D.forward": Row(
        _layer_forward(lambda: layers.Conv2D(2, 3, 3, padding=1, rng=0)),
        _kw(x=_array((2, 2, 5, 5))),
        names=("input",),
        overflow_checked=False,
    ),
    "layers.Conv2D.backward": Row(
        _layer_backward(lambda: layers.Conv2D(2, 3, 3, padding=1, rng=0), (2, 2, 5, 5)),
        _kw(dy=_array((2, 3, 5, 5))),
        overflow_checked=False,
    ),
    "layers.Flatten": Row(
        _layer_backward(layers.Flatten, (2, 3, 2)),
        _kw(dy=_array((2, 6))),
        max_examples=5,
        overflow_checked=False,
    ),
    "layers.Flatten.forward": Row(
        _layer_forward(layers.Flatten), _kw(x=_array((2, 3, 2))), names=("input",)
    ),
    "layers.MaxPool2D": Row(layers.MaxPool2D, _kw(size=st.integers(1, 4))),
    "layers.MaxPool2D.forward": Row(
        _layer_forward(lambda: layers.MaxPool2D(2)), _kw(x=_array((1, 2, 4, 5))), names=("input",)
    ),
    "layers.MaxPool2D.backward": Row(
        _layer_backward(lambda: layers.MaxPool2D(2), (1, 2, 4, 5)),
        _kw(dy=_array((1, 2, 2, 2))),
        overflow_checked=False,
    ),
    "layers.LeakyReLU": Row(layers.LeakyReLU, _kw(negative_slope=st.floats(0.0, 1.0))),
    "layers.Sequential": Row(
        layers.Sequential,
        _kw(layers=st.just([layers.Dense(3, 2, rng=0), layers.ReLU()])),
        max_examples=5,
    ),
    "layers.Sequential.forward": Row(
        _sequential_forward,
        _kw(x=_array((4, 3))),
        names=("input",),
        overflow_checked=False,
    ),
    "layers.Sequential.backward": Row(
        _sequential_backward, _kw(dy=_array((4, 2))), overflow_checked=False
    ),
    "layers.Sequential.predict": Row(
        _sequential_predict,
        _kw(x=_array((5, 3)), batch_size=st.integers(1, 6)),
        names=("input",),
    ),
    "layers.activation": Row(
        layers.activation,
        _kw(name=st.sampled_from([*list(layers.ACTIVATIONS), "Tanh", "RELU"])),
    ),
    "layers.mlp": Row(
        layers.mlp,
        _kw(
            sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
            activation_name=st.sampled_from(["relu", "tanh", "Tanh", "selu"]),
            weight_init=st.sampled_from(["he_normal", "glorot_uniform"]),
            rng=SEED,
        ),
    ),
    "layers.small_cnn": Row(
        layers.small_cnn,
        _kw(
            in_channels=st.integers(1, 2),
            image_size=st.integers(2, 8),
            channels=st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple),
            n_classes=st.integers(2, 5),
            activation_name=st.sampled_from(["relu", "tanh"]),
            rng=SEED,
        ),
        max_examples=5,
    ),
    "layers.softmax": Row(layers.softmax, _kw(logits=_array((3, 4)))),
    "layers.softmax_cross_entropy": Row(
        layers.softmax_cross_entropy, _kw(logits=_array((4, 3)), labels=_finite_labels(4, 3))
    ),
    # ---- stats
    "stats.activation_summary": Row(
        stats.activation_summary,
        _kw(a=_array((4, 3)), nonlinearity=st.sampled_from([None, "relu", "tanh", "Sigmoid"])),
    ),
    "stats.depth_profile": Row(
        lambda x, y=None, rng=0, keep_activations=False: stats.depth_profile(
            _net(), x, y, rng=rng, keep_activations=keep_activations
        ),
        _kw(
            x=_array((5, 3), -10, 10),
            y=st.one_of(st.none(), _finite_labels(5, 2)),
            rng=SEED,
            keep_activations=st.booleans(),
        ),
        names=("net",),
    ),
    "stats.max_pairwise_difference": Row(
        stats.max_pairwise_difference, _kw(weights=_array((3, 2, 2)))
    ),
    "stats.saturated_fraction": Row(
        stats.saturated_fraction,
        _kw(a=_array((4, 3)), nonlinearity=st.sampled_from([None, "tanh", "Tanh", "sigmoid"])),
    ),
    # ---- training
    "training.SGD": Row(
        _optimizer_step(training.SGD),
        _kw(lr=st.floats(1e-4, 1.0), weight_decay=st.floats(0.0, 0.1)),
        names=("momentum",),
        overflow_checked=False,
    ),
    "training.Adam": Row(
        _optimizer_step(training.Adam),
        _kw(lr=st.floats(1e-4, 1.0), weight_decay=st.floats(0.0, 0.1)),
        names=("betas", "eps"),
        overflow_checked=False,
    ),
    "training.evaluate": Row(
        lambda X, y, batch_size=512: training.evaluate(_net(), X, y, batch_size),
        _kw(X=_array((6, 3)), y=_finite_labels(6, 2), batch_size=st.integers(1, 8)),
        names=("net",),
    ),
    "training.train": Row(
        lambda **kw: training.train(layers.Sequential(_spiral_net()), _spirals(), **kw),
        _kw(
            epochs=st.integers(1, 2),
            batch_size=st.integers(1, 16),
            lr=st.floats(1e-3, 0.5),
            momentum=st.floats(0.0, 0.95),
            rng=SEED,
            optimizer=st.sampled_from(["sgd", "adam", "Adam"]),
            profile=st.booleans(),
            probe_size=st.integers(1, 32),
            splits=st.sampled_from([("train", "test"), ("test",), (), ["Train"]]),
            every_epoch=st.booleans(),
        ),
        max_examples=5,
        # the lambda takes **kw: the keywords' names are listed for the error messages
        names=(
            "net",
            "data",
            "epochs",
            "batch_size",
            "lr",
            "momentum",
            "rng",
            "optimizer",
            "profile",
            "probe_size",
            "splits",
            "every_epoch",
        ),
    ),
    # ---- data
    "data.Dataset": Row(
        data.Dataset,
        _kw(
            X_train=_array((4, 2)),
            y_train=st.just(np.array([0, 1, 0, 1])),
            X_test=_array((2, 2)),
            y_test=st.just(np.array([1, 0])),
            n_classes=st.integers(2, 4),
            name=st.text(max_size=5),
        ),
    ),
    "data.Dataset.subset": Row(_dataset_subset, _kw(n_train=st.integers(1, 30))),
    "data.load_digits": Row(
        data.load_digits,
        _kw(
            test_size=st.floats(0.1, 0.9),
            seed=st.integers(0, 2**32 - 1),
            flat=st.booleans(),
            standardize=st.booleans(),
        ),
        max_examples=5,
    ),
    "data.make_spirals": Row(
        data.make_spirals,
        _kw(
            n_per_class=st.integers(10, 60),
            n_classes=st.integers(2, 4),
            noise=st.floats(0.0, 5.0),
            test_size=st.floats(0.1, 0.9),
            seed=st.integers(0, 2**32),
        ),
    ),
    # ---- plots
    "plots.figure_alt_text": Row(
        lambda fig=None: plots.figure_alt_text(_make_fig() if fig is None else fig),
        _kw(),
        max_examples=5,
        corruptible=("fig",),
    ),
    "plots.filter_grid": Row(
        plots.filter_grid,
        _kw(
            weights=_array((3, 2, 3, 3)),
            title=st.text(max_size=5),
            channel=st.integers(0, 1),
            ncols=st.integers(1, 4),
        ),
        max_examples=5,
    ),
    "plots.layer_histograms": Row(
        plots.layer_histograms,
        _kw(
            groups=st.dictionaries(
                st.text(min_size=1, max_size=3),
                st.lists(_array((5,)), min_size=1, max_size=2),
                min_size=1,
                max_size=2,
            ),
            title=st.text(max_size=5),
            bins=st.integers(1, 20),
        ),
        max_examples=5,
    ),
    "plots.learning_curves": Row(
        plots.learning_curves,
        _kw(
            histories=st.dictionaries(
                st.text(min_size=1, max_size=3),
                st.lists(st.floats(0, 10), min_size=1, max_size=5),
                min_size=1,
                max_size=3,
            ),
            title=st.text(max_size=5),
            logy=st.booleans(),
        ),
        max_examples=5,
    ),
    "plots.register_notebook_alt_text": Row(
        plots.register_notebook_alt_text, _kw(), max_examples=2
    ),
    "plots.use_style": Row(plots.use_style, _kw(), max_examples=2),
    "plots.std_by_depth": Row(
        plots.std_by_depth,
        _kw(
            curves=st.dictionaries(
                st.text(min_size=1, max_size=3),
                st.lists(st.floats(0.1, 10), min_size=1, max_size=5),
                min_size=1,
                max_size=3,
            ),
            title=st.text(max_size=5),
            ylabel=st.text(max_size=5),
            reference=st.one_of(st.none(), st.floats(0.1, 2.0)),
        ),
        max_examples=5,
    ),
    # ---- display
    "display.Table": Row(
        display.Table,
        _kw(
            rows=st.lists(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2), max_size=3),
            columns=st.just(["a", "b"]),
            caption=st.one_of(st.none(), st.text(max_size=5)),
        ),
        max_examples=5,
    ),
    "display.table": Row(
        display.table,
        _kw(
            rows=st.lists(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2), max_size=3),
            columns=st.just(["a", "b"]),
        ),
        max_examples=5,
    ),
    # ---- checks (a correct student function is the valid input)
    "checks.check_initializer": Row(
        checks.check_initializer,
        _kw(fn=st.just(_student_he), scheme=st.just("he_normal"), seed=st.integers(0, 10)),
        max_examples=3,
    ),
    "checks.check_fans": Row(checks.check_fans, _kw(fn=st.just(_student_fans)), max_examples=3),
    "checks.check_conv2d": Row(
        checks.check_conv2d,
        _kw(fn=st.just(conv.conv2d), stride=st.integers(1, 2), padding=st.integers(0, 1)),
        max_examples=3,
    ),
    "checks.check_second_moment": Row(
        checks.check_second_moment,
        _kw(fn=st.just(lambda alpha: (1 + alpha**2) / 2), alpha=st.floats(0.0, 1.0)),
        max_examples=3,
    ),
    "checks.check_value": Row(
        checks.check_value,
        _kw(value=st.floats(0.5, 2), expected=st.floats(0.5, 2), name=st.just("x")),
        max_examples=5,
    ),
}


def _spiral_net():
    return [layers.Dense(2, 8, rng=0), layers.ReLU(), layers.Dense(8, 2, rng=0)]


for _name in ACT_LAYERS:
    TARGETS[f"layers.{_name}"] = Row(
        _layer_backward(ACT_LAYERS[_name], (3, 4)),
        _kw(dy=_array((3, 4))),
        max_examples=5,
        overflow_checked=False,
    )
    TARGETS[f"layers.{_name}.forward"] = Row(
        _layer_forward(ACT_LAYERS[_name]), _kw(x=_array((3, 4))), names=("input",)
    )

for _name in initializers.__all__:
    _obj = getattr(initializers, _name)
    if initializers.is_library_initializer(_obj) and f"initializers.{_name}" not in TARGETS:
        TARGETS[f"initializers.{_name}"] = _initializer_row(_name)

# --------------------------------------------------------------------------- Part II rows
from weightinit import compare, experiments  # noqa: E402

PROB = st.floats(0.0, 1.0)
SEED_VALUES = st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=12)
N_TEST = st.integers(1, 10**6)

for _mod in (experiments, compare):
    _short = _mod.__name__.split(".")[-1]
    TARGETS[f"{_short}.binomial_se"] = Row(_mod.binomial_se, _kw(p=PROB, n_test=N_TEST))
    TARGETS[f"{_short}.summarize"] = Row(
        # n_test given: without it test_se is NaN by design ("no test set"), not garbage
        _mod.summarize,
        _kw(values=SEED_VALUES, n_test=N_TEST),
    )

# --------------------------------------------------------------------------- stacked
from weightinit import stacked  # noqa: E402

_STACKED_VALID = _kw(
    seeds=st.lists(st.integers(0, 2**32), min_size=2, max_size=2),
    epochs=st.integers(1, 2),
    batch_size=st.integers(1, 16),
    lr=st.floats(1e-3, 0.5),
    momentum=st.floats(0.0, 0.95),
    optimizer=st.sampled_from(["sgd", "adam", "Adam"]),
    splits=st.sampled_from([(), ("test",), ("train", "test"), ["TEST"]]),
    every_epoch=st.booleans(),
    write_back=st.booleans(),
)
_STACKED_KEYS = ("seeds", "epochs", "batch_size", "lr", "momentum", "optimizer", "splits",
                 "every_epoch", "write_back")  # fmt: skip
TARGETS["stacked.train_stacked"] = Row(
    lambda **kw: stacked.train_stacked(
        [layers.Sequential(_spiral_net()) for _ in range(2)], _spirals(), **kw
    ),
    _STACKED_VALID,
    max_examples=6,
    names=("nets", "data", *_STACKED_KEYS),
    # a hostile epochs (up to 1e9) is a valid request for a very long run
    corruptible=tuple(k for k in _STACKED_KEYS if k != "epochs"),
    overflow_checked=False,  # a hostile but finite lr (1e300) makes a run diverge
)
TARGETS["stacked.why_not_stacked"] = Row(
    stacked.why_not_stacked,
    _kw(nets=st.builds(lambda: [_net(), layers.mlp([3, 4, 2], rng=1)])),
    max_examples=5,
)

#: public callables not fuzzed, and why
NOT_FUZZED = {
    "stacked.StackedRuns": "a plain record filled by train_stacked (fuzzed there)",
    "fans.LayoutWarning": "a warning class (no behaviour of its own)",
    "layers.NonFiniteError": "an exception class (raised by Sequential.forward, fuzzed there)",
    "layers.Layer": "abstract base class: forward/backward raise NotImplementedError by design",
    "stats.DepthProfile": "a plain record filled by depth_profile (fuzzed there)",
    "training.History": "a plain record filled by train (fuzzed there)",
}


#: Callables of the Part II modules (analysis, calculator, compare, experiments, lsuv, mup,
#: normalization, pooling, residual, structured) that landed on main after this table was written. They
#: are listed one by one, so a *new* callable still fails the test below; each still needs
#: its row (tracked as an open item of issue 12), and until then is not fuzzed.
PENDING_ROWS = {
    f"{module}.{name}"
    for module, names in {
        "analysis": "activation_moments chi1 correlation_map critical_sigma_w depth_scale "
        "fixed_point gaussian_expectation jacobian jacobian_singular_values length_map "
        "numerical_gain",
        "calculator": "LayerSpec VarianceReport variance_report",
        "lsuv": "LSUVResult lsuv",
        "mup": "ScaledDense mup_mlp width_multipliers",
        "normalization": "BatchNorm LayerNorm normalize_backward",
        "pooling": "AvgPool2D",
        "residual": "Residual ResidualProfile fixup_init gpt2_init residual_blocks residual_mlp "
        "residual_profile stream_second_moment zero_init_last",
        "structured": "delta_orthogonal dirac eye register",
        "compare": "SeedRuns Summary seed_strip_plot train_seeds",
        "experiments": "SeedRuns Summary train_seeds",
    }.items()
    for name in names.split()
}


def _public_callables():
    out = []
    for mod in MODULES:
        short = mod.__name__.split(".")[-1]
        for name in mod.__all__:
            if callable(getattr(mod, name)):
                out.append(f"{short}.{name}")
    return out


def test_every_public_callable_has_a_row():
    known = set(TARGETS) | set(NOT_FUZZED) | PENDING_ROWS
    missing = [n for n in _public_callables() if n not in known]
    assert not missing, f"add a fuzz row (or a NOT_FUZZED reason) for: {missing}"
    assert len(_public_callables()) >= 79  # the count of issue 12
    # every row, reason and pending entry names a callable that exists
    assert {".".join(k.split(".")[:2]) for k in known} <= set(_public_callables())


# --------------------------------------------------------------------------- the harness
class CallTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` swallows it."""


def _on_alarm(signum, frame):
    raise CallTimeout


def _all_finite(obj, depth=0) -> bool:
    """Whether every number reachable from ``obj`` (arrays, numbers, containers,
    dataclasses, layers, networks) is finite."""
    if depth > 6 or obj is None or isinstance(obj, (str, bytes, bool)):
        return True
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            return bool(np.all(np.isfinite(obj)))
        return True
    if isinstance(obj, (float, np.floating, complex)):
        return bool(np.isfinite(obj))
    if isinstance(obj, (list, tuple)):
        return all(_all_finite(v, depth + 1) for v in obj)
    if isinstance(obj, dict):
        return all(_all_finite(v, depth + 1) for v in obj.values())
    if dataclasses.is_dataclass(obj):
        return all(_all_finite(getattr(obj, f.name), depth + 1) for f in dataclasses.fields(obj))
    if isinstance(obj, layers.Sequential):
        return all(_all_finite(p, depth + 1) for _, _, p, _ in obj.parameters())
    if isinstance(obj, layers.Layer):
        return _all_finite(obj.params, depth + 1)
    return True


def _param_names(row: Row) -> set[str]:
    try:
        params = set(inspect.signature(row.fn).parameters)
    except (TypeError, ValueError):
        params = set()
    return params - {"kw", "kwargs", "args"}


@pytest.fixture(scope="module", autouse=True)
def _guards():
    """Cap the address space (a runaway allocation fails fast) and trace allocations."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as fh:
        vm_kib = next(int(line.split()[1]) for line in fh if line.startswith("VmSize:"))
    cap = vm_kib * 1024 + MAX_BYTES + 2 * 1024**3
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    tracemalloc.start()
    old = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        tracemalloc.stop()
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        plt.close("all")


def _run(row: Row, kwargs: dict):
    """Call with the time and memory guards; return ("ok", result) or ("raised", exc)."""
    tracemalloc.reset_peak()
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = row.fn(**kwargs)
        outcome = ("ok", result)
    except CallTimeout:
        pytest.fail(f"call did not return within {TIME_LIMIT} s: {kwargs!r:.400}")
    except MemoryError:
        pytest.fail(f"call tried to allocate beyond the cap: {kwargs!r:.400}")
    except Exception as exc:
        outcome = ("raised", exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        plt.close("all")
    _, peak = tracemalloc.get_traced_memory()
    assert peak <= MAX_BYTES, f"allocated {peak / 1024**3:.2f} GiB > limit: {kwargs!r:.400}"
    return outcome


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz(target):
    row = TARGETS[target]
    names = _param_names(row) | set(row.names)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")

    @settings(
        max_examples=row.max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report shows the call
    )
    @given(data=st.data())
    def run(data):
        kwargs = dict(data.draw(row.valid, label="valid"))
        keys = list(row.corruptible if row.corruptible is not None else kwargs)
        n_bad = data.draw(st.integers(0, min(2, len(keys))), label="n_bad") if keys else 0
        bad = data.draw(st.permutations(keys), label="order")[:n_bad] if n_bad else []
        for key in bad:
            kwargs[key] = data.draw(HOSTILE, label=key)
        status, value = _run(row, kwargs)
        if status == "raised":
            exc = value
            assert bad, f"a valid call raised {type(exc).__name__}: {exc} ({kwargs!r:.400})"
            assert isinstance(exc, (TypeError, ValueError)), (
                f"{type(exc).__name__} (not TypeError/ValueError) for {bad}: {exc!r:.300}"
            )
            assert pattern.search(str(exc)), (
                f"the message does not name an argument ({sorted(names)}): {exc!s:.300}"
            )
            return
        if not bad or (row.overflow_checked and _all_finite(kwargs)):
            assert _all_finite(value), f"finite input gave NaN/inf: {kwargs!r:.400}"
        if not bad and row.check is not None:
            row.check(value, kwargs)

    run()
