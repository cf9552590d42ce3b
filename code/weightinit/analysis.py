"""Signal propagation at initialization: Jacobians, numerical gains and mean-field maps.

Three tools that look at a network *before* training:

* :func:`jacobian` and :func:`jacobian_singular_values` -- the exact input-output
  Jacobian :math:`J = \\partial y / \\partial x` of a :class:`~weightinit.layers.Sequential`
  at one input, by back-propagating every output unit at once (one batched backward
  pass), and its singular values. *Dynamical isometry* (Saxe et al., 2014;
  Pennington et al., 2017) means that all of them are close to 1.
* :func:`gaussian_expectation`, :func:`activation_moments` and :func:`numerical_gain`
  -- :math:`\\mathbb{E}[f(\\sqrt{q}\\,z)^2]` and :math:`\\mathbb{E}[f'(\\sqrt{q}\\,z)^2]`
  for :math:`z \\sim \\mathcal{N}(0, 1)` by quadrature, and from them the gain that
  keeps the second moment of the forward signal (or of the backward gradient) at
  its input value. They reproduce :func:`weightinit.fans.gain` (PyTorch's
  ``calculate_gain``) where PyTorch's value is derived (linear 1, ReLU
  :math:`\\sqrt 2`, leaky ReLU :math:`\\sqrt{2/(1+a^2)}`) and show where it is a
  heuristic (tanh: 5/3 against 1.593; SELU: 3/4 against 1; sigmoid: 1 against 1.846).
* :func:`length_map`, :func:`fixed_point`, :func:`correlation_map`, :func:`chi1`,
  :func:`critical_sigma_w` and :func:`depth_scale` -- the mean-field theory of deep
  networks with i.i.d. weights :math:`\\mathcal{N}(0, \\sigma_w^2/n)` and biases
  :math:`\\mathcal{N}(0, \\sigma_b^2)` in the limit of infinite width (Poole et al.,
  2016; Schoenholz et al., 2017):

  .. math::

      q_{l+1} = \\sigma_w^2\\, \\mathbb{E}\\big[f(\\sqrt{q_l}\\, z)^2\\big] + \\sigma_b^2,
      \\qquad
      \\chi_1 = \\sigma_w^2\\, \\mathbb{E}\\big[f'(\\sqrt{q^*}\\, z)^2\\big],

  with :math:`q^*` the fixed point of the length map. :math:`\\chi_1 < 1` is the
  ordered phase (nearby inputs converge, gradients vanish), :math:`\\chi_1 > 1` the
  chaotic phase (nearby inputs decorrelate, gradients explode), :math:`\\chi_1 = 1`
  the edge of chaos.

Quadrature
----------
The activation moments (:func:`activation_moments`, :func:`numerical_gain`,
:func:`length_map`, :func:`fixed_point`, :func:`chi1`, :func:`critical_sigma_w`,
:func:`depth_scale`) use composite Gauss-Legendre quadrature on 18 panels per half-line
of :math:`[-12, 12]` (the normal mass beyond 12 standard deviations is below 1e-32),
split at 0 and graded geometrically towards it (edges :math:`0, 2^{-10}, \\dots, 1/2, 1`,
then wider panels), with :math:`\\lceil n/10 \\rceil` nodes per panel (10 by default, 360
nodes). Why: :math:`f(\\sqrt q\\, z)` changes on the scale :math:`1/\\sqrt q` in :math:`z`.
For large :math:`q` the integrand of :math:`\\mathbb{E}[\\tanh'(\\sqrt q z)^2]` is a spike
of width :math:`1/\\sqrt q` at 0 and :math:`\\tanh(\\sqrt q z)^2` a step; Gauss-Hermite
with a fixed number of nodes (spaced about :math:`\\pi/\\sqrt{2n}` near 0) does not
resolve them: it gave :math:`\\chi_1(\\sigma_w = 4) = 2.26` with 100 nodes and 2.37 with
200 (the true value is 2.3768). Activations with a kink or a jump at 0 (``relu``,
``leaky_relu``, ``selu``) need the split at 0 for the same reason. On the graded panels
each piece of the integrand is smooth on its panel and the rule converges exponentially:
for every activation and :math:`q \\in [0, 10^6]` (:data:`Q_RANGE`) the moments agree
with :func:`scipy.integrate.quad` to a relative :data:`MOMENT_RTOL` = 1e-12 with the
default ``n`` (the largest error measured on a grid of :math:`q` from 1e-4 to 1e6 is
about 1e-14; ``tests/test_analysis.py`` checks the bound). :func:`correlation_map` uses
the same panels in both dimensions, the inner ones graded towards the point where
:math:`u_2` changes sign: about 1e-10 absolute with its default ``n = 60`` for tanh up to
:math:`q^* \\approx 13`, round-off with ``n = 200``.

:func:`gaussian_expectation`, the general tool for any ``fn``, keeps probabilists'
Gauss-Hermite quadrature (:func:`numpy.polynomial.hermite_e.hermegauss`), exact for
polynomials of degree :math:`< 2n` and accurate to ~1e-12 for smooth ``fn`` that vary
on a scale of order 1 (``tanh`` with :math:`q \\lesssim 1`), or, with ``split_at_zero``,
Gauss-Legendre on :math:`[-12, 0]` and :math:`[0, 12]`; for ``fn`` that are steep at
large :math:`q` increase ``n`` or use the activation functions above.

References
----------
Saxe, McClelland & Ganguli (2014), *Exact solutions to the nonlinear dynamics of
learning in deep linear neural networks*, ICLR. Poole, Lahiri, Raghu, Sohl-Dickstein
& Ganguli (2016), *Exponential expressivity in deep neural networks through
transient chaos*, NeurIPS. Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017),
*Deep information propagation*, ICLR. Pennington, Schoenholz & Ganguli (2017),
*Resurrecting the sigmoid in deep learning through dynamical isometry*, NeurIPS.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss

from ._validate import (
    boolean,
    check_bytes,
    choice,
    positive_int,
    real,
    real_array,
    slope_alias,
)
from .initializers import _hide_varargs
from .layers import Layer, Sequential, activation

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_NODES",
    "MAX_NODES",
    "ConvergenceError",
    "activation_moments",
    "chi1",
    "correlation_map",
    "critical_sigma_w",
    "depth_scale",
    "fixed_point",
    "gaussian_expectation",
    "jacobian",
    "jacobian_singular_values",
    "length_map",
    "numerical_gain",
]

#: Default resolution ``n``: Gauss-Hermite nodes of :func:`gaussian_expectation` (per
#: half-line with ``split_at_zero``); ``ceil(n / 10)`` nodes per panel of the activation
#: moments' panel rule.
DEFAULT_NODES = 100
#: Largest accepted number of nodes: above 371 the Gauss-Hermite weights of numpy's
#: ``hermegauss`` underflow to NaN, and 300 nodes are already exact to round-off.
MAX_NODES = 300
#: Half-width, in standard deviations, of the truncated domain of the split rule.
_CUTOFF = 12.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)

#: Activations known to the mean-field functions: name -> has a kink/jump at 0.
ACTIVATIONS = {
    "linear": False,
    "identity": False,
    "tanh": False,
    "sigmoid": False,
    "relu": True,
    "leaky_relu": True,
    "selu": True,
}
_GAIN_ALIASES = {
    "conv1d": "linear",
    "conv2d": "linear",
    "conv3d": "linear",
    "conv_transpose1d": "linear",
    "conv_transpose2d": "linear",
    "conv_transpose3d": "linear",
}


# --------------------------------------------------------------------------- quadrature
@lru_cache(maxsize=16)
def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = hermegauss(n)
    return x, w / _SQRT_2PI  # weights of E[g(z)], z ~ N(0, 1)


@lru_cache(maxsize=16)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return leggauss(n)


@lru_cache(maxsize=16)
def _split_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes/weights of E[g(z)] with Gauss-Legendre on [-12, 0] and [0, 12]."""
    x, w = _legendre(n)
    half = (x + 1.0) * (_CUTOFF / 2.0)
    z = np.concatenate([-half[::-1], half])
    ww = np.concatenate([w[::-1], w]) * (_CUTOFF / 2.0)
    return z, ww * np.exp(-0.5 * z * z) / _SQRT_2PI


def _rule(n: int, kinked: bool) -> tuple[np.ndarray, np.ndarray]:
    return _split_rule(n) if kinked else _hermite(n)


#: Panel edges on [0, 12] of :func:`_panel_rule` (18 panels): geometric below 1 (0, 2^-10,
#: ..., 1/2, 1), where the activation changes on its own scale 1/sqrt(q) (tanh, sigmoid,
#: SELU's exponential), resolved for q up to ~1e6; then widening panels up to 12, where
#: the integrand is the smooth, small Gaussian tail times a slowly varying f.
_PANEL_EDGES = np.array(
    [0.0] + [2.0**-k for k in range(10, 0, -1)] + [1.0, 2.0, 3.0, 4.0, 5.0, 6.5, 8.5, _CUTOFF]
)
#: the number of panels per half-line
N_PANELS = len(_PANEL_EDGES) - 1
#: The documented range of ``q`` of the activation moments and their relative accuracy
#: there with the default ``n`` (the largest error against :func:`scipy.integrate.quad`
#: measured on a grid of q from 1e-4 to 1e6 is ~1e-14; ``tests/test_analysis.py`` checks
#: this bound for every activation). Beyond 1e6 the accuracy of the derivatives of tanh
#: and sigmoid degrades (the smallest panel, 2^-10, no longer resolves 1/sqrt(q)).
Q_RANGE = (0.0, 1e6)
MOMENT_RTOL = 1e-12


def _panel_nodes(n: int) -> int:
    """Gauss-Legendre nodes per panel of :func:`_panel_rule` for ``n`` (n / 10, >= 1)."""
    return max(1, -(-n // 10))


@lru_cache(maxsize=16)
def _panel_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes/weights of E[g(z)]: composite Gauss-Legendre on :data:`_PANEL_EDGES`, mirrored.

    Split at 0 (the kink of relu/leaky_relu/selu) and graded towards 0, where
    :math:`g(\sqrt q\, z)` changes on the scale :math:`1/\sqrt q`: each panel then holds
    a smooth piece of the integrand, and the rule converges exponentially in the nodes
    per panel (:func:`_panel_nodes`) for every activation and every q up to ~1e6.
    """
    x, w = _legendre(_panel_nodes(n))
    a, b = _PANEL_EDGES[:-1, None], _PANEL_EDGES[1:, None]
    half = ((a + b) / 2.0 + (b - a) / 2.0 * x).ravel()
    wh = ((b - a) / 2.0 * w).ravel()
    z = np.concatenate([-half[::-1], half])
    ww = np.concatenate([wh[::-1], wh])
    return z, ww * np.exp(-0.5 * z * z) / _SQRT_2PI


class ConvergenceError(RuntimeError, ValueError):
    """The length map did not reach its fixed point within ``max_iter`` iterations.

    A :class:`RuntimeError` (what it always was) and a :class:`ValueError` (like every
    rejection of the library: these arguments have no fixed point the iteration
    reaches); the message names the arguments.
    """


def _nodes(n) -> int:
    n = positive_int(n, "n")
    if not 2 <= n <= MAX_NODES:
        raise ValueError(
            f"n (number of quadrature nodes) must be >= 2 and <= {MAX_NODES}, got {n} "
            f"(the default {DEFAULT_NODES} is exact to round-off for these integrands)"
        )
    return n


def _nonneg_array(value, name: str, *, positive: bool = False) -> np.ndarray:
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):  # ragged nested sequences
        raise TypeError(
            f"{name} must be a real number or an array of them, got {value!r}"
        ) from None
    if raw.dtype.kind not in "iuf":  # rejects bool, str, object, complex
        raise TypeError(f"{name} must be a real number or an array of them, got {value!r}")
    if raw.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {raw.shape}")
    try:
        with np.errstate(over="ignore"):
            arr = raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError):  # huge Python ints in an object array
        raise ValueError(f"{name} must be finite, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return arr


def gaussian_expectation(fn: Callable, q=1.0, *, n: int = DEFAULT_NODES, split_at_zero=False):
    """:math:`\\mathbb{E}[g(\\sqrt{q}\\, z)]` for :math:`z \\sim \\mathcal{N}(0, 1)`, by quadrature.

    Gauss-Hermite (probabilists' weight :math:`e^{-z^2/2}`, nodes from
    :func:`numpy.polynomial.hermite_e.hermegauss`):
    :math:`\\mathbb{E}[g(z)] \\approx \\sum_i w_i\\, g(x_i) / \\sqrt{2\\pi}`; with
    ``split_at_zero`` Gauss-Legendre on :math:`[-12, 0]` and :math:`[0, 12]` instead,
    for integrands with a kink or jump at 0. Accurate for ``g(sqrt(q) z)`` that vary on
    a scale of order 1 in ``z``; an integrand that is steep at large ``q`` (``tanh'``
    at ``q = 10``) needs more nodes (see "Quadrature" in the module docstring; the
    activation moments use a graded panel rule that does not).

    Parameters
    ----------
    fn : callable
        Vectorized function of a numpy array.
    q : float or array, >= 0
        Variance of the Gaussian argument; an array gives one expectation per entry.
    n : int, >= 2
        Number of nodes (per half-line with ``split_at_zero``).
    split_at_zero : bool

    Returns
    -------
    float or ndarray of the shape of ``q``
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable, got {type(fn).__name__}")
    q = _nonneg_array(q, "q")
    n = _nodes(n)
    return _expect(fn, q, *_rule(n, boolean(split_at_zero, "split_at_zero")))


def _expect(fn: Callable, q: np.ndarray, z: np.ndarray, w: np.ndarray):
    """:math:`\\sum_i w_i\\, fn(\\sqrt q\\, z_i)` for every entry of ``q`` (checked)."""
    check_bytes(q.size * z.size, 8, "q", "quadrature grid (q.size × nodes)")
    u = np.sqrt(q)[..., None] * z
    with np.errstate(over="ignore", invalid="ignore"):
        raw = fn(u)
    if raw is None:
        raise TypeError("fn must return a real array of its input's shape, got None")
    try:
        vals = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"fn must return a real array of its input's shape, got {type(raw).__name__}"
        ) from None
    if vals.shape != u.shape:
        raise ValueError(
            f"fn must be vectorized: it must return an array of its input's shape {u.shape}, "
            f"got shape {vals.shape}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        out = vals @ w
    if not np.all(np.isfinite(out)):
        raise ValueError(
            "the expectation is not finite: fn returns NaN/inf at the quadrature nodes or "
            f"q is too large for float64 (largest q: {float(np.max(q)):.3g})"
        )
    return float(out) if out.ndim == 0 else out


def _slope(negative_slope, param):
    """``negative_slope``, or the deprecated alias ``param`` (with a DeprecationWarning).

    Called first thing by every public function that takes the slope, so the warning
    points at the user's line (this helper, then the public function, then the user).
    The value is checked where it is used (leaky_relu only, as :func:`weightinit.gain`).
    """
    return slope_alias(negative_slope, param, "param", stacklevel=3)


def _activation_layer(nonlinearity, negative_slope) -> tuple[Layer, bool]:
    if isinstance(nonlinearity, Layer):
        name = getattr(nonlinearity, "nonlinearity", None)
        if name not in ACTIVATIONS:
            raise ValueError(
                f"nonlinearity layer {nonlinearity!r} is not one of the activations "
                f"{tuple(ACTIVATIONS)}"
            )
        return nonlinearity, ACTIVATIONS[name]
    if not isinstance(nonlinearity, str):
        raise TypeError(
            f"nonlinearity must be a name, one of {tuple(ACTIVATIONS)}, or an activation "
            f"layer, got {nonlinearity!r}"
        )
    name = _GAIN_ALIASES.get(nonlinearity.lower(), nonlinearity.lower())
    if name not in ACTIVATIONS:
        raise ValueError(
            f"unknown nonlinearity {nonlinearity!r}; allowed: {', '.join(ACTIVATIONS)}"
        )
    if name == "leaky_relu":
        slope = (
            0.01
            if negative_slope is None
            else real(negative_slope, "negative_slope (the leaky_relu negative slope)")
        )
        return activation(name, negative_slope=slope), True
    return activation(name), ACTIVATIONS[name]


def _f_and_df(nonlinearity, negative_slope):
    """Value and derivative of the library's activation layer (the same code the nets run)."""
    layer, kinked = _activation_layer(nonlinearity, negative_slope)

    def f(x):
        return layer.forward(x, training=False)

    def df(x):
        layer.forward(x, training=False)
        return layer.backward(np.ones_like(x))

    return f, df, kinked


def _moments(nonlinearity, negative_slope, q, n, which=("fwd", "bwd")):
    """E[f(sqrt q z)^2] and/or E[f'(sqrt q z)^2] with the panel rule (:func:`_panel_rule`)."""
    f, df, _ = _f_and_df(nonlinearity, negative_slope)
    q = _nonneg_array(q, "q")
    z, w = _panel_rule(_nodes(n))
    out = []
    if "fwd" in which:
        out.append(_expect(lambda x: f(x) ** 2, q, z, w))
    if "bwd" in which:
        out.append(_expect(lambda x: df(x) ** 2, q, z, w))
    return tuple(out)


def activation_moments(nonlinearity, q=1.0, *, negative_slope=None, n: int = DEFAULT_NODES,
                       param=None):  # fmt: skip
    """Second moments :math:`\\mathbb{E}[f(\\sqrt q z)^2]` and :math:`\\mathbb{E}[f'(\\sqrt q z)^2]`.

    Parameters
    ----------
    nonlinearity : str or activation layer
        ``linear``/``identity``, ``tanh``, ``sigmoid``, ``relu``, ``leaky_relu``,
        ``selu``; evaluated with the library's own layers (:mod:`weightinit.layers`).
    q : float or array, >= 0
        Variance of the pre-activation.
    negative_slope : float, optional
        Negative slope of ``leaky_relu`` (default 0.01, as :func:`weightinit.gain`);
        ignored for the other activations. Keyword-only.
    n : int
        Resolution of the quadrature: ``ceil(n / 10)`` Gauss-Legendre nodes on each of the
        36 panels (module docstring); the default is accurate to :data:`MOMENT_RTOL`
        for ``q`` in :data:`Q_RANGE`.
    param : float, optional
        Deprecated alias of ``negative_slope`` (PyTorch's ``calculate_gain`` name): works
        with a :class:`DeprecationWarning`; giving both raises :class:`TypeError`.

    Returns
    -------
    (forward, backward) : floats or arrays of the shape of ``q``
    """
    negative_slope = _slope(negative_slope, param)
    return _moments(nonlinearity, negative_slope, q, n)


def numerical_gain(nonlinearity, *args, negative_slope=None, mode: str = "forward",
                   n: int = DEFAULT_NODES, param=None):  # fmt: skip
    """The gain that keeps the second moment of a unit-variance signal, computed.

    For a layer with :math:`\\mathrm{Var}(w) = g^2/\\text{fan}` fed by
    :math:`f(y)`, :math:`y \\sim \\mathcal{N}(0, 1)`:

    .. math::

        g_\\text{forward} = \\mathbb{E}[f(z)^2]^{-1/2}, \\qquad
        g_\\text{backward} = \\mathbb{E}[f'(z)^2]^{-1/2},

    the first keeping :math:`\\mathbb{E}[y_{l+1}^2] = \\mathbb{E}[y_l^2] = 1` (He et al.,
    2015, derive :math:`\\sqrt 2` for ReLU this way), the second the second moment of
    the back-propagated gradient. Compare with :func:`weightinit.fans.gain`, which
    returns PyTorch's ``calculate_gain`` values.

    Parameters
    ----------
    nonlinearity : str
        As :func:`activation_moments`; ``conv*`` names are the identity (PyTorch's
        convention).
    negative_slope : float, optional
        Negative slope of ``leaky_relu`` (default 0.01). Keyword-only: a positional
        second argument raises :class:`TypeError` (it used to be the slope, and
        :func:`weightinit.gain` still takes it positionally, as PyTorch): write
        ``negative_slope=``.
    mode : {"forward", "backward"}
    n : int
        Quadrature nodes.
    param : float, optional
        Deprecated alias of ``negative_slope`` (:class:`DeprecationWarning`).
    """
    if args:
        raise TypeError(
            f"numerical_gain() takes the nonlinearity as its only positional argument, got "
            f"{len(args)} more ({args[0]!r}); pass the leaky slope as a keyword, "
            f"numerical_gain({nonlinearity!r}, negative_slope={args[0]!r})"
        )
    negative_slope = _slope(negative_slope, param)
    mode = choice(mode, "mode", ("forward", "backward"))
    fwd, bwd = activation_moments(nonlinearity, 1.0, negative_slope=negative_slope, n=n)
    m = fwd if mode == "forward" else bwd
    if m <= 0:
        raise ValueError(f"{nonlinearity!r} has zero {mode} second moment: no gain exists")
    return 1.0 / math.sqrt(m)


_hide_varargs(numerical_gain)


# --------------------------------------------------------------------------- mean field
def _sigmas(sigma_w, sigma_b):
    sw = _nonneg_array(sigma_w, "sigma_w", positive=True)
    sb = _nonneg_array(sigma_b, "sigma_b")
    return sw, sb


def length_map(q, sigma_w, sigma_b=0.0, nonlinearity="tanh", *, negative_slope=None,
               n: int = DEFAULT_NODES, param=None):  # fmt: skip
    """One step of the mean-field length map (Poole et al., 2016, eq. 3).

    .. math::

        q_{l+1} = \\sigma_w^2\\, \\mathbb{E}\\big[f(\\sqrt{q_l}\\, z)^2\\big] + \\sigma_b^2

    :math:`q_l` is the second moment of a pre-activation of layer :math:`l` (the
    squared length of the pre-activation vector divided by the width) of a network
    of infinite width with weights :math:`\\mathcal{N}(0, \\sigma_w^2/\\text{fan}_\\text{in})`
    and biases :math:`\\mathcal{N}(0, \\sigma_b^2)`. Arguments broadcast.
    ``negative_slope`` (keyword-only) is the slope of ``leaky_relu``; ``param`` its
    deprecated alias (:class:`DeprecationWarning`).
    """
    negative_slope = _slope(negative_slope, param)
    q = _nonneg_array(q, "q")
    sw, sb = _sigmas(sigma_w, sigma_b)
    (fwd,) = _moments(nonlinearity, negative_slope, q, n, which=("fwd",))
    with np.errstate(over="ignore"):
        out = sw**2 * fwd + sb**2
    if not np.all(np.isfinite(out)):
        raise ValueError(
            "q, sigma_w, sigma_b: the next second moment overflows float64 "
            f"(sigma_w up to {float(np.max(sw)):.3g})"
        )
    return float(out) if np.ndim(out) == 0 else out


def fixed_point(sigma_w, sigma_b=0.0, nonlinearity="tanh", *, negative_slope=None, q0=1.0,
                tol: float = 1e-10, max_iter: int = 10_000, n: int = DEFAULT_NODES,
                param=None):  # fmt: skip
    """The fixed point :math:`q^*` the length map reaches from ``q0``, by iterating it.

    Iteration (rather than root finding) returns the *attracting* fixed point, the one a
    deep network actually approaches. Arguments broadcast (all points iterate together).

    Parameters
    ----------
    sigma_w : float or array, > 0
    sigma_b : float or array, >= 0
    nonlinearity, negative_slope, n, param
        As :func:`length_map` (``param`` is the deprecated alias of ``negative_slope``).
    q0 : float, >= 0
        Starting second moment (the input's).
    tol : float
        Stop when :math:`|q_{l+1} - q_l| \\le` ``tol`` :math:`\\cdot \\max(q_l, 10^{-300})`.
    max_iter : int

    Returns
    -------
    float or ndarray
        ``math.inf`` where the map diverges (:math:`q` above 1e100: an unbounded
        activation in the chaotic phase, e.g. ReLU with :math:`\\sigma_w^2 > 2`).

    Raises
    ------
    ConvergenceError
        Some point has not converged after ``max_iter`` iterations (e.g. ReLU at
        :math:`\\sigma_w^2 = 2,\\ \\sigma_b > 0`, where :math:`q` grows linearly for ever).
        A :class:`RuntimeError` and a :class:`ValueError`.
    """
    negative_slope = _slope(negative_slope, param)
    sw, sb = _sigmas(sigma_w, sigma_b)
    q = np.broadcast_to(_nonneg_array(q0, "q0"), np.broadcast(sw, sb).shape).astype(float)
    tol = real(tol, "tol", positive=True)
    max_iter = positive_int(max_iter, "max_iter")
    sw_full, sb_full = np.broadcast_to(sw, q.shape), np.broadcast_to(sb, q.shape)
    done = np.zeros(q.shape, dtype=bool)
    for _ in range(max_iter):
        new = q.copy()
        todo = ~done  # only the points still moving are evaluated
        new[todo] = length_map(q[todo], sw_full[todo], sb_full[todo], nonlinearity,
                               negative_slope=negative_slope, n=n)  # fmt: skip
        diverged = new > 1e100
        new = np.where(diverged, np.inf, new)
        conv = np.abs(new - q) <= tol * np.maximum(q, 1e-300)
        done = done | conv | diverged
        q = new
        if done.all():
            return float(q) if q.ndim == 0 else q
    raise ConvergenceError(
        f"the length map did not converge in max_iter={max_iter} iterations at "
        f"{int((~done).sum())} of {done.size} points (sigma_w, sigma_b); q may grow "
        "without bound (e.g. ReLU with sigma_w**2 = 2 and sigma_b > 0) or approach 0 "
        "algebraically (sigma_b = 0 at the critical sigma_w)"
    )


def _q_star(q_star, sigma_w, sigma_b, nonlinearity, negative_slope, n):
    if q_star is None:
        return fixed_point(sigma_w, sigma_b, nonlinearity, negative_slope=negative_slope, n=n)
    return _nonneg_array(q_star, "q_star")


def chi1(sigma_w, sigma_b=0.0, nonlinearity="tanh", *, negative_slope=None, q_star=None,
         n: int = DEFAULT_NODES, param=None):  # fmt: skip
    """:math:`\\chi_1 = \\sigma_w^2\\, \\mathbb{E}[f'(\\sqrt{q^*} z)^2]` (Poole et al., 2016).

    The slope of the correlation map at :math:`c = 1` and the factor by which the mean
    squared singular value of one layer's Jacobian multiplies the gradient's second
    moment per layer (Schoenholz et al., 2017; Pennington et al., 2017). ``q_star``
    defaults to :func:`fixed_point`. Arguments broadcast. ``negative_slope``
    (keyword-only) is the slope of ``leaky_relu``; ``param`` its deprecated alias.
    """
    negative_slope = _slope(negative_slope, param)
    sw, sb = _sigmas(sigma_w, sigma_b)
    qs = _q_star(q_star, sw, sb, nonlinearity, negative_slope, n)
    if np.any(np.isinf(qs)):
        raise ValueError("q_star is infinite (the length map diverges): chi1 is undefined")
    _, bwd = activation_moments(nonlinearity, qs, negative_slope=negative_slope, n=n)
    with np.errstate(over="ignore"):
        out = sw**2 * bwd
    if not np.all(np.isfinite(out)):
        raise ValueError("sigma_w is too large: chi1 = sigma_w² E[f'²] overflows float64")
    return float(out) if np.ndim(out) == 0 else out


def correlation_map(c, sigma_w, sigma_b=0.0, nonlinearity="tanh", *, negative_slope=None,
                    q_star=None, n: int = 60, param=None):  # fmt: skip
    """One step of the correlation map at the length fixed point (Poole et al., 2016, eq. 5).

    .. math::

        c_{l+1} = \\frac{\\sigma_w^2\\, \\mathbb{E}\\big[f(u_1) f(u_2)\\big] + \\sigma_b^2}{q^*},
        \\quad u_1 = \\sqrt{q^*} z_1,\\ u_2 = \\sqrt{q^*}\\big(c z_1 + \\sqrt{1 - c^2}\\, z_2\\big)

    with :math:`z_1, z_2` independent standard normals: the correlation of the
    pre-activations of two inputs one layer up, given correlation :math:`c` now.
    Two-dimensional tensor quadrature (``n`` nodes per axis; for kinked activations
    the inner integral is split where :math:`u_2` changes sign). ``c`` may be an array
    in :math:`[-1, 1]`; ``sigma_w``, ``sigma_b`` are scalars here. ``negative_slope``
    (keyword-only) is the slope of ``leaky_relu``; ``param`` its deprecated alias.
    """
    negative_slope = _slope(negative_slope, param)
    c = real_array(c, "c", allow_empty=False)
    if np.any(np.abs(c) > 1):
        raise ValueError(f"c must lie in [-1, 1], got {c!r}")
    sw = real(sigma_w, "sigma_w", positive=True)
    sb = real(sigma_b, "sigma_b", lower=0.0)
    n = _nodes(n)
    m = _panel_nodes(n)  # outer: 2·N_PANELS panels; inner: 2·N_PANELS + 15 panels
    nodes = 2 * N_PANELS * m * (2 * N_PANELS + 15) * m
    check_bytes(c.size * nodes, 8, "c", "quadrature grid (c.size × nodes²)")
    qs = _q_star(q_star, sw, sb, nonlinearity, negative_slope, n=DEFAULT_NODES)
    if np.ndim(qs) != 0:
        raise ValueError(
            f"q_star must be one number here (sigma_w, sigma_b are scalars), got {qs!r}"
        )
    qs = float(qs)
    if not math.isfinite(qs) or qs <= 0:
        raise ValueError(f"q_star must be finite and > 0 for a correlation, got {qs!r}")
    f, _, _ = _f_and_df(nonlinearity, negative_slope)
    s = np.sqrt(np.clip(1.0 - c * c, 0.0, None))[..., None, None]  # (..., 1, 1)
    cc = c[..., None, None]
    rq = math.sqrt(qs)
    # outer z1: the panel rule (split at 0, graded towards it, where f(u1) is steep or kinked)
    z1, w1 = _panel_rule(n)
    # inner z2: composite Gauss-Legendre between edges that resolve both the Gaussian (the
    # panel edges, mirrored) and f(u2), which is kinked or steep where u2 = 0, at
    # b = -c z1 / s, on the scale w = 1/(sqrt(q*) s): edges b and b ± w·2^j, j = -2..4. The
    # edges are sorted per row (same count in every row); empty panels get zero weight.
    x, wl = _legendre(_panel_nodes(n))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = np.where(s > 1e-12, -cc * z1[:, None] / np.maximum(s, 1e-300), 0.0)
        w_scale = 1.0 / (rq * np.maximum(s, 1e-300))
    steps = np.concatenate([[0.0], 2.0 ** np.arange(-2, 5), -(2.0 ** np.arange(-2, 5))])
    fixed = np.concatenate([-_PANEL_EDGES[::-1], _PANEL_EDGES[1:]])
    near = b + np.minimum(w_scale, 4.0 * _CUTOFF) * steps  # (..., n1, 15)
    edges = np.concatenate([np.broadcast_to(fixed, near.shape[:-1] + fixed.shape), near], axis=-1)
    edges = np.sort(np.clip(edges, -_CUTOFF, _CUTOFF), axis=-1)
    lo, hi = edges[..., :-1, None], edges[..., 1:, None]  # (..., n1, panels, 1)
    z2 = ((lo + hi) / 2.0 + (hi - lo) / 2.0 * x).reshape(*edges.shape[:-1], -1)
    w2 = ((hi - lo) / 2.0 * wl).reshape(z2.shape)
    w2 = w2 * np.exp(-0.5 * z2 * z2) / _SQRT_2PI
    u1 = rq * z1[:, None]
    u2 = rq * (cc * z1[:, None] + s * z2)
    e = np.sum(f(u1) * f(u2) * w2 * w1[:, None], axis=(-2, -1))
    with np.errstate(over="ignore", invalid="ignore"):
        out = (sw**2 * e + sb**2) / qs
    if not np.all(np.isfinite(out)):
        raise ValueError(
            "sigma_w, sigma_b or q_star is too large: the correlation overflows float64"
        )
    return float(out) if out.ndim == 0 else out


def critical_sigma_w(sigma_b=0.0, nonlinearity="tanh", *, negative_slope=None,
                     bracket=(0.5, 4.0), n: int = DEFAULT_NODES,
                     param=None) -> float:  # fmt: skip
    """The :math:`\\sigma_w` at which :math:`\\chi_1 = 1` for a given :math:`\\sigma_b`.

    The edge of chaos (Schoenholz et al., 2017, Fig. 1), found with Brent's method on
    :math:`\\chi_1(\\sigma_w) - 1` inside ``bracket``. For ``tanh`` with
    :math:`\\sigma_b = 0` it is exactly 1 (the limit :math:`q^* \\to 0`, returned
    directly since the length map then converges only algebraically).

    For the positively homogeneous activations (``relu``, ``leaky_relu``, ``linear``)
    :math:`f'(\\sqrt q z) = f'(z)`, so :math:`\\chi_1 = \\sigma_w^2 \\mathbb{E}[f'(z)^2]`
    whatever :math:`q^*` and the edge is :math:`1/\\sqrt{\\mathbb{E}[f'(z)^2]}` for
    every :math:`\\sigma_b` (:math:`\\sqrt 2` for ReLU), returned directly: beyond it
    the length map has no finite fixed point (the signal explodes). For the other
    activations a :math:`\\sigma_w` where the length map diverges counts as chaotic
    (:math:`\\chi_1 > 1`). ``negative_slope`` (keyword-only) is the slope of
    ``leaky_relu``; ``param`` its deprecated alias (:class:`DeprecationWarning`).

    Raises
    ------
    ValueError
        :math:`\\chi_1 - 1` does not change sign inside ``bracket``.
    """
    negative_slope = _slope(negative_slope, param)
    sb = real(sigma_b, "sigma_b", lower=0.0)
    if not (isinstance(bracket, (tuple, list)) and len(bracket) == 2):
        raise ValueError(f"bracket must be a pair (low, high), got {bracket!r}")
    lo = real(bracket[0], "bracket[0]", positive=True)
    hi = real(bracket[1], "bracket[1]", positive=True)
    if not lo < hi:
        raise ValueError(f"bracket must have low < high, got {bracket!r}")
    layer, _ = _activation_layer(nonlinearity, negative_slope)
    if layer.nonlinearity in ("relu", "leaky_relu", "linear"):
        _, bwd = activation_moments(layer, 1.0, n=n)
        return 1.0 / math.sqrt(bwd)
    if sb == 0.0 and layer.nonlinearity == "tanh":
        return 1.0

    def g(sw):
        qs = fixed_point(sw, sb, nonlinearity, negative_slope=negative_slope, n=n)
        if math.isinf(qs):  # the length map diverges: the signal explodes (chaotic side)
            return 1.0
        return chi1(sw, sb, nonlinearity, negative_slope=negative_slope, q_star=qs, n=n) - 1.0

    glo, ghi = g(lo), g(hi)
    if glo * ghi > 0:
        raise ValueError(
            f"chi1 - 1 has the same sign at both ends of bracket={bracket!r} "
            f"({glo + 1:.4g}, {ghi + 1:.4g}); widen the bracket"
        )
    from scipy.optimize import brentq  # imported when needed

    return float(brentq(g, lo, hi, xtol=1e-10))


def depth_scale(sigma_w, sigma_b=0.0, nonlinearity="tanh", *, negative_slope=None,
                n: int = DEFAULT_NODES, param=None):  # fmt: skip
    """Gradient depth scale :math:`\\xi_\\nabla = -1/\\ln \\chi_1` (Schoenholz et al., 2017).

    The second moment of the back-propagated gradient changes by :math:`\\chi_1` per
    layer, i.e. like :math:`e^{-l/\\xi_\\nabla}`: it vanishes over about
    :math:`\\xi_\\nabla` layers in the ordered phase (:math:`\\chi_1 < 1`, positive
    :math:`\\xi`) and explodes over :math:`|\\xi_\\nabla|` layers in the chaotic
    phase (negative :math:`\\xi`). In the ordered phase it is also the depth scale
    :math:`\\xi_c` over which the correlation of two inputs approaches 1. Infinite at
    :math:`\\chi_1 = 1` (within 1e-12, the quadrature's round-off). Arguments broadcast.
    ``negative_slope`` (keyword-only) is the slope of ``leaky_relu``; ``param`` its
    deprecated alias (:class:`DeprecationWarning`).
    """
    negative_slope = _slope(negative_slope, param)
    x = np.asarray(
        chi1(sigma_w, sigma_b, nonlinearity, negative_slope=negative_slope, n=n), dtype=float
    )
    log = np.log(x)
    with np.errstate(divide="ignore"):
        # |ln chi1| below 1e-12 is quadrature round-off around chi1 = 1: call it critical
        out = np.where(np.abs(log) < 1e-12, np.inf, -1.0 / np.where(log == 0, 1.0, log))
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- Jacobian
def jacobian(net: Sequential, x, *, chunk_size: int = 1024) -> np.ndarray:
    """Exact input-output Jacobian :math:`J_{ij} = \\partial y_i / \\partial x_j` at one input.

    The input is repeated ``m`` times (``m`` = number of outputs) and one batched
    backward pass sends the unit vector :math:`e_i` into copy :math:`i`: row :math:`i`
    of the input gradient is then row :math:`i` of :math:`J` (reverse mode, one
    vector-Jacobian product per output unit, all at once). The network runs in
    evaluation mode (``training=False``); the backward pass overwrites the layers'
    stored gradients.

    Parameters
    ----------
    net : Sequential
    x : array
        ONE input, without the batch axis: shape ``(d,)`` for an MLP,
        ``(C, H, W)`` for a CNN.
    chunk_size : int
        At most this many copies of ``x`` per batched pass (memory bound).

    Returns
    -------
    ndarray of shape ``(m, x.size)`` (outputs and inputs flattened)
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a weightinit Sequential, got {type(net).__name__}")
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise TypeError(f"x must be a real numeric array, got dtype {x.dtype}")
    if x.ndim == 0:
        raise ValueError(
            "x must be one input without the batch axis, e.g. shape (d,), got a scalar"
        )
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinite values")
    chunk_size = positive_int(chunk_size, "chunk_size")
    y0 = net.forward(x[None], training=False)
    out_shape = y0.shape[1:]
    m = int(np.prod(out_shape))
    rows = []
    for start in range(0, m, chunk_size):
        k = min(chunk_size, m - start)
        xb = np.broadcast_to(x, (k, *x.shape)).copy()
        net.forward(xb, training=False)
        dy = np.zeros((k, m))
        dy[np.arange(k), start + np.arange(k)] = 1.0
        dx = net.backward(dy.reshape((k, *out_shape)))
        rows.append(np.asarray(dx).reshape(k, -1))
    return np.concatenate(rows, axis=0)


def jacobian_singular_values(net: Sequential, x, *, chunk_size: int = 1024) -> np.ndarray:
    """Singular values of :func:`jacobian` ``(net, x)``, in decreasing order.

    Dynamical isometry: all of them close to 1 (Pennington et al., 2017). Their
    mean square equals :math:`\\operatorname{tr}(J J^\\top)/m`, the average factor by
    which the network multiplies the squared length of a small random perturbation.
    """
    return np.linalg.svd(jacobian(net, x, chunk_size=chunk_size), compute_uv=False)
