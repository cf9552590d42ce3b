"""Training with one BLAS thread, so that its numbers do not depend on the thread count.

A multi-threaded BLAS may share a matrix product among its threads in a way that adds
the same numbers in another order than one thread does, and so round differently
(``float32`` especially). Over hundreds of SGD steps such last-bit differences grow into
different weights and, now and then, a different test accuracy: the records of a run
would depend on ``OPENBLAS_NUM_THREADS``. The course's matrices are small, where more
threads mostly contend with each other, so the training functions of the library run
with one BLAS thread (:func:`one_blas_thread`) and give the same records whatever the
thread setting is. The limit is lifted when they return.
"""

from __future__ import annotations

import functools

from threadpoolctl import threadpool_limits


def one_blas_thread(func):
    """Decorator: run ``func`` with the BLAS libraries limited to one thread."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper
