"""History.merge: several records of one epoch become one."""

import math

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from skfit import History


def _record(epoch, loss, grad_norm=1.0, n_spikes=0, rate=0.1, batches=(1, 0)):
    n_batches, n_nonfinite = batches
    return {
        "epoch": epoch,
        "loss": loss,
        "val_loss": math.nan,
        "val_score": math.nan,
        "learning_rate": rate,
        "grad_norm": grad_norm,
        "duration": 0.25,
        "n_spikes": n_spikes,
        "n_batches": n_batches,
        "n_nonfinite": n_nonfinite,
    }


def test_merge_weighs_losses_and_batches_and_sums_counts():
    history = History()
    history.append(_record(1, 9.0), np.array([9.0], dtype=np.float32))
    history.append(
        _record(2, 2.0, 1.0, 1, 0.1, batches=(3, 0)), np.full(3, 2.0, dtype=np.float32)
    )
    history.append(
        _record(3, math.nan, math.nan, 2, 0.05, batches=(1, 1)),
        np.full(1, np.nan, "f4"),
    )
    history.append(_record(4, 4.0, 3.0, 0, 0.01), np.full(1, 4.0, dtype=np.float32))
    history.merge(1, weights=[300, 100, 100])
    assert len(history) == 2
    assert_array_equal(history["epoch"], [1, 2])
    merged = history[1]
    # The non-finite record is left out of the loss and of the gradient norm.
    assert merged["loss"] == (300 * 2.0 + 100 * 4.0) / 400
    assert merged["grad_norm"] == (3 * 1.0 + 1 * 3.0) / 4
    assert merged["n_spikes"] == 3 and merged["duration"] == 0.75
    assert merged["n_batches"] == 5 and merged["n_nonfinite"] == 1
    # The epoch ends with the last record's learning rate.
    assert merged["learning_rate"] == 0.01
    assert_allclose(history.batch_loss, [9, 2, 2, 2, np.nan, 4])
    assert_array_equal(history.batch_epoch, [1, 2, 2, 2, 2, 2])


def test_merging_no_record_changes_nothing():
    history = History()
    history.append(_record(1, 1.0), np.ones(2, dtype=np.float32))
    history.merge(1, weights=[])
    assert len(history) == 1 and history[0] == _record(1, 1.0)
