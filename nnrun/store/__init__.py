"""The run folder, with one owner: its file names and folder names (:mod:`~nnrun.store.names`),
atomic writing and lenient reading (:mod:`~nnrun.store.files`), the streamed history
(:mod:`~nnrun.store.history`, :mod:`~nnrun.store.csvformat`), model.json
(:mod:`~nnrun.store.model_json`), snapshots.npz (:mod:`~nnrun.store.snapshots`), reading a run
back (:mod:`~nnrun.store.runs`), a sweep's results and its best cell
(:mod:`~nnrun.store.results`) and the metrics every table and page shows
(:mod:`~nnrun.store.metrics`). Nothing outside this package spells a file name.
"""
