"""The face rig: 52 ARKit blendshapes + head pose over a portrait's landmarks (bpy-free numpy).

FaceRig.evaluate is the reference the Blender rig matches; fit_rig / fit_sequence solve weights
and head pose from landmarks; motions and expressions are presets of keyframed / static weights.
"""
from .expressions import list_expressions, load_expression
from .fit import fit_rig, fit_sequence
from .motion import Motion, list_motions, load_motion, motion_landmarks
from .names import ARKIT_NAMES
from .pose import HeadPose
from .rig import FaceRig
from .space import image_to_portrait, portrait_to_image

__all__ = ["ARKIT_NAMES", "FaceRig", "HeadPose", "Motion", "fit_rig", "fit_sequence",
           "image_to_portrait", "list_expressions", "list_motions", "load_expression",
           "load_motion", "motion_landmarks", "portrait_to_image"]
