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


def median_ci(values: np.ndarray) -> tuple[float, float]:
    """95% percentile-bootstrap CI of the median (the BCa interval of a median is unstable with
    few seeds); a sample of one value or with no spread is its value."""
    if len(values) < 2 or np.ptp(values) == 0:
        return float(np.median(values)), float(np.median(values))
    ci = stats.bootstrap(
        (values,), np.median, confidence_level=0.95, method="percentile", random_state=0
    ).confidence_interval
    return float(ci.low), float(ci.high)
