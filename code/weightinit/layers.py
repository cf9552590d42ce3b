"""Layers, activations, a loss and a sequential network, all in numpy.

Each layer has ``forward(x, training=True)`` and ``backward(dy)`` (which returns
the gradient with respect to the layer's input and stores the gradients of its
parameters in ``layer.grads``). Parameters live in ``layer.params`` under the
same keys. Weights use the PyTorch layout: ``(out, in)`` for :class:`Dense`,
``(out, in, kh, kw)`` for :class:`Conv2D`.

Initializers plug in per layer, by registry name or as a function
``f(shape, rng) -> ndarray`` (see :mod:`weightinit.initializers`)::

    Dense(64, 10, weight_init="he_normal", rng=0)
    Conv2D(1, 8, 3, padding=1, weight_init="glorot_uniform", rng=0)

Builders :func:`mlp` and :func:`small_cnn` make the networks the chapters use.

Precision (one rule for every layer)
------------------------------------
Layers with parameters (:class:`Dense`, :class:`Conv2D`) and the builders take a
``dtype``, ``numpy.float64`` (the default) or ``numpy.float32``; the parameters are
created in it (drawn in float64 by the initializer, then rounded, so a float32 network is
the float64 network of the same seed rounded to float32). **Inputs are cast to the
layer's parameter dtype**: ``forward`` casts ``x`` (of any real dtype, integers
included) and ``backward`` casts ``dy`` to it, so a float32 layer always returns float32
and a float64 layer float64, whatever comes in. Layers without parameters (activations,
pooling, flattening) keep the dtype of what they receive, and so does
:func:`softmax_cross_entropy` (integer logits become float64); the optimizers of
:mod:`weightinit.training` keep each parameter's dtype. A float32 network is therefore
float32 end to end, even when it is fed float64 data. Gradient checks (finite
differences) need float64.

    mlp([64, 128, 10], dtype=np.float32)
    small_cnn(dtype=np.float32)
"""

from __future__ import annotations

import itertools
import math
import numbers
import threading
import warnings

import numpy as np
from scipy.special import expit

from . import conv as _conv
from . import initializers as _init
from ._validate import check_bytes, choice, positive_int, real_array
from .conv import conv2d_output_shape
from .fans import LayoutWarning, check_shape

__all__ = [
    "ACTIVATIONS",
    "SELU",
    "Conv2D",
    "Dense",
    "Flatten",
    "Identity",
    "Layer",
    "LeakyReLU",
    "MaxPool2D",
    "NonFiniteError",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "activation",
    "mlp",
    "small_cnn",
    "softmax",
    "softmax_cross_entropy",
]


def _check_array(x, name: str, ndim: int | None = None, dtype=None) -> np.ndarray:
    """A non-empty, finite, real array (the library's NaN and empty-input policies), cast to
    ``dtype`` (default: floating dtypes kept, integers to float64)."""
    x = real_array(x, name, ndim, finite=not getattr(_NETWORK, "inside", False))
    if dtype is not None:
        return x.astype(dtype, copy=False)
    return x


#: set while a Sequential runs its layers: inside a network, intermediate values follow
#: IEEE arithmetic (a -inf pre-activation clamped to 0 by a ReLU is not an error); the
#: network checks its own input and output instead
_NETWORK = threading.local()


class NonFiniteError(ValueError, FloatingPointError):
    """Finite inputs produced NaN/inf inside a network (the activations overflowed).

    A :class:`ValueError` (like every error of the library) and a
    :class:`FloatingPointError` (what it is); :func:`weightinit.training.train` turns it
    into ``History.diverged``.
    """


#: parameter precisions a layer can have
DTYPES = (np.float32, np.float64)


def _float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """``dtype`` as ``np.dtype(float32)`` or ``np.dtype(float64)``, or a clear error."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{name} must be numpy.float32 or numpy.float64, got {dtype!r}") from err
    if dt not in DTYPES:
        raise TypeError(f"{name} must be numpy.float32 or numpy.float64, got {dt.name}")
    return dt


# --------------------------------------------------------------------------- base
class Layer:
    """Base class: a layer without parameters that passes its input through.

    Every layer has a ``trainable`` flag, ``True`` by default. Set it to ``False`` to
    *freeze* the layer's parameters (``layer.trainable = False``): the optimizers of
    :mod:`weightinit.training` (and so :func:`~weightinit.training.train`, the
    ``train_seeds`` functions and :mod:`weightinit.stacked`) leave them exactly as they
    are, weight decay included, while the layer still passes the gradient on to the
    layers below it (its ``backward`` is unchanged, so ``grads`` are still computed:
    they are simply not used). This is PyTorch's ``requires_grad_(False)`` on a
    module's parameters, or Keras's ``layer.trainable = False``; running statistics
    that are not parameters (a :class:`~weightinit.normalization.BatchNorm`'s) still
    update in training mode, as in PyTorch.
    """

    #: name of the nonlinearity for :func:`weightinit.fans.gain` and statistics
    nonlinearity: str | None = None

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    @property
    def trainable(self) -> bool:
        """Whether the optimizers update this layer's parameters (default ``True``)."""
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"trainable must be True or False, got {value!r}")
        self._trainable = bool(value)

    def is_trainable(self, name: str) -> bool:
        """Whether the optimizers update the parameter ``name`` of ``params``: the layer's
        :attr:`trainable` (a container such as
        :class:`~weightinit.residual.Residual` also asks its inner layers)."""
        return self.trainable

    def forward(self, x, training: bool = True):  # pragma: no cover - overridden
        raise NotImplementedError

    def backward(self, dy):  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self, x, training: bool = True):
        return self.forward(x, training)

    def _check_dy(self, dy) -> np.ndarray:
        """``dy`` for :meth:`backward`: forward must have run, and ``dy`` must be a finite
        real array of the shape of the last forward output."""
        shape = getattr(self, "_y_shape", None)
        if shape is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward(dy) called before forward(x): "
                "run forward first (backward needs what forward stored)"
            )
        dy = real_array(dy, "dy", allow_empty=True, finite=not getattr(_NETWORK, "inside", False))
        if dy.shape != shape:
            raise ValueError(
                f"dy: the output gradient must have shape {shape} (that of "
                f"{type(self).__name__}'s last forward output), got {dy.shape}"
            )
        return dy

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _make_weight(init, shape, rng, init_kwargs, name, dtype=np.float64):
    """Draw a parameter with ``init`` (a registry name, a library initializer, or a user
    function ``f(shape, rng, **init_kwargs)``) and check what comes back."""
    try:
        fn = _init.get(init)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from None
    if init_kwargs is not None and not isinstance(init_kwargs, dict):
        raise TypeError(f"init_kwargs must be a dict or None, got {type(init_kwargs).__name__}")
    try:
        with warnings.catch_warnings():
            # layers use the PyTorch layout by definition: no channels-last guess
            warnings.simplefilter("ignore", LayoutWarning)
            if _init.is_library_initializer(fn):
                w = fn(shape, rng=rng, **(init_kwargs or {}))
            else:
                w = fn(shape, rng, **(init_kwargs or {}))
    except ValueError as exc:
        if name == "bias_init" and "at least 2 dimension" in str(exc):
            raise ValueError(
                f"bias_init {init!r} reads fans from a weight shape (>= 2 dims), but a bias has "
                f"shape {tuple(shape)}: use 'zeros', 'ones', 'constant', 'normal', 'uniform' or "
                "'truncated_normal' (or a function f(shape, rng))"
            ) from exc
        raise
    try:
        w = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must return a real array, got {type(w).__name__}") from exc
    if w.shape != tuple(shape):
        raise ValueError(f"{name} returned shape {w.shape}, expected {tuple(shape)}")
    if not np.isfinite(w).all():
        raise ValueError(f"{name} returned non-finite values (NaN or inf)")
    return w.astype(dtype, copy=False)


class Dense(Layer):
    """Fully connected layer ``y = x Wᵀ + b`` with ``W`` of shape ``(out, in)``.

    Parameters
    ----------
    in_features, out_features : int
    weight_init : str or callable, default "glorot_uniform"
        Registry name or ``f(shape, rng, **init_kwargs)``.
    bias_init : str or callable, default "zeros"
        Called with shape ``(out_features,)``: only constant initializers make
        sense for it (a fan-based initializer needs >= 2 dims).
    rng : int or numpy.random.Generator
    init_kwargs : dict, optional
        Extra keyword arguments for ``weight_init`` (e.g. ``{"gain": 5/3}``).
    dtype : numpy.float64 (default) or numpy.float32
        Precision of the parameters; inputs and output gradients are cast to it (see
        the module docstring).
    """

    def __init__(
        self,
        in_features,
        out_features,
        *,
        weight_init="glorot_uniform",
        bias_init="zeros",
        rng=None,
        init_kwargs=None,
        dtype=np.float64,
    ):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self.dtype = _float_dtype(dtype)
        gen = _init.as_generator(rng)
        shape = (self.out_features, self.in_features)
        check_bytes(math.prod(shape), self.dtype.itemsize, "in_features × out_features", "weight")
        self.params["W"] = _make_weight(
            weight_init, shape, gen, init_kwargs, "weight_init", self.dtype
        )
        self.params["b"] = _make_weight(
            bias_init, (self.out_features,), gen, None, "bias_init", self.dtype
        )
        self._x = None

    def forward(self, x, training=True):
        x = _check_array(x, "Dense input", ndim=2, dtype=self.dtype)
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"Dense input has {x.shape[1]} features, layer expects in_features={self.in_features}"
            )
        self._x = x
        self._y_shape = (x.shape[0], self.out_features)
        y = x @ self.params["W"].T
        b = self.params["b"]
        if b.dtype == y.dtype and b.shape == y.shape[1:]:
            y += b  # in place into the fresh product: the same sums as y + b, no new array
            return y
        return y + b  # a bias a user replaced by one of another dtype or shape

    def backward(self, dy):
        dy = self._check_dy(dy).astype(self.dtype, copy=False)
        self.grads["W"] = dy.T @ self._x
        self.grads["b"] = np.add.reduce(dy, axis=0)  # what dy.sum(axis=0) calls
        return dy @ self.params["W"]

    def __repr__(self):
        return f"Dense({self.in_features}, {self.out_features})"


def _pair(value, name):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return tuple(value)
    return (value, value)


class Conv2D(Layer):
    """2-D convolution layer (cross-correlation, PyTorch conventions).

    Input ``(N, C_in, H, W)``, weight ``(C_out, C_in, kh, kw)``, output
    ``(N, C_out, H_out, W_out)``; see :func:`weightinit.conv.conv2d`. Its fans are
    ``fan_in = C_in·kh·kw`` and ``fan_out = C_out·kh·kw``.

    ``dtype`` (float64 or float32) is the parameters' precision; inputs and output
    gradients are cast to it. ``forward(x, training=True)`` keeps the im2col matrix of
    ``x`` for ``backward``, which does not rebuild it; ``training=False`` keeps only
    ``x`` (and builds the matrix a chunk of images at a time, in bounded memory), and a
    ``backward`` after it rebuilds the matrix. In training, the layer keeps
    its working arrays -- the matrix (``C_in·kh·kw`` times the input's size, roughly),
    the padded input and two output-sized frames -- for the next step with the same input
    shape (the last two shapes are kept, so a smaller last batch of an epoch does not
    evict them): allocating tens of megabytes afresh each step costs about as much as
    filling them, and the zero padding is then written once, not at every step.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        *,
        stride=1,
        padding=0,
        dilation=1,
        weight_init="glorot_uniform",
        bias_init="zeros",
        rng=None,
        init_kwargs=None,
        dtype=np.float64,
    ):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        kh, kw = _pair(kernel_size, "kernel_size")
        self.kernel_size = (positive_int(kh, "kernel_size"), positive_int(kw, "kernel_size"))
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.dtype = _float_dtype(dtype)
        gen = _init.as_generator(rng)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        check_bytes(
            math.prod(shape), self.dtype.itemsize, "in_channels × out_channels × kernel_size",
            "weight",
        )  # fmt: skip
        self.params["W"] = _make_weight(
            weight_init, shape, gen, init_kwargs, "weight_init", self.dtype
        )
        self.params["b"] = _make_weight(
            bias_init, (self.out_channels,), gen, None, "bias_init", self.dtype
        )
        self._x = None
        self._cols_ready = False  # the workspace holds the im2col matrix of self._x
        self._workspaces = {}  # (plan, dtype) -> _conv._Workspace, the last two used
        self._plan_cache = None
        # Validate stride/padding/dilation now rather than at the first forward pass
        # (on a nominal input far larger than any kernel).
        conv2d_output_shape((10**6, 10**6), self.kernel_size, stride, padding, dilation)

    def _plan(self, x_shape):
        # validated and laid out once per input shape (the checks cost more than a small
        # convolution)
        key = (x_shape, self.params["W"].shape)
        if self._plan_cache is None or self._plan_cache[0] != key:
            plan = _conv._geometry(
                x_shape, self.params["W"].shape, self.stride, self.padding, self.dilation
            )
            self._plan_cache = (key, plan)
        return self._plan_cache[1]

    def _workspace(self, plan):
        key = (plan, self.dtype)
        ws = self._workspaces.pop(key, None)
        if ws is None:
            ws = _conv._Workspace(plan, self.dtype)
            while len(self._workspaces) >= 2:  # drop the least recently used
                del self._workspaces[next(iter(self._workspaces))]
        self._workspaces[key] = ws  # most recently used last
        return ws

    def forward(self, x, training=True):
        x = _check_array(x, "Conv2D input", ndim=4, dtype=self.dtype)
        w = self.params["W"]
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2D input has {x.shape[1]} channels (x.shape[1]), layer expects "
                f"in_channels={self.in_channels}"
            )
        plan = self._plan(x.shape)
        self._x, self._cols_ready = x, False
        # training: the matrix stays in the layer's workspace for backward; otherwise only
        # a chunk of it is built at a time, and the layer keeps only x (and uses the
        # padded-input buffer of a workspace it already has)
        if training:
            ws = self._workspace(plan)
        else:
            ws = self._workspaces.get((plan, self.dtype)) or _conv._Workspace(plan, self.dtype)
        y = _conv._forward(x, w, self.params["b"], plan, ws, keep=training)
        self._cols_ready = training
        self._y_shape = y.shape
        return y

    def backward(self, dy):
        dy = self._check_dy(dy).astype(self.dtype, copy=False)
        plan = self._plan(self._x.shape)
        expected = (self._x.shape[0], self.out_channels, *plan.out_hw)
        if dy.shape != expected:
            raise ValueError(f"Conv2D output gradient must have shape {expected}, got {dy.shape}")
        ws = self._workspace(plan)
        # forward(training=False), or a second backward: _backward rebuilds the matrix
        rebuild = None if self._cols_ready else self._x
        # _backward overwrites the matrix (it is the workspace of d(cols)): it serves one
        # backward only
        self._cols_ready = False
        dx, dw, db = _conv._backward(dy, self.params["W"], plan, ws, x=rebuild)
        self.grads["W"], self.grads["b"] = dw, db
        return dx

    def __repr__(self):
        k = "x".join(map(str, self.kernel_size))
        return (
            f"Conv2D({self.in_channels}, {self.out_channels}, {k}, stride={self.stride}, "
            f"padding={self.padding})"
        )


# --------------------------------------------------------------------------- activations
class _Activation(Layer):
    def forward(self, x, training=True):
        x = _check_array(x, f"{type(self).__name__} input")
        self._x = x
        self._y = self._f(x)
        self._y_shape = x.shape
        return self._y

    def backward(self, dy):
        dy = self._check_dy(dy)
        return dy * self._df()

    def __repr__(self):
        return f"{type(self).__name__}()"


class ReLU(_Activation):
    """``relu(x) = max(x, 0)``."""

    nonlinearity = "relu"

    def _f(self, x):
        return np.maximum(x, 0.0)

    def _df(self):
        return (self._x > 0).astype(self._x.dtype)

    def backward(self, dy):
        dy = self._check_dy(dy)
        if dy.dtype == self._x.dtype:
            # the boolean mask is cast to 1.0/0.0 in dy's dtype inside the product: the same
            # products as dy * _df(), without the intermediate array
            return dy * (self._x > 0)
        return dy * self._df()


class LeakyReLU(_Activation):
    """``leaky_relu(x) = x`` for ``x > 0``, ``negative_slope·x`` otherwise."""

    nonlinearity = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
            raise TypeError(f"negative_slope must be a real number, got {negative_slope!r}")
        if not math.isfinite(negative_slope):
            raise ValueError(f"negative_slope must be finite, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def _f(self, x):
        return np.where(x > 0, x, self.negative_slope * x)

    def _df(self):
        return np.where(self._x > 0, 1.0, self.negative_slope).astype(self._x.dtype, copy=False)

    def __repr__(self):
        return f"LeakyReLU({self.negative_slope:g})"


class Tanh(_Activation):
    """``tanh(x)``; derivative ``1 - tanh(x)²``."""

    nonlinearity = "tanh"

    def _f(self, x):
        return np.tanh(x)

    def _df(self):
        return 1.0 - self._y**2


class Sigmoid(_Activation):
    """Logistic ``σ(x) = 1/(1 + e^{-x})``; derivative ``σ(x)(1 - σ(x))``."""

    nonlinearity = "sigmoid"

    def _f(self, x):
        return expit(x)

    def _df(self):
        return self._y * (1.0 - self._y)


class SELU(_Activation):
    """Scaled ELU of Klambauer et al. (2017): ``λ·x`` for ``x > 0``, ``λα(eˣ - 1)`` otherwise."""

    nonlinearity = "selu"
    alpha = 1.6732632423543772
    scale = 1.0507009873554805

    def _f(self, x):
        return self.scale * np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0.0)))

    def _df(self):
        return self.scale * np.where(
            self._x > 0, 1.0, self.alpha * np.exp(np.minimum(self._x, 0.0))
        )


class Identity(_Activation):
    """The identity (a "linear" network)."""

    nonlinearity = "linear"

    def _f(self, x):
        return x

    def _df(self):
        return np.ones_like(self._x)


ACTIVATIONS = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "selu": SELU,
    "identity": Identity,
    "linear": Identity,
}


def activation(name, **kwargs) -> Layer:
    """Make an activation layer by name (``relu``, ``leaky_relu``, ``tanh``,
    ``sigmoid``, ``selu``, ``identity``/``linear``, case-insensitive); a :class:`Layer`
    passes through. ``kwargs`` go to the layer (``negative_slope`` for leaky_relu)."""
    if isinstance(name, Layer):
        return name
    key = choice(name, "name (the activation)", tuple(ACTIVATIONS))
    try:
        return ACTIVATIONS[key](**kwargs)
    except TypeError as exc:
        raise TypeError(f"activation {key!r} does not accept {sorted(kwargs)}: {exc}") from None


# --------------------------------------------------------------------------- shape layers
class Flatten(Layer):
    """``(N, ...) -> (N, prod(...))``."""

    def forward(self, x, training=True):
        x = _check_array(x, "Flatten input")
        if x.ndim < 2:
            raise ValueError(f"Flatten input must have a batch axis and >= 2 dims, got {x.shape}")
        self._shape = x.shape
        self._y_shape = (x.shape[0], math.prod(x.shape[1:]))
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        dy = self._check_dy(dy)
        return dy.reshape(self._shape)


class _Pool2D(Layer):
    """Shared by the pooling layers: non-overlapping ``size × size`` windows, stride = size.

    Rows/columns that do not fill a whole window are dropped (PyTorch's default
    ``ceil_mode=False``) and get a zero gradient.
    """

    def __init__(self, size: int = 2):
        super().__init__()
        self.size = positive_int(size, "size")

    def _windows(self, x) -> np.ndarray:
        """``x`` (N, C, H, W) as windows of shape (N, C, H // s, s, W // s, s)."""
        name = type(self).__name__
        x = _check_array(x, f"{name} input", ndim=4)
        n, c, h, w = x.shape
        s = self.size
        if h < s or w < s:
            raise ValueError(f"{name} size {s} is larger than the input ({h}x{w})")
        ho, wo = h // s, w // s
        self._shape = x.shape
        self._y_shape = (n, c, ho, wo)
        return x[:, :, : ho * s, : wo * s].reshape(n, c, ho, s, wo, s)

    def _from_windows(self, g) -> np.ndarray:
        """Window-shaped gradients back to the input's shape (zeros where no window was)."""
        n, c, h, w = self._shape
        _, _, ho, s, wo, _ = g.shape
        if (ho * s, wo * s) == (h, w):  # no leftover rows or columns
            return g.reshape(self._shape)
        dx = np.zeros(self._shape, dtype=g.dtype)
        dx[:, :, : ho * s, : wo * s] = g.reshape(n, c, ho * s, wo * s)
        return dx

    def __repr__(self):
        return f"{type(self).__name__}({self.size})"


class MaxPool2D(_Pool2D):
    """Non-overlapping max pooling over ``size × size`` windows (stride = size).

    Rows/columns that do not fill a whole window are dropped, as PyTorch's
    ``max_pool2d`` does with its default ``ceil_mode=False``; their gradient is 0.
    Ties send the gradient to every maximal entry of a window.
    """

    def forward(self, x, training=True):
        blocks = self._windows(x)
        s = self.size
        # elementwise maxima of the s*s strided sub-grids: several times faster than
        # blocks.max(axis=(3, 5)) (a reduction over two strided axes), same values
        y = blocks[:, :, :, 0, :, 0].copy()
        for i, j in itertools.product(range(s), range(s)):
            np.maximum(y, blocks[:, :, :, i, :, j], out=y)
        # blocks == y[:, :, :, None, :, None], with y spread over its windows first: one
        # long comparison instead of a broadcast one whose innermost loop has `size`
        # entries (about twice as fast; the same booleans)
        self._mask = blocks == _spread(y, s).reshape(blocks.shape)
        return y

    def backward(self, dy):
        dy = self._check_dy(dy)
        # mask * dy[:, :, :, None, :, None] (each entry dy * 1.0 or dy * 0.0), computed in
        # place in dy spread over the windows: the same products, faster
        g = _spread(dy, self.size)
        g *= self._mask.reshape(g.shape)
        return self._from_windows(g.reshape(self._mask.shape))


def _spread(a, s: int) -> np.ndarray:
    """``a`` (N, C, h, w) with every entry repeated over an ``s × s`` block: (N, C, h·s, w·s)."""
    return np.repeat(np.repeat(a, s, axis=3), s, axis=2)


# --------------------------------------------------------------------------- loss
def softmax(logits) -> np.ndarray:
    """Row-wise softmax, computed stably by subtracting the row maximum."""
    logits = _check_array(logits, "logits", ndim=2)
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits, labels) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of a softmax and its gradient with respect to the logits.

    .. math::

        L = -\\frac{1}{N}\\sum_n \\log \\operatorname{softmax}(z_n)_{y_n}, \\qquad
        \\frac{\\partial L}{\\partial z_n} = \\frac{\\operatorname{softmax}(z_n) - e_{y_n}}{N}

    Parameters
    ----------
    logits : array (N, K)
    labels : int array (N,) with values in ``[0, K)``
    """
    logits = _check_array(logits, "logits", ndim=2)
    labels = np.asarray(labels)
    if labels.shape != (logits.shape[0],):
        raise ValueError(
            f"labels must have shape ({logits.shape[0]},) to match logits {logits.shape}, "
            f"got {labels.shape}"
        )
    if labels.dtype.kind not in "iu" and not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    k = logits.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(
            f"labels must lie in [0, {k}), got values in [{labels.min()}, {labels.max()}]"
        )
    n = logits.shape[0]
    rows = np.arange(n)
    z = logits - logits.max(axis=1, keepdims=True)
    logsumexp = np.log(np.exp(z).sum(axis=1))
    loss = float((logsumexp - z[rows, labels]).mean())
    grad = np.exp(z - logsumexp[:, None])
    grad[rows, labels] -= 1.0
    grad /= n  # in place: the same quotients as grad / n
    return loss, grad


# --------------------------------------------------------------------------- network
class Sequential:
    """A stack of layers applied in order.

    ``forward(x, keep=True)`` remembers every layer's output in
    ``self.outputs`` and ``backward`` the gradient with respect to every layer's
    output in ``self.output_grads`` (used by :mod:`weightinit.stats`).
    """

    def __init__(self, layers):
        if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
            raise TypeError(
                f"layers must be a list of weightinit Layers, got {type(layers).__name__}"
            )
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] is {type(layer).__name__}, not a weightinit Layer")
        self.layers = layers
        self.outputs: list[np.ndarray] = []
        self.output_grads: list[np.ndarray] = []

    def forward(self, x, training: bool = True, keep: bool = False):
        # Inside another network (the branch of a residual block) the values follow IEEE
        # arithmetic like those of any layer: the outermost network checks its output.
        inside = getattr(_NETWORK, "inside", False)
        x = real_array(x, "x (the network input)", min_ndim=1, finite=not inside)
        outs = []
        _NETWORK.inside = True
        try:
            # one errstate for all the layers (entering it costs as much as a small layer)
            with np.errstate(over="ignore", invalid="ignore"):  # the output is checked below
                for layer in self.layers:
                    x = layer.forward(x, training)
                    if keep:
                        outs.append(x)
        finally:
            _NETWORK.inside = inside
        self.outputs = outs
        if not inside and not np.isfinite(x).all():
            raise NonFiniteError(
                "the network output is not finite although the input x was: the activations "
                "overflowed; inspect the statistics of the earlier layers"
            )
        return x

    __call__ = forward

    def backward(self, dy):
        if not self.layers:
            return _check_array(dy, "dy")
        grads = [None] * len(self.layers)
        dy = real_array(dy, "dy", allow_empty=True)
        inside, _NETWORK.inside = getattr(_NETWORK, "inside", False), True
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                for i in range(len(self.layers) - 1, -1, -1):
                    grads[i] = dy
                    dy = self.layers[i].backward(dy)
        finally:
            _NETWORK.inside = inside
        self.output_grads = grads
        return dy

    def parameters(self):
        """Yield ``(layer_index, name, param, grad_or_None)`` for every parameter."""
        for i, layer in enumerate(self.layers):
            grads = layer.grads  # once per layer: a property (Residual) builds a new dict
            for name, p in layer.params.items():
                yield i, name, p, grads.get(name)

    def trainable_parameters(self):
        """Like :meth:`parameters`, for the parameters the optimizers update: those of
        the layers whose ``trainable`` is ``True`` (see :class:`Layer`)."""
        for i, layer in enumerate(self.layers):
            grads = layer.grads  # once per layer: a property (Residual) builds a new dict
            for name, p in layer.params.items():
                if layer.is_trainable(name):
                    yield i, name, p, grads.get(name)

    @property
    def weighted_layers(self) -> list[int]:
        """Indices of the layers with a weight ``W``."""
        return [i for i, layer in enumerate(self.layers) if "W" in layer.params]

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """Class predictions (argmax of the logits), evaluated in batches."""
        x = real_array(x, "x", min_ndim=1)
        batch_size = positive_int(batch_size, "batch_size")
        out = [
            self.forward(x[i : i + batch_size], training=False).argmax(axis=1)
            for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(out)

    def __repr__(self):
        inner = ",\n  ".join(
            repr(layer) + ("" if layer.trainable else " (frozen)") for layer in self.layers
        )
        return f"Sequential(\n  {inner}\n)"


def _check_activation_name(activation_name) -> None:
    if not isinstance(activation_name, Layer):
        choice(activation_name, "activation_name", tuple(ACTIVATIONS))


def mlp(
    sizes,
    *,
    activation_name="relu",
    weight_init="glorot_uniform",
    rng=0,
    init_kwargs=None,
    bias_init="zeros",
    final_activation: bool = False,
    dtype=np.float64,
    **activation_kwargs,
) -> Sequential:
    """A multilayer perceptron ``Dense → act → … → Dense``.

    Parameters
    ----------
    sizes : sequence of int
        ``[in, hidden_1, ..., out]``; ``len(sizes) - 1`` dense layers. All weights and
        biases together must fit in ``weightinit._validate.MAX_BYTES`` (2 GiB): larger
        sizes raise ``ValueError`` naming ``sizes`` before anything is allocated.
    activation_name : str
        Nonlinearity after every hidden dense layer (and after the last one when
        ``final_activation``).
    weight_init, init_kwargs, bias_init
        Passed to every :class:`Dense`.
    rng : int or Generator
        One generator is shared by the layers, so a seed fixes the whole network.
    dtype : numpy.float64 (default) or numpy.float32
        Precision of every layer (see the module docstring).
    """
    sizes = check_shape(sizes, "sizes", min_dims=2)
    _check_activation_name(activation_name)
    dtype = _float_dtype(dtype)
    # every weight and bias lives at once: count them together (Python ints, no overflow)
    check_bytes(
        sum(a * b + b for a, b in itertools.pairwise(sizes)), dtype.itemsize, "sizes",
        "set of weights and biases",
    )  # fmt: skip
    gen = _init.as_generator(rng)
    layers: list[Layer] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(
            Dense(
                a,
                b,
                weight_init=weight_init,
                bias_init=bias_init,
                rng=gen,
                init_kwargs=init_kwargs,
                dtype=dtype,
            )
        )
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation(activation_name, **activation_kwargs))
    return Sequential(layers)


def small_cnn(
    *,
    in_channels: int = 1,
    image_size: int = 8,
    channels=(8, 16),
    n_classes: int = 10,
    activation_name: str = "relu",
    weight_init="he_normal",
    rng=0,
    init_kwargs=None,
    dtype=np.float64,
    **activation_kwargs,
) -> Sequential:
    """The course's small CNN for 8×8 digits.

    ``[Conv 3×3 (pad 1) → act] × len(channels) → MaxPool 2 → Flatten → Dense``.
    Every conv and the dense layer use ``weight_init``; ``dtype`` (float64 or float32)
    is the precision of every layer (see the module docstring). All weights and biases
    together must fit in ``weightinit._validate.MAX_BYTES`` (2 GiB): larger
    ``in_channels``/``channels`` or ``image_size`` raise ``ValueError`` naming them
    before anything is allocated.
    """
    _check_activation_name(activation_name)
    if (
        isinstance(channels, (str, bytes))
        or not isinstance(channels, (list, tuple))
        or not channels
    ):
        raise TypeError(
            f"channels must be a non-empty tuple of positive integers, got {channels!r}"
        )
    channels = [positive_int(ch, f"channels[{i}]") for i, ch in enumerate(channels)]
    dtype = _float_dtype(dtype)
    c = positive_int(in_channels, "in_channels")
    widths = [c, *channels]
    conv_items = sum(a * b * 9 + b for a, b in itertools.pairwise(widths))
    check_bytes(conv_items, dtype.itemsize, "channels" if c <= max(channels) else "in_channels",
                "set of conv weights (in_channels × channels × 3 × 3)")  # fmt: skip
    gen = _init.as_generator(rng)
    layers: list[Layer] = []
    for out in channels:
        layers.append(
            Conv2D(
                c,
                out,
                3,
                padding=1,
                weight_init=weight_init,
                rng=gen,
                init_kwargs=init_kwargs,
                dtype=dtype,
            )
        )
        layers.append(activation(activation_name, **activation_kwargs))
        c = out
    size = positive_int(image_size, "image_size") // 2
    if size < 1:
        raise ValueError(
            f"image_size must be >= 2 (a 2x2 max-pool follows the convs), got {image_size}"
        )
    n_classes = positive_int(n_classes, "n_classes")
    check_bytes(conv_items + c * size * size * n_classes, dtype.itemsize, "image_size",
                "set of weights (convs and classifier)")  # fmt: skip
    layers += [MaxPool2D(2), Flatten()]
    layers.append(
        Dense(
            c * size * size,
            n_classes,
            weight_init=weight_init,
            rng=gen,
            init_kwargs=init_kwargs,
            dtype=dtype,
        )
    )
    return Sequential(layers)
