"""Portrait Animator: the repository root is the Blender extension."""
from .blender_addon import register, unregister

__all__ = ["register", "unregister"]
