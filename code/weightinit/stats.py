"""Per-layer statistics of a network: how the signal and its gradient travel through depth.

The chapters ask the same questions again and again: after each layer, what are
the mean and standard deviation of the activations, how many units are dead
(ReLU output zero for every example) or saturated (tanh/sigmoid in their flat
tails), and how large is the gradient that reaches each layer on the way back?
:func:`depth_profile` answers all of them with one forward and one backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import boolean, real_array
from .fans import NONLINEARITIES
from .initializers import as_generator
from .layers import Sequential, softmax_cross_entropy

__all__ = [
    "DepthProfile",
    "activation_summary",
    "depth_profile",
    "max_pairwise_difference",
    "saturated_fraction",
]

#: |tanh| above this, or sigmoid outside [1 - t, t], counts as saturated
SATURATION = 0.99


def _nonlinearity(nonlinearity) -> str | None:
    """``None`` or a name of :data:`weightinit.fans.NONLINEARITIES`, lower-cased."""
    if nonlinearity is None:
        return None
    if not isinstance(nonlinearity, str):
        raise TypeError(
            f"nonlinearity must be None or a string, one of {NONLINEARITIES}, "
            f"got {type(nonlinearity).__name__} {nonlinearity!r}"
        )
    key = nonlinearity.lower()
    if key not in NONLINEARITIES:
        raise ValueError(
            f"nonlinearity must be None or one of {NONLINEARITIES}, got {nonlinearity!r}"
        )
    return key


def saturated_fraction(a, nonlinearity: str | None) -> float:
    """Fraction of entries in the flat tails of a squashing nonlinearity.

    ``tanh``: ``|a| > 0.99``; ``sigmoid``: ``a < 0.01`` or ``a > 0.99``; 0 for
    every other nonlinearity (they have no saturated regime). ``nonlinearity`` is
    ``None`` or a name of :data:`weightinit.fans.NONLINEARITIES`, case-insensitive
    (an unknown name raises instead of silently counting 0). ``a`` must be a
    non-empty real array; NaN entries raise (see "API conventions" in CONTRIBUTING).
    """
    nonlinearity = _nonlinearity(nonlinearity)
    a = real_array(a, "a")
    if nonlinearity == "tanh":
        return float(np.mean(np.abs(a) > SATURATION))
    if nonlinearity == "sigmoid":
        return float(np.mean((a < 1 - SATURATION) | (a > SATURATION)))
    return 0.0


def activation_summary(a, nonlinearity: str | None = None) -> dict:
    """Mean, std, fraction of zeros, of dead units and of saturated entries of ``a``.

    A *unit* is one feature (one entry of ``a[n]``); it is dead when it is exactly
    zero for every example of the batch (the first axis). ``a`` must be a non-empty,
    finite real array with at least one dimension.
    """
    nonlinearity = _nonlinearity(nonlinearity)
    a = real_array(a, "a")
    if a.ndim < 1:
        raise ValueError("a must have at least 1 dimension (examples on axis 0), got a scalar")
    flat = a.reshape(a.shape[0], -1)
    return {
        "mean": float(a.mean()),
        "std": float(a.std()),
        "zero": float(np.mean(a == 0)),
        "dead": float(np.mean(np.all(flat == 0, axis=0))),
        "saturated": saturated_fraction(a, nonlinearity),
    }


@dataclass
class DepthProfile:
    """Statistics of every weighted layer (Dense/Conv2D) of a network, in order.

    For weighted layer ``l``:

    * ``pre_std[l]``: std of its output ``y_l = W_l x_l + b_l`` (pre-activation);
    * ``act_mean[l]``, ``act_std[l]``: of the activation that follows it (the
      output of the next nonlinearity; ``y_l`` itself if none follows);
    * ``dead[l]``, ``saturated[l]``: fractions from :func:`activation_summary`;
    * ``grad_std[l]``: std of the gradient ``∂L/∂y_l`` arriving at the layer;
    * ``input_grad_std[l]``: std of ``∂L/∂x_l``, the gradient it sends back;
    * ``weight_std[l]``, ``weight_grad_std[l]``: std of ``W_l`` and of ``∂L/∂W_l``.

    ``activations`` holds the activation arrays themselves (for histograms) when
    requested.
    """

    names: list[str]
    pre_std: np.ndarray
    act_mean: np.ndarray
    act_std: np.ndarray
    dead: np.ndarray
    saturated: np.ndarray
    grad_std: np.ndarray
    input_grad_std: np.ndarray
    weight_std: np.ndarray
    weight_grad_std: np.ndarray
    loss: float | None = None
    activations: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def depth(self) -> int:
        return len(self.names)

    def as_rows(self) -> list[dict]:
        """One dict per layer, convenient for printing a table."""
        keys = ["pre_std", "act_mean", "act_std", "dead", "saturated", "grad_std",
                "input_grad_std", "weight_std", "weight_grad_std"]  # fmt: skip
        return [
            {"layer": n, **{k: float(getattr(self, k)[i]) for k in keys}}
            for i, n in enumerate(self.names)
        ]


def depth_profile(net: Sequential, x, y=None, *, rng=0, keep_activations: bool = False):
    """One forward and one backward pass through ``net``, summarized per weighted layer.

    Parameters
    ----------
    net : Sequential
    x : ndarray
        A batch of inputs.
    y : int ndarray, optional
        Labels. If given, the backward pass starts from the gradient of the
        softmax cross-entropy; otherwise from a standard-normal ``∂L/∂output``
        (drawn with ``rng``), the random "error signal" of Glorot & Bengio's
        analysis, which isolates how the network itself scales gradients.
    keep_activations : bool
        Store the activation arrays in the result (for histograms).

    Returns
    -------
    DepthProfile
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a weightinit Sequential, got {type(net).__name__}")
    if not net.weighted_layers:
        raise ValueError("net must contain at least one weighted layer (Dense or Conv2D)")
    x = real_array(x, "x", min_ndim=1)  # refuses an empty batch and NaN/inf inputs
    keep_activations = boolean(keep_activations, "keep_activations")
    if y is not None:
        y = np.asarray(y)
        if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"y must be None or an integer array of labels, got dtype {y.dtype}")
        if y.shape != (len(x),):
            raise ValueError(f"y must have shape ({len(x)},) to match x {x.shape}, got {y.shape}")
    out = net.forward(x, training=False, keep=True)
    if not np.all(np.isfinite(out)):
        raise FloatingPointError(
            "the network output is not finite although x is: the activations overflowed; "
            "inspect the statistics of the earlier layers"
        )
    loss = None
    if y is None:
        dy = as_generator(rng).standard_normal(out.shape)
    else:
        loss, dy = softmax_cross_entropy(out, y)
    dx = net.backward(dy)
    idx = net.weighted_layers
    layers, outs, grads = net.layers, net.outputs, net.output_grads
    rows = {k: [] for k in ["pre_std", "act_mean", "act_std", "dead", "saturated", "grad_std",
                            "input_grad_std", "weight_std", "weight_grad_std"]}  # fmt: skip
    acts = []
    for i in idx:
        # the activation belonging to layer i: the output of the next nonlinearity
        j = i
        if i + 1 < len(layers) and layers[i + 1].nonlinearity is not None:
            j = i + 1
        summary = activation_summary(outs[j], layers[j].nonlinearity)
        rows["pre_std"].append(outs[i].std())
        rows["act_mean"].append(summary["mean"])
        rows["act_std"].append(summary["std"])
        rows["dead"].append(summary["dead"])
        rows["saturated"].append(summary["saturated"])
        rows["grad_std"].append(grads[i].std())
        back = grads[i - 1] if i > 0 else dx
        rows["input_grad_std"].append(back.std())
        rows["weight_std"].append(layers[i].params["W"].std())
        rows["weight_grad_std"].append(layers[i].grads["W"].std())
        if keep_activations:
            acts.append(outs[j].copy())
    return DepthProfile(
        names=[f"{type(layers[i]).__name__.lower()} {k + 1}" for k, i in enumerate(idx)],
        **{k: np.asarray(v, dtype=float) for k, v in rows.items()},
        loss=loss,
        activations=acts,
    )


def max_pairwise_difference(weights) -> float:
    """Largest absolute difference between any two units' weights of one layer.

    ``weights`` has the output units (filters) on the first axis, as in the
    PyTorch layout ``(out, ...)``. The result is ``max_{f,g} max |W[f] - W[g]|``,
    which is 0 exactly when every filter equals every other one: the symmetry
    that constant initialization can never break.
    """
    w = real_array(weights, "weights")
    if w.ndim < 2:
        raise ValueError(f"weights must have the units on axis 0 and >= 2 dims, got {w.shape}")
    flat = w.reshape(w.shape[0], -1)
    # The largest difference between two rows, entrywise, is the largest column range.
    return float(np.max(flat.max(axis=0) - flat.min(axis=0)))
