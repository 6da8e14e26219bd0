"""Retargeting: driver motion -> the portrait's landmarks (head pose + scaled expression)."""
from .pose import Similarity, fit_similarity, head_pose
from .transfer import Multipliers, region_gains, retarget

__all__ = ["Similarity", "fit_similarity", "head_pose", "Multipliers", "region_gains", "retarget"]
