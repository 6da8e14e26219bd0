"""Retargeting: driver motion -> the portrait's landmarks (head pose + scaled expression)."""
from .pose import STABLE_POINTS, Similarity, fit_similarity, head_pose
from .transfer import Multipliers, retarget

__all__ = ["STABLE_POINTS", "Similarity", "fit_similarity", "head_pose", "Multipliers", "retarget"]
