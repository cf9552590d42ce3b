"""A variance calculator: predict, then measure, each layer's forward and backward scale.

Give it a list of layers (dense or conv, the weight shape in PyTorch or Keras layout, the
activation after it and the initializer) and it returns, layer by layer, side by side:

* the **prediction** of the variance derivation (chapter 4): with ``q_l`` the second
  moment of layer ``l``'s pre-activation and ``x_l = f_l(y_l)`` its output,

  .. math::

      q_l = \\text{fan}_{\\text{in},l}\\, \\operatorname{Var}(w_l)\\,
            \\mathbb{E}[x_{l-1}^2], \\qquad
      \\mathbb{E}[x_l^2] = \\mathbb{E}_{z\\sim\\mathcal{N}(0,1)}
            \\big[f_l(\\sqrt{q_l}\\, z)^2\\big],

  and backwards, for the gradients ``δ_l = ∂L/∂y_l`` and ``g_l = ∂L/∂x_l``,

  .. math::

      \\mathbb{E}[\\delta_l^2] = \\mathbb{E}\\big[f_l'(\\sqrt{q_l}\\, z)^2\\big]\\,
            \\mathbb{E}[g_l^2], \\qquad
      \\mathbb{E}[g_{l-1}^2] = \\text{fan}_{\\text{out},l}\\,
            \\operatorname{Var}(w_l)\\, \\mathbb{E}[\\delta_l^2],

  the expectations over the Gaussian pre-activation computed by quadrature with
  :func:`weightinit.analysis.activation_moments` (exact for the mean-field assumption
  that a pre-activation is Gaussian over the draw of
  the weights; convolutions are treated as if every output pixel saw a full window, so
  zero padding at the borders makes the measured values a little smaller);
* the **measurement**: the same layers built with :mod:`weightinit.layers`, a batch of
  standard-normal inputs (scaled to the given second moment) sent forward and a
  standard-normal gradient sent backward from the last layer, averaged over several
  draws of the weights.

:func:`variance_report` returns a :class:`VarianceReport` with ``rows()`` for
:func:`weightinit.display.table` and :meth:`VarianceReport.plot` for a figure.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._validate import check_bytes, choice, positive_int, real
from .analysis import activation_moments
from .fans import fans as _fans
from .initializers import as_generator, distribution
from .initializers import get as _get_init
from .layers import Conv2D, Dense, activation

__all__ = ["LayerSpec", "VarianceReport", "variance_report"]


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the calculator's input.

    ``kind`` is ``"dense"`` or ``"conv"``; ``shape`` is the weight shape in ``layout``
    (``"torch"``: ``(out, in)`` / ``(out, in, kh, kw)``; ``"keras"``: ``(in, out)`` /
    ``(kh, kw, in, out)``); ``activation`` a name of :func:`weightinit.layers.activation`
    (``"linear"`` for none); ``init`` an initializer name; ``init_kwargs`` its extra
    arguments; ``padding`` for a conv (stride 1). ``activation_kwargs`` e.g.
    ``{"negative_slope": 0.2}``.
    """

    kind: str
    shape: tuple
    activation: str = "relu"
    init: str = "he_normal"
    layout: str = "torch"
    init_kwargs: Mapping | None = None
    activation_kwargs: Mapping | None = None
    padding: int = 0

    @classmethod
    def from_any(cls, spec, index: int) -> LayerSpec:
        if isinstance(spec, LayerSpec):
            return spec
        if not isinstance(spec, Mapping):
            raise TypeError(
                f"layers[{index}] must be a dict or a LayerSpec, got {type(spec).__name__}"
            )
        allowed = set(cls.__dataclass_fields__)
        extra = set(spec) - allowed
        if extra:
            raise ValueError(
                f"layers[{index}] has unknown key(s) {sorted(extra)}; allowed: {sorted(allowed)}"
            )
        if "kind" not in spec or "shape" not in spec:
            raise ValueError(f"layers[{index}] needs at least 'kind' and 'shape'")
        shape = spec["shape"]
        return cls(**{**spec, "shape": tuple(shape) if isinstance(shape, list) else shape})


def _checked(spec: LayerSpec, index: int) -> LayerSpec:
    """``spec`` with every field checked (errors name ``layers[index].<field>``), ``kind``
    and ``layout`` lower-cased and ``shape`` a tuple."""
    where = f"layers[{index}]"
    kind = choice(spec.kind, f"{where}.kind", ("dense", "conv"))
    layout = choice(spec.layout, f"{where}.layout", ("torch", "keras"))
    want = {"dense": 2, "conv": 4}[kind]
    if isinstance(spec.shape, (str, bytes)) or not isinstance(spec.shape, Sequence):
        raise TypeError(
            f"{where}.shape must be a tuple of {want} positive ints for a {kind} layer, "
            f"got {type(spec.shape).__name__} {spec.shape!r}"
        )
    shape = tuple(spec.shape)
    if len(shape) != want or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in shape
    ):
        raise ValueError(
            f"{where}.shape must be {want} positive ints for a {kind} layer, got {shape}"
        )
    check_bytes(math.prod(shape), 8, f"{where}.shape", "weight")
    for name in ("init_kwargs", "activation_kwargs"):
        value = getattr(spec, name)
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(
                f"{where}.{name} must be a dict or None, got {type(value).__name__} {value!r}"
            )
    padding = spec.padding
    if isinstance(padding, bool) or not isinstance(padding, numbers.Integral):
        raise TypeError(f"{where}.padding must be an integer >= 0, got {padding!r}")
    if padding < 0:
        raise ValueError(f"{where}.padding must be an integer >= 0, got {padding!r}")
    if kind == "dense" and padding != 0:
        raise ValueError(f"{where}.padding applies to conv layers only, got {padding} for dense")
    return dataclasses.replace(spec, kind=kind, layout=layout, shape=shape, padding=int(padding))


def _torch_shape(spec: LayerSpec, index: int) -> tuple[int, ...]:
    """The weight shape in the torch layout of a :func:`_checked` spec."""
    shape = spec.shape
    if spec.layout == "torch":
        return shape
    return (shape[1], shape[0]) if spec.kind == "dense" else (shape[3], shape[2], *shape[:2])


def _named(where: str, call):
    """``call()``, with a TypeError/ValueError re-raised prefixed by ``where``."""
    try:
        return call()
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


@dataclass
class VarianceReport:
    """Predicted and measured second moments per layer (index 0 = first layer).

    ``pre_*``: pre-activation ``E[y_l²]``; ``act_*``: output ``E[x_l²]``;
    ``grad_*``: ``E[(∂L/∂x_{l-1})²]``, the gradient that leaves layer ``l`` towards its
    input (so ``grad_*[0]`` is the gradient at the network's input).
    """

    names: list[str]
    pre_pred: np.ndarray
    pre_meas: np.ndarray
    act_pred: np.ndarray
    act_meas: np.ndarray
    grad_pred: np.ndarray
    grad_meas: np.ndarray
    n_draws: int

    def rows(self) -> list[dict]:
        """One dict per layer, prediction beside measurement (for ``display.table``)."""
        return [
            {
                "layer": name,
                "E[y²] pred": self.pre_pred[i],
                "E[y²] meas": self.pre_meas[i],
                "E[x²] pred": self.act_pred[i],
                "E[x²] meas": self.act_meas[i],
                "E[g²] pred": self.grad_pred[i],
                "E[g²] meas": self.grad_meas[i],
            }
            for i, name in enumerate(self.names)
        ]

    def plot(self, *, title: str = "Variance calculator: predicted (lines) vs measured"):
        """A two-panel figure (forward, backward) on a log scale; returns the Figure."""
        import matplotlib.pyplot as plt

        depth = np.arange(1, len(self.names) + 1)
        fig, (ax_f, ax_b) = plt.subplots(1, 2, figsize=(9, 3.6))
        ax_f.plot(depth, self.pre_pred, "-", color="C0", label="E[y²] predicted")
        ax_f.plot(depth, self.pre_meas, "o", color="C0", label="E[y²] measured")
        ax_f.plot(depth, self.act_pred, "-", color="C1", label="E[x²] predicted")
        ax_f.plot(depth, self.act_meas, "s", color="C1", label="E[x²] measured")
        ax_b.plot(depth, self.grad_pred, "-", color="C2", label="E[g²] predicted")
        ax_b.plot(depth, self.grad_meas, "o", color="C2", label="E[g²] measured")
        for ax, sub in ((ax_f, "forward"), (ax_b, "backward (gradient into layer l)")):
            ax.set_yscale("log")
            ax.set_xlabel("layer l")
            ax.set_ylabel("second moment")
            ax.set_title(sub)
            ax.legend(fontsize="small")
        fig.suptitle(title)
        fig.tight_layout()
        return fig


def _build(specs, torch_shapes, gen):
    built = []
    for spec, shape in zip(specs, torch_shapes, strict=True):
        w_torch = _draw_weight(spec, shape, gen)
        if len(shape) == 2:
            layer = Dense(shape[1], shape[0], weight_init="zeros", rng=gen)
        else:
            layer = Conv2D(
                shape[1], shape[0], shape[2:], padding=spec.padding, weight_init="zeros", rng=gen
            )
        layer.params["W"][...] = w_torch
        act = activation(spec.activation, **dict(spec.activation_kwargs or {}))
        built.append((layer, act))
    return built


def _draw_weight(spec, torch_shape, gen):
    fn = _get_init(spec.init)
    w = np.asarray(fn(tuple(spec.shape), rng=gen, **_init_kwargs(spec)), dtype=np.float64)
    if spec.layout == "keras":
        w = w.T if w.ndim == 2 else np.transpose(w, (3, 2, 0, 1))
    return np.ascontiguousarray(w.reshape(torch_shape))


def _init_kwargs(spec):
    kw = dict(spec.init_kwargs or {})
    if spec.layout != "torch":
        kw.setdefault("layout", spec.layout)
    return kw


def variance_report(layers: Sequence, *, input_shape=None, input_second_moment: float = 1.0,
                    batch_size: int = 256, n_draws: int = 4, rng=0) -> VarianceReport:  # fmt: skip
    """Predict and measure each layer's forward and backward second moment.

    Parameters
    ----------
    layers : sequence of dict or LayerSpec
        In order; each dict has ``kind`` and ``shape`` and optionally ``activation``,
        ``init``, ``layout``, ``init_kwargs``, ``activation_kwargs``, ``padding``.
        Consecutive layers must fit (a conv followed by a dense layer is not
        supported: flatten your network into its dense part or its conv part).
    input_shape : tuple, optional
        ``(C, H, W)`` of one input image when the first layer is a conv (required then).
    input_second_moment : float
        ``E[x_0²]`` of the inputs (they are drawn from ``N(0, input_second_moment)``).
    batch_size, n_draws : int
        The measurement uses ``batch_size`` inputs and averages over ``n_draws`` weight
        draws.
    rng : int or Generator

    Returns
    -------
    VarianceReport
    """
    if isinstance(layers, (str, bytes, Mapping)) or not isinstance(layers, Sequence):
        raise TypeError("layers must be a list of layer specs (dicts or LayerSpec)")
    if len(layers) == 0:
        raise ValueError("layers must contain at least one layer")
    specs = [_checked(LayerSpec.from_any(s, i), i) for i, s in enumerate(layers)]
    shapes = [_torch_shape(s, i) for i, s in enumerate(specs)]
    kinds = ["dense" if len(s) == 2 else "conv" for s in shapes]
    if len(set(kinds)) != 1:
        raise ValueError("layers must be all dense or all conv (see the docstring)")
    for i in range(1, len(shapes)):
        if shapes[i][1] != shapes[i - 1][0]:
            raise ValueError(
                f"layers[{i}] takes {shapes[i][1]} input channels/features but layers[{i - 1}] "
                f"gives {shapes[i - 1][0]}"
            )
    q0 = real(input_second_moment, "input_second_moment", positive=True)
    batch_size = positive_int(batch_size, "batch_size")
    n_draws = positive_int(n_draws, "n_draws")
    if kinds[0] == "conv":
        if not (isinstance(input_shape, (tuple, list)) and len(input_shape) == 3):
            raise ValueError(
                f"input_shape=(C, H, W) is required when the layers are convs, got {input_shape!r}"
            )
        input_shape = tuple(positive_int(v, "input_shape") for v in input_shape)
        if input_shape[0] != shapes[0][1]:
            raise ValueError(
                f"input_shape has {input_shape[0]} channels, layers[0] expects {shapes[0][1]}"
            )
        x_shape = (batch_size, *input_shape)
    else:
        x_shape = (batch_size, shapes[0][1])
    # the largest activation of the measurement: the input or a layer's output
    widest = max([math.prod(x_shape[1:])] + [s[0] * math.prod(x_shape[2:]) for s in shapes])
    check_bytes(batch_size * widest, 8, "batch_size", "batch of activations")

    # ---- prediction (mean field)
    L = len(specs)
    var_w = np.array(
        [
            _named(
                f"layers[{i}].init",
                lambda s=s: distribution(s.init, s.shape, **_init_kwargs(s)).var,
            )
            for i, s in enumerate(specs)
        ]
    )
    fan = [_fans(s.shape, layout=s.layout) for s in specs]
    acts = [
        _named(
            f"layers[{i}].activation",
            lambda s=s: activation(s.activation, **dict(s.activation_kwargs or {})),
        )
        for i, s in enumerate(specs)
    ]
    pre_pred, act_pred, dprime = np.zeros(L), np.zeros(L), np.zeros(L)
    m = q0
    for i in range(L):
        pre_pred[i] = fan[i][0] * var_w[i] * m
        act_pred[i], dprime[i] = activation_moments(acts[i], pre_pred[i])
        m = act_pred[i]
    grad_pred = np.zeros(L)
    g = 1.0
    for i in range(L - 1, -1, -1):
        delta = dprime[i] * g
        grad_pred[i] = fan[i][1] * var_w[i] * delta
        g = grad_pred[i]

    # ---- measurement
    gen = as_generator(rng)
    pre_meas, act_meas, grad_meas = np.zeros(L), np.zeros(L), np.zeros(L)
    for _ in range(n_draws):
        built = _build(specs, shapes, gen)
        x = gen.normal(0.0, np.sqrt(q0), size=x_shape)
        for i, (layer, act) in enumerate(built):
            y = layer.forward(x)
            x = act.forward(y)
            pre_meas[i] += np.mean(y**2)
            act_meas[i] += np.mean(x**2)
        g = gen.standard_normal(x.shape)
        for i in range(L - 1, -1, -1):
            layer, act = built[i]
            g = layer.backward(act.backward(g))
            grad_meas[i] += np.mean(g**2)
    pre_meas /= n_draws
    act_meas /= n_draws
    grad_meas /= n_draws
    names = [f"{i + 1}: {k} {s.shape} {s.init}/{s.activation}" for i, (k, s) in
             enumerate(zip(kinds, specs, strict=True))]  # fmt: skip
    return VarianceReport(names, pre_pred, pre_meas, act_pred, act_meas, grad_pred, grad_meas,
                          n_draws)  # fmt: skip
