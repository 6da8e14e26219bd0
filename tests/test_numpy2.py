"""The engine on numpy 2 gives the same bytes as on the pinned numpy 1.

Linux distributions ship Blender with their own numpy 2 and torch, so core/ must not depend on
numpy-1-only behaviour. `make test` builds .venv-numpy2 (requirements-numpy2.txt: numpy 2,
torch, scipy, imageio, no mediapipe, no bpy). Landmarks are tracked here with mediapipe; both
interpreters then run the same engine work: the `animate`, `lipsync`, `mocap` and `life`
commands, and retargeting, the rig fit and the generator on a tracked clip.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import DRIVING, ROOT, TESTDATA, portrait_with_landmarks

NUMPY2_PYTHON = ROOT / ".venv-numpy2" / "bin" / "python"
PORTRAIT = TESTDATA / "portraits" / "painting_girl_with_a_pearl_earring.jpg"

pytestmark = pytest.mark.skipif(not NUMPY2_PYTHON.exists(),
                                reason="no .venv-numpy2: `make test` builds it")

# Retarget a tracked clip onto the portrait, fit the rig to a frame, render two frames.
ENGINE_SCRIPT = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from core.generator import Generator
from core.media import read_image
from core.retarget import retarget
from core.rig import FaceRig, fit_rig
data = np.load(sys.argv[2])
targets = retarget(data["track"], data["portrait"])
rig = FaceRig.from_landmarks(data["portrait"], data["size"])
weights, head, residual = fit_rig(rig, targets[-1])
generator = Generator(read_image(sys.argv[3]), data["portrait"])
frames = np.stack([generator.render(target) for target in targets[::5]])
np.savez(sys.argv[4], numpy=np.__version__, targets=targets, weights=weights,
         angles=np.asarray(head.angles), frames=frames)
"""


def run(python, *args, cwd=ROOT) -> None:
    done = subprocess.run([str(python), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module")
def landmarks_json(tmp_path_factory):
    """The portrait's landmarks from `detect --json` (mediapipe, so on numpy 1)."""
    path = tmp_path_factory.mktemp("numpy2") / "portrait.json"
    done = subprocess.run([sys.executable, "-m", "core", "detect", str(PORTRAIT), "--json"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    path.write_text(done.stdout)
    return path


def test_the_numpy2_environment_has_numpy_2():
    done = subprocess.run([str(NUMPY2_PYTHON), "-c", "import numpy; print(numpy.__version__)"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.startswith("2.")


def test_commands_give_the_same_bytes_on_numpy_2(landmarks_json, tmp_path):
    outputs = {}
    for name, python in (("numpy1", sys.executable), ("numpy2", NUMPY2_PYTHON)):
        out = tmp_path / name
        out.mkdir()
        run(python, "-m", "core", "animate", PORTRAIT, "--landmarks", landmarks_json,
            "--motion", ROOT / "presets" / "motions" / "demo_talk.json", "--size", "320x368",
            "--output", out / "talk.mp4", "--frames-dir", out / "frames",
            "--sketch-dir", out / "sketches", "--quiet")
        run(python, "-m", "core", "lipsync", TESTDATA / "audio" / "jfk_inaugural_ask_not.wav",
            "--output", out / "lipsync.json")
        run(python, "-m", "core", "mocap", next((TESTDATA / "mocap").glob("*.csv")),
            "--output", out / "mocap.json")
        run(python, "-m", "core", "life", "--frame-end", "96", "--output", out / "life.json")
        outputs[name] = out

    one, two = outputs["numpy1"], outputs["numpy2"]
    for folder in ("frames", "sketches"):
        names = sorted(path.name for path in (one / folder).iterdir())
        assert len(names) == 96
        assert names == sorted(path.name for path in (two / folder).iterdir())
        for name in names:
            assert (one / folder / name).read_bytes() == (two / folder / name).read_bytes(), name
    written = sorted(path.name for path in one.glob("*.json"))
    assert len(written) >= 3  # life writes one file per layer
    for name in written:
        assert json.loads((one / name).read_text()) == json.loads((two / name).read_text()), name


def test_retarget_rig_fit_and_generator_give_the_same_results_on_numpy_2(tmp_path):
    from itertools import islice

    from core.landmarks import track_frames
    from core.media import VideoReader

    reader = VideoReader(DRIVING[0])
    try:
        track, _ = track_frames(list(islice(reader, 16)), reader.fps)
    finally:
        reader.close()
    image, portrait = portrait_with_landmarks(str(PORTRAIT))
    data = tmp_path / "input.npz"
    np.savez(data, track=track, portrait=portrait, size=np.array(image.shape[1::-1]))
    results = {}
    for name, python in (("numpy1", sys.executable), ("numpy2", NUMPY2_PYTHON)):
        results[name] = tmp_path / f"{name}.npz"
        run(python, "-c", ENGINE_SCRIPT, ROOT, data, PORTRAIT, results[name])
    one, two = np.load(results["numpy1"]), np.load(results["numpy2"])
    assert str(one["numpy"]).startswith("1.") and str(two["numpy"]).startswith("2.")
    for key in ("targets", "weights", "angles"):
        assert np.allclose(one[key], two[key], rtol=0, atol=1e-9), key
    assert np.array_equal(one["frames"], two["frames"])
