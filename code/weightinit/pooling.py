"""Average pooling (the max-pooling layer lives in :mod:`weightinit.layers`).

Average pooling is linear: it multiplies the variance of independent inputs by
``1/size²`` but keeps the variance of a spatially constant signal, which is why a
variance calculation has to say what it assumes about the correlation of
neighbouring pixels.
"""

from __future__ import annotations

import numpy as np

from .layers import _Pool2D

__all__ = ["AvgPool2D"]


class AvgPool2D(_Pool2D):
    """Non-overlapping average pooling over ``size × size`` windows (stride = size).

    ``y[n, c, i, j] = mean(x[n, c, i·s : (i+1)·s, j·s : (j+1)·s])``, as PyTorch's
    ``avg_pool2d(x, s)`` with its defaults (``ceil_mode=False``: rows and columns that
    do not fill a whole window are dropped and get a zero gradient). The backward
    pass spreads each output gradient evenly, ``dy/s²``, over its window.

    Parameters
    ----------
    size : int, default 2
        Window size and stride. ``size`` equal to the image size gives global average
        pooling.
    """

    def forward(self, x, training=True):
        return self._windows(x).mean(axis=(3, 5))

    def backward(self, dy):
        dy = self._check_dy(dy)
        n, c, ho, wo = dy.shape
        s = self.size
        g = np.broadcast_to(dy[:, :, :, None, :, None] / (s * s), (n, c, ho, s, wo, s))
        return self._from_windows(g)
