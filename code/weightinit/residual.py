"""Residual blocks, the initializations designed for them, and a residual MLP builder.

A residual block adds the output of a *branch* ``F`` (a small :class:`Sequential`) to
its input, optionally through a scalar gate ``g``:

.. math::

    y = x + g\\,F(x).

If the branch keeps the second moment of its input (a He-initialized ReLU branch does)
and its output is uncorrelated with ``x`` (zero-mean weights make it so), then
``E[y²] = (1 + g²) E[x²]``: a stack of ``L`` such blocks multiplies the second moment
by ``(1 + g²)^L``, i.e. ``2^L`` for ``g = 1``. If the branch begins with a
normalization layer, its output no longer depends on the scale of ``x`` and the
second moment grows *linearly*, ``E[x_L²] = E[x_0²] + L·g²·c`` (De & Smith, 2020).
The initializations of this module make the start depth-independent:

* :func:`zero_init_last`: zero the last layer of every branch, so every block starts
  as the identity (Goyal et al., 2017, who zero the last batch-norm ``γ`` of each
  branch; torchvision's ``resnet(zero_init_residual=True)``);
* :func:`fixup_init`: Fixup (Zhang, Dauphin & Ma, 2019): zero the last layer of each
  branch and the classifier, scale the other branch weights by ``L^{-1/(2m-2)}``;
* a gate initialized at 0 (``Residual(branch, gate=True)``): SkipInit (De & Smith,
  2020) and ReZero (Bachlechner et al., 2020);
* :func:`gpt2_init`: GPT-2's ``N(0, 0.02²)`` with the residual projections (the last
  layer of every branch) drawn with std ``0.02/sqrt(n_residual)``, which is
  ``0.02/sqrt(2·n_layer)`` in a transformer with two branches per layer
  (Radford et al., 2019).

A block exposes its branch's parameters in ``params``/``grads`` under prefixed names
(``"branch.0.W"``, ..., and ``"gate"``), the arrays themselves, not copies, so
:meth:`Sequential.parameters` and the optimizers of :mod:`weightinit.training` update
them unchanged. :func:`weightinit.stats.depth_profile` works on a network with blocks
but summarizes only its top-level weighted layers (the stem and the head), because a
block has no single weight ``W``; :func:`residual_profile` gives the per-block
statistics of the residual stream.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from . import initializers as _init
from ._validate import boolean, check_bytes, choice, positive_int, real
from .layers import (
    Dense,
    Layer,
    Sequential,
    _check_array,
    _float_dtype,
    activation,
    softmax_cross_entropy,
)
from .normalization import BatchNorm, LayerNorm

__all__ = [
    "Residual",
    "ResidualProfile",
    "fixup_init",
    "gpt2_init",
    "residual_blocks",
    "residual_mlp",
    "residual_profile",
    "stream_second_moment",
    "zero_init_last",
]


def _as_branch(branch) -> Sequential:
    if isinstance(branch, Sequential):
        return branch
    if isinstance(branch, Layer):
        return Sequential([branch])
    if isinstance(branch, (list, tuple)):
        return Sequential(branch)
    raise TypeError(
        f"branch must be a weightinit Sequential, a Layer or a list of Layers, "
        f"got {type(branch).__name__}"
    )


class Residual(Layer):
    """Residual block ``y = x + g·F(x)`` with an identity shortcut.

    Parameters
    ----------
    branch : Sequential, Layer or list of Layers
        ``F``. Its output must have the shape of its input.
    gate : bool, default False
        Multiply the branch by a learnable scalar ``g`` (``params["gate"]``, shape
        ``(1,)``, as PyTorch's ``nn.Parameter(torch.zeros(1))`` of ReZero). Without a
        gate, ``g = 1`` is fixed.
    gate_init : float, default 0.0
        Initial ``g``: 0 is SkipInit (De & Smith, 2020) and ReZero (Bachlechner et
        al., 2020), where every block starts as the identity; 1 is Fixup's scalar
        multiplier (Zhang et al., 2019).
    dtype : numpy.float64 (default) or numpy.float32
        Precision of the gate (the branch's layers have their own ``dtype``).

    Notes
    -----
    ``params`` and ``grads`` are views assembled on access: the branch's parameter
    ``name`` of layer ``i`` appears as ``"branch.{i}.{name}"`` (the same array), plus
    ``"gate"``. The optimizers' weight decay applies to parameters named exactly
    ``"W"``, so it does not reach the weights inside a block.
    """

    def __init__(self, branch, *, gate: bool = False, gate_init: float = 0.0,
                 dtype=np.float64):  # fmt: skip
        # No Layer.__init__: params and grads are properties built from the branch.
        self.branch = _as_branch(branch)
        if not isinstance(gate, bool):
            raise TypeError(f"gate must be True or False, got {gate!r}")
        gate_init = real(gate_init, "gate_init")
        if not gate and gate_init != 0.0:
            raise ValueError("gate_init is only used with gate=True")
        self.dtype = _float_dtype(dtype)
        self._gate = np.array([gate_init], dtype=self.dtype) if gate else None
        self._gate_grad = None
        self._x = None
        self._f = None

    @property
    def gated(self) -> bool:
        return self._gate is not None

    @property
    def gate(self) -> float:
        """The current value of ``g`` (1.0 for an ungated block)."""
        return float(self._gate[0]) if self.gated else 1.0

    @property
    def params(self) -> dict[str, np.ndarray]:
        # the branch's layers' params directly (branch.parameters() also assembles grads)
        out = {
            f"branch.{i}.{name}": p
            for i, layer in enumerate(self.branch.layers)
            for name, p in layer.params.items()
        }
        if self.gated:
            out["gate"] = self._gate
        return out

    def is_trainable(self, name: str) -> bool:
        """Whether the optimizers update ``params[name]``: ``False`` for every parameter
        when the block is frozen (``trainable = False``); a branch parameter follows its
        own layer's ``trainable`` too."""
        if not self.trainable:
            return False
        if name.startswith("branch."):
            _, i, inner = name.split(".", 2)
            return self.branch.layers[int(i)].is_trainable(inner)
        return True

    @property
    def grads(self) -> dict[str, np.ndarray]:
        out = {
            f"branch.{i}.{name}": g for i, name, _, g in self.branch.parameters() if g is not None
        }
        if self.gated and self._gate_grad is not None:
            out["gate"] = self._gate_grad
        return out

    @property
    def branch_output(self) -> np.ndarray | None:
        """``g·F(x)`` of the last forward pass (what the block added to its input)."""
        return None if self._f is None else self.gate * self._f

    def forward(self, x, training=True):
        x = _check_array(x, "Residual input")
        f = self.branch.forward(x, training)
        if f.shape != x.shape:
            raise ValueError(
                f"the residual branch maps shape {x.shape} to {f.shape}; an identity "
                f"shortcut needs the same shape"
            )
        self._x, self._f = x, f
        self._y_shape = x.shape
        return x + self.gate * f

    def backward(self, dy):
        if self._f is None:
            raise RuntimeError("Residual.backward() called before forward()")
        dy = self._check_dy(dy)
        if self.gated:
            self._gate_grad = np.array([np.sum(dy * self._f)], dtype=self.dtype)
        return dy + self.branch.backward(self.gate * dy)

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.branch.layers)
        g = f", gate={self.gate:g}" if self.gated else ""
        return f"Residual([{inner}]{g})"


# --------------------------------------------------------------------------- helpers
def _check_net(net) -> Sequential:
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a weightinit Sequential, got {type(net).__name__}")
    return net


def residual_blocks(net) -> list[Residual]:
    """The :class:`Residual` blocks among the top-level layers of ``net``, in order."""
    return [layer for layer in _check_net(net).layers if isinstance(layer, Residual)]


def _blocks_or_raise(net) -> list[Residual]:
    blocks = residual_blocks(net)
    if not blocks:
        raise ValueError("net has no Residual block among its layers")
    return blocks


def _param_layers(block: Residual) -> list[Layer]:
    return [layer for layer in block.branch.layers if layer.params]


def _weighted(block: Residual) -> list[Layer]:
    return [layer for layer in block.branch.layers if "W" in layer.params]


def zero_init_last(net) -> Sequential:
    """Make every residual block of ``net`` start as the identity, in place.

    The last layer *with parameters* of each branch is zeroed: a normalization layer
    gets ``γ = 0`` (Goyal et al., 2017; torchvision's ``zero_init_residual=True``,
    which zeroes the last batch-norm weight of every block), a :class:`Dense` or
    :class:`Conv2D` layer gets ``W = 0`` and ``b = 0`` (the "zero last layer" of
    Fixup). Gradients still reach that layer (its input is not zero), so it learns
    from the first step. Returns ``net``.
    """
    for k, block in enumerate(_blocks_or_raise(net)):
        layers = _param_layers(block)
        if not layers:
            raise ValueError(f"residual block {k} has no layer with parameters in its branch")
        last = layers[-1]
        if "gamma" in last.params:
            last.params["gamma"][...] = 0.0
        elif "W" in last.params:
            last.params["W"][...] = 0.0
            if "b" in last.params:
                last.params["b"][...] = 0.0
        else:
            raise ValueError(
                f"the last layer with parameters of block {k} ({last!r}) has neither "
                f"a weight W nor a normalization gamma"
            )
    return net


def fixup_init(net, *, zero_head: bool = True) -> Sequential:
    """Fixup initialization (Zhang, Dauphin & Ma, 2019) of a network built with He's rule.

    With ``L`` residual blocks whose branches have ``m >= 2`` weighted layers, in place:

    1. the last weighted layer of every branch is set to 0 (``W`` and ``b``), and so
       is the classification layer (the last weighted layer of ``net``) when
       ``zero_head``;
    2. every other weighted layer *inside* a branch is multiplied by
       ``L^{-1/(2m-2)}`` (``L^{-1/2}`` for two-layer branches); layers outside the
       branches keep their (He) initialization.

    The paper's third ingredient, a scalar multiplier per branch (initialized at 1)
    and scalar biases before each layer, is not added here: build the blocks with
    ``gate=True, gate_init=1.0`` for the multiplier; the per-unit biases of
    :class:`Dense` play the role of the scalar biases.

    Raises
    ------
    ValueError
        No residual block, a branch with fewer than 2 weighted layers (the exponent
        ``-1/(2m-2)`` is undefined for ``m = 1``), or blocks with different ``m``.
    """
    blocks = _blocks_or_raise(net)
    if not isinstance(zero_head, bool):
        raise TypeError(f"zero_head must be True or False, got {zero_head!r}")
    ms = {len(_weighted(b)) for b in blocks}
    if len(ms) != 1:
        raise ValueError(f"every branch must have the same number of weighted layers, got {ms}")
    m = ms.pop()
    if m < 2:
        raise ValueError(f"Fixup needs branches with m >= 2 weighted layers, got m = {m}")
    scale = len(blocks) ** (-1.0 / (2 * m - 2))
    for block in blocks:
        *inner, last = _weighted(block)
        for layer in inner:
            layer.params["W"] *= scale
        last.params["W"][...] = 0.0
        if "b" in last.params:
            last.params["b"][...] = 0.0
    if zero_head:
        head = [layer for layer in net.layers if "W" in layer.params]
        if not head:
            raise ValueError("zero_head=True but net has no weighted layer outside its blocks")
        head[-1].params["W"][...] = 0.0
        if "b" in head[-1].params:
            head[-1].params["b"][...] = 0.0
    return net


def _dense_layers(net: Sequential):
    for layer in net.layers:
        if isinstance(layer, Residual):
            yield from _dense_layers(layer.branch)
        elif isinstance(layer, Dense):
            yield layer


def gpt2_init(net, *, std: float = 0.02, n_residual: int | None = None, rng=None) -> Sequential:
    """GPT-2's initialization (Radford et al., 2019), in place.

    Every :class:`Dense` weight of ``net`` (inside blocks or not) is redrawn from
    ``N(0, std²)`` and its bias set to 0; then the last :class:`Dense` of every residual
    branch (the "residual projection", ``c_proj`` in GPT-2) is redrawn from
    ``N(0, std²/n_residual)``. GPT-2's paper scales the residual layers "by a factor
    of 1/sqrt(N) where N is the number of residual layers"; its released code and
    Hugging Face's ``GPT2PreTrainedModel`` use ``std = 0.02/sqrt(2·n_layer)``
    because each transformer layer has two branches (attention and MLP). The normal
    is untruncated, as in those implementations.

    Parameters
    ----------
    std : float, default 0.02
    n_residual : int, optional
        Number of residual branches the stream passes through; default: the number
        of :class:`Residual` blocks of ``net`` (pass ``2·n_layer`` to mimic a
        transformer whose attention branches are not modelled).
    rng : int or Generator
    """
    blocks = _blocks_or_raise(net)
    std = real(std, "std", positive=True)
    n = len(blocks) if n_residual is None else positive_int(n_residual, "n_residual")
    gen = _init.as_generator(rng)
    for layer in _dense_layers(net):
        layer.params["W"][...] = gen.normal(0.0, std, size=layer.params["W"].shape)
        layer.params["b"][...] = 0.0
    for k, block in enumerate(blocks):
        dense = [layer for layer in block.branch.layers if isinstance(layer, Dense)]
        if not dense:
            raise ValueError(f"residual block {k} has no Dense layer in its branch")
        w = dense[-1].params["W"]
        w[...] = gen.normal(0.0, std / math.sqrt(n), size=w.shape)
    return net


_NORMS = {None: None, "batch": BatchNorm, "layer": LayerNorm}


def residual_mlp(
    in_features,
    width,
    n_blocks,
    n_classes,
    *,
    style: str = "preact",
    branch_depth: int = 2,
    hidden: int | None = None,
    norm: str | None = None,
    activation_name: str = "relu",
    weight_init="he_normal",
    init_kwargs=None,
    gate: bool = False,
    gate_init: float = 0.0,
    rng=0,
    dtype=np.float64,
) -> Sequential:
    """A residual multilayer perceptron: stem, ``n_blocks`` residual blocks, head.

    ``Dense(in, width)`` → ``n_blocks`` × :class:`Residual` → head, with branches

    * ``style="preact"`` (the pre-activation ResNet of He et al., 2016):
      ``([norm] → act → Dense(width, width)) × branch_depth``; head
      ``[norm] → act → Dense(width, n_classes)``;
    * ``style="transformer"`` (the pre-LN MLP block of GPT-2):
      ``[norm] → Dense(width, hidden) → act → Dense(hidden, width)`` with
      ``hidden = 4·width`` by default; head ``[norm] → Dense(width, n_classes)``
      (GPT-2's final ``ln_f``).

    Parameters
    ----------
    norm : {None, "batch", "layer"}
        :class:`~weightinit.normalization.BatchNorm` or
        :class:`~weightinit.normalization.LayerNorm` where ``[norm]`` stands.
    weight_init, init_kwargs
        For every :class:`Dense` (apply :func:`zero_init_last`, :func:`fixup_init`
        or :func:`gpt2_init` afterwards to change the start).
    gate, gate_init
        See :class:`Residual`.
    rng : int or Generator
        One generator for the whole network.
    dtype : numpy.float64 (default) or numpy.float32
        For every layer with parameters (and the gates).
    """
    dtype = _float_dtype(dtype)
    in_features = positive_int(in_features, "in_features")
    width = positive_int(width, "width")
    n_blocks = positive_int(n_blocks, "n_blocks")
    n_classes = positive_int(n_classes, "n_classes")
    branch_depth = positive_int(branch_depth, "branch_depth")
    if norm is not None:
        norm = choice(norm, "norm (or None)", ("batch", "layer"))
    style = choice(style, "style", ("preact", "transformer"))
    gate = boolean(gate, "gate")
    if style == "transformer" and branch_depth != 2:
        raise ValueError("style='transformer' has two Dense layers per branch: branch_depth=2")
    hidden = 4 * width if hidden is None else positive_int(hidden, "hidden")
    # every weight lives at once: refuse sizes above the limit before allocating, naming
    # the argument behind the largest part (it was Dense's "in_features × out_features")
    if style == "preact":
        who = "n_blocks" if n_blocks * branch_depth > width else "width"
        branch = {who: n_blocks * branch_depth * (width * width + width)}
    else:
        who = (
            "n_blocks" if n_blocks > max(width, hidden) else "width" if width > hidden else "hidden"
        )
        branch = {who: n_blocks * (2 * width * hidden + hidden + width)}
    parts = {"in_features": (in_features + 1) * width, **branch,
             "n_classes": (width + 1) * n_classes}  # fmt: skip
    check_bytes(sum(parts.values()), _float_dtype(dtype).itemsize, max(parts, key=parts.get),
                "set of weights (in_features, width, hidden, n_blocks, n_classes)")  # fmt: skip
    gen = _init.as_generator(rng)

    def dense(a, b):
        return Dense(a, b, weight_init=weight_init, rng=gen, init_kwargs=init_kwargs, dtype=dtype)

    def norm_layer(features):
        return [] if norm is None else [_NORMS[norm](features, dtype=dtype)]

    layers: list[Layer] = [dense(in_features, width)]
    for _ in range(n_blocks):
        if style == "preact":
            branch: list[Layer] = []
            for _ in range(branch_depth):
                branch += [*norm_layer(width), activation(activation_name), dense(width, width)]
        else:
            branch = [
                *norm_layer(width),
                dense(width, hidden),
                activation(activation_name),
                dense(hidden, width),
            ]
        layers.append(
            Residual(branch, gate=gate, gate_init=gate_init if gate else 0.0, dtype=dtype)
        )
    layers += norm_layer(width)
    if style == "preact":
        layers.append(activation(activation_name))
    layers.append(dense(width, n_classes))
    return Sequential(layers)


# --------------------------------------------------------------------------- statistics
def stream_second_moment(depth, gate=1.0, *, q0=1.0, normalized: bool = False) -> float:
    """Predicted second moment ``E[x_L²]`` of the residual stream after ``depth`` blocks.

    Each block computes ``x_{l+1} = x_l + g·F(x_l)``. The branch output is uncorrelated
    with ``x_l`` (its last weight matrix has zero mean and is independent of ``x_l``),
    so ``E[x_{l+1}²] = E[x_l²] + g²·E[F(x_l)²]``.

    * ``normalized=False``: a branch that keeps the second moment of its input, such
      as the He-initialized ``relu → Dense → relu → Dense`` branch of
      :func:`residual_mlp`, has ``E[F(x)²] = E[x²]``, hence
      ``E[x_L²] = q0·(1 + g²)^L`` (``2^L·q0`` for ``g = 1``);
    * ``normalized=True``: a branch that starts with a normalization layer (and is
      He-initialized after it) outputs ``E[F(x)²] = 1`` whatever the scale of ``x``,
      hence ``E[x_L²] = q0 + L·g²``: linear growth (De & Smith, 2020).

    Parameters
    ----------
    depth : int >= 0
        Number of blocks ``L``.
    gate : float
        The branch multiplier ``g`` (1 for a plain block, 0 for SkipInit/ReZero).
    q0 : float > 0
        ``E[x_0²]``, the second moment entering the first block.
    normalized : bool
    """
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 0:
        raise ValueError(f"depth must be an integer >= 0, got {depth!r}")
    gate = real(gate, "gate")
    q0 = real(q0, "q0", positive=True)
    if not isinstance(normalized, bool):
        raise TypeError(f"normalized must be True or False, got {normalized!r}")
    try:
        if gate == 0.0:
            out = q0
        elif normalized:
            out = q0 + depth * gate**2
        else:
            out = q0 * (1.0 + gate**2) ** depth
    except OverflowError:  # float ** int, or an int beyond float range
        out = math.inf
    if not math.isfinite(out):
        shown = str(depth) if depth < 10**15 else f"~1e{len(str(depth)) - 1}"
        raise ValueError(
            f"depth={shown} and gate={gate!r}: the predicted second moment overflows float64"
        )
    return float(out)


@dataclass
class ResidualProfile:
    """Second moments along the residual stream, one entry per :class:`Residual` block.

    * ``stream_ms[k]``: mean square ``E[x²]`` of the output of block ``k``;
    * ``branch_ms[k]``: mean square of what block ``k`` added, ``g·F(x)``;
    * ``grad_ms[k]``: mean square of ``∂L/∂x`` at the output of block ``k``;
    * ``input_ms``, ``input_grad_ms``: the same for the stream entering block 1.

    Mean squares, not variances: the derivation is about second moments, and the
    stream need not have zero mean.
    """

    stream_ms: np.ndarray
    branch_ms: np.ndarray
    grad_ms: np.ndarray
    input_ms: float
    input_grad_ms: float
    loss: float | None = None

    @property
    def depth(self) -> int:
        return len(self.stream_ms)


def residual_profile(net, x, y=None, *, training: bool = False, rng=0) -> ResidualProfile:
    """One forward and backward pass, summarized along the residual stream.

    Parameters
    ----------
    net : Sequential with at least one :class:`Residual` block
    x : ndarray
        A batch of inputs.
    y : int ndarray, optional
        Labels: the backward pass starts from the softmax cross-entropy; otherwise
        from a standard-normal ``∂L/∂output`` drawn with ``rng``.
    training : bool, default False
        The mode of the forward pass. Batch-norm layers normalize with the batch
        statistics only in training mode (which also updates their running
        statistics); at initialization their running statistics are 0 and 1, so an
        evaluation-mode pass does not normalize at all.
    """
    blocks_at = [i for i, layer in enumerate(_check_net(net).layers) if isinstance(layer, Residual)]
    if not blocks_at:
        raise ValueError("net has no Residual block among its layers")
    if not isinstance(training, bool):
        raise TypeError(f"training must be True or False, got {training!r}")
    out = net.forward(x, training=training, keep=True)
    if not np.all(np.isfinite(out)):
        raise FloatingPointError("the network output is not finite: the activations overflowed")
    loss = None
    if y is None:
        dy = _init.as_generator(rng).standard_normal(out.shape)
    else:
        try:
            loss, dy = softmax_cross_entropy(out, y)
        except (TypeError, ValueError) as exc:  # the logits are the net's: y is at fault
            raise type(exc)(f"y: {exc}") from None
    dx = net.backward(dy)
    outs, grads = net.outputs, net.output_grads
    first = blocks_at[0]
    entering = outs[first - 1] if first > 0 else np.asarray(x)
    entering_grad = grads[first - 1] if first > 0 else dx
    return ResidualProfile(
        stream_ms=np.array([np.mean(outs[i] ** 2) for i in blocks_at]),
        branch_ms=np.array([np.mean(net.layers[i].branch_output ** 2) for i in blocks_at]),
        grad_ms=np.array([np.mean(grads[i] ** 2) for i in blocks_at]),
        input_ms=float(np.mean(entering**2)),
        input_grad_ms=float(np.mean(entering_grad**2)),
        loss=loss,
    )
