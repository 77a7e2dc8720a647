"""Tools that check or use a run: the PyTorch twin and ``nnrun compare``
(:mod:`~nnrun.tools.twin`, :mod:`~nnrun.tools.compare`), finite-difference gradient checks
(:mod:`~nnrun.tools.gradcheck`), and predictions on new rows (:mod:`~nnrun.tools.predict`)."""
