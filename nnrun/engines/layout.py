"""The small arrays every engine shares, and what each slot holds.

The engines (NumPy reference, per-sample kernel, rows kernel) take the method of a run as
two float64 vectors, so that one compiled kernel serves every optimizer and schedule:

``hyper`` (read only)   the hyper-parameters, at the indices below;
``state`` (read/write)  what the loop carries from chunk to chunk: the optimizer's step
                        count, the plateau's eta and counters, early stopping's best loss.

The optimizer's moment vectors live beside theta in ``moments`` (shape (2, P)), and the
best weights seen (early stopping with restore_best) in ``best_theta``.
A history row holds :data:`HISTORY_COLUMNS`: the iteration, every recorded metric of
:mod:`nnrun.maths.metrics`, eta and seconds.

The optimizers' hyper-parameters take one slot per scalar (:data:`OPTIMIZER_SLOTS`, in the
order of :data:`nnrun.maths.optimizers.SCALARS`): adding one to the registry adds its slot.
"""

from nnrun.maths.metrics import RECORDED
from nnrun.maths.optimizers import SCALARS

HISTORY_COLUMNS = ["iteration", *RECORDED, "eta", "seconds"]
IT, SECONDS, ETA_COL = 0, len(HISTORY_COLUMNS) - 1, len(HISTORY_COLUMNS) - 2
TRAIN_LOSS, TEST_LOSS, TRAIN_ACC, TEST_ACC, VAL_LOSS, VAL_ACC = (
    HISTORY_COLUMNS.index(c) for c in ("train_loss", "test_loss", "train_accuracy", "test_accuracy",
                                       "val_loss", "val_accuracy"))

# hyper
LAMBDA = 0
OPTIMIZER_SLOTS = {scalar: 1 + i for i, scalar in enumerate(SCALARS)}  # mu, beta1, beta2, epsilon, alpha, ...
PLATEAU, PL_PATIENCE, PL_FACTOR, PL_MIN_DELTA = range(1 + len(SCALARS), 5 + len(SCALARS))
ES_PATIENCE, ES_MIN_DELTA, ES_RESTORE = range(PL_MIN_DELTA + 1, PL_MIN_DELTA + 4)  # ES_PATIENCE 0: none
PER_EPOCH, HAS_VAL = ES_RESTORE + 1, ES_RESTORE + 2  # iterations per epoch; 1 if there is a validation set
HYPER_SIZE = HAS_VAL + 1

# state (BETA1_T, BETA2_T: beta1^t and beta2^t, Adam's bias corrections kept as running products)
STEPS, ETA, PL_BEST, PL_BAD, ES_BEST, ES_BAD, ES_BEST_IT, BETA1_T, BETA2_T = range(9)
STATE_SIZE = 9

# what a chunk returns as its status
RUNNING, DIVERGED, STOPPED = 0, 1, 2
