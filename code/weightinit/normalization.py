"""Normalization layers: batch normalization and layer normalization, with exact backward passes.

Both layers standardize their input and then apply a learnable affine map,

.. math::

    \\hat x = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}, \\qquad y = \\gamma \\hat x + \\beta,

and differ only in *which* entries share a mean ``μ`` and a variance ``σ²``:

* :class:`BatchNorm` (Ioffe & Szegedy, 2015): one pair per feature (per channel for
  images), computed over the batch (and the spatial positions) while training; at
  evaluation the layer uses running averages collected during training, exactly as
  PyTorch's ``BatchNorm1d``/``BatchNorm2d``;
* :class:`LayerNorm` (Ba, Kiros & Hinton, 2016): one pair per example, computed over
  its features (the last axis), the same at training and evaluation, as PyTorch's
  ``LayerNorm(normalized_shape=features)``.

``γ`` and ``β`` live in ``layer.params`` under the names ``"gamma"`` and ``"beta"`` and
their gradients in ``layer.grads``, so :class:`weightinit.training.SGD` and
:class:`weightinit.training.Adam` update them like any weight. The optimizers' weight
decay applies to parameters named ``"W"`` only, so it never touches ``γ`` or ``β``.

The backward pass of a normalization layer in training mode is *not* the elementwise
``γ/σ``: ``μ`` and ``σ`` depend on every entry they were computed from. With
``g = γ·∂L/∂y`` and ``n`` entries per statistic,

.. math::

    \\frac{\\partial L}{\\partial x} = \\frac{1}{n\\sqrt{\\sigma^2 + \\epsilon}}
    \\Big(n\\, g - \\textstyle\\sum g - \\hat x \\sum g \\hat x\\Big),

where the sums run over the same entries as the statistics. Gradients are checked
against finite differences in ``tests/test_normalization.py``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import boolean, positive_int, real
from .layers import Layer, _check_array, _float_dtype

__all__ = ["BatchNorm", "LayerNorm", "normalize_backward"]


def normalize_backward(dxhat, xhat, inv_std, axes) -> np.ndarray:
    """Gradient through ``x̂ = (x - mean(x)) / sqrt(var(x) + ε)`` with the statistics
    taken over ``axes``.

    Parameters
    ----------
    dxhat : ndarray
        ``∂L/∂x̂`` (for an affine layer, ``γ·∂L/∂y``).
    xhat : ndarray
        The normalized input of the forward pass.
    inv_std : ndarray
        ``1/sqrt(var + ε)``, broadcastable against ``xhat``.
    axes : tuple of int
        The axes the mean and the (biased) variance were taken over.

    Returns
    -------
    ndarray
        ``∂L/∂x = inv_std/n · (n·dxhat - Σ dxhat - x̂ Σ dxhat·x̂)``.

    Raises
    ------
    TypeError, ValueError
        Non-numeric, empty or non-finite arrays, ``dxhat`` not of the shape of ``xhat``,
        ``inv_std`` not broadcastable to it, ``axes`` not distinct axes of ``xhat``.
    """
    xhat = _check_array(xhat, "xhat")
    dxhat = _check_array(dxhat, "dxhat")
    inv_std = _check_array(inv_std, "inv_std")
    if dxhat.shape != xhat.shape:
        raise ValueError(f"dxhat must have the shape of xhat {xhat.shape}, got {dxhat.shape}")
    try:
        fits = np.broadcast_shapes(inv_std.shape, xhat.shape) == xhat.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"inv_std must broadcast to the shape of xhat {xhat.shape}, got {inv_std.shape}"
        )
    if isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
        axes = (axes,)
    if not isinstance(axes, (tuple, list)) or not all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes
    ):
        raise TypeError(f"axes must be a tuple of ints, got {axes!r}")
    if not axes or not all(-xhat.ndim <= a < xhat.ndim for a in axes):
        raise ValueError(f"axes must be axes of xhat (ndim {xhat.ndim}), got {axes!r}")
    axes = tuple(int(a) % xhat.ndim for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"axes must be distinct, got {axes!r}")
    return _normalize_backward(dxhat, xhat, inv_std, axes)


def _normalize_backward(dxhat, xhat, inv_std, axes) -> np.ndarray:
    """:func:`normalize_backward` without the checks (the layers' own, checked, call)."""
    n = int(np.prod([xhat.shape[a] for a in axes]))
    s1 = dxhat.sum(axis=axes, keepdims=True)
    s2 = (dxhat * xhat).sum(axis=axes, keepdims=True)
    return inv_std / n * (n * dxhat - s1 - xhat * s2)


def _running_update(running_mean, running_var, mean, var, m, n, dtype):
    """BatchNorm's running statistics after one batch of ``n`` values per feature:
    ``(1 - m)·running + m·batch``, the variance unbiased (``n / (n - 1)``, as PyTorch),
    cast back to the layer's ``dtype``. The stacked engine calls it too, so both compute
    the same numbers."""
    rm = (1 - m) * running_mean + m * mean
    rv = (1 - m) * running_var + m * var * n / (n - 1)
    return rm.astype(dtype, copy=False), rv.astype(dtype, copy=False)


def _eps(value) -> float:
    return real(value, "eps", positive=True)


class BatchNorm(Layer):
    """Batch normalization of Ioffe & Szegedy (2015), as PyTorch's ``BatchNorm1d/2d``.

    Input ``(N, F)`` (dense) or ``(N, C, H, W)`` (convolutional; statistics per channel
    over the batch and the spatial positions). In training mode
    (``forward(x, training=True)``) the layer normalizes with the batch mean and the
    biased batch variance and updates its running statistics,

    .. math::

        \\hat\\mu \\leftarrow (1 - m)\\,\\hat\\mu + m\\,\\mu_B, \\qquad
        \\hat\\sigma^2 \\leftarrow (1 - m)\\,\\hat\\sigma^2 + m\\,\\frac{n}{n-1}\\,\\sigma_B^2,

    with ``n`` the number of entries per feature (``N`` or ``N·H·W``): like PyTorch, the
    running variance is updated with the *unbiased* batch variance while the
    normalization uses the biased one. ``momentum=None`` replaces ``m`` by ``1/k`` at the
    ``k``-th training batch (a cumulative average, PyTorch's ``momentum=None``). In
    evaluation mode (``training=False``) the layer is the fixed affine map
    ``γ (x - μ̂)/sqrt(σ̂² + ε) + β``. Running statistics start at ``μ̂ = 0``, ``σ̂² = 1``.

    Parameters
    ----------
    num_features : int
        ``F`` or ``C``.
    eps : float, default 1e-5
        Added to the variance (PyTorch's default).
    momentum : float in (0, 1] or None, default 0.1
        Weight of the new batch in the running statistics (PyTorch's convention and
        default; Keras's ``momentum`` is ``1 - m``).
    affine : bool, default True
        Learnable ``γ`` (``params["gamma"]``, init 1) and ``β`` (``params["beta"]``,
        init 0). Without it the layer has no parameters.
    dtype : numpy.float64 (default) or numpy.float32
        Precision of ``γ``, ``β`` and the running statistics; inputs and ``dy`` are
        cast to it (the library's dtype rule, see :mod:`weightinit.layers`).

    Attributes
    ----------
    running_mean, running_var : ndarray (num_features,)
    num_batches_tracked : int
    """

    def __init__(self, num_features, *, eps=1e-5, momentum=0.1, affine: bool = True,
                 dtype=np.float64):  # fmt: skip
        super().__init__()
        self.num_features = positive_int(num_features, "num_features")
        self.dtype = _float_dtype(dtype)
        self.eps = _eps(eps)
        if momentum is not None:
            momentum = real(momentum, "momentum", positive=True)
            if momentum > 1:
                raise ValueError(f"momentum must be in (0, 1] or None, got {momentum!r}")
        self.momentum = momentum
        if not isinstance(affine, bool):
            raise TypeError(f"affine must be True or False, got {affine!r}")
        self.affine = affine
        if affine:
            self.params["gamma"] = np.ones(self.num_features, dtype=self.dtype)
            self.params["beta"] = np.zeros(self.num_features, dtype=self.dtype)
        self.running_mean = np.zeros(self.num_features, dtype=self.dtype)
        self.running_var = np.ones(self.num_features, dtype=self.dtype)
        self.num_batches_tracked = 0
        self._cache = None

    def _axes_and_shape(self, x):
        if x.ndim not in (2, 4):
            raise ValueError(f"BatchNorm input must be (N, F) or (N, C, H, W), got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm input has {x.shape[1]} features/channels on axis 1, "
                f"layer expects num_features={self.num_features}"
            )
        if x.ndim == 2:
            return (0,), (1, self.num_features)
        return (0, 2, 3), (1, self.num_features, 1, 1)

    def forward(self, x, training=True):
        training = boolean(training, "training")
        x = _check_array(x, "BatchNorm input", dtype=self.dtype)
        axes, bshape = self._axes_and_shape(x)
        if training:
            n = int(np.prod([x.shape[a] for a in axes]))
            if n < 2:
                raise ValueError(
                    f"BatchNorm in training mode needs more than 1 value per feature, got input "
                    f"shape {x.shape}; use a larger batch or training=False"
                )
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            self.num_batches_tracked += 1
            m = self.momentum if self.momentum is not None else 1.0 / self.num_batches_tracked
            self.running_mean, self.running_var = _running_update(
                self.running_mean, self.running_var, mean, var, m, n, self.dtype
            )
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(self.dtype).reshape(bshape)
        xhat = (x - mean.reshape(bshape)) * inv_std
        self._cache = (xhat, inv_std, axes, bshape, training)
        if not self.affine:
            return xhat
        return self.params["gamma"].reshape(bshape) * xhat + self.params["beta"].reshape(bshape)

    def backward(self, dy):
        if self._cache is None:
            raise RuntimeError("BatchNorm.backward() called before forward()")
        xhat, inv_std, axes, bshape, training = self._cache
        dy = _check_array(dy, "dy", dtype=self.dtype)
        if dy.shape != xhat.shape:
            raise ValueError(f"dy has shape {dy.shape}, the forward output had {xhat.shape}")
        if self.affine:
            self.grads["gamma"] = (dy * xhat).sum(axis=axes)
            self.grads["beta"] = dy.sum(axis=axes)
            dxhat = dy * self.params["gamma"].reshape(bshape)
        else:
            dxhat = dy
        if not training:  # fixed statistics: an elementwise affine map
            return dxhat * inv_std
        return _normalize_backward(dxhat, xhat, inv_std, axes)

    def __repr__(self):
        return f"BatchNorm({self.num_features}, eps={self.eps:g}, momentum={self.momentum})"


class LayerNorm(Layer):
    """Layer normalization of Ba, Kiros & Hinton (2016) over the last axis.

    Each example (each row of an ``(N, F)`` input, or each position of an ``(..., F)``
    input) is standardized over its ``F`` features with its own mean and biased
    variance, the same in training and evaluation, then scaled by ``γ`` and shifted by
    ``β`` (per feature), as PyTorch's ``LayerNorm(F)``. It keeps no running statistics
    and does not depend on the batch.

    Parameters
    ----------
    num_features : int
        ``F``, the size of the last axis.
    eps : float, default 1e-5
    elementwise_affine : bool, default True
        Learnable ``γ`` (init 1) and ``β`` (init 0) in ``params``.
    dtype : numpy.float64 (default) or numpy.float32
        Precision of ``γ`` and ``β``; inputs and ``dy`` are cast to it.
    """

    def __init__(self, num_features, *, eps=1e-5, elementwise_affine: bool = True,
                 dtype=np.float64):  # fmt: skip
        super().__init__()
        self.num_features = positive_int(num_features, "num_features")
        self.dtype = _float_dtype(dtype)
        self.eps = _eps(eps)
        if not isinstance(elementwise_affine, bool):
            raise TypeError(f"elementwise_affine must be True or False, got {elementwise_affine!r}")
        self.affine = elementwise_affine
        if self.affine:
            self.params["gamma"] = np.ones(self.num_features, dtype=self.dtype)
            self.params["beta"] = np.zeros(self.num_features, dtype=self.dtype)
        self._cache = None

    def forward(self, x, training=True):
        x = _check_array(x, "LayerNorm input", dtype=self.dtype)
        if x.ndim < 2 or x.shape[-1] != self.num_features:
            raise ValueError(
                f"LayerNorm input must be (N, ..., F) with F = num_features = "
                f"{self.num_features}, got shape {x.shape}"
            )
        mean = x.mean(axis=-1, keepdims=True)
        inv_std = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        xhat = (x - mean) * inv_std
        self._cache = (xhat, inv_std)
        if not self.affine:
            return xhat
        return self.params["gamma"] * xhat + self.params["beta"]

    def backward(self, dy):
        if self._cache is None:
            raise RuntimeError("LayerNorm.backward() called before forward()")
        xhat, inv_std = self._cache
        dy = _check_array(dy, "dy", dtype=self.dtype)
        if dy.shape != xhat.shape:
            raise ValueError(f"dy has shape {dy.shape}, the forward output had {xhat.shape}")
        if self.affine:
            lead = tuple(range(dy.ndim - 1))
            self.grads["gamma"] = (dy * xhat).sum(axis=lead)
            self.grads["beta"] = dy.sum(axis=lead)
            dxhat = dy * self.params["gamma"]
        else:
            dxhat = dy
        return _normalize_backward(dxhat, xhat, inv_std, (dy.ndim - 1,))

    def __repr__(self):
        return f"LayerNorm({self.num_features}, eps={self.eps:g})"
