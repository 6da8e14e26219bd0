"""Stage 1: facial landmarks (MediaPipe face mesh, 478 points) for portraits and videos."""
from .detect import Face, detect_faces, detect_landmarks
from .files import faces_to_json, load_landmarks_json
from .topology import PARTS, NUM_LANDMARKS, part_indices
from .tracking import inter_ocular, smooth_track, track_frames

__all__ = ["Face", "detect_faces", "detect_landmarks", "faces_to_json", "load_landmarks_json", "PARTS", "NUM_LANDMARKS", "part_indices",
           "inter_ocular", "smooth_track", "track_frames"]
