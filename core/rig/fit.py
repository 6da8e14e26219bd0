"""Fitting the rig to landmarks: blendshape weights (bounded 0..1) and head pose.

One bounded nonlinear least-squares problem over the 52 weights, the three head angles and the
translation: Levenberg-Marquardt whose every step is an exact box-constrained quadratic program
(core.rig.qp), started from a rigid fit of the rest shape (or from the previous frame in a
sequence). Residuals are in units of the rig's inter-ocular distance, so the solver's tolerances
and the regularisation of the weights mean the same thing for every portrait size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PortraitError
from ..landmarks.topology import LEFT_IRIS_CENTER, NUM_LANDMARKS, RIGHT_IRIS_CENTER
from .names import ARKIT_NAMES, NUM_SHAPES
from .qp import solve_box_qp
from .pose import HeadPose, angles_from_matrix, rotation_derivatives, rotation_matrix
from .rig import FaceRig
from .space import image_to_portrait

DEPTH_WEIGHT = 0.3   # MediaPipe depth is less reliable than x, y: it counts less
# Ridge on the weights, relative to each shape's own size (sum of its squared moves): a weight
# alone shrinks by ~RIDGE; similar shapes share the work instead of cancelling each other.
RIDGE = 1e-3
# Shapes the landmarks barely see (the tongue; the jaw pushed straight at the camera) would
# otherwise soak up what jawOpen and the lip shapes explain: the fit only uses them when it must.
UNSEEN_SHAPES = {"tongueOut": 100.0, "jawForward": 10.0}
# Opposite shapes: together they mostly cancel, and what is left over would stand in for another
# shape (both gaze-ups and -downs at once make half a blink). Their sum is penalised.
ANTAGONISTS = [(f"{a}{side}", f"{b}{side}") for side in ("Left", "Right") for a, b in (
    ("eyeLookUp", "eyeLookDown"), ("eyeLookIn", "eyeLookOut"), ("eyeWide", "eyeBlink"),
    ("eyeWide", "eyeSquint"), ("mouthSmile", "mouthFrown"), ("browDown", "browOuterUp"))] + [
    ("mouthLeft", "mouthRight"), ("jawLeft", "jawRight"), ("mouthPucker", "mouthStretchLeft"),
    ("mouthPucker", "mouthStretchRight")]
ANTAGONIST_WEIGHT = 0.005


@dataclass
class FitResult:
    weights: np.ndarray   # (52,)
    head: HeadPose
    residual: float       # mean 2D landmark error, % of the rig's inter-ocular distance


def rig_iod(rig: FaceRig) -> float:
    """The rig's inter-ocular distance in portrait units."""
    return float(np.linalg.norm(rig.rest[LEFT_IRIS_CENTER] - rig.rest[RIGHT_IRIS_CENTER]))


def rigid_start(rig: FaceRig, target: np.ndarray) -> np.ndarray:
    """(6,) yaw, pitch, roll (deg), translation: the rest shape's best rigid fit (Kabsch) to target."""
    source = rig.rest - rig.pivot
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    u, _, vt = np.linalg.svd((target - target_mean).T @ (source - source_mean))
    sign = np.sign(np.linalg.det(u @ vt)) or 1.0
    rotation = u @ np.diag([1.0, 1.0, sign]) @ vt
    translation = target_mean - source_mean @ rotation.T - rig.pivot
    return np.concatenate([angles_from_matrix(rotation), translation])


class _Problem:
    """Residuals and Jacobian of the rig against one target, in portrait space / IOD units."""

    def __init__(self, rig: FaceRig, target: np.ndarray, scores: np.ndarray | None = None,
                 prior: float = 0.0):
        self.rig = rig
        self.axis_weight = np.array([1.0, DEPTH_WEIGHT, 1.0]) / rig_iod(rig)
        self.target = target
        sizes = ((rig.deltas * self.axis_weight) ** 2).sum(axis=(1, 2))
        unseen = np.array([UNSEEN_SHAPES.get(name, 1.0) for name in ARKIT_NAMES])
        pairs = np.zeros((len(ANTAGONISTS), NUM_SHAPES))
        for row, (a, b) in enumerate(ANTAGONISTS):
            ia, ib = ARKIT_NAMES.index(a), ARKIT_NAMES.index(b)
            pairs[row, [ia, ib]] = np.sqrt(ANTAGONIST_WEIGHT * (sizes[ia] + sizes[ib]) / 2)
        # the weights' quadratic penalty w^T regular w (52, 52): ridge + antagonist pairs
        self.regular = np.diag(RIDGE * unseen * sizes) + pairs.T @ pairs
        # the pull towards scores: (w - s)^T pull (w - s), each shape relative to its size
        self.scores = np.zeros(NUM_SHAPES) if scores is None else np.asarray(scores, np.float64)
        self.pull = prior * sizes

    def misfit(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted point errors (478, 3), the rotation and the shaped face about the pivot."""
        weights, angles, translation = params[:NUM_SHAPES], params[NUM_SHAPES:-3], params[-3:]
        local = self.rig.shaped(weights) - self.rig.pivot
        rotation = rotation_matrix(angles)
        points = local @ rotation.T + self.rig.pivot + translation
        return (points - self.target) * self.axis_weight, rotation, local

    def penalty(self, weights: np.ndarray) -> float:
        off = weights - self.scores
        return float(weights @ self.regular @ weights + off @ (self.pull * off))

    def cost(self, params: np.ndarray) -> float:
        misfit = self.misfit(params)[0]
        return float((misfit ** 2).sum()) + self.penalty(params[:NUM_SHAPES])

    def normal_equations(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Gauss-Newton Hessian J^T J (58, 58), gradient J^T r (58,) and the cost at params."""
        misfit, rotation, local = self.misfit(params)
        d_weights = (self.rig.deltas @ rotation.T).transpose(1, 2, 0)                 # (478, 3, 52)
        d_angles = np.einsum("aij,nj->nia", rotation_derivatives(params[NUM_SHAPES:-3]), local)
        d_translation = np.broadcast_to(np.eye(3), (len(local), 3, 3))
        jac = np.concatenate([d_weights, d_angles, d_translation], axis=2)
        jac = (jac * self.axis_weight[None, :, None]).reshape(-1, jac.shape[2])
        hessian = jac.T @ jac
        gradient = jac.T @ misfit.ravel()
        weights = params[:NUM_SHAPES]
        hessian[:NUM_SHAPES, :NUM_SHAPES] += self.regular + np.diag(self.pull)
        gradient[:NUM_SHAPES] += self.regular @ weights + self.pull * (weights - self.scores)
        cost = float((misfit ** 2).sum()) + self.penalty(weights)
        return hessian, gradient, cost


def _check_target(rig: FaceRig, target_px: np.ndarray) -> np.ndarray:
    target_px = np.asarray(target_px, np.float64)
    if target_px.shape[-2:] != (NUM_LANDMARKS, 3):
        raise PortraitError(f"expected target landmarks (..., 478, 3), got {target_px.shape}")
    if not np.isfinite(target_px).all():
        raise PortraitError("the target landmarks contain NaN or infinite values")
    return image_to_portrait(target_px, rig.image_size)


LOWER = np.concatenate([np.zeros(NUM_SHAPES), np.full(6, -np.inf)])
UPPER = np.concatenate([np.ones(NUM_SHAPES), np.full(6, np.inf)])


def _solve(problem: _Problem, start: np.ndarray, pose_only: bool,
           max_iterations: int = 30) -> np.ndarray:
    """Levenberg-Marquardt with each step an exact box-constrained QP (weights in 0..1)."""
    lower, upper = LOWER.copy(), UPPER.copy()
    if pose_only:
        upper[:NUM_SHAPES] = 0.0
    params = np.clip(start, lower, upper)
    hessian, gradient, cost = problem.normal_equations(params)
    damping = 1e-4
    for _ in range(max_iterations):
        damped = hessian + damping * np.diag(np.diag(hessian) + 1e-12)
        step = solve_box_qp(damped, gradient, lower - params, upper - params)
        trial = params + step
        trial_cost = problem.cost(trial)
        if trial_cost < cost:
            done = cost - trial_cost <= 1e-9 * cost + 1e-14
            params = trial
            hessian, gradient, cost = problem.normal_equations(params)
            damping = max(damping / 10, 1e-9)
            if done:
                break
        else:
            damping *= 10
            if damping > 1e6:
                break
    return params


def _result(rig: FaceRig, params: np.ndarray, target: np.ndarray) -> FitResult:
    weights = params[:NUM_SHAPES].copy()
    yaw, pitch, roll = params[NUM_SHAPES:-3]
    head = HeadPose(float(yaw), float(pitch), float(roll), tuple(float(v) for v in params[-3:]))
    fitted = rig.evaluate_portrait(weights, head)
    error = np.linalg.norm((fitted - target)[:, [0, 2]], axis=1).mean()
    return FitResult(weights, head, float(100.0 * error / rig_iod(rig)))


def fit_rig(rig: FaceRig, target_landmarks: np.ndarray, pose_only: bool = False,
            start: tuple[np.ndarray, HeadPose] | None = None) -> tuple[np.ndarray, HeadPose, float]:
    """Weights (52,) in 0..1, head pose and residual fitting the rig to landmarks (478, 3) px.

    The residual is the mean 2D landmark error in % of the rig's inter-ocular distance.
    `pose_only` keeps the weights at 0 (the yardstick for what the blendshapes add); `start`
    (weights, head) warm-starts from an earlier fit instead of a rigid fit of the rest shape.
    """
    fit = _fit(rig, _check_target(rig, target_landmarks), pose_only, start)
    return fit.weights, fit.head, fit.residual


def _fit(rig: FaceRig, target: np.ndarray, pose_only: bool,
         start: tuple[np.ndarray, HeadPose] | None, scores: np.ndarray | None = None,
         prior: float = 0.0) -> FitResult:
    if start is None:
        params = np.concatenate([np.zeros(NUM_SHAPES), rigid_start(rig, target)])
    else:
        weights, head = start
        params = np.concatenate([weights, head.angles, np.asarray(head.translation, np.float64)])
    problem = _Problem(rig, target, scores, prior)
    return _result(rig, _solve(problem, params, pose_only), target)


def fit_sequence(rig: FaceRig, target_landmarks: np.ndarray, pose_only: bool = False,
                 progress=None, scores: np.ndarray | None = None, prior: float = 0.0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fit every frame of (T, 478, 3) px, each warm-started from the previous frame's solution.

    Returns weights (T, 52), head angles (T, 3) yaw/pitch/roll degrees, translations (T, 3)
    portrait units and residuals (T,) in % of the inter-ocular distance. `progress`, if given,
    is called with the number of frames done after each frame.

    `scores` (T, 52), a detector's blendshape scores per frame, add a weak pull of the weights
    towards them: `prior` times each shape's size times the squared difference (0: none; the
    ridge on the weights is RIDGE on the same scale).
    """
    targets = _check_target(rig, target_landmarks)
    if targets.ndim != 3:
        raise PortraitError(f"expected a sequence of landmarks (T, 478, 3), got {targets.shape}")
    fits, previous = [], None
    for index, target in enumerate(targets):
        fit = _fit(rig, target, pose_only, previous, None if scores is None else scores[index],
                   prior)
        previous = (fit.weights, fit.head)
        fits.append(fit)
        if progress is not None:
            progress(index + 1)
    return (np.stack([f.weights for f in fits]), np.stack([f.head.angles for f in fits]),
            np.array([f.head.translation for f in fits]), np.array([f.residual for f in fits]))
