"""The NumPy reference of the method and the registries: the seed streams (:mod:`nnrun.maths.streams`)
so far; the other modules of the method's mathematics join this package later."""
