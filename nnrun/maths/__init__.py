"""The method's NumPy reference and its registries (metrics, seed streams, ...)."""
