"""Tests for :mod:`weightinit.fans`: fan-in/fan-out of weight shapes and nonlinearity gains.

Every expected number below is worked out by hand from the definitions
``fan_in = C_in * k`` and ``fan_out = C_out * k`` (``k`` = product of the spatial
kernel sizes), never by calling the library, so a wrong formula cannot agree with
itself.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from weightinit.fans import (
    LAYOUTS,
    NONLINEARITIES,
    LayoutWarning,
    check_shape,
    fans,
    gain,
    looks_channels_last,
    receptive_field,
)

# --------------------------------------------------------------------------- fans

# (shape, expected fan_in, expected fan_out), PyTorch layout (out, in, *kernel).
TORCH_CASES = [
    pytest.param((10, 784), 784, 10, id="linear-784-to-10"),
    pytest.param((1, 1), 1, 1, id="linear-1x1"),
    pytest.param((3, 7), 7, 3, id="linear-wide-input"),
    pytest.param((16, 8, 3, 3), 8 * 9, 16 * 9, id="conv2d-3x3"),
    pytest.param((64, 3, 7, 7), 3 * 49, 64 * 49, id="conv2d-7x7-rgb-stem"),
    pytest.param((16, 8, 3, 5), 8 * 15, 16 * 15, id="conv2d-non-square-3x5"),
    pytest.param((16, 8, 1, 4), 8 * 4, 16 * 4, id="conv2d-non-square-1x4"),
    pytest.param((32, 4, 7), 4 * 7, 32 * 7, id="conv1d-k7"),
    pytest.param((6, 3, 2, 3, 4), 3 * 24, 6 * 24, id="conv3d-2x3x4"),
    pytest.param((5, 2, 1, 1), 2, 5, id="conv2d-1x1-pointwise"),
]

# The same as above, Keras layout (*kernel, in, out).
KERAS_CASES = [
    pytest.param((784, 10), 784, 10, id="dense-784-to-10"),
    pytest.param((7, 3), 7, 3, id="dense-wide-input"),
    pytest.param((3, 3, 8, 16), 8 * 9, 16 * 9, id="conv2d-3x3"),
    pytest.param((3, 5, 8, 16), 8 * 15, 16 * 15, id="conv2d-non-square-3x5"),
    pytest.param((5, 3, 8, 16), 8 * 15, 16 * 15, id="conv2d-non-square-5x3"),
    pytest.param((7, 4, 32), 4 * 7, 32 * 7, id="conv1d-k7"),
    pytest.param((2, 3, 4, 3, 6), 3 * 24, 6 * 24, id="conv3d-2x3x4"),
]


@pytest.mark.parametrize(("shape", "fan_in", "fan_out"), TORCH_CASES)
def test_fans_torch_layout(shape, fan_in, fan_out):
    assert fans(shape, layout="torch") == (fan_in, fan_out)


@pytest.mark.parametrize(("shape", "fan_in", "fan_out"), TORCH_CASES)
def test_fans_default_layout_is_torch(shape, fan_in, fan_out):
    assert fans(shape) == (fan_in, fan_out)


@pytest.mark.parametrize(("shape", "fan_in", "fan_out"), KERAS_CASES)
def test_fans_keras_layout(shape, fan_in, fan_out):
    assert fans(shape, layout="keras") == (fan_in, fan_out)


def test_dense_layouts_are_transposes_of_each_other():
    # A (10, 784) weight is Linear(784 -> 10) for PyTorch but Dense(10 -> 784) for Keras.
    assert fans((10, 784), layout="torch") == (784, 10)
    assert fans((10, 784), layout="keras") == (10, 784)


def test_conv_shape_read_in_the_wrong_layout_gives_other_fans():
    # (16, 8, 3, 3) read channels-last is a 16x8 kernel from 3 to 3 channels.
    assert fans((16, 8, 3, 3), layout="keras") == (3 * 128, 3 * 128)
    # (3, 3, 8, 16) read PyTorch-style is 3 filters over 3 channels with an 8x16 kernel.
    assert fans((3, 3, 8, 16), layout="torch") == (3 * 128, 3 * 128)


def _torch_to_keras(shape):
    """(out, in, *kernel) -> (*kernel, in, out): the same kernel, channels-last."""
    out, cin, *kernel = shape
    return (*kernel, cin, out)


@pytest.mark.parametrize(
    "torch_shape",
    [(10, 784), (16, 8, 3, 3), (16, 8, 3, 5), (32, 4, 7), (6, 3, 2, 3, 4), (1, 5, 2, 2)],
)
def test_same_kernel_in_both_layouts_has_same_fans(torch_shape):
    keras_shape = _torch_to_keras(torch_shape)
    assert fans(torch_shape, "torch") == fans(keras_shape, "keras")
    # Also check against a real array moved to channels-last with numpy.
    w = np.zeros(torch_shape)
    moved = np.moveaxis(w, (0, 1), (-1, -2)).shape
    assert moved == keras_shape
    assert fans(moved, "keras") == fans(torch_shape, "torch")


@pytest.mark.parametrize(
    ("shape", "layout", "expected"),
    [
        ((10, 784), "torch", 1),
        ((784, 10), "keras", 1),
        ((16, 8, 3, 5), "torch", 15),
        ((3, 5, 8, 16), "keras", 15),
        ((6, 3, 2, 3, 4), "torch", 24),
        ((7, 4, 32), "keras", 7),
    ],
)
def test_receptive_field(shape, layout, expected):
    assert receptive_field(shape, layout) == expected


def test_fans_accepts_lists_numpy_ints_and_arrays_and_returns_python_ints():
    expected = (72, 144)
    assert fans([16, 8, 3, 3]) == expected
    assert fans((np.int64(16), np.int32(8), np.uint8(3), np.int16(3))) == expected
    assert fans(np.array([16, 8, 3, 3])) == expected
    fan_in, fan_out = fans(np.array([16, 8, 3, 3]))
    assert type(fan_in) is int
    assert type(fan_out) is int


def test_fans_of_a_huge_shape_do_not_overflow():
    # Python ints, not int32: 2**20 * 2**20 * 9 does not fit in 32 bits.
    assert fans((2**20, 2**20, 3, 3)) == (9 * 2**20, 9 * 2**20)


def test_check_shape_normalises_to_a_tuple_of_ints():
    assert check_shape([np.int64(3), 4]) == (3, 4)
    assert check_shape(5) == (5,)


# --------------------------------------------------------------------------- gain

GAINS = [
    ("linear", 1.0),
    ("identity", 1.0),
    ("conv1d", 1.0),
    ("conv2d", 1.0),
    ("conv3d", 1.0),
    ("conv_transpose1d", 1.0),
    ("conv_transpose2d", 1.0),
    ("conv_transpose3d", 1.0),
    ("sigmoid", 1.0),
    ("tanh", 5.0 / 3.0),
    ("relu", math.sqrt(2.0)),
    ("selu", 0.75),
    # PyTorch's default negative slope is 0.01.
    ("leaky_relu", math.sqrt(2.0 / (1.0 + 0.01**2))),
]


@pytest.mark.parametrize(("name", "expected"), GAINS)
def test_gain_exact_values(name, expected):
    assert math.isclose(gain(name), expected, rel_tol=1e-15)


def test_gain_table_covers_every_documented_nonlinearity():
    assert {name for name, _ in GAINS} == set(NONLINEARITIES)


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        (0.2, math.sqrt(2.0 / 1.04)),
        (-0.2, math.sqrt(2.0 / 1.04)),  # only a² enters
        (0.0, math.sqrt(2.0)),  # slope 0 is plain ReLU
        (0, math.sqrt(2.0)),  # an int slope is fine too
        (1.0, 1.0),  # slope 1 is the identity
        # PyTorch's layer default: a = sqrt(5) gives sqrt(2/6) = sqrt(1/3).
        (math.sqrt(5.0), math.sqrt(1.0 / 3.0)),
        (np.float32(0.5), math.sqrt(2.0 / 1.25)),
    ],
)
def test_gain_leaky_relu_with_slope(param, expected):
    assert math.isclose(gain("leaky_relu", param), expected, rel_tol=1e-15)


def test_gain_leaky_relu_none_means_default_slope():
    assert gain("leaky_relu", None) == gain("leaky_relu")


@pytest.mark.parametrize("name", ["relu", "tanh", "linear", "selu", "sigmoid"])
def test_gain_ignores_param_for_other_nonlinearities(name):
    # Same as torch.nn.init.calculate_gain: the parameter only matters for leaky_relu.
    assert gain(name, 0.3) == gain(name)


def test_gain_is_case_insensitive():
    assert gain("ReLU") == math.sqrt(2.0)
    assert gain("Tanh") == 5.0 / 3.0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((5,), r"shape must have at least 2 dimension\(s\), got 1"),
        ((), r"shape must have at least 2 dimension\(s\), got 0"),
        (7, r"shape must have at least 2 dimension\(s\), got 1"),
        ((0, 3), r"shape\[0\] must be a positive integer, got 0"),
        ((3, 0), r"shape\[1\] must be a positive integer, got 0"),
        ((3, -2), r"shape\[1\] must be a positive integer, got -2"),
        ((16, 8, 3, 0), r"shape\[3\] must be a positive integer, got 0"),
        ((-1, 8, 3, 3), r"shape\[0\] must be a positive integer, got -1"),
    ],
)
def test_fans_rejects_bad_dims_with_value_error(shape, match):
    with pytest.raises(ValueError, match=match):
        fans(shape)


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((3.0, 4), r"shape\[0\] must be a positive integer, got float 3\.0"),
        ((3, "4"), r"shape\[1\] must be a positive integer, got str '4'"),
        ((True, 4), r"shape\[0\] must be a positive integer, got bool True"),
        ((3, np.float64(4.0)), r"shape\[1\] must be a positive integer, got float"),
        ((3, None), r"shape\[1\] must be a positive integer, got NoneType None"),
        ("34", r"shape must be a tuple or list of positive integers, got str '34'"),
        (b"34", r"shape must be a tuple or list of positive integers, got bytes"),
        (None, r"shape must be a tuple or list of positive integers, got NoneType"),
        ({3, 4}, r"shape must be a tuple or list of positive integers, got set"),
        (3.0, r"shape must be a tuple or list of positive integers, got float"),
    ],
)
def test_fans_rejects_non_integer_dims_with_type_error(shape, match):
    with pytest.raises(TypeError, match=match):
        fans(shape)


@pytest.mark.parametrize("layout", ["tf", "channels_last", ""])
def test_fans_rejects_unknown_layout(layout):
    expected = re.escape(f"layout must be one of {LAYOUTS}, got {layout!r}")
    with pytest.raises(ValueError, match=expected):
        fans((16, 8, 3, 3), layout=layout)
    with pytest.raises(ValueError, match=r"layout must be one of"):
        receptive_field((16, 8, 3, 3), layout)


@pytest.mark.parametrize("layout", [0, b"torch", ["torch"]])
def test_fans_non_string_layout_is_type_error(layout):
    with pytest.raises(TypeError, match=r"layout must be a string, one of \('torch', 'keras'\)"):
        fans((16, 8, 3, 3), layout=layout)


@pytest.mark.parametrize("layout", ["Torch", "TORCH", "Keras"])
def test_layout_is_case_insensitive(layout):
    assert fans((16, 8, 3, 3), layout=layout) == fans((16, 8, 3, 3), layout=layout.lower())


@pytest.mark.parametrize("shape", [(3, 3, 16, 32), (1, 1, 64, 128), (5, 5, 3, 64), (3, 8, 16)])
def test_channels_last_shape_with_default_layout_warns(shape):
    assert looks_channels_last(shape)
    with pytest.warns(LayoutWarning, match=r"looks like a Keras channels-last kernel"):
        default = fans(shape)
    # the default still means torch; an explicit layout never warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert default == fans(shape, layout="torch")
        fans(shape, layout="keras")


@pytest.mark.parametrize(
    "shape", [(32, 16, 3, 3), (8, 1, 3, 3), (3, 3, 3, 3), (64, 128), (16, 8, 5)]
)
def test_torch_shapes_do_not_warn(shape):
    assert not looks_channels_last(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fans(shape)


@pytest.mark.parametrize("name", ["gelu", "softplus", "", "relu6"])
def test_gain_unknown_nonlinearity_lists_allowed_names(name):
    with pytest.raises(
        ValueError, match=rf"nonlinearity must be one of \(.*\), got {re.escape(repr(name))}"
    ) as exc:
        gain(name)
    message = str(exc.value)
    for allowed in NONLINEARITIES:
        assert allowed in message


@pytest.mark.parametrize("name", [None, 3, math.sqrt, ["relu"]])
def test_gain_non_string_nonlinearity_is_type_error(name):
    with pytest.raises(TypeError, match=r"nonlinearity must be a string, one of \("):
        gain(name)


@pytest.mark.parametrize("param", ["0.2", True, False, [0.2], 1j])
def test_gain_non_numeric_leaky_relu_param_is_type_error(param):
    with pytest.raises(
        TypeError, match=r"negative_slope \(the leaky_relu slope\) must be a real number"
    ):
        gain("leaky_relu", param)


@pytest.mark.parametrize("param", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_gain_non_finite_leaky_relu_slope_is_value_error(param):
    with pytest.raises(ValueError, match=r"negative_slope \(the leaky_relu slope\) must be finite"):
        gain("leaky_relu", param)


@pytest.mark.parametrize("slope", [1e200, -1e300])
def test_gain_huge_slope_is_tiny_not_an_overflow_error(slope):
    # sqrt(2 / (1 + a²)) ~ sqrt(2)/|a|, computed without squaring a
    g = gain("leaky_relu", slope)
    assert 0.0 <= g < 1e-199
    assert math.isfinite(g)


def test_gain_int_slope_beyond_float_range_is_value_error():
    with pytest.raises(ValueError, match=r"negative_slope \(the leaky_relu slope\) must be finite"):
        gain("leaky_relu", 10**400)


def test_gain_param_is_a_deprecated_alias_of_negative_slope():
    with pytest.warns(DeprecationWarning, match="negative_slope"):
        assert gain("leaky_relu", param=0.2) == gain("leaky_relu", 0.2)
    with pytest.raises(TypeError, match="give the slope once"):
        gain("leaky_relu", 0.2, param=0.2)


def test_gain_is_case_insensitive_with_slope():
    assert gain("Tanh") == gain("tanh") == 5.0 / 3.0
    assert gain("LEAKY_RELU", 0.2) == gain("leaky_relu", negative_slope=0.2)


def test_fans_module_is_callable_and_has_its_functions():
    import weightinit as wi
    import weightinit.fans as fans_module

    assert wi.fans is fans_module
    assert wi.fans((16, 8, 3, 3)) == fans_module.fans((16, 8, 3, 3)) == (72, 144)
    assert wi.fans((3, 3, 8, 16), "keras") == (72, 144)
    assert wi.fans.gain is gain


@pytest.mark.parametrize("shape", [np.array(5), np.int64(5)])
def test_zero_d_array_shape_is_a_one_dim_shape(shape):
    assert check_shape(shape) == (5,)


def test_two_d_array_shape_is_value_error():
    with pytest.raises(ValueError, match=r"shape must be a flat sequence"):
        check_shape(np.ones((2, 2), dtype=int))
