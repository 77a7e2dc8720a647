"""The method's NumPy reference and the registries every other layer reads: the seed
streams of every stage (:mod:`~nnrun.maths.streams`), the metrics table
(:mod:`~nnrun.maths.metrics`), relative differences between implementations
(:mod:`~nnrun.maths.differences`)."""
