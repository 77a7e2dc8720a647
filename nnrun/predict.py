"""``from nnrun.predict import predict``, as the README's API showed it: the code lives in
:mod:`nnrun.tools.predict`."""

from nnrun.tools.predict import Predictor, load_predictor, predict, summary_line  # noqa: F401
