"""Layer-sequential unit-variance (LSUV) initialization: a data-dependent start.

Mishkin & Matas (2016), "All you need is a good init", Algorithm 1:

1. draw every weight of a plain network from an orthonormal matrix (Saxe et al., 2014),
   :func:`weightinit.initializers.orthogonal`;
2. for each weighted layer ``l`` in order, on one minibatch ``x``: compute the variance
   of the layer's output ``B_l`` (its pre-activation);

   .. math::

       \\text{while } |\\operatorname{Var}(B_l) - v^*| \\ge \\text{tol and } t < T_\\max:\\quad
       W_l \\leftarrow W_l \\,/\\, \\sqrt{\\operatorname{Var}(B_l) / v^*}

   with target ``v* = 1``, ``tol = 0.1`` and ``T_max = 10`` in the paper. Layers already
   processed are not touched again, so the output of layer ``l`` is computed from the
   final weights of layers ``< l``.

Without a bias the output is linear in ``W_l``, so one rescaling hits the target exactly
on that batch; the loop matters when biases or a later layer's input distribution make it
inexact. The variance is measured on the batch, not in expectation, so the scale a layer
gets depends on the data: that is the point of the method (and its cost: one forward
pass per iteration).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ._validate import real
from .initializers import as_generator, orthogonal
from .layers import Sequential

__all__ = ["LSUVResult", "lsuv"]


@dataclass
class LSUVResult:
    """What :func:`lsuv` did, one entry per weighted layer (in network order).

    ``layer_index`` is the index in ``net.layers``; ``var_before`` the output variance
    after the orthonormal pre-initialization (before any rescaling of that layer);
    ``var_after`` the variance once done; ``iterations`` the number of rescalings;
    ``scale`` the total factor applied to the layer's weights; ``converged`` whether
    ``|var_after - target| < tol``.
    """

    target: float
    layer_index: list[int] = field(default_factory=list)
    var_before: list[float] = field(default_factory=list)
    var_after: list[float] = field(default_factory=list)
    iterations: list[int] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    converged: list[bool] = field(default_factory=list)

    def rows(self) -> list[dict]:
        """One dict per weighted layer (for :func:`weightinit.display.table`).

        ``layer`` counts the weighted layers from 1; ``index`` is the position in
        ``net.layers``.
        """
        return [
            {
                "layer": k + 1,
                "index": i,
                "Var before": vb,
                "Var after": va,
                "iterations": it,
                "scale": s,
                "converged": c,
            }
            for k, (i, vb, va, it, s, c) in enumerate(
                zip(
                    self.layer_index,
                    self.var_before,
                    self.var_after,
                    self.iterations,
                    self.scale,
                    self.converged,
                    strict=True,
                )
            )
        ]


def _int_at_least(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def lsuv(
    net: Sequential,
    x,
    *,
    target_var: float = 1.0,
    tol: float = 0.1,
    max_iter: int = 10,
    orthonormal: bool = True,
    rng=0,
) -> LSUVResult:
    """Rescale ``net``'s weights in place, layer by layer, to unit output variance on ``x``.

    Parameters
    ----------
    net : Sequential
        A network whose weighted layers have a weight ``params["W"]`` (``Dense``,
        ``Conv2D``). Biases are left as they are.
    x : array
        One minibatch of inputs, as ``net.forward`` takes them (at least 2 examples).
    target_var : float, default 1
        The output variance each weighted layer should have on ``x``.
    tol : float, default 0.1
        Stop rescaling a layer once ``|Var - target_var| < tol`` (Mishkin & Matas: 0.1).
    max_iter : int, default 10
        At most this many rescalings per layer (``T_max``; 0 = only measure).
    orthonormal : bool, default True
        First redraw every weight as an orthonormal matrix (step 1 of the algorithm);
        ``False`` keeps the weights the network has (LSUV on top of any scheme).
    rng : int or Generator
        Seed for the orthonormal redraw.

    Returns
    -------
    LSUVResult

    Raises
    ------
    TypeError
        ``net`` is not a Sequential, or an argument has the wrong type.
    ValueError
        Bad numbers, a batch with fewer than 2 examples, a layer whose output on ``x`` has
        zero or non-finite variance (it cannot be rescaled to the target).
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a weightinit Sequential, got {type(net).__name__}")
    target = real(target_var, "target_var", positive=True)
    tol = real(tol, "tol", positive=True)
    max_iter = _int_at_least(max_iter, "max_iter", 0)
    if not isinstance(orthonormal, (bool, np.bool_)):
        raise TypeError(f"orthonormal must be True or False, got {orthonormal!r}")
    h = np.asarray(x)
    if not np.issubdtype(h.dtype, np.number) or np.iscomplexobj(h):
        raise TypeError(f"x must be a real numeric array, got dtype {h.dtype}")
    if h.ndim < 2 or h.shape[0] < 2:
        raise ValueError(f"x must be a batch of at least 2 examples, got shape {h.shape}")
    if not np.all(np.isfinite(h)):
        raise ValueError("x contains NaN or infinite values")
    gen = as_generator(rng)
    weighted = set(net.weighted_layers)
    if not weighted:
        raise ValueError("net has no layer with a weight W to rescale")
    if orthonormal:
        for i in sorted(weighted):
            W = net.layers[i].params["W"]
            W[...] = orthogonal(W.shape, rng=gen).astype(W.dtype, copy=False)
    result = LSUVResult(target=target)
    for i, layer in enumerate(net.layers):
        if i in weighted:
            W = layer.params["W"]
            out = layer.forward(h, training=False)
            var = float(np.var(out))
            result.layer_index.append(i)
            result.var_before.append(var)
            total, it = 1.0, 0
            while abs(var - target) >= tol and it < max_iter:
                if not np.isfinite(var) or var <= 0.0:
                    raise ValueError(
                        f"layer {i} ({layer!r}) has output variance {var} on x: it cannot be "
                        "rescaled to the target (dead or saturated input?)"
                    )
                factor = float(np.sqrt(target / var))
                W *= factor
                total *= factor
                it += 1
                out = layer.forward(h, training=False)
                previous, var = var, float(np.var(out))
                if var == previous:  # a tol below round-off: rescaling cannot get closer
                    break
            result.var_after.append(var)
            result.iterations.append(it)
            result.scale.append(total)
            result.converged.append(abs(var - target) < tol)
            h = out
        else:
            h = layer.forward(h, training=False)
    return result
