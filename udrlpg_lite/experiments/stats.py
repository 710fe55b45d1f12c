"""The statistics over seeds that the report's tables and its figures share."""

from __future__ import annotations

import numpy as np
from scipy import stats


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """95% bootstrap CI of the mean; a sample with no spread (every seed at 1000) is its value."""
    if len(values) < 2 or np.ptp(values) == 0:
        return float(values.mean()), float(values.mean())
    ci = stats.bootstrap((values,), np.mean, confidence_level=0.95, random_state=0).confidence_interval
    return float(ci.low), float(ci.high)
