"""Weight initializers: the named schemes of the papers and of the frameworks.

Every initializer has the same call form::

    w = initializer(shape, rng=None, *, <scheme parameters>, layout="torch", dtype=np.float64)

* ``shape`` is the weight shape in the given ``layout`` (see :mod:`weightinit.fans`);
* ``rng`` is a seed (``int``) or a :class:`numpy.random.Generator`; the same seed
  always gives the same array (``None`` draws fresh entropy);
* the result is a new :class:`numpy.ndarray` of ``dtype`` (a floating dtype).

Almost every scheme is a special case of :func:`variance_scaling`: draw from a
zero-mean distribution whose variance is ``scale / n`` with ``n`` a fan.  Each
initializer also exposes the exact distribution it samples from, without drawing,
as ``initializer.distribution(shape, **params)`` (a :class:`Distribution`): that
is what the tests, the self-checks and the chapters use to state bounds and
standard deviations.

Where frameworks disagree
-------------------------
=====================  ===============================  ===================================
scheme                 PyTorch (``torch.nn.init``)      Keras (``keras.initializers``)
=====================  ===============================  ===================================
LeCun normal           --                               truncated at 2 std, std / 0.8796...
Glorot/Xavier normal   ``xavier_normal_``, untruncated  ``GlorotNormal``, truncated
He/Kaiming normal      ``kaiming_normal_``, untruncated ``HeNormal``, truncated
default for a layer    ``kaiming_uniform_(a=sqrt(5))``  ``glorot_uniform``
                       = U(-1/sqrt(fan_in), +...)
=====================  ===============================  ===================================

The plain names here (:func:`lecun_normal`, :func:`glorot_normal`,
:func:`he_normal`) are the untruncated forms of the papers and of PyTorch; the
``keras_*`` variants reproduce Keras's truncated normals, :func:`torch_default`
PyTorch's layer default, :func:`caffe_xavier` and :func:`caffe_msra` Caffe's
fillers.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats as _stats

from ._validate import real
from .fans import _check_fan, check_shape, fans, gain

__all__ = [
    "KERAS_TRUNCATION_STD",
    "Distribution",
    "as_generator",
    "available",
    "caffe_msra",
    "caffe_xavier",
    "constant",
    "distribution",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "keras_glorot_normal",
    "keras_he_normal",
    "keras_lecun_normal",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "torch_default",
    "torch_default_bias",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "zeros",
]

#: Standard deviation of a standard normal truncated to [-2, 2]. Keras divides the
#: std by this number so that the *truncated* distribution has the intended std.
KERAS_TRUNCATION_STD = 0.87962566103423978

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("uniform", "normal", "truncated_normal")


# --------------------------------------------------------------------------- helpers
def as_generator(rng) -> np.random.Generator:
    """Turn ``rng`` into a :class:`numpy.random.Generator`.

    ``None`` gives a freshly seeded generator, a non-negative ``int`` seeds one,
    a ``Generator`` is returned as is.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, bool) or not isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        raise TypeError(
            "rng must be a non-negative int seed, a numpy.random.Generator or None, "
            f"got {type(rng).__name__} {rng!r}"
        )
    if isinstance(rng, numbers.Integral) and rng < 0:
        raise ValueError(f"rng seed must be a non-negative integer, got {rng}")
    return np.random.default_rng(rng)


def _check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a numpy floating dtype, got {dtype!r}") from exc
    if not np.issubdtype(dt, np.floating):
        raise TypeError(
            f"dtype must be a floating dtype (float16, float32, float64), got {dt.name}"
        )
    return dt


def _check_real(value, name: str, *, positive: bool = False, nonneg: bool = False) -> float:
    return real(value, name, positive=positive, lower=0.0 if nonneg else None)


def _choice(value, name: str, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value


def _fan(shape, mode: str, layout: str) -> float:
    fan_in, fan_out = fans(shape, layout)
    mode = _choice(mode, "mode", MODES)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    return (fan_in + fan_out) / 2.0


# --------------------------------------------------------------------------- distribution
@dataclass(frozen=True)
class Distribution:
    """A zero-mean (or shifted) distribution an initializer draws from.

    Parameters
    ----------
    kind : {"constant", "uniform", "normal", "truncated_normal"}
    loc : float
        Centre (the value itself for ``"constant"``).
    scale : float
        ``"uniform"``: half-width ``a`` of ``U(loc - a, loc + a)``;
        ``"normal"``: standard deviation; ``"truncated_normal"``: standard
        deviation of the normal *before* truncation.
    cutoff : float
        ``"truncated_normal"`` only: values are kept within ``loc ± cutoff·scale``.
    """

    kind: str
    loc: float = 0.0
    scale: float = 0.0
    cutoff: float = 2.0

    @property
    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value that can be drawn (``±inf`` for a normal)."""
        if self.kind == "constant":
            return (self.loc, self.loc)
        if self.kind == "uniform":
            return (self.loc - self.scale, self.loc + self.scale)
        if self.kind == "truncated_normal":
            return (self.loc - self.cutoff * self.scale, self.loc + self.cutoff * self.scale)
        return (-math.inf, math.inf)

    @property
    def var(self) -> float:
        """Variance of the drawn values.

        ``U(-a, a)`` has variance ``a²/3``; a normal truncated at ``±c·σ`` has
        variance ``σ²·(1 - 2c·φ(c)/(2Φ(c) - 1))``.
        """
        if self.kind == "constant":
            return 0.0
        if self.kind == "uniform":
            return self.scale**2 / 3.0
        if self.kind == "normal":
            return self.scale**2
        c = self.cutoff
        shrink = 1.0 - 2.0 * c * _stats.norm.pdf(c) / (2.0 * _stats.norm.cdf(c) - 1.0)
        return self.scale**2 * shrink

    @property
    def std(self) -> float:
        """Standard deviation of the drawn values."""
        return math.sqrt(self.var)

    def scipy(self):
        """The same distribution as a frozen :mod:`scipy.stats` object (for KS tests)."""
        if self.kind == "uniform":
            return _stats.uniform(loc=self.loc - self.scale, scale=2.0 * self.scale)
        if self.kind == "normal":
            return _stats.norm(loc=self.loc, scale=self.scale)
        if self.kind == "truncated_normal":
            return _stats.truncnorm(-self.cutoff, self.cutoff, loc=self.loc, scale=self.scale)
        raise ValueError("a constant has no continuous scipy distribution")

    def sample(self, shape, rng=None, dtype=np.float64) -> np.ndarray:
        """Draw an array of ``shape`` (float64 draws, cast to ``dtype``)."""
        shape = check_shape(shape)
        dt = _check_dtype(dtype)
        # Validate rng even for a constant (it draws nothing), so a bad seed is never ignored.
        gen = as_generator(rng)
        if self.kind == "constant":
            return np.full(shape, self.loc, dtype=dt)
        if self.kind == "uniform":
            out = gen.uniform(self.loc - self.scale, self.loc + self.scale, size=shape)
        elif self.kind == "normal":
            out = gen.normal(self.loc, self.scale, size=shape)
        else:
            # Redraw whatever falls outside the cut-off, as TensorFlow's truncated_normal does.
            z = gen.standard_normal(size=shape)
            bad = np.abs(z) > self.cutoff
            while bad.any():
                z[bad] = gen.standard_normal(size=int(bad.sum()))
                bad = np.abs(z) > self.cutoff
            out = self.loc + self.scale * z
        return out.astype(dt, copy=False)

    def __str__(self) -> str:
        if self.kind == "constant":
            return f"constant {self.loc:g}"
        if self.kind == "uniform":
            lo, hi = self.bounds
            return f"U({lo:.6g}, {hi:.6g})"
        if self.kind == "normal":
            return f"N({self.loc:g}, {self.scale:.6g}²)"
        return f"N({self.loc:g}, {self.scale:.6g}²) truncated at ±{self.cutoff:g}σ"


# --------------------------------------------------------------------------- registry
_REGISTRY: dict[str, Callable] = {}


def _register(*names: str):
    def deco(fn):
        for n in names:
            _REGISTRY[n] = fn
        return fn

    return deco


def _initializer(*aliases: str):
    """Turn a distribution builder ``spec(shape, **params) -> Distribution`` into an
    initializer ``init(shape, rng=None, **params, dtype=float64) -> ndarray``.

    The builder stays reachable as ``init.distribution``.
    """

    def deco(spec):
        @functools.wraps(spec)
        def init(shape, rng=None, *, dtype=np.float64, **params):
            shape = check_shape(shape)
            return spec(shape, **params).sample(shape, rng, dtype)

        sig = inspect.signature(spec)
        params = list(sig.parameters.values())
        rng_param = inspect.Parameter("rng", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
        dtype_param = inspect.Parameter("dtype", inspect.Parameter.KEYWORD_ONLY, default=np.float64)
        init.__signature__ = sig.replace(
            parameters=[params[0], rng_param, *params[1:], dtype_param],
            return_annotation=np.ndarray,
        )
        init.distribution = spec
        return _register(spec.__name__, *aliases)(init)

    return deco


def available() -> list[str]:
    """Names accepted by :func:`get`, sorted."""
    return sorted(_REGISTRY)


def get(name) -> Callable:
    """Look an initializer up by name; a callable is returned unchanged.

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones).
    TypeError
        Neither a string nor a callable.
    """
    if callable(name):
        return name
    if not isinstance(name, str):
        raise TypeError(f"initializer must be a name (str) or a callable, got {name!r}")
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown initializer {name!r}; available: {', '.join(available())}")
    return _REGISTRY[key]


def distribution(name, shape, **params) -> Distribution:
    """The distribution the named initializer draws from for ``shape``, without drawing.

    >>> print(distribution("glorot_uniform", (20, 10)))
    U(-0.447214, 0.447214)
    """
    init = get(name)
    spec = getattr(init, "distribution", None)
    if spec is None:
        raise ValueError(f"initializer {name!r} does not draw entries from a fixed distribution")
    return spec(check_shape(shape), **params)


# --------------------------------------------------------------------------- simple ones
@_initializer()
def zeros(shape) -> Distribution:
    """All zeros. Breaks nothing and learns nothing: every unit stays identical.

    Caffe's default filler for weights is ``constant`` with value 0.
    """
    return Distribution("constant", 0.0)


@_initializer()
def ones(shape) -> Distribution:
    """All ones (a constant initializer with value 1)."""
    return Distribution("constant", 1.0)


@_initializer()
def constant(shape, *, value: float = 0.0) -> Distribution:
    """Every entry equals ``value`` (PyTorch ``constant_``, Keras ``Constant``)."""
    return Distribution("constant", _check_real(value, "value"))


@_initializer()
def uniform(shape, *, low: float = -0.05, high: float = 0.05) -> Distribution:
    """``U(low, high)``. The defaults are Keras's ``RandomUniform`` (±0.05).

    PyTorch's ``uniform_`` defaults to ``U(0, 1)``.
    """
    low = _check_real(low, "low")
    high = _check_real(high, "high")
    if not low < high:
        raise ValueError(f"uniform needs low < high, got low={low!r}, high={high!r}")
    return Distribution("uniform", (low + high) / 2.0, (high - low) / 2.0)


@_initializer()
def normal(shape, *, mean: float = 0.0, std: float = 0.01) -> Distribution:
    """``N(mean, std²)``; the default ``std = 0.01`` is the classic "small random" start.

    Keras's ``RandomNormal`` defaults to ``std = 0.05``, PyTorch's ``normal_`` to 1.
    """
    return Distribution("normal", _check_real(mean, "mean"), _check_real(std, "std", positive=True))


@_initializer()
def truncated_normal(
    shape, *, mean: float = 0.0, std: float = 0.05, cutoff: float = 2.0
) -> Distribution:
    """Normal ``N(mean, std²)`` with values beyond ``mean ± cutoff·std`` redrawn.

    Defaults are Keras's ``TruncatedNormal`` (``std = 0.05``, cut at 2 std). Note
    that ``std`` is the standard deviation *before* truncation: the drawn values
    have std ``≈ 0.8796·std`` for ``cutoff = 2``. PyTorch's ``trunc_normal_`` takes
    absolute bounds ``a, b`` instead (default ``[-2, 2]`` with ``std = 1``, which is
    the same as ``cutoff = 2`` here).
    """
    return Distribution(
        "truncated_normal",
        _check_real(mean, "mean"),
        _check_real(std, "std", positive=True),
        _check_real(cutoff, "cutoff", positive=True),
    )


# --------------------------------------------------------------------------- variance scaling
@_initializer()
def variance_scaling(
    shape,
    *,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    layout: str = "torch",
) -> Distribution:
    """The general rule ``Var(w) = scale / n`` (Keras ``VarianceScaling``).

    .. math::

        n = \\begin{cases} \\text{fan\\_in} & \\text{mode = fan\\_in}\\\\
                          \\text{fan\\_out} & \\text{mode = fan\\_out}\\\\
                          (\\text{fan\\_in} + \\text{fan\\_out})/2 & \\text{mode = fan\\_avg}
            \\end{cases}

    * ``"uniform"``: ``U(-a, a)`` with ``a = sqrt(3·scale/n)`` (since ``Var U(-a,a) = a²/3``);
    * ``"normal"``: ``N(0, scale/n)``;
    * ``"truncated_normal"`` (Keras's default): a normal with std
      ``sqrt(scale/n) / 0.87962566103423978`` truncated at 2 of those std, so the
      drawn values have variance ``scale/n``.

    Parameters
    ----------
    shape : sequence of int
        Weight shape (at least 2 dims).
    scale : float, > 0
        Target variance times ``n``.
    mode : {"fan_in", "fan_out", "fan_avg"}
    distribution : {"uniform", "normal", "truncated_normal"}
        ``"untruncated_normal"`` (Keras's spelling) is accepted for ``"normal"``.
    layout : {"torch", "keras"}
        How to read fans off ``shape``.
    """
    scale = _check_real(scale, "scale", positive=True)
    if distribution == "untruncated_normal":
        distribution = "normal"
    distribution = _choice(distribution, "distribution", DISTRIBUTIONS)
    var = scale / _fan(shape, mode, layout)
    if distribution == "uniform":
        return Distribution("uniform", 0.0, math.sqrt(3.0 * var))
    if distribution == "normal":
        return Distribution("normal", 0.0, math.sqrt(var))
    return Distribution("truncated_normal", 0.0, math.sqrt(var) / KERAS_TRUNCATION_STD, 2.0)


@_initializer()
def lecun_uniform(shape, *, layout: str = "torch") -> Distribution:
    """LeCun uniform: ``U(-a, a)``, ``a = sqrt(3 / fan_in)``, so ``Var(w) = 1/fan_in``.

    LeCun et al. (1998), "Efficient BackProp". Same as Keras ``lecun_uniform`` and
    Caffe's ``xavier`` filler with its default ``variance_norm: FAN_IN``.
    """
    return variance_scaling.distribution(
        shape, mode="fan_in", distribution="uniform", layout=layout
    )


@_initializer()
def lecun_normal(shape, *, layout: str = "torch") -> Distribution:
    """LeCun normal: ``N(0, 1/fan_in)``, untruncated (LeCun et al., 1998).

    Keras's ``lecun_normal`` truncates: see :func:`keras_lecun_normal`.
    """
    return variance_scaling.distribution(shape, mode="fan_in", distribution="normal", layout=layout)


@_initializer("xavier_uniform")
def glorot_uniform(shape, *, gain: float = 1.0, layout: str = "torch") -> Distribution:
    """Glorot/Xavier uniform: ``U(-a, a)``, ``a = gain · sqrt(6 / (fan_in + fan_out))``.

    Glorot & Bengio (2010), their "normalized initialization"; ``Var(w) =
    gain² · 2/(fan_in + fan_out)``. Equals PyTorch ``xavier_uniform_(gain=gain)``
    and, for ``gain = 1``, Keras ``glorot_uniform`` (Keras's default for Dense and
    Conv layers).
    """
    g = _check_real(gain, "gain", positive=True)
    return variance_scaling.distribution(
        shape, scale=g * g, mode="fan_avg", distribution="uniform", layout=layout
    )


@_initializer("xavier_normal")
def glorot_normal(shape, *, gain: float = 1.0, layout: str = "torch") -> Distribution:
    """Glorot/Xavier normal: ``N(0, gain² · 2/(fan_in + fan_out))``, untruncated.

    Equals PyTorch ``xavier_normal_``. Keras's ``glorot_normal`` truncates: see
    :func:`keras_glorot_normal`.
    """
    g = _check_real(gain, "gain", positive=True)
    return variance_scaling.distribution(
        shape, scale=g * g, mode="fan_avg", distribution="normal", layout=layout
    )


def _kaiming_std(shape, a, mode, nonlinearity, layout) -> float:
    """PyTorch's ``gain(nonlinearity, a) / sqrt(fan)`` with ``fan`` of ``mode``."""
    _choice(mode, "mode", ("fan_in", "fan_out"))
    return gain(nonlinearity, a) / math.sqrt(_fan(shape, mode, layout))


@_initializer()
def kaiming_uniform(
    shape,
    *,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    layout: str = "torch",
) -> Distribution:
    """He/Kaiming uniform, exactly as PyTorch ``kaiming_uniform_``.

    ``U(-b, b)`` with ``b = gain(nonlinearity, a) · sqrt(3 / n)``, ``n`` the fan of
    ``mode`` (``"fan_in"`` or ``"fan_out"``). With the defaults (``a = 0``,
    leaky ReLU of slope 0 = ReLU) this is ``sqrt(6 / fan_in)`` (He et al., 2015).
    With ``a = sqrt(5)`` it is PyTorch's default layer init, see
    :func:`torch_default`.
    """
    return Distribution(
        "uniform", 0.0, math.sqrt(3.0) * _kaiming_std(shape, a, mode, nonlinearity, layout)
    )


@_initializer()
def kaiming_normal(
    shape,
    *,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    layout: str = "torch",
) -> Distribution:
    """He/Kaiming normal, exactly as PyTorch ``kaiming_normal_``: ``N(0, gain²/n)``.

    ``gain = gain(nonlinearity, a)``; for ReLU ``std = sqrt(2 / fan_in)``
    (He et al., 2015). Untruncated.
    """
    return Distribution("normal", 0.0, _kaiming_std(shape, a, mode, nonlinearity, layout))


@_initializer("msra_uniform")
def he_uniform(
    shape, *, mode: str = "fan_in", negative_slope: float = 0.0, layout: str = "torch"
) -> Distribution:
    """He uniform: ``U(-b, b)``, ``b = sqrt(6 / ((1 + α²) · n))``, ``n`` = fan of ``mode``.

    He et al. (2015) for (leaky) ReLU with negative slope ``α`` (0 for ReLU).
    ``α = 0``, ``mode = "fan_in"``: Keras ``he_uniform`` and PyTorch
    ``kaiming_uniform_(nonlinearity="relu")``.
    """
    slope = _check_real(negative_slope, "negative_slope")
    return kaiming_uniform.distribution(
        shape, a=slope, mode=mode, nonlinearity="leaky_relu", layout=layout
    )


@_initializer("msra_normal")
def he_normal(
    shape, *, mode: str = "fan_in", negative_slope: float = 0.0, layout: str = "torch"
) -> Distribution:
    """He normal: ``N(0, 2 / ((1 + α²) · n))``, untruncated (He et al., 2015).

    Equals PyTorch ``kaiming_normal_(nonlinearity="relu")`` for ``α = 0``. Keras's
    ``he_normal`` truncates: see :func:`keras_he_normal`.
    """
    slope = _check_real(negative_slope, "negative_slope")
    return kaiming_normal.distribution(
        shape, a=slope, mode=mode, nonlinearity="leaky_relu", layout=layout
    )


# --------------------------------------------------------------------------- framework variants
@_initializer()
def keras_lecun_normal(shape, *, layout: str = "keras") -> Distribution:
    """Keras ``lecun_normal``: truncated normal, std ``sqrt(1/fan_in)/0.8796...``, cut at 2 std.

    Note the default ``layout="keras"``: shapes are read channels-last.
    """
    return variance_scaling.distribution(shape, scale=1.0, mode="fan_in", layout=layout)


@_initializer()
def keras_glorot_normal(shape, *, layout: str = "keras") -> Distribution:
    """Keras ``glorot_normal``: truncated normal with variance ``2/(fan_in + fan_out)``."""
    return variance_scaling.distribution(shape, scale=1.0, mode="fan_avg", layout=layout)


@_initializer()
def keras_he_normal(shape, *, layout: str = "keras") -> Distribution:
    """Keras ``he_normal``: truncated normal with variance ``2/fan_in``."""
    return variance_scaling.distribution(shape, scale=2.0, mode="fan_in", layout=layout)


@_initializer("glorot_bengio_standard")
def torch_default(shape, *, layout: str = "torch") -> Distribution:
    """PyTorch's default weight init for ``nn.Linear`` and ``nn.Conv*d``.

    ``kaiming_uniform_(w, a=sqrt(5))``: the gain is ``sqrt(2/(1+5)) = sqrt(1/3)``, so
    the bound is ``sqrt(1/3) · sqrt(3/fan_in) = 1/sqrt(fan_in)``, i.e.
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``Var(w) = 1/(3·fan_in)``. This is
    also the "standard" heuristic Glorot & Bengio (2010) compare against.
    """
    return kaiming_uniform.distribution(shape, a=math.sqrt(5.0), layout=layout)


def torch_default_bias(shape, rng=None, *, fan_in, dtype=np.float64) -> np.ndarray:
    """PyTorch's default bias init for ``nn.Linear``/``nn.Conv*d``: ``U(±1/sqrt(fan_in))``.

    ``fan_in`` is the fan-in of the layer's weight (the bias itself has no fans).
    """
    bound = 1.0 / math.sqrt(_check_fan(fan_in, "fan_in"))
    return Distribution("uniform", 0.0, bound).sample(shape, rng, dtype)


_CAFFE_NORMS = ("fan_in", "fan_out", "average")


def _caffe_n(shape, variance_norm: str, layout: str) -> float:
    norm = variance_norm.lower() if isinstance(variance_norm, str) else variance_norm
    _choice(norm, "variance_norm", _CAFFE_NORMS)
    return _fan(shape, {"average": "fan_avg"}.get(norm, norm), layout)


@_initializer()
def caffe_xavier(shape, *, variance_norm: str = "fan_in", layout: str = "torch") -> Distribution:
    """Caffe's ``xavier`` filler: ``U(-sqrt(3/n), sqrt(3/n))``.

    ``n`` is ``fan_in`` by default (``variance_norm: FAN_IN``), or ``fan_out`` or
    their average. With the default this is LeCun uniform, *not* Glorot uniform:
    the name is Caffe's. Caffe blobs use the ``(out, in, kh, kw)`` layout.
    """
    n = _caffe_n(shape, variance_norm, layout)
    return Distribution("uniform", 0.0, math.sqrt(3.0 / n))


@_initializer()
def caffe_msra(shape, *, variance_norm: str = "fan_in", layout: str = "torch") -> Distribution:
    """Caffe's ``msra`` filler: ``N(0, 2/n)``, ``n`` as in :func:`caffe_xavier`."""
    n = _caffe_n(shape, variance_norm, layout)
    return Distribution("normal", 0.0, math.sqrt(2.0 / n))


# --------------------------------------------------------------------------- orthogonal
@_register("orthogonal")
def orthogonal(shape, rng=None, *, gain: float = 1.0, layout: str = "torch", dtype=np.float64):
    """(Semi-)orthogonal matrix times ``gain`` (Saxe et al., 2014).

    The weight is flattened to a matrix (``torch``: ``(shape[0], rest)`` as PyTorch
    ``orthogonal_``; ``keras``: ``(rest, shape[-1])`` as Keras ``Orthogonal``), a
    Gaussian matrix of that size is QR-factorised and the signs of ``R``'s diagonal
    are folded into ``Q`` so the result is uniformly (Haar) distributed. Rows (or
    columns, whichever are fewer) are orthonormal: ``W Wᵀ = gain² I``.
    """
    shape = check_shape(shape, min_dims=2)
    g = _check_real(gain, "gain", positive=True)
    dt = _check_dtype(dtype)
    gen = as_generator(rng)
    if layout == "torch":
        rows, cols = shape[0], math.prod(shape[1:])
    elif layout == "keras":
        rows, cols = math.prod(shape[:-1]), shape[-1]
    else:
        raise ValueError(f"layout must be one of ('torch', 'keras'), got {layout!r}")
    a = gen.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (g * q).reshape(shape).astype(dt, copy=False)
