"""The variance calculator: exact Gaussian moments, predictions vs measurements, errors."""

import numpy as np
import pytest
from weightinit.calculator import LayerSpec, variance_report


def test_he_relu_dense_chain_is_flat_and_measured_close():
    specs = [{"kind": "dense", "shape": (256, 64)}] + [{"kind": "dense", "shape": (256, 256)}] * 5
    rep = variance_report(specs, n_draws=6, rng=0)
    np.testing.assert_allclose(rep.pre_pred, 2.0, rtol=1e-12)
    np.testing.assert_allclose(rep.act_pred, 1.0, rtol=1e-12)
    # backward: fan_out·Var(w)·E[relu'²] = 1 in the square layers, 256·(2/64)/2 = 4 at the first
    np.testing.assert_allclose(rep.grad_pred, [4, 1, 1, 1, 1, 1], rtol=1e-12)
    np.testing.assert_allclose(rep.pre_meas, rep.pre_pred, rtol=0.25)
    np.testing.assert_allclose(rep.grad_meas, rep.grad_pred, rtol=0.25)
    assert len(rep.rows()) == 6 and rep.rows()[0]["E[y²] pred"] == pytest.approx(2.0)


def test_glorot_sigmoid_backward_shrinks_and_prediction_follows():
    specs = [{"kind": "dense", "shape": (128, 128), "init": "glorot_normal",
              "activation": "sigmoid"}] * 6  # fmt: skip
    rep = variance_report(specs, n_draws=4, rng=1)
    ratios = rep.grad_pred[:-1] / rep.grad_pred[1:]
    assert np.all(ratios < 0.1)  # E[σ'²] ≈ 0.045 at these scales: the gradient collapses
    np.testing.assert_allclose(rep.grad_meas, rep.grad_pred, rtol=0.3)


def test_keras_layout_gives_the_same_prediction_and_conv_matches_measurement():
    torch_specs = [
        {"kind": "conv", "shape": (16, 3, 3, 3), "padding": 1},
        {"kind": "conv", "shape": (32, 16, 3, 3), "padding": 1, "activation": "tanh",
         "init": "glorot_uniform"},
    ]  # fmt: skip
    keras_specs = [
        {**torch_specs[0], "shape": (3, 3, 3, 16), "layout": "keras"},
        {**torch_specs[1], "shape": (3, 3, 16, 32), "layout": "keras"},
    ]
    a = variance_report(torch_specs, input_shape=(3, 16, 16), n_draws=3, rng=0)
    b = variance_report(keras_specs, input_shape=(3, 16, 16), n_draws=3, rng=0)
    np.testing.assert_allclose(a.pre_pred, b.pre_pred, rtol=1e-12)
    np.testing.assert_allclose(a.grad_pred, b.grad_pred, rtol=1e-12)
    # zero padding loses part of the window at the borders of a 16x16 map: within 20 %
    np.testing.assert_allclose(a.pre_meas, a.pre_pred, rtol=0.2)
    np.testing.assert_allclose(a.act_meas, a.act_pred, rtol=0.2)


def test_plot_returns_a_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rep = variance_report([{"kind": "dense", "shape": (8, 4)}], n_draws=1)
    fig = rep.plot()
    assert len(fig.axes) == 2
    plt.close(fig)


@pytest.mark.parametrize(
    ("layers", "kwargs", "exc", "match"),
    [
        ("dense", {}, TypeError, "layers"),
        ([], {}, ValueError, "at least one"),
        ([3], {}, TypeError, r"layers\[0\]"),
        ([{"kind": "dense"}], {}, ValueError, "kind' and 'shape"),
        ([{"kind": "dense", "shape": (4, 3), "colour": 1}], {}, ValueError, "unknown key"),
        ([{"kind": "rnn", "shape": (4, 3)}], {}, ValueError, "kind"),
        ([{"kind": "dense", "shape": (4, 3, 3)}], {}, ValueError, "shape"),
        ([{"kind": "dense", "shape": (4, 3), "layout": "tf"}], {}, ValueError, "layout"),
        (
            [{"kind": "dense", "shape": (4, 3)}, {"kind": "dense", "shape": (2, 5)}],
            {},
            ValueError,
            "input channels",
        ),
        ([{"kind": "conv", "shape": (4, 3, 3, 3)}], {}, ValueError, "input_shape"),
        (
            [{"kind": "conv", "shape": (4, 3, 3, 3)}],
            {"input_shape": (2, 8, 8)},
            ValueError,
            "channels",
        ),
        (
            [{"kind": "conv", "shape": (4, 3, 3, 3)}, {"kind": "dense", "shape": (2, 4)}],
            {"input_shape": (3, 8, 8)},
            ValueError,
            "all dense or all conv",
        ),
        (
            [{"kind": "dense", "shape": (4, 3)}],
            {"input_second_moment": 0},
            ValueError,
            "input_second_moment",
        ),
        ([{"kind": "dense", "shape": (4, 3)}], {"n_draws": 0}, ValueError, "n_draws"),
    ],
)
def test_bad_input(layers, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        variance_report(layers, **kwargs)


def test_layer_spec_passthrough():
    spec = LayerSpec("dense", (4, 3), activation="linear", init="lecun_normal")
    rep = variance_report([spec], input_second_moment=2.0, n_draws=2)
    assert rep.pre_pred[0] == pytest.approx(2.0)  # fan_in·(1/fan_in)·2


# --------------------------------------------------------------------------- issue 12 (fuzz)
@pytest.mark.parametrize(
    ("field", "value", "exc", "match"),
    [
        # each used to fail inside numpy/dict with a message naming nothing
        ("kind", np.ones(3), TypeError, r"^layers\[0\]\.kind must be a string"),
        ("layout", np.ones(3), TypeError, r"^layers\[0\]\.layout must be a string"),
        ("shape", 5, TypeError, r"^layers\[0\]\.shape must be a tuple of 2 positive ints"),
        ("init_kwargs", "bogus", TypeError, r"^layers\[0\]\.init_kwargs must be a dict"),
        ("activation_kwargs", "x", TypeError, r"^layers\[0\]\.activation_kwargs must be a dict"),
        ("init", None, TypeError, r"^layers\[0\]\.init: initializer must be a name"),
        ("init", "orthogonal", ValueError, r"^layers\[0\]\.init: initializer 'orthogonal'"),
        ("activation", "bogus", ValueError, r"^layers\[0\]\.activation: "),
        # padding was ignored for a dense layer, whatever its value
        ("padding", "x", TypeError, r"^layers\[0\]\.padding must be an integer >= 0"),
        ("padding", -1, ValueError, r"^layers\[0\]\.padding must be an integer >= 0"),
        ("padding", 1, ValueError, r"^layers\[0\]\.padding applies to conv layers only"),
        ("shape", (10**6, 10**6), ValueError, r"^layers\[0\]\.shape asks for a weight of"),
    ],
)
def test_every_spec_field_is_checked_and_named(field, value, exc, match):
    spec = {"kind": "dense", "shape": (3, 2), field: value}
    with pytest.raises(exc, match=match):
        variance_report([spec], batch_size=4, n_draws=1)


def test_kind_and_layout_are_case_insensitive():
    ref = variance_report([{"kind": "dense", "shape": (3, 2), "layout": "keras"}], n_draws=1)
    rep = variance_report([LayerSpec("Dense", (3, 2), layout="Keras")], n_draws=1)
    np.testing.assert_array_equal(rep.pre_meas, ref.pre_meas)
    assert rep.names == ref.names


def test_huge_batch_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"^batch_size asks for a batch of activations of"):
        variance_report([{"kind": "dense", "shape": (64, 64)}], batch_size=10**8)
