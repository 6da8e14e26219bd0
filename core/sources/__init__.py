"""Motion sources: performance capture from video, Live Link Face CSV, audio lip sync and
procedural life. Each turns its input into a motion document (the contract's motion JSON) that
lands on the rig as ordinary keys."""
