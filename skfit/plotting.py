"""Plots of training, in scikit-learn's Display style.

Each display stores its data in ``__init__``, draws in ``plot(ax=None, ...)``, which
returns the display with ``ax_``, ``figure_`` and ``lines_`` (a dict of the
matplotlib artists drawn) set, and computes its data in class methods such as
``from_estimator``. matplotlib is an optional extra, imported only when drawing:
``pip install "skfit[plot]"``.

- :class:`LossCurveDisplay`: training and validation loss per epoch, the spikes and
  the best epoch marked, the learning rate on a second axis.
- :class:`LearningRateFinderDisplay`: the loss against the learning rate of a range
  test (:func:`skfit.find_learning_rate`), its suggestion marked.
- :class:`DiagnosisDisplay`: the learning curve (or loss curves) behind a
  :func:`skfit.diagnose` verdict, the verdict in the title.
"""

from .diagnostics._diagnosis_display import DiagnosisDisplay
from .diagnostics._finder_display import LearningRateFinderDisplay
from .diagnostics._loss_curve_display import LossCurveDisplay

__all__ = ["DiagnosisDisplay", "LearningRateFinderDisplay", "LossCurveDisplay"]
