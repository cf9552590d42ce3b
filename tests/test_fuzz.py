"""Fuzz test over every public callable of the library (issue 12).

Every name in the ``__all__`` of every module that is callable must have a row in
:data:`TARGETS` (or a reasoned entry in :data:`NOT_FUZZED`), so a new function cannot be
forgotten: :func:`test_every_public_callable_has_a_row` fails until it gets one.

A row names the callable (or a small wrapper for a method, with the method's argument
names) and gives a hypothesis strategy for *valid* keyword arguments. Each example
draws valid arguments, then replaces none, one or two of them by hostile values (wrong
types, NaN/inf, huge, negative, empty, mis-cased strings, ...) and calls. The test
asserts, for every call:

* it returns within :data:`TIME_LIMIT` seconds of CPU time (``signal.setitimer`` with
  ``ITIMER_PROF``: a loop without a bound burns CPU, and CPU time does not depend on
  how loaded the shared test machine is; :data:`WALL_LIMIT` of wall time backs it up
  for a call that would block), and allocates at
  most :data:`weightinit._validate.MAX_BYTES` (``tracemalloc`` peak of the call alone;
  the address space is also capped during the test so a runaway allocation fails fast
  instead of swapping);
* it either returns, or raises ``TypeError``/``ValueError`` whose message names one of
  the callable's arguments (word match);
* an unmodified (valid) call returns; its result is finite when every input was finite
  (numbers, arrays, nested results and dataclasses are all inspected), and the row's
  ``check`` (dtype, shape, bounds) holds.

Array entries are drawn in ``[-1e3, 1e3]``: finite inputs of ordinary size. Inputs
whose correct result is beyond float64 (``1e300`` through a layer) are outside this
contract (see "API conventions" in CONTRIBUTING.md).

Arguments that ask for an amount of work (``epochs``, ``n_draws``, ``max_iter``, listed
in ``Row.counts``) get every hostile value except large positive integers: a huge
count is a legitimately long run, not a mistake to refuse.

Runtime is kept well under a minute of CPU (about 20 s for the whole file, from an
empty ``.hypothesis/`` cache) with ``derandomize=True`` (deterministic in CI) and a
modest ``max_examples`` per row. Any change to the harness's ``run`` function changes
the examples every row draws.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import itertools
import math
import numbers
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

#: CPU seconds a single call may take (the slowest valid call takes about 0.5 s)
TIME_LIMIT = 10.0
#: wall-clock seconds a single call may take (only a call that blocks gets near it: wall
#: time on a loaded 2-core machine is several times the CPU time)
WALL_LIMIT = 120.0


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


def _not_a_big_count(value) -> bool:
    return not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 100)


#: the hostile values of a `Row.counts` argument
HOSTILE_COUNT = HOSTILE.filter(_not_a_big_count)


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
    #: check(result, kwargs) for a valid call: asserts, or returns False on a wrong result
    check: Callable | None = None
    max_examples: int = 12
    names: tuple[str, ...] = ()  # argument names besides fn's own parameters
    corruptible: tuple[str, ...] | None = None  # default: every key of valid
    #: False where a finite input of any size may overflow float64 by IEEE rules (layer
    #: arithmetic, optimizer steps); the finite-result check then runs on valid calls only
    overflow_checked: bool = True
    #: arguments that ask for an amount of work (epochs, draws, iterations): their
    #: hostile values leave out large positive integers, which ask for a legitimately
    #: long run rather than being a mistake (everything else hostile is still drawn)
    counts: tuple[str, ...] = ()


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
            with warnings.catch_warnings():  # the call ran with warnings ignored too
                warnings.simplefilter("ignore", fans.LayoutWarning)
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
    return initializers.Distribution(kind, loc, scale, cutoff).sample(shape, rng=rng, dtype=dtype)


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
        _kw(
            # orthogonal draws whole matrices: it has no entry distribution (a ValueError)
            name=st.sampled_from(
                [
                    n
                    for n in initializers.available()
                    if hasattr(initializers.get(n), "distribution")
                ]
            ),
            shape=SMALL_SHAPE,
        ),
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
        names=tuple(inspect.signature(training.train).parameters),
        counts=("epochs",),
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
from weightinit import (  # noqa: E402
    analysis,
    calculator,
    compare,
    experiments,
    lsuv,
    mup,
    normalization,
    pooling,
    residual,
    structured,
)

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


# ---- analysis
def _shape_of(q):
    return np.shape(np.asarray(q, dtype=float))


def _scalar_or_shape(result, q):
    if _shape_of(q) == ():
        assert isinstance(result, float), type(result)
    else:
        assert isinstance(result, np.ndarray) and result.shape == _shape_of(q)


#: every activation the mean-field functions know, in the spellings a user may write
MF_NONLIN = st.sampled_from(
    ["tanh", "Tanh", "relu", "leaky_relu", "linear", "identity", "selu", "sigmoid"]
)
#: activations whose length map has a finite fixed point for every sigma_w (bounded f)
MF_BOUNDED = st.sampled_from(["tanh", "Tanh", "sigmoid"])
MF_Q = st.one_of(st.floats(0.0, 100.0), _array((3,), 0.0, 100.0))
MF_SLOPE = st.one_of(st.none(), st.floats(0.0, 1.0))
MF_NODES = st.integers(2, 200)
SIGMA_W = st.floats(0.1, 3.0)
SIGMA_B = st.floats(0.05, 1.0)  # > 0: with sigma_b = 0 tanh's q* -> 0 only algebraically


def _moments_check(result, kw):
    fwd, bwd = result
    _scalar_or_shape(fwd, kw["q"])
    _scalar_or_shape(bwd, kw["q"])
    assert np.all(np.asarray(fwd) >= 0) and np.all(np.asarray(bwd) >= 0)


def _jacobian(x, chunk_size=1024):
    return analysis.jacobian(_net(), x, chunk_size=chunk_size)


def _jacobian_sv(x, chunk_size=1024):
    return analysis.jacobian_singular_values(_net(), x, chunk_size=chunk_size)


TARGETS.update(
    {
        "analysis.gaussian_expectation": Row(
            analysis.gaussian_expectation,
            _kw(
                fn=st.sampled_from([np.tanh, np.square, np.abs, np.cos]),
                q=MF_Q,
                n=MF_NODES,
                split_at_zero=st.booleans(),
            ),
            lambda r, kw: _scalar_or_shape(r, kw["q"]),
        ),
        "analysis.activation_moments": Row(
            analysis.activation_moments,
            _kw(nonlinearity=MF_NONLIN, q=MF_Q, negative_slope=MF_SLOPE, n=MF_NODES),
            _moments_check,
        ),
        "analysis.numerical_gain": Row(
            analysis.numerical_gain,
            _kw(
                nonlinearity=MF_NONLIN,
                negative_slope=MF_SLOPE,
                mode=st.sampled_from(["forward", "backward", "Backward"]),
                n=MF_NODES,
            ),
            lambda r, kw: isinstance(r, float) and r > 0,
        ),
        "analysis.length_map": Row(
            analysis.length_map,
            _kw(
                q=MF_Q,
                sigma_w=SIGMA_W,
                sigma_b=SIGMA_B,
                nonlinearity=MF_NONLIN,
                negative_slope=MF_SLOPE,
                n=MF_NODES,
            ),
            lambda r, kw: _scalar_or_shape(r, kw["q"]),
        ),
        # fixed_point/depth_scale return math.inf by design (documented) where the map
        # diverges or chi1 = 1: the finite-result check runs on valid calls only
        "analysis.fixed_point": Row(
            analysis.fixed_point,
            _kw(
                sigma_w=SIGMA_W,
                sigma_b=SIGMA_B,
                nonlinearity=MF_BOUNDED,
                negative_slope=MF_SLOPE,
                q0=st.floats(0.0, 10.0),
                tol=st.floats(1e-12, 1e-4),
                max_iter=st.just(10_000),
                n=MF_NODES,
            ),
            lambda r, kw: isinstance(r, float) and r >= kw["sigma_b"] ** 2,
            overflow_checked=False,
            counts=("max_iter",),
        ),
        "analysis.chi1": Row(
            analysis.chi1,
            _kw(
                sigma_w=SIGMA_W,
                sigma_b=SIGMA_B,
                nonlinearity=MF_BOUNDED,
                negative_slope=MF_SLOPE,
                q_star=st.one_of(st.none(), st.floats(0.01, 10.0)),
                n=MF_NODES,
            ),
            lambda r, kw: isinstance(r, float) and r >= 0,
        ),
        "analysis.correlation_map": Row(
            analysis.correlation_map,
            _kw(
                c=st.one_of(st.floats(-1.0, 1.0), _array((3,), -1.0, 1.0)),
                sigma_w=SIGMA_W,
                sigma_b=SIGMA_B,
                nonlinearity=MF_BOUNDED,
                negative_slope=MF_SLOPE,
                q_star=st.one_of(st.none(), st.floats(0.01, 10.0)),
                n=st.integers(2, 60),
            ),
            lambda r, kw: _scalar_or_shape(r, kw["c"]),
        ),
        "analysis.critical_sigma_w": Row(
            analysis.critical_sigma_w,
            _kw(
                # sigma_b = 0 with selu: q* = 0 at a kink, no edge (a ConvergenceError)
                sigma_b=st.floats(0.05, 0.5),
                nonlinearity=st.sampled_from(
                    ["tanh", "Tanh", "relu", "leaky_relu", "linear", "selu"]
                ),
                negative_slope=MF_SLOPE,
                bracket=st.just((0.5, 4.0)),
                # fewer nodes under-resolve tanh'(sqrt(q) z)² at sigma_w = 4 (large q*): chi1
                # comes out < 1 there and the bracket has no sign change
                n=st.integers(60, 150),
            ),
            lambda r, kw: isinstance(r, float) and 0.5 <= r <= 4.0,
            max_examples=8,
        ),
        "analysis.depth_scale": Row(
            analysis.depth_scale,
            _kw(
                sigma_w=SIGMA_W,
                sigma_b=SIGMA_B,
                nonlinearity=MF_BOUNDED,
                negative_slope=MF_SLOPE,
                n=MF_NODES,
            ),
            overflow_checked=False,
        ),
        "analysis.jacobian": Row(
            _jacobian,
            _kw(x=_array((3,)), chunk_size=st.integers(1, 4)),
            lambda r, kw: r.shape == (2, 3),
            names=("net",),
        ),
        "analysis.jacobian_singular_values": Row(
            _jacobian_sv,
            _kw(x=_array((3,)), chunk_size=st.integers(1, 4)),
            lambda r, kw: r.shape == (2,) and np.all(r >= 0) and np.all(np.diff(r) <= 0),
            names=("net",),
        ),
    }
)


# ---- calculator
@st.composite
def _layer_spec(draw):
    """Fields of one coherent LayerSpec (dense or conv) and the conv's input shape."""
    kind = draw(st.sampled_from(["dense", "conv", "Dense", "CONV"]))
    layout = draw(st.sampled_from(["torch", "keras", "Keras"]))
    out_, in_ = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    k = draw(st.integers(1, 3))
    if kind.lower() == "dense":
        shape = (out_, in_) if layout == "torch" else (in_, out_)
    else:
        shape = (out_, in_, k, k) if layout == "torch" else (k, k, in_, out_)
    act = draw(st.sampled_from(["relu", "tanh", "linear", "Sigmoid", "leaky_relu"]))
    return {
        "kind": kind,
        "shape": shape,
        "activation": act,
        "init": draw(st.sampled_from(["he_normal", "glorot_uniform", "lecun_normal", "HeNormal"])),
        "layout": layout,
        "init_kwargs": draw(st.sampled_from([None, {}])),
        "activation_kwargs": {"negative_slope": 0.2} if act == "leaky_relu" else None,
        "padding": draw(st.integers(0, 1)) if kind.lower() == "conv" else 0,
        "input_shape": (in_, 5, 5) if kind.lower() == "conv" else None,
    }


def _spec_report(input_shape=None, **fields):
    """``LayerSpec(**fields)`` through ``variance_report`` (where its fields are read)."""
    spec = calculator.LayerSpec(**fields)
    return calculator.variance_report(
        [spec], input_shape=input_shape, batch_size=8, n_draws=1, rng=0
    )


def _report_check(result, kw):
    n = len(kw["layers"]) if "layers" in kw else 1
    assert isinstance(result, calculator.VarianceReport)
    assert len(result.rows()) == n == len(result.names)
    for field in ("pre_pred", "pre_meas", "act_pred", "act_meas", "grad_pred", "grad_meas"):
        v = getattr(result, field)
        assert v.shape == (n,) and np.all(v >= 0), field


@st.composite
def _dense_chain(draw):
    widths = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
    layout = draw(st.sampled_from(["torch", "keras"]))
    specs = []
    for a, b in itertools.pairwise(widths):
        specs.append(
            {
                "kind": "dense",
                "shape": (b, a) if layout == "torch" else (a, b),
                "layout": layout,
                "activation": draw(st.sampled_from(["relu", "tanh", "linear"])),
                "init": draw(st.sampled_from(["he_normal", "glorot_normal", "lecun_uniform"])),
            }
        )
    return specs


@functools.cache
def _a_variance_report():
    return calculator.variance_report(
        [{"kind": "dense", "shape": (4, 3)}, {"kind": "dense", "shape": (2, 4)}],
        batch_size=16,
        n_draws=1,
    )


def _variance_report_plot(title="Variance calculator"):
    report = _a_variance_report()
    return report.rows(), report.plot(title=title)


TARGETS.update(
    {
        "calculator.LayerSpec": Row(
            _spec_report,
            _layer_spec(),
            _report_check,
            max_examples=10,
            names=tuple(f.name for f in dataclasses.fields(calculator.LayerSpec)),
            corruptible=(
                "kind",
                "shape",
                "activation",
                "init",
                "layout",
                "init_kwargs",
                "activation_kwargs",
                "padding",
            ),
        ),
        "calculator.VarianceReport": Row(
            _variance_report_plot, _kw(title=st.text(max_size=5)), max_examples=2
        ),
        "calculator.variance_report": Row(
            calculator.variance_report,
            _kw(
                layers=_dense_chain(),
                input_second_moment=st.floats(0.1, 10.0),
                batch_size=st.integers(2, 16),
                n_draws=st.integers(1, 3),
                rng=SEED,
            ),
            _report_check,
            max_examples=10,
            counts=("n_draws",),
        ),
    }
)


# ---- lsuv
@st.composite
def _batch(draw, shape):
    """A batch of distinct inputs (a constant batch has no variance to rescale)."""
    seed, scale = draw(st.integers(0, 2**32 - 1)), draw(st.floats(0.1, 100.0))
    return np.random.default_rng(seed).normal(0.0, scale, size=shape)


def _lsuv(x, **kw):
    return lsuv.lsuv(layers.mlp([4, 6, 3], rng=0), x, **kw)


def _lsuv_check(result, kw):
    assert isinstance(result, lsuv.LSUVResult) and result.layer_index == [0, 2]
    for va, ok in zip(result.var_after, result.converged, strict=True):
        assert ok == (abs(va - kw.get("target_var", 1.0)) < kw.get("tol", 0.1))


def _lsuv_rows(sizes, target_var=1.0, orthonormal=True):
    # tanh: no dead unit, so no layer output of zero variance (which lsuv refuses)
    net = layers.mlp(sizes, activation_name="tanh", rng=0)
    x = np.random.default_rng(1).normal(size=(8, sizes[0]))
    return lsuv.lsuv(net, x, target_var=target_var, orthonormal=orthonormal).rows()


def _lsuv_rows_check(result, kw):
    assert len(result) == len(kw["sizes"]) - 1
    assert [r["layer"] for r in result] == list(range(1, len(result) + 1))
    for r in result:
        if r["converged"]:
            assert abs(r["Var after"] - kw.get("target_var", 1.0)) < 0.1


TARGETS.update(
    {
        "lsuv.lsuv": Row(
            _lsuv,
            _kw(
                x=_batch((8, 4)),
                target_var=st.floats(0.1, 10.0),
                tol=st.floats(1e-3, 0.5),
                max_iter=st.integers(0, 10),
                orthonormal=st.booleans(),
                rng=SEED,
            ),
            _lsuv_check,
            names=("net", *inspect.signature(lsuv.lsuv).parameters),
            counts=("max_iter",),
        ),
        "lsuv.LSUVResult": Row(
            _lsuv_rows,
            _kw(
                sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
                target_var=st.floats(0.1, 10.0),
                orthonormal=st.booleans(),
            ),
            _lsuv_rows_check,
            names=("net", "x"),
        ),
    }
)


# ---- mup
def _scaled_dense():
    return mup.ScaledDense(3, 2, w_mult=2.0, b_mult=0.5, weight_std=0.3, rng=0)


@st.composite
def _mup_sizes(draw):
    n = draw(st.integers(1, 8))
    return [draw(st.integers(1, 5)), *[n] * draw(st.integers(1, 3)), draw(st.integers(1, 5))]


def _mup_check(result, kw):
    assert isinstance(result, layers.Sequential)
    assert len(result.weighted_layers) == len(kw["sizes"]) - 1


TARGETS.update(
    {
        "mup.ScaledDense": Row(
            mup.ScaledDense,
            _kw(
                in_features=st.integers(1, 8),
                out_features=st.integers(1, 8),
                w_mult=st.floats(0.1, 10.0),
                b_mult=st.floats(0.1, 10.0),
                weight_std=st.floats(0.01, 3.0),
                rng=SEED,
            ),
        ),
        "mup.ScaledDense.forward": Row(
            _layer_forward(_scaled_dense),
            _kw(x=_array((4, 3))),
            names=("input",),
            overflow_checked=False,
        ),
        "mup.ScaledDense.backward": Row(
            _layer_backward(_scaled_dense, (4, 3)), _kw(dy=_array((4, 2))), overflow_checked=False
        ),
        "mup.mup_mlp": Row(
            mup.mup_mlp,
            _kw(
                sizes=_mup_sizes(),
                parametrization=st.sampled_from(["mup", "sp", "muP", "SP"]),
                base_width=st.one_of(st.none(), st.integers(1, 16)),
                activation_name=st.sampled_from(["relu", "tanh", "Tanh", "leaky_relu"]),
                gain=st.one_of(st.none(), st.floats(0.1, 3.0)),
                rng=SEED,
            ),
            _mup_check,
        ),
        "mup.width_multipliers": Row(
            mup.width_multipliers,
            _kw(
                parametrization=st.sampled_from(["mup", "sp", "MUP"]),
                width=st.integers(1, 10**4),
                base_width=st.integers(1, 10**4),
            ),
            lambda r, kw: all(
                r[k] > 0 for k in ("r", "input_w_mult", "output_w_mult", "output_var_factor")
            ),
        ),
    }
)


# ---- normalization, pooling
def _norm_forward(make):
    def forward(x, training=True):
        return make().forward(x, training)

    return forward


def _norm_backward(make, x_shape, training=True):
    def backward(dy):
        layer = make()
        x = np.random.default_rng(0).normal(size=x_shape)
        layer.forward(x, training)
        return layer.backward(dy)

    return backward


def _normalize_backward_inputs():
    @st.composite
    def draw(draw):
        x = draw(_batch((4, 3)))
        mean, std = x.mean(axis=0, keepdims=True), x.std(axis=0, keepdims=True)
        return {
            "dxhat": draw(_array((4, 3))),
            "xhat": (x - mean) / std,
            "inv_std": 1.0 / std,
            "axes": draw(st.sampled_from([(0,), [0], (-2,)])),
        }

    return draw()


def _bn_check(result, kw):
    assert isinstance(result, np.ndarray) and result.shape == np.shape(kw["x"])


TARGETS.update(
    {
        "normalization.BatchNorm": Row(
            normalization.BatchNorm,
            _kw(
                num_features=st.integers(1, 8),
                eps=st.floats(1e-8, 1e-2),
                momentum=st.one_of(st.none(), st.floats(0.01, 1.0)),
                affine=st.booleans(),
                dtype=st.sampled_from([np.float32, np.float64, "float32"]),
            ),
        ),
        "normalization.BatchNorm.forward": Row(
            _norm_forward(lambda: normalization.BatchNorm(3)),
            _kw(x=st.one_of(_batch((4, 3)), _batch((2, 3, 2, 2))), training=st.booleans()),
            _bn_check,
            names=("input",),
        ),
        "normalization.BatchNorm.backward": Row(
            _norm_backward(lambda: normalization.BatchNorm(3), (4, 3)),
            _kw(dy=_array((4, 3))),
            overflow_checked=False,
        ),
        "normalization.LayerNorm": Row(
            normalization.LayerNorm,
            _kw(
                num_features=st.integers(1, 8),
                eps=st.floats(1e-8, 1e-2),
                elementwise_affine=st.booleans(),
                dtype=st.sampled_from([np.float32, np.float64, "float64"]),
            ),
        ),
        "normalization.LayerNorm.forward": Row(
            _norm_forward(lambda: normalization.LayerNorm(3)),
            _kw(x=st.one_of(_array((4, 3)), _array((2, 2, 3))), training=st.booleans()),
            _bn_check,
            names=("input",),
        ),
        "normalization.LayerNorm.backward": Row(
            _norm_backward(lambda: normalization.LayerNorm(3), (4, 3)),
            _kw(dy=_array((4, 3))),
            overflow_checked=False,
        ),
        "normalization.normalize_backward": Row(
            normalization.normalize_backward,
            _normalize_backward_inputs(),
            lambda r, kw: r.shape == kw["xhat"].shape,
            overflow_checked=False,
        ),
        "pooling.AvgPool2D": Row(pooling.AvgPool2D, _kw(size=st.integers(1, 4))),
        "pooling.AvgPool2D.forward": Row(
            _layer_forward(lambda: pooling.AvgPool2D(2)),
            _kw(x=_array((1, 2, 4, 5))),
            lambda r, kw: r.shape == (1, 2, 2, 2),
            names=("input",),
        ),
        "pooling.AvgPool2D.backward": Row(
            _layer_backward(lambda: pooling.AvgPool2D(2), (1, 2, 4, 5)),
            _kw(dy=_array((1, 2, 2, 2))),
            lambda r, kw: r.shape == (1, 2, 4, 5),
            overflow_checked=False,
        ),
    }
)


# ---- residual
BRANCHES = st.sampled_from(
    [
        lambda: [layers.Dense(4, 4, rng=0), layers.ReLU(), layers.Dense(4, 4, rng=1)],
        lambda: layers.Sequential([layers.Tanh(), layers.Dense(4, 4, rng=2)]),
        lambda: layers.Dense(4, 4, rng=3),
        lambda: [normalization.LayerNorm(4), layers.ReLU(), layers.Dense(4, 4, rng=4)],
    ]
).map(lambda make: make())


def _residual_block():
    return residual.Residual(
        [layers.Dense(4, 4, rng=0), layers.ReLU(), layers.Dense(4, 4, rng=1)],
        gate=True,
        gate_init=0.5,
    )


#: a fresh residual network per example (the initializations change it in place)
RES_NET = st.builds(
    lambda n_blocks, norm: residual.residual_mlp(4, 4, n_blocks, 2, norm=norm, rng=0),
    st.integers(1, 3),
    st.sampled_from([None, "layer"]),
)


def _blocks_zeroed(net):
    for block in residual.residual_blocks(net):
        last = [layer for layer in block.branch.layers if layer.params][-1]
        key = "gamma" if "gamma" in last.params else "W"
        assert not np.any(last.params[key])


def _profile_of(n_blocks, width=4, style="preact", norm=None, training=False):
    net = residual.residual_mlp(3, width, n_blocks, 2, style=style, norm=norm, rng=0)
    x = np.random.default_rng(0).normal(size=(6, 3))
    return residual.residual_profile(net, x, training=training)


def _profile_check(result, kw):
    assert isinstance(result, residual.ResidualProfile) and result.depth == kw["n_blocks"]
    for v in (result.stream_ms, result.branch_ms, result.grad_ms):
        assert v.shape == (kw["n_blocks"],) and np.all(v >= 0)


def _residual_profile(x, y=None, training=False, rng=0):
    net = residual.residual_mlp(3, 4, 2, 2, norm="batch", rng=0)
    return residual.residual_profile(net, x, y, training=training, rng=rng)


TARGETS.update(
    {
        "residual.Residual": Row(
            residual.Residual,
            _kw(
                branch=BRANCHES,
                gate=st.booleans(),
                gate_init=st.just(0.0),
                dtype=st.sampled_from([np.float32, np.float64]),
            ),
        ),
        "residual.Residual.forward": Row(
            _layer_forward(_residual_block),
            _kw(x=_array((3, 4))),
            lambda r, kw: r.shape == (3, 4),
            names=("input",),
            overflow_checked=False,
        ),
        "residual.Residual.backward": Row(
            _layer_backward(_residual_block, (3, 4)),
            _kw(dy=_array((3, 4))),
            lambda r, kw: r.shape == (3, 4),
            overflow_checked=False,
        ),
        "residual.ResidualProfile": Row(
            _profile_of,
            _kw(
                n_blocks=st.integers(1, 4),
                width=st.integers(1, 6),
                style=st.sampled_from(["preact", "transformer", "Transformer"]),
                norm=st.sampled_from([None, "batch", "layer", "Layer"]),
                training=st.booleans(),
            ),
            _profile_check,
            names=("net", "x", "in_features", "n_classes"),
            counts=("n_blocks",),
        ),
        "residual.fixup_init": Row(
            residual.fixup_init,
            _kw(net=RES_NET, zero_head=st.booleans()),
            lambda r, kw: _blocks_zeroed(r),
        ),
        "residual.gpt2_init": Row(
            residual.gpt2_init,
            _kw(
                net=RES_NET,
                std=st.floats(1e-3, 1.0),
                n_residual=st.one_of(st.none(), st.integers(1, 48)),
                rng=SEED,
            ),
        ),
        "residual.residual_blocks": Row(
            residual.residual_blocks,
            _kw(net=RES_NET),
            lambda r, kw: all(isinstance(b, residual.Residual) for b in r) and r,
        ),
        "residual.residual_mlp": Row(
            residual.residual_mlp,
            _kw(
                in_features=st.integers(1, 5),
                width=st.integers(1, 6),
                n_blocks=st.integers(1, 3),
                n_classes=st.integers(1, 4),
                style=st.sampled_from(["preact", "transformer", "PreAct"]),
                branch_depth=st.just(2),
                hidden=st.one_of(st.none(), st.integers(1, 8)),
                norm=st.sampled_from([None, "batch", "layer", "Batch"]),
                activation_name=st.sampled_from(["relu", "tanh", "Tanh"]),
                weight_init=st.sampled_from(["he_normal", "glorot_uniform", "HeNormal"]),
                gate=st.booleans(),
                rng=SEED,
                dtype=st.sampled_from([np.float32, np.float64]),
            ),
            lambda r, kw: len(residual.residual_blocks(r)) == kw["n_blocks"],
            counts=("n_blocks", "branch_depth"),
        ),
        "residual.residual_profile": Row(
            _residual_profile,
            _kw(
                x=_batch((6, 3)),
                y=st.one_of(st.none(), _finite_labels(6, 2)),
                training=st.booleans(),
                rng=SEED,
            ),
            lambda r, kw: isinstance(r, residual.ResidualProfile) and r.depth == 2,
            names=("net", "input"),  # a wrong x is reported by the net's first layer
        ),
        "residual.stream_second_moment": Row(
            residual.stream_second_moment,
            _kw(
                depth=st.integers(0, 100),
                gate=st.floats(-2.0, 2.0),
                q0=st.floats(0.01, 10.0),
                normalized=st.booleans(),
            ),
            lambda r, kw: isinstance(r, float) and r >= kw["q0"],
        ),
        "residual.zero_init_last": Row(
            residual.zero_init_last, _kw(net=RES_NET), lambda r, kw: _blocks_zeroed(r)
        ),
    }
)


# ---- structured
@st.composite
def _conv_shape(draw, min_spatial=1):
    k = draw(st.lists(st.integers(1, 4), min_size=min_spatial, max_size=3))
    return (draw(st.integers(1, 6)), draw(st.integers(1, 6)), *k)


@st.composite
def _delta_shape(draw):
    c_in = draw(st.integers(1, 5))
    k = draw(st.lists(st.integers(1, 4), min_size=0, max_size=3))
    return (c_in + draw(st.integers(0, 3)), c_in, *k)


def _to_keras(shape, layout):
    return shape if layout == "torch" else (*shape[2:], shape[1], shape[0])


def _structured_row(fn, shape, **params):
    @st.composite
    def valid(draw):
        layout = draw(st.sampled_from(["torch", "keras"]))
        kw = {k: draw(v) for k, v in params.items()}
        kw.update(
            shape=_to_keras(draw(shape), layout),
            layout=layout,
            rng=draw(SEED),
            gain=draw(st.floats(0.1, 3.0)),
            dtype=draw(DTYPE),
        )
        return kw

    return Row(fn, valid(), _same_shape_dtype)


REGISTER_SHAPES = {"delta_orthogonal": (4, 4, 3), "dirac": (4, 4, 3), "eye": (4, 4)}


def _register():
    """``structured.register()``, then the registry as it was (other rows and test files
    check that the structured schemes are *not* registered by default)."""
    saved = dict(initializers._REGISTRY)
    try:
        structured.register()
        return [initializers.get(name)(shape, rng=0) for name, shape in REGISTER_SHAPES.items()]
    finally:
        initializers._REGISTRY.clear()
        initializers._REGISTRY.update(saved)


TARGETS.update(
    {
        "structured.delta_orthogonal": _structured_row(structured.delta_orthogonal, _delta_shape()),
        "structured.dirac": _structured_row(structured.dirac, _conv_shape(), groups=st.just(1)),
        "structured.eye": _structured_row(
            structured.eye, st.tuples(st.integers(1, 6), st.integers(1, 6))
        ),
        "structured.register": Row(
            _register, _kw(), lambda r, kw: len(r) == len(structured.STRUCTURED), max_examples=2
        ),
    }
)


# ---- compare and experiments: seed runs
def _spiral_build(seed):
    return layers.mlp([2, 6, 2], rng=seed)


@functools.cache
def _tiny_spirals():
    return data.make_spirals(8, n_classes=2, seed=0)


def _compare_seed_runs(seeds, epochs=1, every_epoch=True):
    runs = compare.train_seeds(
        _spiral_build, _tiny_spirals(), seeds, epochs=epochs, every_epoch=every_epoch
    )
    return runs.final_acc, runs.summary(), runs


def _compare_runs_check(result, kw):
    final, summary, runs = result
    assert np.array_equal(final, runs.test_acc[:, -1]) and summary.n == len(kw["seeds"])


@functools.cache
def _experiments_runs():
    return experiments.train_seeds(
        _spiral_build, _tiny_spirals(), seeds=[0, 1, 2], epochs=2, profile=False
    )


def _seed_runs_metric(metric="test_acc"):
    runs = _experiments_runs()
    s = runs.summary(metric)
    # test_se is NaN by design for a metric other than test_acc ("no test set"): left out
    return runs.final(metric), runs.curves(metric), runs.band(metric), (s.mean, s.sd, s.n)


def _seed_runs_check(result, kw):
    final, curves, (mean, lo, hi), (s_mean, _, n) = result
    assert curves.shape == (3, 3) and np.array_equal(final, curves[:, -1])
    assert np.all(lo <= mean) and np.all(mean <= hi) and n == 3
    assert s_mean == pytest.approx(final.mean())


def _summary(values, n_test):
    s = experiments.summarize(values, n_test=n_test)
    return s, str(s)


def _summary_check(result, kw):
    s, text = result
    assert f"n = {len(kw['values'])}" in text and s.ci95[0] <= s.mean <= s.ci95[1]


SUMMARY_ROW = Row(_summary, _kw(values=SEED_VALUES, n_test=N_TEST), _summary_check)
SCHEMES = st.sampled_from(["he", "glorot", "lecun", "zeros", "orthogonal"])

TARGETS.update(
    {
        "compare.SeedRuns": Row(
            _compare_seed_runs,
            _kw(
                seeds=st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=3),
                epochs=st.integers(1, 2),
                every_epoch=st.booleans(),
            ),
            _compare_runs_check,
            max_examples=5,
            names=("build", "data"),
            counts=("epochs",),
        ),
        "compare.Summary": SUMMARY_ROW,
        "experiments.Summary": SUMMARY_ROW,
        "compare.seed_strip_plot": Row(
            compare.seed_strip_plot,
            st.dictionaries(SCHEMES, st.lists(PROB, min_size=1, max_size=6), min_size=1).flatmap(
                lambda values: _kw(
                    values=st.just(values),
                    families=st.fixed_dictionaries(
                        {k: st.sampled_from(["A", "B", "c"]) for k in values}
                    ),
                    title=st.text(max_size=5),
                    ylabel=st.text(max_size=5),
                    reference=st.one_of(st.none(), PROB),
                )
            ),
            max_examples=5,
        ),
        "compare.train_seeds": Row(
            lambda **kw: compare.train_seeds(
                **{"build": _spiral_build, "data": _tiny_spirals(), **kw}
            ),
            _kw(
                build=st.just(_spiral_build),
                seeds=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3),
                epochs=st.integers(1, 2),
                batch_size=st.integers(1, 16),
                lr=st.floats(1e-3, 0.5),
                momentum=st.floats(0.0, 0.95),
                optimizer=st.sampled_from(["sgd", "adam", "Adam"]),
                every_epoch=st.booleans(),
            ),
            lambda r, kw: (
                r.test_acc.shape == (len(kw["seeds"]), kw["epochs"] + 1 if kw["every_epoch"] else 1)
            ),
            max_examples=6,
            names=tuple(inspect.signature(compare.train_seeds).parameters),
            # a diverged run keeps NaN in its records by design (flagged in `diverged`)
            overflow_checked=False,
            counts=("epochs",),
        ),
        "experiments.SeedRuns": Row(
            _seed_runs_metric,
            _kw(metric=st.sampled_from(["test_acc", "train_loss", "test_loss", "train_acc"])),
            _seed_runs_check,
            max_examples=5,
        ),
        "experiments.train_seeds": Row(
            lambda **kw: experiments.train_seeds(**{"data": _tiny_spirals(), **kw}),
            _kw(
                build=st.just(_spiral_build),
                seeds=st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=3, unique=True),
                keep_nets=st.booleans(),
                epochs=st.integers(1, 2),
                batch_size=st.integers(1, 16),
                lr=st.floats(1e-3, 0.5),
                optimizer=st.sampled_from(["sgd", "adam", "Adam"]),
                profile=st.just(False),
            ),
            lambda r, kw: (
                len(r.histories) == len(kw["seeds"])
                and len(r.nets) == (len(kw["seeds"]) if kw["keep_nets"] else 0)
            ),
            max_examples=5,
            names=(
                *inspect.signature(experiments.train_seeds).parameters,
                *inspect.signature(training.train).parameters,
            ),
            counts=("epochs",),
        ),
    }
)

#: public callables not fuzzed, and why
NOT_FUZZED = {
    "stacked.StackedRuns": "a plain record filled by train_stacked (fuzzed there)",
    "fans.LayoutWarning": "a warning class (no behaviour of its own)",
    "layers.NonFiniteError": "an exception class (raised by Sequential.forward, fuzzed there)",
    "layers.Layer": "abstract base class: forward/backward raise NotImplementedError by design",
    "stats.DepthProfile": "a plain record filled by depth_profile (fuzzed there)",
    "training.History": "a plain record filled by train (fuzzed there)",
    "analysis.ConvergenceError": "an exception class (raised by fixed_point, fuzzed there)",
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
    known = set(TARGETS) | set(NOT_FUZZED)
    missing = [n for n in _public_callables() if n not in known]
    assert not missing, f"add a fuzz row (or a NOT_FUZZED reason) for: {missing}"
    assert len(_public_callables()) >= 79  # the count of issue 12
    # every row and reason names a callable that exists
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
    """Cap the address space (a runaway allocation fails fast) and install the alarm."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as fh:
        vm_kib = next(int(line.split()[1]) for line in fh if line.startswith("VmSize:"))
    cap = vm_kib * 1024 + MAX_BYTES + 2 * 1024**3
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    old = signal.signal(signal.SIGALRM, _on_alarm)
    old_prof = signal.signal(signal.SIGPROF, _on_alarm)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGALRM, old)
        signal.signal(signal.SIGPROF, old_prof)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        plt.close("all")


def _run(row: Row, kwargs: dict):
    """Call with the time and memory guards; return ("ok", result) or ("raised", exc).

    ``tracemalloc`` traces the call only, not Hypothesis's drawing: tracing slows every
    Python allocation, and the first ``st.text()`` draw builds Hypothesis's Unicode
    tables (about a million small objects, 2 s untraced, 55 s traced), which made
    whichever row ran first take a minute on a fresh checkout (no ``.hypothesis/``
    cache, as in CI).
    """
    tracemalloc.start()
    signal.setitimer(signal.ITIMER_PROF, TIME_LIMIT)
    signal.setitimer(signal.ITIMER_REAL, WALL_LIMIT)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = row.fn(**kwargs)
        outcome = ("ok", result)
    except CallTimeout:
        pytest.fail(
            f"call did not return within {TIME_LIMIT} s of CPU ({WALL_LIMIT} s of wall "
            f"time): {kwargs!r:.400}"
        )
    except MemoryError:
        pytest.fail(f"call tried to allocate beyond the cap: {kwargs!r:.400}")
    except Exception as exc:
        outcome = ("raised", exc)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        plt.close("all")
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
            kwargs[key] = data.draw(HOSTILE_COUNT if key in row.counts else HOSTILE, label=key)
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
            # a check asserts, or returns a truth value (None: it asserted)
            verdict = row.check(value, kwargs)
            assert verdict is None or bool(verdict), f"check failed: {kwargs!r:.400}"

    run()
