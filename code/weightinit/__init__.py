"""weightinit: the numpy library behind the course on initializing neural-network weights.

Modules, one idea each:

* :mod:`weightinit.fans` -- fan-in/fan-out of dense and conv kernels, nonlinearity gains;
* :mod:`weightinit.initializers` -- every initializer of the course, with a registry;
* :mod:`weightinit.conv` -- vectorized ``conv2d`` forward and backward;
* :mod:`weightinit.layers` -- layers, activations, losses and a sequential network;
* :mod:`weightinit.training` -- SGD with momentum, Adam, and a training loop with statistics;
* :mod:`weightinit.stats` -- per-layer activation/gradient statistics;
* :mod:`weightinit.data` -- the handwritten-digits data and small synthetic sets;
* :mod:`weightinit.plots` -- the figures the chapters repeat;
* :mod:`weightinit.checks` -- self-checks students run on their own code;
* :mod:`weightinit.display` -- tables shown as HTML on the website, as text elsewhere;
* :mod:`weightinit.structured` -- identity, Dirac and delta-orthogonal kernels;
* :mod:`weightinit.analysis` -- Jacobians, numerical gains and the mean-field maps.
"""

from . import fans as _fans_module
from . import initializers
from .fans import fans, gain
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
del _fans_module
