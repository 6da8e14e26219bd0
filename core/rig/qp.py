"""A small dense box-constrained quadratic program, solved exactly by a primal active set.

    minimise 1/2 x^T H x + g^T x   subject to  lower <= x <= upper   (H symmetric positive definite)

Written out because the rig fit solves one per Gauss-Newton step (58 unknowns, a handful of
bounds active) and general-purpose bounded solvers cost ~100x more at this size.
"""
from __future__ import annotations

import numpy as np


def solve_box_qp(hessian: np.ndarray, gradient: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray, start: np.ndarray | None = None,
                 max_iterations: int = 500) -> np.ndarray:
    """(n,) minimiser of 1/2 x^T H x + g^T x on the box [lower, upper] (bounds may be +-inf)."""
    count = len(gradient)
    x = np.clip(np.zeros(count) if start is None else start, lower, upper)
    # bound state: 0 free, -1 held at lower, +1 held at upper
    held = np.where(x <= lower, -1, np.where(x >= upper, 1, 0))
    for _ in range(max_iterations):
        free = held == 0
        grad = hessian @ x + gradient
        step = np.zeros(count)
        if free.any():
            h_free = hessian[np.ix_(free, free)]
            step[free] = -np.linalg.solve(h_free, grad[free])
        if np.abs(step).max(initial=0.0) <= 1e-12 * (1.0 + np.abs(x).max()):
            # Optimal on this face: release the held bound whose multiplier has the wrong sign.
            wrong = np.where(held == -1, -grad, np.where(held == 1, grad, 0.0))
            worst = int(np.argmax(wrong))
            if wrong[worst] <= 1e-12:
                return x
            held[worst] = 0
            continue
        # Walk towards the face's minimum until the first bound blocks the way.
        with np.errstate(divide="ignore", invalid="ignore"):
            to_bound = np.where(step < 0, (lower - x) / step, np.where(step > 0, (upper - x) / step, np.inf))
        to_bound[~free] = np.inf
        blocking = int(np.argmin(to_bound))
        alpha = min(1.0, float(to_bound[blocking]))
        x = x + alpha * step
        if alpha < 1.0:
            x[blocking] = lower[blocking] if step[blocking] < 0 else upper[blocking]
            held[blocking] = -1 if step[blocking] < 0 else 1
    return x
