"""Sweeps: a grid of experiments, run in parallel, summarised in tables, pictures and a page.

The pieces, each behind a small interface (as Hydra keeps its override grammar, sweeper
and launchers apart):

- :mod:`~nnrun.sweeps.grid`: the axis grammar (``train.eta=0.01,0.1``, ``logspace(a, b, n)``)
  and the cells, each validated before any folder exists;
- :mod:`~nnrun.sweeps.cell`: one cell as a worker computes it (in a private folder,
  returned as bytes) and as the client writes it (atomically);
- :mod:`~nnrun.sweeps.launchers`: where the work runs (local processes forked from a
  prepared server, :mod:`~nnrun.sweeps.forkserver` and :mod:`~nnrun.sweeps.preload`, or a
  Dask scheduler), behind one ``Launcher`` interface;
- :mod:`~nnrun.sweeps.runner`: ``run_sweep`` (plan, run the cells, finish: results, pictures,
  page), ``--resume``, ``redraw_sweep``.

The results table and the best cell belong to the run folder's owner,
:mod:`nnrun.store.results`.
"""
