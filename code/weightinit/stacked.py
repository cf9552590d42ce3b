"""Train the networks of several seeds at once, vectorized over a leading seed axis.

A comparison over seeds trains ``S`` copies of one small architecture, each with its own
initial weights (``build(seed)``) and its own minibatch order (``rng=seed``). Trained one
after the other, every step of every seed pays Python's per-call overhead (argument checks,
small temporaries) in every layer and in the optimizer. Here the ``S`` networks become one
*stacked* network: each parameter is an ``(S, ...)`` array, a dense layer is one batched
matrix product ``(S, B, n) @ (S, n, m)`` (:func:`numpy.matmul` calls the same BLAS product
per seed as the per-seed loop does), activations, pooling and the loss work elementwise over
the extra axis, and each optimizer operation updates a layer's parameters of all seeds at
once. Convolutions run seed by seed through the library's own
:class:`~weightinit.layers.Conv2D` on views of the stacked parameters: one seed's im2col
matrix is large enough for the call overhead not to matter, and the matrices of all seeds
together no longer fit in the cache (measured slower batched).

The steps are those of :func:`weightinit.training.train` (the same permutations from
``as_generator(seed)``, the same SGD/Adam update in the same order and dtype), so the
records are those of the per-seed loop (see *Equality* below). What stacking cannot remove
is the arithmetic itself: the BLAS products of a 30-layer MLP of width 128 are about half of
a float64 training step, and a convolution's im2col/GEMM/col2im is most of a small CNN's.

* :func:`why_not_stacked` -- ``None`` when a list of networks can be stacked, otherwise the
  reason (a layer type the engine does not know, different architectures, shared arrays);
* :func:`train_stacked` -- train them at once; returns a :class:`StackedRuns` with one
  :class:`~weightinit.training.History` per seed, as ``train(net, data, rng=seed,
  profile=False, ...)`` records it, and writes the trained weights back into the networks.

:func:`weightinit.compare.train_seeds` and :func:`weightinit.experiments.train_seeds` use
it when the networks allow it (their ``stacked=None``); ``stacked=False`` forces the
per-seed loop, ``stacked=True`` insists (an error says why the networks cannot be stacked).

Supported layers (exact classes: a subclass may change what a layer does)
-------------------------------------------------------------------------
:class:`~weightinit.layers.Dense`, :class:`~weightinit.mup.ScaledDense` (muP's multipliers),
:class:`~weightinit.layers.Conv2D` (any stride, padding, dilation), :class:`~weightinit.layers.ReLU`, :class:`~weightinit.layers.LeakyReLU`,
:class:`~weightinit.layers.Tanh`, :class:`~weightinit.layers.Sigmoid`,
:class:`~weightinit.layers.SELU`, :class:`~weightinit.layers.Identity`,
:class:`~weightinit.layers.Flatten`, :class:`~weightinit.layers.MaxPool2D` and
:class:`~weightinit.pooling.AvgPool2D`, in float32 or float64 (each layer keeps its dtype;
inputs are cast to a weighted layer's dtype, as in :mod:`weightinit.layers`), and
:class:`~weightinit.normalization.BatchNorm` (affine, not frozen; dense or convolutional:
the batch statistics and the running statistics per seed, updated once per step), and
:class:`~weightinit.residual.Residual` blocks (gated or not) whose branch is a plain
``Sequential`` of those layers with at least one weighted layer, nothing frozen inside
(the Fixup, zero-init-last, SkipInit/ReZero and GPT-2-style starts of
:func:`~weightinit.residual.residual_mlp`, with or without BatchNorm). Anything else
(LayerNorm, a block inside a block, a frozen-layer subclass, a layer whose methods were
replaced on the instance) is reported by :func:`why_not_stacked`.

Frozen layers (``layer.trainable = False``, see :class:`~weightinit.layers.Layer`) are
honoured as by the optimizers of :mod:`weightinit.training`: their parameters are not
updated, and they pass the gradient on to the layers below. The engine also skips the
work nobody uses: no weight gradients for a frozen layer, and no backward pass at all
below the lowest trainable layer (the loop computes both and throws them away, so the
records are the same).

Divergence, per seed
--------------------
As in ``train``: a seed whose network output is not finite (the activations overflowed,
``NonFiniteError`` in the loop) or whose loss is not finite stops before that step's
update; a seed whose parameters are not finite after an update stops after it; a seed
whose evaluation overflows stops there. The seed is then removed from the stack (its
parameters at that moment are what is written back) and the others go on unaffected:
every operation is independent per seed.

Equality with the per-seed loop
-------------------------------
Every operation is the loop's operation on the same numbers: the same BLAS product per
seed (``matmul`` on a stack calls the GEMM of each slice, with the same shapes and
transpositions), the same elementwise formulas, reductions over the same contiguous axes,
the same evaluation chunks of 512 examples, the convolutions through the same code. On the
course's networks the records and weights are therefore bitwise identical to the loop's
(``tests/test_stacked.py`` checks it, with a tolerance of 1e-12 relative to allow a BLAS
that picks another kernel for a batched product; none did here).
"""

from __future__ import annotations

import contextlib
import itertools
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from ._blas import one_blas_thread
from ._validate import boolean, choice, positive_int
from .data import Dataset
from .initializers import as_generator
from .layers import (
    _NETWORK,
    SELU,
    Conv2D,
    Dense,
    Flatten,
    Identity,
    LeakyReLU,
    MaxPool2D,
    NonFiniteError,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    _spread,
    softmax_cross_entropy,
)
from .mup import ScaledDense
from .normalization import BatchNorm, _running_update
from .pooling import AvgPool2D
from .residual import Residual
from .training import SGD, Adam, History

__all__ = ["StackedRuns", "train_stacked", "why_not_stacked"]

#: the layer classes the engine reproduces (exact types)
SUPPORTED = (Dense, ScaledDense, Conv2D, ReLU, LeakyReLU, Tanh, Sigmoid, SELU, Identity, Flatten,
             MaxPool2D, AvgPool2D, Residual, BatchNorm)  # fmt: skip

#: the layers with a weight ``W`` and a bias ``b``
_WEIGHTED = (Dense, ScaledDense, Conv2D)

#: rows of one evaluation chunk, as :func:`weightinit.training.evaluate` (its batch_size)
EVAL_BATCH = 512

#: elements of the largest intermediate array an evaluation pass builds for all seeds
EVAL_ELEMENTS = 8 * 1024**2


# --------------------------------------------------------------------------- checking
def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _signature(layer) -> tuple:
    """What must agree between the seeds' layers at one position."""
    kind = type(layer)
    params = tuple((k, v.shape, v.dtype.str) for k, v in layer.params.items())
    if kind is Dense:
        return (kind, params, layer.dtype.str, layer.trainable)
    if kind is ScaledDense:
        return (kind, params, layer.dtype.str, layer.trainable, layer.w_mult, layer.b_mult)
    if kind is Conv2D:
        geometry = (_pair(layer.stride), _pair(layer.padding), _pair(layer.dilation))
        return (kind, params, layer.dtype.str, layer.trainable, layer.kernel_size, geometry)
    if kind is LeakyReLU:
        return (kind, layer.negative_slope)
    if kind in (MaxPool2D, AvgPool2D):
        return (kind, layer.size)
    if kind is BatchNorm:
        return (kind, params, layer.dtype.str, layer.eps, layer.momentum,
                layer.num_batches_tracked)  # fmt: skip
    if kind is Residual:
        branch = tuple(_signature(inner) for inner in layer.branch.layers)
        return (kind, layer.dtype.str, layer.gated, branch)
    return (kind,)


def _layer_problem(layer, i: int) -> str | None:
    kind = type(layer)
    if kind not in SUPPORTED:
        base = [c.__name__ for c in SUPPORTED if isinstance(layer, c)]
        what = f"a subclass of {base[0]}" if base else "not a layer the engine knows"
        return (
            f"layer {i} is {kind.__name__} ({what}); the stacked engine supports exactly "
            f"{', '.join(c.__name__ for c in SUPPORTED)}"
        )
    # an activation's _f/_df are its function and derivative (a Residual's _f is its
    # cached branch output)
    methods = {"forward", "backward"} | (set() if kind is Residual else {"_f", "_df"})
    overridden = sorted(set(vars(layer)) & methods)
    if overridden:
        return f"layer {i} ({kind.__name__}) has {overridden} replaced on the instance"
    if kind is Residual:
        return _block_problem(layer, i)
    if kind is BatchNorm:
        if not layer.affine or set(layer.params) != {"gamma", "beta"}:
            return f"layer {i} (BatchNorm) has no affine parameters gamma and beta"
        if not layer.trainable:
            return f"layer {i} (BatchNorm) is frozen"
        arrays = [*layer.params.values(), layer.running_mean, layer.running_var]
        if any(not isinstance(a, np.ndarray) or a.dtype != layer.dtype for a in arrays):
            return (
                f"layer {i} (BatchNorm): its parameters or statistics are not {layer.dtype} arrays"
            )
        return None
    if kind in _WEIGHTED:
        if set(layer.params) != {"W", "b"}:
            return f"layer {i} ({kind.__name__}) has parameters {sorted(layer.params)}, not W and b"
        for name, p in layer.params.items():
            if not isinstance(p, np.ndarray) or p.dtype != layer.dtype:
                return f"layer {i} ({kind.__name__}): parameter {name} is not a {layer.dtype} array"
    elif layer.params:
        return f"layer {i} ({kind.__name__}) has parameters {sorted(layer.params)}"
    return None


def _block_problem(block, i) -> str | None:
    """What keeps the residual block at position ``i`` from being stacked, or ``None``."""
    branch = block.branch
    if type(branch) is not Sequential or {"forward", "backward"} & set(vars(branch)):
        return f"layer {i} (Residual): its branch is not a plain Sequential"
    if not block.trainable or not all(inner.trainable for inner in branch.layers):
        return f"layer {i} (Residual) is frozen or has a frozen layer in its branch"
    if block.gated and (not isinstance(block._gate, np.ndarray) or block._gate.dtype != block.dtype
                        or block._gate.shape != (1,)):  # fmt: skip
        return f"layer {i} (Residual): its gate is not a ({block.dtype},) array of shape (1,)"
    if any(type(inner) is Residual for inner in branch.layers):
        return f"layer {i} (Residual) has a residual block in its branch"
    if not any(type(inner) in _WEIGHTED for inner in branch.layers):
        return f"layer {i} (Residual): its branch has no weighted layer"
    for j, inner in enumerate(branch.layers):
        problem = _layer_problem(inner, j)
        if problem:
            return f"in the branch of layer {i} (Residual): {problem}"
    return None


def why_not_stacked(nets) -> str | None:
    """Why the networks ``nets`` cannot be trained stacked, or ``None`` if they can.

    They can when every one is a :class:`~weightinit.layers.Sequential` (not a subclass)
    of the supported layers (see the module docstring), all with the same architecture
    (layer types, sizes, kernel geometry, slopes, dtypes), and no two of them share a
    layer or a parameter's memory (the per-seed loop would train a shared array twice).

    Parameters
    ----------
    nets : sequence of Sequential
        One network per seed, at least one.

    Returns
    -------
    str or None
    """
    if isinstance(nets, (str, bytes)) or not isinstance(nets, Sequence):
        raise TypeError(
            f"nets must be a sequence of Sequential networks, got {type(nets).__name__}"
        )
    if len(nets) == 0:
        raise ValueError("nets must hold at least one network, got an empty sequence")
    for k, net in enumerate(nets):
        if not isinstance(net, Sequential):
            raise TypeError(f"nets[{k}] must be a weightinit Sequential, got {type(net).__name__}")
    for k, net in enumerate(nets):
        if type(net) is not Sequential:
            return f"nets[{k}] is {type(net).__name__}, a subclass of Sequential"
        if "forward" in vars(net) or "backward" in vars(net):
            return f"nets[{k}] has forward/backward replaced on the instance"
        if not any("W" in layer.params for layer in net.layers):
            return f"nets[{k}] has no weighted layer (nothing to train)"
        if not any("W" in layer.params and layer.trainable for layer in net.layers):
            return f"nets[{k}] has no trainable weighted layer (all are frozen: nothing to train)"
    for i, layer in enumerate(nets[0].layers):
        problem = _layer_problem(layer, i)
        if problem:
            return problem
    reference = [_signature(layer) for layer in nets[0].layers]
    for k, net in enumerate(nets[1:], start=1):
        if len(net.layers) != len(reference):
            return f"nets[{k}] has {len(net.layers)} layers, nets[0] has {len(reference)}"
        for i, layer in enumerate(net.layers):
            problem = _layer_problem(layer, i)
            if problem:
                return f"nets[{k}]: {problem}"
            if _signature(layer) != reference[i]:
                return f"nets[{k}] differs from nets[0] at layer {i} ({type(layer).__name__})"
    seen_layers, seen_arrays = set(), set()
    for net in nets:
        for layer in net.layers:
            if id(layer) in seen_layers:
                return "two networks (or two positions) share a layer object"
            seen_layers.add(id(layer))
            for p in layer.params.values():
                root = p
                while isinstance(root.base, np.ndarray):  # views of one buffer count as shared
                    root = root.base
                if id(root) in seen_arrays:
                    return "two parameters share memory (the same array, or views of one)"
                seen_arrays.add(id(root))
    return None


# --------------------------------------------------------------------------- stacked layers
# Every stacked layer takes an input with ``lead`` batch axes in front: 2 for (S, B, ...)
# (each seed its own batch) or 1 for (B, ...) (one batch shared by every seed, in
# evaluation, until the first weighted layer adds the seed axis). The formulas repeat those
# of weightinit.layers operation by operation, so that the results are the same numbers.
class _Stacked:
    weighted = False

    def forward(self, x, lead: int, keep: bool, seeds: slice):
        raise NotImplementedError  # pragma: no cover

    def backward(self, dy):
        raise NotImplementedError  # pragma: no cover

    def named_params(self):
        """``(name, stacked parameter)`` of a layer with parameters, named as in the
        layer's ``params``."""
        return []

    def updates(self):
        """``(name, stacked parameter, its gradient)`` after a backward pass."""
        return [(name, p, self.grads[name]) for name, p in self.named_params()]


class _Weighted(_Stacked):
    """A layer with a weight ``W`` and a bias ``b``, each stacked to ``(S, ...)``."""

    weighted = True

    def __init__(self, layers):
        self.dtype = layers[0].dtype
        self.params = {k: np.stack([lay.params[k] for lay in layers]) for k in ("W", "b")}
        self.grads: dict[str, np.ndarray] = {}
        self.trainable = layers[0].trainable  # False: frozen, dx only, no weight gradients
        self.need_dx = True  # False for the lowest trainable layer: nothing uses its dx
        #: per seed, whether every parameter is finite (checked once for a frozen layer:
        #: its parameters never change)
        self.finite = np.array([all(np.isfinite(p).all() for p in lay.params.values())
                                for lay in layers])  # fmt: skip

    def keep(self, rows) -> None:
        self.params = {k: v[rows] for k, v in self.params.items()}
        self.grads = {}
        self.finite = self.finite[rows]

    def _grad_buffer(self, name, shape):
        """The array the gradient ``name`` is written into (reused from step to step; the
        optimizer uses it as scratch space once it has read it)."""
        g = self.grads.get(name)
        if g is None or g.shape != shape:
            g = self.grads[name] = np.empty(shape, dtype=self.dtype)
        return g

    def named_params(self):
        return [("W", self.params["W"]), ("b", self.params["b"])]


class _SDense(_Weighted):
    def forward(self, x, lead, keep, seeds):
        x = x.astype(self.dtype, copy=False)
        y = np.matmul(x, self.params["W"][seeds].transpose(0, 2, 1))  # x W^T, GEMM per seed
        y += self.params["b"][seeds, None, :]
        if keep:
            self._x = x
        return y

    def backward(self, dy):
        w, x = self.params["W"], self._x
        if not self.trainable:
            return np.matmul(dy, w)
        np.matmul(dy.transpose(0, 2, 1), x, out=self._grad_buffer("W", w.shape))
        np.sum(dy, axis=1, out=self._grad_buffer("b", self.params["b"].shape))
        return np.matmul(dy, w) if self.need_dx else None


class _SScaledDense(_SDense):
    """:class:`~weightinit.mup.ScaledDense`: ``y = m_w · x Wᵀ + m_b · b``, its gradients
    multiplied by the same constants, in the layer's order of operations."""

    def __init__(self, layers):
        super().__init__(layers)
        self.w_mult, self.b_mult = layers[0].w_mult, layers[0].b_mult

    def forward(self, x, lead, keep, seeds):
        x = x.astype(self.dtype, copy=False)
        y = np.matmul(x, self.params["W"][seeds].transpose(0, 2, 1))
        y *= self.w_mult  # m_w * (x W^T): one rounding per entry, as in the layer
        y += self.b_mult * self.params["b"][seeds, None, :]
        if keep:
            self._x = x
        return y

    def backward(self, dy):
        w, x = self.params["W"], self._x
        gw = np.matmul(dy.transpose(0, 2, 1), x, out=self._grad_buffer("W", w.shape))
        gw *= self.w_mult
        gb = np.sum(dy, axis=1, out=self._grad_buffer("b", self.params["b"].shape))
        gb *= self.b_mult
        return self.w_mult * np.matmul(dy, w) if self.need_dx else None


class _SConv(_Weighted):
    """Conv2D: the parameters stacked (for the optimizer), the convolution itself run seed
    by seed through the library's own :class:`~weightinit.layers.Conv2D`, on views of the
    stacked parameters.

    A convolution's im2col matrix of one seed (``C_in*kh*kw`` times the input) is already
    large enough for the per-call overhead not to matter, and the matrices of all seeds
    together no longer fit in the cache: per seed was measured faster than one batched
    product. It also runs exactly the library's arithmetic.
    """

    def __init__(self, layers):
        super().__init__(layers)
        t = layers[0]
        self.make = dict(kernel_size=t.kernel_size, stride=t.stride, padding=t.padding,
                         dilation=t.dilation, weight_init="zeros", rng=0, dtype=t.dtype)  # fmt: skip
        self.shape = (t.in_channels, t.out_channels)
        self.convs = [Conv2D(*self.shape, **self.make) for _ in layers]
        self._attach()

    def _attach(self) -> None:
        for k, conv in enumerate(self.convs):
            conv.params = {"W": self.params["W"][k], "b": self.params["b"][k]}

    def keep(self, rows) -> None:
        super().keep(rows)
        self.convs = [c for c, k in zip(self.convs, rows, strict=True) if k]
        self._attach()

    def forward(self, x, lead, keep, seeds):
        ys = [conv.forward(x if lead == 1 else x[k], training=keep)
              for k, conv in enumerate(self.convs[seeds])]  # fmt: skip
        return np.stack(ys)

    def backward(self, dy):
        if not self.trainable:  # frozen: the input gradient only (never the lowest layer)
            return np.stack([conv.backward(dy[k]) for k, conv in enumerate(self.convs)])
        gw = self._grad_buffer("W", self.params["W"].shape)
        gb = self._grad_buffer("b", self.params["b"].shape)
        dxs = []
        for k, conv in enumerate(self.convs):
            dx = conv.backward(dy[k])
            gw[k], gb[k] = conv.grads["W"], conv.grads["b"]
            dxs.append(dx)
        return np.stack(dxs) if self.need_dx else None


class _SReLU(_Stacked):
    def forward(self, x, lead, keep, seeds):
        if keep:
            self._mask = x > 0
        return np.maximum(x, 0.0)

    def backward(self, dy):  # dy * (x > 0).astype(dtype): the same products
        return dy * self._mask


class _SLeaky(_Stacked):
    def __init__(self, layer):
        self.slope = layer.negative_slope

    def forward(self, x, lead, keep, seeds):
        if keep:
            self._x = x
        return np.where(x > 0, x, self.slope * x)

    def backward(self, dy):
        x = self._x
        return dy * np.where(x > 0, 1.0, self.slope).astype(x.dtype, copy=False)


class _STanh(_Stacked):
    def forward(self, x, lead, keep, seeds):
        y = np.tanh(x)
        if keep:
            self._y = y
        return y

    def backward(self, dy):
        return dy * (1.0 - self._y**2)


class _SSigmoid(_Stacked):
    def forward(self, x, lead, keep, seeds):
        y = expit(x)
        if keep:
            self._y = y
        return y

    def backward(self, dy):
        y = self._y
        return dy * (y * (1.0 - y))


class _SSELU(_Stacked):
    def __init__(self, layer):
        self.alpha, self.scale = layer.alpha, layer.scale

    def forward(self, x, lead, keep, seeds):
        if keep:
            self._x = x
        return self.scale * np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0.0)))

    def backward(self, dy):
        x = self._x
        return dy * (self.scale * np.where(x > 0, 1.0, self.alpha * np.exp(np.minimum(x, 0.0))))


class _SIdentity(_Stacked):
    def forward(self, x, lead, keep, seeds):
        return x

    def backward(self, dy):  # dy * ones_like(x) is dy
        return dy


class _SFlatten(_Stacked):
    def forward(self, x, lead, keep, seeds):
        if keep:
            self._shape = x.shape
        return x.reshape(*x.shape[:lead], -1)

    def backward(self, dy):
        return dy.reshape(self._shape)


class _SPool(_Stacked):
    """Both poolings, with the seed axis folded into the batch: ``(S*B, C, H, W)``."""

    def __init__(self, layer):
        self.size = layer.size
        self.average = type(layer) is AvgPool2D

    def forward(self, x, lead, keep, seeds):
        front = x.shape[:lead]
        x4 = x.reshape(-1, *x.shape[lead:])
        n, c, h, w = x4.shape
        s = self.size  # no larger than the input: the networks ran once (_check_output)
        ho, wo = h // s, w // s
        blocks = x4[:, :, : ho * s, : wo * s].reshape(n, c, ho, s, wo, s)
        if self.average:
            y = blocks.mean(axis=(3, 5))
        else:
            y = blocks[:, :, :, 0, :, 0].copy()
            for i, j in itertools.product(range(s), range(s)):
                np.maximum(y, blocks[:, :, :, i, :, j], out=y)
            if keep:  # blocks == y[:, :, :, None, :, None], by one contiguous comparison
                # with y spread over its windows (as MaxPool2D does: the same booleans)
                self._mask = blocks == _spread(y, s).reshape(blocks.shape)
        if keep:
            self._shape = x.shape
        return y.reshape(*front, c, ho, wo)

    def backward(self, dy):
        shape = self._shape
        dy4 = dy.reshape(-1, *dy.shape[-3:])
        n, c, ho, wo = dy4.shape
        s = self.size
        if self.average:
            g = np.broadcast_to(dy4[:, :, :, None, :, None] / (s * s), (n, c, ho, s, wo, s))
        else:  # mask * dy[:, :, :, None, :, None], in dy spread over the windows (the
            # same products, as MaxPool2D.backward computes them)
            g = _spread(dy4, s)
            g *= self._mask.reshape(g.shape)
            g = g.reshape(self._mask.shape)
        h, w = shape[-2:]
        if (ho * s, wo * s) == (h, w):
            return g.reshape(shape)
        dx = np.zeros((n, c, h, w), dtype=g.dtype)
        dx[:, :, : ho * s, : wo * s] = g.reshape(n, c, ho * s, wo * s)
        return dx.reshape(shape)


class _SBatchNorm(_Stacked):
    """:class:`~weightinit.normalization.BatchNorm` (affine): ``γ``, ``β`` and the running
    statistics stacked to ``(S, F)``. The statistics of a batch and the sums of the backward
    pass are taken seed by seed with the layer's own reductions (the same sums in the same
    order); everything else is the layer's elementwise formulas on the stacks.

    A training-mode forward pass updates the running statistics; :meth:`rewind` takes
    them back to before the last one, for the engine's second forward pass of a step
    after a seed has stopped (each seed's statistics are updated once per step, as by
    ``train``)."""

    weighted = True  # has parameters (and its output has the seed axis)
    trainable = True  # frozen BatchNorm layers are not stacked

    def __init__(self, layers):
        first = layers[0]
        self.dtype, self.eps, self.momentum = first.dtype, first.eps, first.momentum
        self.params = {k: np.stack([lay.params[k] for lay in layers]) for k in ("gamma", "beta")}
        self.running_mean = np.stack([lay.running_mean for lay in layers])
        self.running_var = np.stack([lay.running_var for lay in layers])
        self.count = first.num_batches_tracked
        self._before = None
        self.grads: dict[str, np.ndarray] = {}
        self.need_dx = True

    def _shape(self, x, lead):
        """The axes reduced within one seed's array, and the shape that broadcasts an
        ``(S, F)`` stack against the ``(S, N, F)`` or ``(S, N, C, H, W)`` input."""
        per_seed = x.ndim - (lead - 1)  # the dims of one seed's (N, F) or (N, C, H, W)
        axes = (0,) if per_seed == 2 else (0, 2, 3)
        return axes, (-1, 1, x.shape[-1]) if per_seed == 2 else (-1, 1, x.shape[-3], 1, 1)

    def forward(self, x, lead, keep, seeds):
        x = x.astype(self.dtype, copy=False)
        axes, bshape = self._shape(x, lead)
        if keep:  # training mode (lead 2: each seed its batch)
            n = int(np.prod([x.shape[1 + a] for a in axes]))
            mean = np.stack([x[k].mean(axis=axes) for k in range(len(x))])
            var = np.stack([x[k].var(axis=axes) for k in range(len(x))])
            self._before = (self.running_mean, self.running_var, self.count)
            self.count += 1
            m = self.momentum if self.momentum is not None else 1.0 / self.count
            self.running_mean, self.running_var = _running_update(
                self.running_mean, self.running_var, mean, var, m, n, self.dtype
            )
        else:
            mean, var = self.running_mean[seeds], self.running_var[seeds]
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(self.dtype).reshape(bshape)
        xhat = (x - mean.reshape(bshape)) * inv_std
        if keep:
            self._cache = (xhat, inv_std, axes, n)
        gamma, beta = self.params["gamma"][seeds], self.params["beta"][seeds]
        return gamma.reshape(bshape) * xhat + beta.reshape(bshape)

    def rewind(self) -> None:
        """Undo the running statistics' update of the last training-mode forward pass."""
        self.running_mean, self.running_var, self.count = self._before

    def backward(self, dy):
        dy = dy.astype(self.dtype, copy=False)  # as the layer casts dy
        xhat, inv_std, axes, n = self._cache
        bshape = inv_std.shape
        seeds = range(len(dy))
        self.grads["gamma"] = np.stack([(dy[k] * xhat[k]).sum(axis=axes) for k in seeds])
        self.grads["beta"] = np.stack([dy[k].sum(axis=axes) for k in seeds])
        dxhat = dy * self.params["gamma"].reshape(bshape)
        # normalization's backward: inv_std/n * (n*dxhat - sum(dxhat) - xhat*sum(dxhat*xhat))
        s1 = np.stack([dxhat[k].sum(axis=axes, keepdims=True) for k in seeds])
        s2 = np.stack([(dxhat[k] * xhat[k]).sum(axis=axes, keepdims=True) for k in seeds])
        return inv_std / n * (n * dxhat - s1 - xhat * s2)

    def named_params(self):
        return [("gamma", self.params["gamma"]), ("beta", self.params["beta"])]

    def keep(self, rows) -> None:
        self.params = {k: v[rows] for k, v in self.params.items()}
        self.running_mean, self.running_var = self.running_mean[rows], self.running_var[rows]
        if self._before is not None:
            rm, rv, count = self._before
            self._before = (rm[rows], rv[rows], count)
        self.grads = {}

    def write(self, layer, row: int) -> None:
        """Copy seed ``row``'s running statistics into the BatchNorm layer ``layer``."""
        layer.running_mean = self.running_mean[row].copy()
        layer.running_var = self.running_var[row].copy()
        layer.num_batches_tracked = self.count


class _SResidual(_Stacked):
    """:class:`~weightinit.residual.Residual`: ``y = x + g·F(x)``, the branch ``F`` stacked
    layer by layer, the gate ``g`` (when learnable) an ``(S, 1)`` stack. The block's
    operations are the layer's: ``g·F(x)`` with ``g`` the seed's scalar, the gate's gradient
    ``Σ dy·F(x)`` summed seed by seed over the same contiguous array, and the branch's
    input gradient from ``g·dy``. Its parameters are named as in ``Residual.params``
    (``"branch.{j}.W"``, ``"gate"``), so the optimizers treat them alike (no weight decay
    inside a block)."""

    weighted = True  # has parameters, and its output has the seed axis
    trainable = True  # frozen blocks are not stacked (_block_problem)

    def __init__(self, blocks):
        first = blocks[0]
        self.dtype = first.dtype
        self.branch = [_stack_layer([b.branch.layers[j] for b in blocks])
                       for j in range(len(first.branch.layers))]  # fmt: skip
        self.gated = first.gated
        self.params = {"gate": np.stack([b._gate for b in blocks])} if self.gated else {}
        self.grads: dict[str, np.ndarray] = {}
        self.need_dx = True  # unused: the block's input gradient is always computed

    def _gate_for(self, f, seeds=slice(None)):
        g = self.params["gate"][seeds]
        return g.reshape(len(g), *(1,) * (f.ndim - 1))

    def forward(self, x, lead, keep, seeds):
        f = x
        for layer in self.branch:
            f = layer.forward(f, lead, keep, seeds)
            if layer.weighted:
                lead = 2
        if keep:
            self._f = f
        if not self.gated:
            return x + 1.0 * f  # the layer's x + gate * f, gate = 1.0
        return x + self._gate_for(f, seeds) * f

    def backward(self, dy):
        f = self._f
        if self.gated:
            # the layer's np.sum(dy * f), seed by seed: the same pairwise sum
            self.grads["gate"] = np.array([[np.sum(dy[k] * f[k])] for k in range(len(dy))],
                                          dtype=self.dtype)  # fmt: skip
            d = self._gate_for(f) * dy
        else:
            d = 1.0 * dy
        for layer in reversed(self.branch):
            d = layer.backward(d)
        return dy + d

    def named_params(self):
        out = [(f"branch.{j}.{name}", p) for j, layer in enumerate(self.branch)
               if layer.weighted for name, p in layer.named_params()]  # fmt: skip
        return [*out, ("gate", self.params["gate"])] if self.gated else out

    def updates(self):
        out = [(f"branch.{j}.{name}", p, g) for j, layer in enumerate(self.branch)
               if layer.weighted for name, p, g in layer.updates()]  # fmt: skip
        return [*out, ("gate", self.params["gate"], self.grads["gate"])] if self.gated else out

    def keep(self, rows) -> None:
        for layer in self.branch:
            if layer.weighted:
                layer.keep(rows)
        self.params = {k: v[rows] for k, v in self.params.items()}
        self.grads = {}


def _stack_layer(layers):
    kind = type(layers[0])
    if kind is Dense:
        return _SDense(layers)
    if kind is ScaledDense:
        return _SScaledDense(layers)
    if kind is Conv2D:
        return _SConv(layers)
    if kind is Residual:
        return _SResidual(layers)
    if kind is BatchNorm:
        return _SBatchNorm(layers)
    simple = {ReLU: _SReLU, Tanh: _STanh, Sigmoid: _SSigmoid, Identity: _SIdentity,
              Flatten: _SFlatten}  # fmt: skip
    if kind in simple:
        return simple[kind]()
    if kind is LeakyReLU:
        return _SLeaky(layers[0])
    if kind is SELU:
        return _SSELU(layers[0])
    return _SPool(layers[0])  # MaxPool2D, AvgPool2D


class _StackedNet:
    """The seeds' networks as one: each parameter an ``(S, ...)`` array."""

    def __init__(self, nets, probe):
        self.layers = [_stack_layer([net.layers[i] for net in nets])
                       for i in range(len(nets[0].layers))]  # fmt: skip
        # the backward pass stops at the lowest trainable layer (below it, nothing to update)
        self.first = next(i for i, lay in enumerate(self.layers)
                          if lay.weighted and lay.trainable)  # fmt: skip
        self.layers[self.first].need_dx = False
        #: elements per example and seed of the largest array of a forward pass
        self.per_example = 1
        self.forward(probe, 1, keep=False)

    def forward(self, x, lead: int, keep: bool = True, seeds: slice = slice(None)):
        """``x``: ``(S, B, ...)`` (``lead=2``) or one batch for every seed (``lead=1``);
        ``keep``: keep what backward needs; ``seeds``: a slice of the stack to run."""
        widest = x[0].size
        for layer in self.layers:
            x = layer.forward(x, lead, keep, seeds)
            if layer.weighted:
                lead = 2
            widest = max(widest, x[(0,) * lead].size)
        self.per_example = max(self.per_example, widest)
        return x

    def backward_step(self, dy, opt) -> np.ndarray:
        """Backward pass with the optimizer's update of each layer as soon as its gradients
        are known (while they are in the cache; the input gradient is computed first, from
        the weights before the update). Returns, per seed, whether every parameter is
        still finite."""
        opt.begin_step()
        ok = np.ones(len(dy), dtype=bool)
        for layer in self.layers:
            if layer.weighted and not layer.trainable:
                ok &= layer.finite  # what the loop's check of every parameter sees
        for i in range(len(self.layers) - 1, self.first - 1, -1):
            layer = self.layers[i]
            dy = layer.backward(dy)
            if layer.weighted and layer.trainable:
                for name, p, g in layer.updates():
                    opt.update((i, name), name, p, g)
                    flat = p.reshape(len(p), -1)
                    # a finite sum means finite entries; an overflowing sum of finite
                    # entries is told apart entry by entry
                    good = np.isfinite(flat.sum(axis=1))
                    if not good.all():
                        good |= np.isfinite(flat).all(axis=1)
                    ok &= good
        return ok

    def norms(self):
        """``(path, stacked BatchNorm)``: ``(i,)`` for layer ``i``, ``(i, j)`` for layer
        ``j`` of the branch of the residual block at ``i``."""
        for i, layer in enumerate(self.layers):
            if isinstance(layer, _SBatchNorm):
                yield (i,), layer
            elif isinstance(layer, _SResidual):
                for j, inner in enumerate(layer.branch):
                    if isinstance(inner, _SBatchNorm):
                        yield (i, j), inner

    def rewind(self) -> None:
        """Take the running statistics back to before the last training-mode forward."""
        for _, norm in self.norms():
            norm.rewind()

    def parameters(self):
        for i, layer in enumerate(self.layers):
            if layer.weighted:
                for name, p in layer.named_params():
                    yield (i, name), p

    def keep(self, rows) -> None:
        for layer in self.layers:
            if layer.weighted:
                layer.keep(rows)


# --------------------------------------------------------------------------- optimizers
class _StackedSGD:
    """:class:`weightinit.training.SGD`'s update on stacks: the same operations in the
    same order (in place, with the gradient's buffer as scratch: ``lr * v`` and
    ``v * lr`` are the same number)."""

    def __init__(self, opt: SGD):
        self.lr, self.momentum, self.weight_decay = opt.lr, opt.momentum, opt.weight_decay
        self.velocity: dict = {}

    def keep(self, rows) -> None:
        self.velocity = {k: v[rows] for k, v in self.velocity.items()}

    def begin_step(self) -> None:
        pass

    def update(self, key, name, p, g) -> None:
        if self.weight_decay and name == "W":
            g = g + self.weight_decay * p
        v = self.velocity.get(key)
        if v is None:
            v = self.velocity[key] = g.copy()
        else:
            v *= self.momentum
            v += g
        np.multiply(v, self.lr, out=g)
        p -= g


class _StackedAdam:
    """:class:`weightinit.training.Adam`'s update on stacks: the same operations in the
    same order, in place (the products are commutative, the sums in the same order)."""

    def __init__(self, opt: Adam):
        self.lr, self.beta1, self.beta2 = opt.lr, opt.beta1, opt.beta2
        self.eps, self.weight_decay = opt.eps, opt.weight_decay
        self.t = 0
        self.m: dict = {}
        self.v: dict = {}
        self.scratch: dict = {}

    def keep(self, rows) -> None:
        self.m = {k: v[rows] for k, v in self.m.items()}
        self.v = {k: v[rows] for k, v in self.v.items()}
        self.scratch = {}

    def begin_step(self) -> None:
        self.t += 1
        self.c1 = 1.0 - self.beta1**self.t
        self.c2 = 1.0 - self.beta2**self.t

    def update(self, key, name, p, g) -> None:
        b1, b2 = self.beta1, self.beta2
        if self.weight_decay and name == "W":
            g = g + self.weight_decay * p
        m, v = self.m.get(key), self.v.get(key)
        tmp = self.scratch.get(key)
        if tmp is None:
            tmp = self.scratch[key] = np.empty_like(p)
        if m is None:  # m = (1 - b1) g, v = (1 - b2) g g
            m = self.m[key] = (1 - b1) * g
            v = self.v[key] = (1 - b2) * g * g
        else:  # m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g g
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(g, 1 - b2, out=tmp)
            tmp *= g
            v += tmp
        # p -= lr (m / c1) / (sqrt(v / c2) + eps)
        np.divide(v, self.c2, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.eps
        np.divide(m, self.c1, out=g)
        g *= self.lr
        g /= tmp
        p -= g


# --------------------------------------------------------------------------- the loss
def _cross_entropy(logits, labels):
    """:func:`weightinit.layers.softmax_cross_entropy` per seed: ``(loss (S,), grad)``."""
    n_seeds, batch = labels.shape
    z = logits - logits.max(axis=2, keepdims=True)
    logsumexp = np.log(np.exp(z).sum(axis=2))
    rows, cols = np.arange(n_seeds)[:, None], np.arange(batch)[None, :]
    loss = np.mean(logsumexp - z[rows, cols, labels], axis=1)
    grad = np.exp(z - logsumexp[:, :, None])
    grad[rows, cols, labels] -= 1.0
    return loss, grad / batch


def _chunk_loss(logits, labels):
    """Per seed: the mean loss of one evaluation chunk (as ``softmax_cross_entropy``) and
    the number of correct predictions."""
    z = logits - logits.max(axis=2, keepdims=True)
    logsumexp = np.log(np.exp(z).sum(axis=2))
    picked = np.take_along_axis(z, np.broadcast_to(labels, z.shape[:2])[..., None], axis=2)
    loss = np.mean(logsumexp - picked[..., 0], axis=1)
    correct = np.sum(logits.argmax(axis=2) == labels, axis=1)
    return loss, correct


@contextlib.contextmanager
def _ieee():
    """What :class:`~weightinit.layers.Sequential` does around its layers: intermediate
    values follow IEEE arithmetic (no finiteness check inside the network, no warnings);
    the network's output is checked instead."""
    inside = getattr(_NETWORK, "inside", False)
    _NETWORK.inside = True
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            yield
    finally:
        _NETWORK.inside = inside


# --------------------------------------------------------------------------- records
@dataclass
class StackedRuns:
    """What :func:`train_stacked` returns.

    ``histories[k]`` is what ``train(nets[k], data, rng=seeds[k], profile=False, ...)``
    records (``train_loss``/``train_acc`` and ``test_loss``/``test_acc`` for the splits
    evaluated, ``step_loss``, ``diverged``, ``diverged_at_step``; no profiles).
    ``epochs_done[k]`` counts the epochs whose steps all ran with finite parameters (an
    epoch whose evaluation then overflowed counts; the one in which the loss or the
    parameters stopped being finite does not).
    """

    seeds: tuple[int, ...]
    histories: list[History]
    epochs_done: np.ndarray


def _optimizer(name, net, lr, momentum, weight_decay, betas, eps):
    """The library's optimizer for ``nets[0]`` (its checks of the hyper-parameters), then
    its stacked twin."""
    if name == "sgd":
        return _StackedSGD(SGD(net, lr=lr, momentum=momentum, weight_decay=weight_decay))
    return _StackedAdam(Adam(net, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))


def _check_output(nets, data) -> None:
    """Raise what the per-seed loop would raise when the network does not fit the data (a
    wrong input size, too few outputs for the labels): run one example through a net."""
    for net in nets:
        try:
            out = net.forward(data.X_train[:1], training=False)
        except NonFiniteError:
            continue
        labels = np.unique(np.concatenate([data.y_train, data.y_test]))
        if out.ndim != 2:
            softmax_cross_entropy(out, data.y_train[:1])  # raises the loss's error
        softmax_cross_entropy(np.zeros((len(labels), out.shape[1]), dtype=out.dtype), labels)
        return


@one_blas_thread
def train_stacked(nets, data: Dataset, seeds, *, epochs: int, batch_size: int = 32,
                  lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 0.0,
                  optimizer: str = "sgd", betas=(0.9, 0.999), eps: float = 1e-8,
                  splits=("train", "test"), every_epoch: bool = True,
                  write_back: bool = True) -> StackedRuns:  # fmt: skip
    """Train ``nets[k]`` with the minibatch order of ``seeds[k]``, all at once.

    The result is ``[train(net, data, rng=seed, profile=False, ...) for net, seed in
    zip(nets, seeds)]`` -- the same numbers, see *Equality* in the module docstring --
    computed with one batched pass per step for all seeds.

    Parameters
    ----------
    nets : sequence of Sequential
        One network per seed, all of the same architecture and stackable
        (:func:`why_not_stacked` returns ``None``); a ``ValueError`` gives the reason
        otherwise.
    data : Dataset
    seeds : sequence of int
        One seed per network: epoch ``e`` of network ``k`` visits the training examples
        in the ``e``-th permutation of ``as_generator(seeds[k])``.
    epochs, batch_size : positive int
    lr, momentum, weight_decay, betas, eps : float
        As :class:`~weightinit.training.SGD` (``momentum``) and
        :class:`~weightinit.training.Adam` (``betas``, ``eps``); checked by them.
    optimizer : {"sgd", "adam"}
    splits : sequence of {"train", "test"}
        The data evaluated (mean loss and accuracy, as
        :func:`~weightinit.training.evaluate`) at each record, in this order; ``()``
        evaluates nothing.
    every_epoch : bool
        Record before training and after every epoch (``train``'s records); ``False``
        records only after the last epoch.
    write_back : bool
        Copy the trained parameters into ``nets`` (in place). A diverged seed gets its
        parameters of the moment it stopped, as the loop leaves them.

    Returns
    -------
    StackedRuns
    """
    if isinstance(nets, (str, bytes)) or not isinstance(nets, Sequence):
        raise TypeError(
            f"nets must be a sequence of Sequential networks, got {type(nets).__name__}"
        )
    nets = list(nets)
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a weightinit Dataset, got {type(data).__name__}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
        raise TypeError(f"seeds must be a sequence of integers, got {type(seeds).__name__}")
    seeds = tuple(seeds)
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"seeds must be integers, got {type(s).__name__} {s!r}")
    reason = why_not_stacked(nets)
    if len(seeds) != len(nets):
        raise ValueError(f"seeds must hold one seed per network ({len(nets)}), got {len(seeds)}")
    for s in seeds:
        if s < 0:
            raise ValueError(f"seeds must be non-negative integers, got {s!r}")
    gens = [as_generator(int(s)) for s in seeds]
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    optimizer = choice(optimizer, "optimizer", ("sgd", "adam"))
    if isinstance(splits, (str, bytes)) or not isinstance(splits, Sequence):
        raise TypeError(f"splits must be a sequence of 'train'/'test', got {splits!r}")
    splits = tuple(choice(s, "splits", ("train", "test")) for s in splits)
    every_epoch = boolean(every_epoch, "every_epoch")
    write_back = boolean(write_back, "write_back")
    opt = _optimizer(optimizer, nets[0], lr, momentum, weight_decay, betas, eps)
    if reason is not None:
        raise ValueError(f"nets cannot be trained stacked: {reason}")
    _check_output(nets, data)

    with _ieee():
        net = _StackedNet(nets, data.X_train[:1])
    n_seeds = len(nets)
    hists = [History() for _ in range(n_seeds)]
    done = np.zeros(n_seeds, dtype=int)
    active = np.arange(n_seeds)  # rows of the stack -> seed index
    X, y = data.X_train, data.y_train
    n = len(X)
    sets = {"train": (X, y), "test": (data.X_test, data.y_test)}

    def drop(bad, step) -> None:
        """Stop the seeds at the stack rows ``bad`` (a boolean mask) at ``step``."""
        nonlocal active
        for row in np.flatnonzero(bad):
            k = active[row]
            hists[k].diverged, hists[k].diverged_at_step = True, step
            if write_back:
                _write(nets[k], net, row)
        keep = ~bad
        net.keep(keep)
        opt.keep(keep)
        active = active[keep]

    def record(step) -> None:
        for split in splits:
            if not len(active):
                return
            loss, acc, ok = _evaluate(net, len(active), *sets[split])
            for row in np.flatnonzero(ok):
                k = active[row]
                getattr(hists[k], f"{split}_loss").append(float(loss[row]))
                getattr(hists[k], f"{split}_acc").append(float(acc[row]))
            if not ok.all():
                drop(~ok, step)

    step = 0
    with _ieee():
        if every_epoch:
            record(0)
        for epoch in range(epochs):
            if not len(active):
                break
            orders = np.stack([gens[k].permutation(n) for k in active])
            for start in range(0, n, batch_size):
                idx = orders[:, start : start + batch_size]
                xb, yb = X[idx], y[idx]
                out = net.forward(xb, 2)
                loss, dout = _cross_entropy(out, yb)
                ok = np.isfinite(out).reshape(len(out), -1).all(axis=1) & np.isfinite(loss)
                if not ok.all():
                    drop(~ok, step)
                    if not len(active):
                        break
                    orders, xb, yb = orders[ok], xb[ok], yb[ok]
                    net.rewind()  # the kept seeds' statistics: updated once per step
                    out = net.forward(xb, 2)
                    loss, dout = _cross_entropy(out, yb)
                ok = net.backward_step(dout, opt)
                for row, k in enumerate(active):
                    hists[k].step_loss.append(float(loss[row]))
                step += 1
                if not ok.all():
                    drop(~ok, step)
                    if not len(active):
                        break
                    orders = orders[ok]
            done[active] += 1
            if every_epoch or epoch == epochs - 1:
                record(step)
    if write_back:
        for row, k in enumerate(active):
            _write(nets[k], net, row)
    return StackedRuns(seeds=tuple(int(s) for s in seeds), histories=hists, epochs_done=done)


def _evaluate(net: _StackedNet, n_seeds: int, X, y):
    """Per seed: mean loss and accuracy on ``(X, y)`` as :func:`~weightinit.training.evaluate`
    computes them (chunks of 512 examples, the loss of a chunk its mean), and whether every
    output was finite. Groups of seeds keep the largest activation of a pass under
    ``EVAL_ELEMENTS`` entries."""
    n = len(X)
    group = max(1, EVAL_ELEMENTS // (EVAL_BATCH * net.per_example))
    total = np.zeros(n_seeds)
    correct = np.zeros(n_seeds, dtype=np.int64)
    ok = np.ones(n_seeds, dtype=bool)
    for first in range(0, n_seeds, group):
        rows = slice(first, min(first + group, n_seeds))
        for start in range(0, n, EVAL_BATCH):
            out = net.forward(X[start : start + EVAL_BATCH], 1, keep=False, seeds=rows)
            ok[rows] &= np.isfinite(out).reshape(len(out), -1).all(axis=1)
            loss, hits = _chunk_loss(out, y[start : start + EVAL_BATCH])
            # total += loss * len(out), with loss a Python float, as evaluate() adds up
            size = out.shape[1]
            total[rows] = [t + float(v) * size for t, v in zip(total[rows], loss, strict=True)]
            correct[rows] += hits
    return total / n, correct / n, ok


def _write(net: Sequential, stacked: _StackedNet, row: int) -> None:
    """Copy row ``row`` of the stacked parameters into ``net``'s parameter arrays, and of
    the BatchNorm layers' running statistics into its BatchNorm layers."""
    for (i, name), p in stacked.parameters():
        net.layers[i].params[name][...] = p[row]
    for path, norm in stacked.norms():
        layer = net.layers[path[0]]
        norm.write(layer if len(path) == 1 else layer.branch.layers[path[1]], row)
