"""weightinit: the numpy library behind the course on initializing neural-network weights.

Modules, one idea each:

* :mod:`weightinit.fans` -- fan-in/fan-out of dense and conv kernels, nonlinearity gains.
  The module itself is callable: ``weightinit.fans(shape)`` is ``weightinit.fans.fans(shape)``;
* :mod:`weightinit.initializers` -- every initializer of the course, with a registry;
* :mod:`weightinit.conv` -- vectorized ``conv2d`` forward and backward;
* :mod:`weightinit.layers` -- layers, activations, losses and a sequential network;
* :mod:`weightinit.training` -- SGD with momentum, Adam, and a training loop with statistics;
* :mod:`weightinit.stats` -- per-layer activation/gradient statistics;
* :mod:`weightinit.data` -- the handwritten-digits data and small synthetic sets;
* :mod:`weightinit.plots` -- the figures the chapters repeat;
* :mod:`weightinit.checks` -- self-checks students run on their own code;
* :mod:`weightinit.display` -- tables shown as HTML on the website, as text elsewhere;
* :mod:`weightinit.experiments` -- a configuration trained over seeds, and its summary
  (mean, sd with ddof=1, standard error, t-interval, test-set binomial error);
* :mod:`weightinit.compare` -- schemes compared over seeds: a lean multi-seed trainer and
  a per-seed strip plot grouped by family;
* :mod:`weightinit.stacked` -- the networks of all seeds trained at once, vectorized over a
  leading seed axis (what the two multi-seed trainers use when the networks allow it);

Part II:

* :mod:`weightinit.structured` -- identity, Dirac and delta-orthogonal kernels;
* :mod:`weightinit.analysis` -- Jacobians, numerical gains and the mean-field maps;
* :mod:`weightinit.normalization` -- BatchNorm and LayerNorm;
* :mod:`weightinit.pooling` -- average pooling;
* :mod:`weightinit.residual` -- residual blocks, zero-init/Fixup/ReZero/GPT-2 starts;
* :mod:`weightinit.lsuv` -- layer-sequential unit-variance initialization (data-dependent);
* :mod:`weightinit.mup` -- the standard and the maximal-update (muP) parametrization;
* :mod:`weightinit.calculator` -- predicted vs measured second moments of your own layers.
"""

from . import fans, initializers
from .fans import gain
from .initializers import available, distribution, get


def _register_alt_text() -> None:
    # Only inside a Jupyter/IPython kernel: give figures a readable plain-text form.
    import sys

    if "IPython" in sys.modules:
        from .plots import register_notebook_alt_text

        register_notebook_alt_text()


_register_alt_text()

__all__ = ["available", "distribution", "fans", "gain", "get", "initializers"]
__version__ = "0.1.0"
