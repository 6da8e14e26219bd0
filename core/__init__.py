"""Portrait Animator engine (no bpy): landmarks -> retarget -> sketch -> generator."""
