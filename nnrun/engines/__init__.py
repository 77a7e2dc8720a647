"""The training engines: the same loop, three ways, on one flat parameter vector.

``reference``   :class:`~nnrun.engines.reference.NumpyEngine`, the readable NumPy loop.
``per_sample``  the compiled kernel that runs a batch sample by sample (scalar loops).
``rows``        the compiled kernel that runs a batch as matrix products (BLAS).
``compiled``    what both kernels share: activations, losses, e^x, the optimizer update,
                the schedule and the monitor (plateau, early stopping), in numba.
``numba_engine`` the compiled engine, which picks one kernel per run.
``method``, ``layout``  the method of a run (loss, optimizer, schedule, dropout, early
                stopping) as the arrays every engine reads.

:func:`choose_engine` picks the engine of a run; :func:`make_engine` builds it. Nothing
here imports numba until a compiled engine is asked for.
"""

from __future__ import annotations

from nnrun.errors import NnrunError


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def numba_supports(activations: list[str], loss: str, optimizer: str = "sgd") -> bool:
    """True if the compiled engine has twins of these activations, this loss and optimizer."""
    from nnrun.maths.activations import code as activation_code
    from nnrun.maths.losses import LOSSES
    from nnrun.maths.optimizers import OPTIMIZERS

    try:
        from nnrun.engines import compiled
    except ImportError:
        return False
    return (all(activation_code(a) in compiled.COMPILED_CODES for a in activations)
            and LOSSES[loss].code in compiled.COMPILED_LOSSES
            and OPTIMIZERS[optimizer].code in compiled.COMPILED_OPTIMIZERS)


def choose_engine(requested: str, activations: list[str], loss: str, optimizer: str = "sgd") -> tuple[str, str | None]:
    """(engine name, warning or None). auto: numba whenever it can run the configuration.

    The compiled engine is faster at every batch size (per-sample loops for small
    batches, BLAS products for large ones: benchmarks/bench_speed.py, table 3b); NumPy
    stays the readable reference the tests hold it to.
    """
    if requested == "numpy":
        return "numpy", None
    if not numba_available():
        return "numpy", "numba is not installed; training on the (slower) NumPy engine"
    if not numba_supports(activations, loss, optimizer):
        if requested == "numba":
            raise NnrunError(
                "train.engine: numba has no compiled version of these activations/loss/optimizer "
                f"({', '.join(activations)}, {loss}, {optimizer}); use train.engine=numpy or auto"
            )
        return "numpy", None
    return "numba", None


def make_engine(name: str, network, method, data, dropout: bool, stop_flag=None, full_batch: bool = False):
    """The engine called ``name`` ('numpy' or 'numba'), ready to run chunks."""
    if name == "numba":
        from nnrun.engines.numba_engine import NumbaEngine

        return NumbaEngine(network, method, data, dropout)
    from nnrun.engines.reference import NumpyEngine

    return NumpyEngine(network, method, data, stop_flag=stop_flag, full_batch=full_batch)
