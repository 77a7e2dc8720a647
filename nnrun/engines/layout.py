"""The small arrays every engine shares, and what each slot holds.

The engines (NumPy reference, per-sample kernel, rows kernel) take the method of a run as
two float64 vectors, so that one compiled kernel serves every optimizer and schedule:

``hyper`` (read only)   the hyper-parameters, at the indices below;
``state`` (read/write)  what the loop carries from chunk to chunk: the optimizer's step
                        count, the plateau's eta and counters, early stopping's best loss.

The optimizer's moment vectors live beside theta in ``moments`` (shape (2, P)), and the
best weights seen (early stopping with restore_best) in ``best_theta``.
A history row holds :data:`HISTORY_COLUMNS`.
"""

HISTORY_COLUMNS = ["iteration", "train_loss", "test_loss", "train_accuracy", "test_accuracy",
                   "val_loss", "val_accuracy", "eta", "seconds"]
IT, TRAIN_LOSS, TEST_LOSS, TRAIN_ACC, TEST_ACC, VAL_LOSS, VAL_ACC, ETA_COL, SECONDS = range(9)

# hyper
LAMBDA, MU, BETA1, BETA2, EPSILON, ALPHA = 0, 1, 2, 3, 4, 5
PLATEAU, PL_PATIENCE, PL_FACTOR, PL_MIN_DELTA = 6, 7, 8, 9
ES_PATIENCE, ES_MIN_DELTA, ES_RESTORE = 10, 11, 12  # ES_PATIENCE 0: no early stopping
PER_EPOCH, HAS_VAL = 13, 14  # iterations per epoch; 1 if there is a validation set
HYPER_SIZE = 15

# state (BETA1_T, BETA2_T: beta1^t and beta2^t, Adam's bias corrections kept as running products)
STEPS, ETA, PL_BEST, PL_BAD, ES_BEST, ES_BAD, ES_BEST_IT, BETA1_T, BETA2_T = range(9)
STATE_SIZE = 9

# what a chunk returns as its status
RUNNING, DIVERGED, STOPPED = 0, 1, 2
