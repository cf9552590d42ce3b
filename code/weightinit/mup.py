"""Width-aware parametrization of an MLP: the standard one and muP (Yang & Hu, 2021).

In the *standard parametrization* (SP) every layer draws ``Var(w) = g²/fan_in`` and one
learning rate ``η`` trains all of them. As the width ``n`` grows, the output layer's
update ``Δw·x`` then grows like ``n`` (its input has ``n`` coordinates that move together),
so the best learning rate shrinks with width and does not transfer from a small model to a
large one. The *maximal-update parametrization* (muP) of Yang & Hu (2021, "Tensor Programs
IV"; the SGD column of Table 3 of Yang et al. 2022, "Tensor Programs V") rescales per layer
so that every layer's update stays of order 1 as ``n → ∞``. Relative to a base width
``n₀`` (where muP and SP coincide) and the width ratio ``r = n / n₀``:

=====================  ===========================  =======================
layer                  initial ``Var(w)``            SGD learning rate
=====================  ===========================  =======================
input weights, biases  ``g² / fan_in``               ``η · r``
hidden weights         ``g² / fan_in``               ``η``
output weights         ``1 / (fan_in · r)``          ``η / r``
=====================  ===========================  =======================

(output bias: ``η``; SP is the same table with ``r = 1`` everywhere.) Here the table is
realized with *multipliers* so that plain SGD with one global rate works: a
:class:`ScaledDense` computes ``y = m_w · x Wᵀ + m_b · b`` with a stored ``W``. With
effective weight ``w = m_w W``, one SGD step on ``W`` moves ``w`` by ``m_w² · η ·
∂L/∂w``, so ``m_w = √r`` for the input layer and ``m_w = 1/√r`` for the output layer give
the table's rates, with ``Var(W) = Var(w) / m_w²``. This holds for SGD (with or without
momentum); Adam's update does not scale with the gradient, so Adam needs the other column
of Table 3 and is not covered here.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ._validate import check_bytes, choice, positive_int, real
from .fans import check_shape
from .initializers import as_generator
from .layers import Dense, Layer, Sequential, _check_activation_name, _check_array, activation

__all__ = ["ScaledDense", "mup_mlp", "width_multipliers"]


class ScaledDense(Dense):
    """A dense layer with fixed output multipliers: ``y = m_w · x Wᵀ + m_b · b``.

    ``W`` (shape ``(out, in)``) and ``b`` are the stored, trained parameters; the
    multipliers are constants. Gradients are with respect to the stored parameters:
    ``∂L/∂W = m_w · dyᵀ x``, ``∂L/∂b = m_b · Σ dy``, ``∂L/∂x = m_w · dy W``.

    Parameters
    ----------
    in_features, out_features : int
    w_mult, b_mult : float, default 1
        Positive multipliers of the weight and the bias.
    weight_std : float
        The stored weight is drawn from ``N(0, weight_std²)``; the bias starts at 0.
    rng : int or Generator
    dtype : numpy.float64 (default) or numpy.float32
        Precision of the parameters (drawn in float64, then rounded); inputs and output
        gradients are cast to it, as in :class:`~weightinit.layers.Dense`.
    """

    def __init__(self, in_features, out_features, *, w_mult: float = 1.0, b_mult: float = 1.0,
                 weight_std: float = 1.0, rng=None, dtype=np.float64):  # fmt: skip
        std = real(weight_std, "weight_std", positive=True)
        gen = as_generator(rng)
        super().__init__(in_features, out_features, weight_init="zeros", rng=gen, dtype=dtype)
        self.w_mult = real(w_mult, "w_mult", positive=True)
        self.b_mult = real(b_mult, "b_mult", positive=True)
        self.params["W"][...] = gen.normal(0.0, std, size=self.params["W"].shape)

    @property
    def effective_weight(self) -> np.ndarray:
        """``m_w · W``: the weight the layer actually applies."""
        return self.w_mult * self.params["W"]

    def forward(self, x, training=True):
        x = _check_array(x, "ScaledDense input", dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"ScaledDense input must have shape (N, {self.in_features}), got {x.shape}"
            )
        x = x.astype(self.dtype, copy=False)
        self._x = x
        self._y_shape = (x.shape[0], self.out_features)
        return self.w_mult * (x @ self.params["W"].T) + self.b_mult * self.params["b"]

    def backward(self, dy):
        dy = self._check_dy(dy).astype(self.dtype, copy=False)
        self.grads["W"] = self.w_mult * (dy.T @ self._x)
        self.grads["b"] = self.b_mult * dy.sum(axis=0)
        return self.w_mult * (dy @ self.params["W"])

    def __repr__(self):
        return (
            f"ScaledDense({self.in_features}, {self.out_features}, "
            f"w_mult={self.w_mult:.4g}, b_mult={self.b_mult:.4g})"
        )


def width_multipliers(parametrization: str, width: int, base_width: int) -> dict:
    """Per-layer-type constants of :func:`mup_mlp`, as a dict.

    Keys: ``r`` (width ratio), ``input_w_mult``, ``hidden_w_mult``, ``output_w_mult``,
    ``hidden_b_mult`` (biases of the input and hidden layers), ``output_var_factor``
    (the output layer's ``Var(w) = output_var_factor / fan_in``) and ``lr_factor`` per
    layer type (the effective SGD rate relative to the global one, ``m_w²``).
    """
    p = choice(parametrization, "parametrization", ("sp", "mup"))
    width = positive_int(width, "width")
    base_width = positive_int(base_width, "base_width")
    try:
        r = width / base_width if p == "mup" else 1.0
    except OverflowError:  # Python ints beyond float range
        r = math.inf
    if not 0.0 < r < math.inf:
        raise ValueError(
            f"width / base_width = {width} / {base_width} is outside the range of a float"
        )
    return {
        "r": r,
        "input_w_mult": math.sqrt(r),
        "hidden_w_mult": 1.0,
        "output_w_mult": 1.0 / math.sqrt(r),
        "hidden_b_mult": math.sqrt(r),
        "output_var_factor": 1.0 / r,
        "lr_factor": {"input": r, "hidden": 1.0, "output": 1.0 / r},
    }


def mup_mlp(sizes, *, parametrization: str = "mup", base_width: int | None = None,
            activation_name: str = "relu", gain: float | None = None, rng=0,
            dtype=np.float64) -> Sequential:  # fmt: skip
    """An MLP in the standard (``"sp"``) or the maximal-update (``"mup"``) parametrization.

    Parameters
    ----------
    sizes : sequence of int
        ``[in, n, n, ..., n, out]``: every hidden layer has the same width ``n`` (at least
        one hidden layer).
    parametrization : {"mup", "sp"}
        See the module docstring for the table each one realizes (with SGD).
    base_width : int, optional
        The width at which muP equals SP (default: ``n`` itself, i.e. no rescaling).
    activation_name : str
        Nonlinearity after every hidden layer.
    gain : float, optional
        ``g`` in ``Var(w) = g²/fan_in`` for the input and hidden layers; by default
        :func:`weightinit.fans.gain` of the activation (``√2`` for ReLU).
    rng : int or Generator
    dtype : numpy.float64 (default) or numpy.float32
        Precision of every layer; a float32 network's weights are its float64 twin's,
        rounded (the same draws).

    Returns
    -------
    Sequential of :class:`ScaledDense` layers and activations.
    """
    from .fans import gain as _gain

    sizes = check_shape(sizes, "sizes", min_dims=3)
    for a, b in itertools.pairwise(sizes):
        check_bytes(a * b, 8, "sizes", "weight")
    _check_activation_name(activation_name)
    hidden = set(sizes[1:-1])
    if len(hidden) != 1:
        raise ValueError(f"sizes must have one hidden width [in, n, ..., n, out], got {sizes}")
    n = sizes[1]
    base = n if base_width is None else positive_int(base_width, "base_width")
    m = width_multipliers(parametrization, n, base)
    g = _gain(activation_name) if gain is None else real(gain, "gain", positive=True)
    gen = as_generator(rng)
    layers: list[Layer] = []
    last = len(sizes) - 2
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        if i == 0:
            w_mult, b_mult, var = m["input_w_mult"], m["hidden_b_mult"], g * g / a
        elif i < last:
            w_mult, b_mult, var = m["hidden_w_mult"], m["hidden_b_mult"], g * g / a
        else:
            w_mult, b_mult, var = m["output_w_mult"], 1.0, m["output_var_factor"] / a
        std = math.sqrt(var) / w_mult  # Var(W) = Var(w) / m_w²
        layers.append(ScaledDense(a, b, w_mult=w_mult, b_mult=b_mult, weight_std=std, rng=gen,
                                  dtype=dtype))  # fmt: skip
        if i < last:
            layers.append(activation(activation_name))
    return Sequential(layers)
