"""Stochastic gradient descent with momentum, Adam, and a training loop that keeps records.

:func:`train` returns a :class:`History`: the loss and accuracy per epoch on the
training and test sets, the loss of every step, and a
:class:`~weightinit.stats.DepthProfile` of the network at initialization and
after every epoch (per-layer activation and gradient statistics), so a chapter
can show *why* one initialization trains and another does not.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from ._blas import one_blas_thread
from ._validate import boolean, choice, positive_int, real, real_array
from .data import Dataset
from .initializers import as_generator
from .layers import NonFiniteError, Sequential, softmax_cross_entropy
from .stats import DepthProfile, depth_profile

__all__ = ["SGD", "Adam", "History", "evaluate", "train"]


class SGD:
    """SGD with (heavy-ball) momentum and optional L2 weight decay, as PyTorch's ``SGD``.

    .. math::

        g \\leftarrow \\nabla_\\theta L + \\lambda\\theta, \\quad
        v \\leftarrow \\mu v + g, \\quad
        \\theta \\leftarrow \\theta - \\eta v

    The velocity and the update are kept in each parameter's dtype (a float32
    network trains in float32; a gradient of another dtype is cast to the
    parameter's first). Parameters of frozen layers (``layer.trainable = False``, see
    :class:`~weightinit.layers.Layer`) are left unchanged.
    """

    def __init__(self, net: Sequential, lr: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 0.0):  # fmt: skip
        if not isinstance(net, Sequential):
            raise TypeError(f"net must be a weightinit Sequential, got {type(net).__name__}")
        self.net = net
        self.lr = real(lr, "lr", positive=True)
        self.momentum = real(momentum, "momentum", lower=0.0, upper=1.0)
        self.weight_decay = real(weight_decay, "weight_decay", lower=0.0)
        self._velocity: dict[tuple[int, str], np.ndarray] = {}

    def step(self) -> None:
        """Update every parameter in place from the gradients of the last backward pass."""
        lr, momentum, weight_decay = self.lr, self.momentum, self.weight_decay
        velocity = self._velocity
        for i, name, p, g in self.net.trainable_parameters():
            if g is None:
                raise RuntimeError("SGD.step() called before a backward pass")
            if type(g) is not np.ndarray or g.dtype != p.dtype:  # (no call when it is one)
                g = np.asarray(g).astype(p.dtype, copy=False)
            if weight_decay and name == "W":
                g = g + weight_decay * p
            key = (i, name)
            v = velocity.get(key)
            if v is None:
                v = velocity[key] = g.copy()
            else:  # in place, the same operations as v = momentum * v + g
                v *= momentum
                v += g
            p -= lr * v


class Adam:
    """Adam (Kingma & Ba, 2015) with optional L2 weight decay, as PyTorch's ``Adam``.

    .. math::

        g \\leftarrow \\nabla_\\theta L + \\lambda\\theta, \\quad
        m \\leftarrow \\beta_1 m + (1-\\beta_1) g, \\quad
        v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2, \\quad
        \\theta \\leftarrow \\theta - \\eta\\,
        \\frac{m / (1-\\beta_1^t)}{\\sqrt{v / (1-\\beta_2^t)} + \\epsilon}

    The weight decay is added to the gradient (PyTorch's ``Adam``, not ``AdamW``) and, as
    in :class:`SGD`, applies to the weights ``W`` only. The moments and the update are
    kept in each parameter's dtype, as in :class:`SGD`; frozen layers are skipped, as in
    :class:`SGD`.
    """

    def __init__(self, net: Sequential, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):  # fmt: skip
        if not isinstance(net, Sequential):
            raise TypeError(f"net must be a weightinit Sequential, got {type(net).__name__}")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.net = net
        self.lr = real(lr, "lr", positive=True)
        self.beta1 = real(betas[0], "betas[0]", lower=0.0, upper=1.0)
        self.beta2 = real(betas[1], "betas[1]", lower=0.0, upper=1.0)
        if self.beta1 >= 1.0 or self.beta2 >= 1.0:
            raise ValueError(f"betas must each be in [0, 1), got {tuple(betas)!r}")
        self.eps = real(eps, "eps", positive=True)
        self.weight_decay = real(weight_decay, "weight_decay", lower=0.0)
        self._m: dict[tuple[int, str], np.ndarray] = {}
        self._v: dict[tuple[int, str], np.ndarray] = {}
        self.t = 0

    def step(self) -> None:
        """Update every parameter in place from the gradients of the last backward pass."""
        self.t += 1
        lr, b1, b2, eps, weight_decay = self.lr, self.beta1, self.beta2, self.eps, self.weight_decay
        c1 = 1.0 - b1**self.t
        c2 = 1.0 - b2**self.t
        ms, vs = self._m, self._v
        for i, name, p, g in self.net.trainable_parameters():
            if g is None:
                raise RuntimeError("Adam.step() called before a backward pass")
            if type(g) is not np.ndarray or g.dtype != p.dtype:  # (no call when it is one)
                g = np.asarray(g).astype(p.dtype, copy=False)
            if weight_decay and name == "W":
                g = g + weight_decay * p
            key = (i, name)
            m = ms.get(key)
            v = vs.get(key)
            m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
            v = (1 - b2) * g * g if v is None else b2 * v + (1 - b2) * g * g
            ms[key], vs[key] = m, v
            p -= lr * (m / c1) / (np.sqrt(v / c2) + eps)


@dataclass
class History:
    """What :func:`train` records.

    ``train_loss``/``train_acc``/``test_loss``/``test_acc`` have one entry per
    epoch *plus* the initial one (index 0 = before training), with :func:`train`'s
    default records (its ``splits`` and ``every_epoch`` can leave some out). ``step_loss`` has one
    entry per optimization step. ``profiles[k]`` is the depth profile after ``k``
    epochs (``profiles[0]`` at initialization). ``diverged`` is set when the loss
    or a parameter stopped being finite; training stops there.

    With ``train(..., splits=("test",))`` the ``train_*`` lists stay empty (that split
    was not evaluated), and with ``every_epoch=False`` every list of records holds one
    entry, after the last epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    profiles: list[DepthProfile] = field(default_factory=list)
    diverged: bool = False
    diverged_at_step: int | None = None

    @property
    def final_test_acc(self) -> float:
        return self.test_acc[-1]


@one_blas_thread
def evaluate(net: Sequential, X, y, batch_size: int = 512) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``net`` on ``(X, y)``.

    ``X`` must be a non-empty, finite array with one example per row, ``y`` one integer
    label per example, ``batch_size`` a positive integer (ValueError/TypeError naming
    the argument otherwise).
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a weightinit Sequential, got {type(net).__name__}")
    X = real_array(X, "X", min_ndim=1)
    y = np.asarray(y)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must be an integer array of labels, got dtype {y.dtype}")
    if X.ndim < 1 or y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},) to match X {X.shape}, got {y.shape}")
    batch_size = positive_int(batch_size, "batch_size")
    total, correct = 0.0, 0
    for i in range(0, len(X), batch_size):
        out = net.forward(X[i : i + batch_size], training=False)
        loss, _ = softmax_cross_entropy(out, y[i : i + batch_size])
        total += loss * len(out)
        correct += int(np.sum(out.argmax(axis=1) == y[i : i + batch_size]))
    return total / len(X), correct / len(X)


def _finite(net: Sequential) -> bool:
    """Whether every parameter of ``net`` is finite (no NaN, no ±inf)."""
    # np.isfinite(p).all(), not np.all(...): the same test without the dispatch of np.all.
    # (A sum of squares by BLAS dot reads the array once, but with two BLAS threads on a
    # busy machine a dot of 16k entries takes 100x longer than this, so no BLAS here.)
    # The layers' params directly, not net.parameters(): that also assembles each layer's
    # grads, which a Residual block builds anew on every access.
    return all(np.isfinite(p).all() for layer in net.layers for p in layer.params.values())


@one_blas_thread
def train(
    net: Sequential,
    data: Dataset,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 0.05,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    rng=0,
    optimizer: str = "sgd",
    profile: bool = True,
    probe_size: int = 256,
    splits=("train", "test"),
    every_epoch: bool = True,
) -> History:
    """Train ``net`` with minibatch SGD on ``data``; return a :class:`History`.

    Parameters
    ----------
    net : Sequential
        Ends in logits; the loss is the softmax cross-entropy. Layers with
        ``trainable = False`` keep their parameters (see :class:`SGD`).
    data : Dataset
        ``X_train``, ``y_train``, ``X_test``, ``y_test``.
    epochs, batch_size : int
    lr, momentum, weight_decay : float
        See :class:`SGD` (``momentum`` is ignored by Adam).
    optimizer : {"sgd", "adam"}
        :class:`SGD` with momentum, or :class:`Adam` with its default betas and eps.
    rng : int or Generator
        Shuffles the minibatches; with a fixed seed training is reproducible.
    profile : bool
        Record a :class:`~weightinit.stats.DepthProfile` on a fixed probe batch
        (the first ``probe_size`` training examples) before training and after
        every epoch.
    splits : sequence of {"train", "test"}
        The data evaluated (mean loss and accuracy, :func:`evaluate`) at each record,
        in this order; the lists of a split left out stay empty. Evaluating the 1,347
        training digits costs about a quarter of a small network's epoch: leave
        ``"train"`` out when only test results are reported.
    every_epoch : bool
        Record before training and after every epoch (the default); ``False`` records
        only after the last epoch (one entry per list).

    Notes
    -----
    Training runs with one BLAS thread, so that the records do not depend on
    ``OPENBLAS_NUM_THREADS`` (a multi-threaded matrix product may round differently);
    :func:`evaluate`, :func:`weightinit.stacked.train_stacked` and the ``train_seeds``
    functions do the same.
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a weightinit Sequential, got {type(net).__name__}")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a weightinit Dataset, got {type(data).__name__}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("probe_size", probe_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(profile, (bool, np.bool_)):
        raise TypeError(f"profile must be True or False, got {profile!r}")
    if isinstance(splits, (str, bytes)) or not isinstance(splits, (tuple, list)):
        raise TypeError(f"splits must be a sequence of 'train'/'test', got {splits!r}")
    splits = tuple(choice(split, "splits", ("train", "test")) for split in splits)
    every_epoch = boolean(every_epoch, "every_epoch")
    gen = as_generator(rng)
    optimizer = choice(optimizer, "optimizer", ("sgd", "adam"))
    if optimizer == "sgd":
        opt = SGD(net, lr=lr, momentum=momentum, weight_decay=weight_decay)
    elif optimizer == "adam":
        opt = Adam(net, lr=lr, weight_decay=weight_decay)
    else:
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    hist = History()
    probe_x, probe_y = data.X_train[:probe_size], data.y_train[:probe_size]

    sets = {"train": (data.X_train, data.y_train), "test": (data.X_test, data.y_test)}

    def record():
        for split in splits:
            loss, acc = evaluate(net, *sets[split])
            getattr(hist, f"{split}_loss").append(loss)
            getattr(hist, f"{split}_acc").append(acc)
        if profile:
            hist.profiles.append(depth_profile(net, probe_x, probe_y))

    try:
        if every_epoch:
            record()
    except NonFiniteError:  # the activations overflow already at initialization
        hist.diverged, hist.diverged_at_step = True, 0
        return hist
    n = len(data.X_train)
    step = 0
    for epoch in range(epochs):
        order = gen.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            try:
                with np.errstate(over="ignore", invalid="ignore"):
                    out = net.forward(data.X_train[idx])
                    loss, dout = softmax_cross_entropy(out, data.y_train[idx])
            except NonFiniteError:  # the activations overflowed: the run diverged
                loss = math.inf
            if not math.isfinite(loss):
                hist.diverged, hist.diverged_at_step = True, step
                return hist
            net.backward(dout)  # overflowing gradients show up in the parameters, below
            opt.step()
            hist.step_loss.append(loss)
            step += 1
            if not _finite(net):
                hist.diverged, hist.diverged_at_step = True, step
                return hist
        try:
            if every_epoch or epoch == epochs - 1:
                record()
        except NonFiniteError:
            hist.diverged, hist.diverged_at_step = True, step
            return hist
    return hist
