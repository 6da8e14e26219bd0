"""The command line contract: outputs, summaries, and one-line errors with exit status 2."""
import importlib.util
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from conftest import DRIVING, ROOT
from core.media import default_portrait_path, read_video, resize_image

PORTRAIT = str(default_portrait_path())
SHORT_CLIP = [p for p in DRIVING if "d18_" in p.name][0]


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def assert_one_line_error(result, pattern):
    assert result.returncode == 2, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and pattern in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def short_driver(tmp_path_factory):
    """The first 12 frames of a real clip, re-encoded (keeps the CLI tests quick)."""
    import imageio_ffmpeg

    frames, fps = read_video(SHORT_CLIP)
    path = tmp_path_factory.mktemp("driver") / "short.mp4"
    writer = imageio_ffmpeg.write_frames(str(path), (frames.shape[2], frames.shape[1]), fps=fps,
                                         macro_block_size=1, ffmpeg_log_level="error")
    writer.send(None)
    for frame in frames[:12]:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return path


def test_animate_writes_video_frames_sketches_and_landmarks(tmp_path, short_driver):
    out = tmp_path / "out.mp4"
    result = run_cli("animate", PORTRAIT, "--driver", short_driver, "--output", out,
                     "--frames-dir", tmp_path / "frames", "--sketch-dir", tmp_path / "sketch",
                     "--landmarks-out", tmp_path / "lm.npz")
    assert result.returncode == 0, result.stderr
    frames, fps = read_video(out)
    portrait = iio.imread(PORTRAIT)
    assert frames.shape == (12, *portrait.shape) and fps == pytest.approx(30)
    assert len(list((tmp_path / "frames").glob("frame_*.png"))) == 12
    assert len(list((tmp_path / "sketch").glob("frame_*.png"))) == 12
    saved = np.load(tmp_path / "lm.npz")
    assert saved["targets"].shape == (12, 478, 3)
    assert "12 frames at 512x600" in result.stderr and "0 driver frames without a face" in result.stderr
    assert not list(tmp_path.glob(".*partial*"))


def test_animate_refuses_to_overwrite_and_keeps_the_old_file(tmp_path, short_driver):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    result = run_cli("animate", PORTRAIT, "--driver", short_driver, "--output", out)
    assert_one_line_error(result, "--overwrite")
    assert out.read_bytes() == b"precious"


def test_size_option_renders_at_the_requested_resolution(tmp_path, short_driver):
    result = run_cli("animate", PORTRAIT, "--driver", short_driver, "--size", "410x412",
                     "--frames-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    assert iio.imread(tmp_path / "frame_000001.png").shape == (412, 410, 3)


def test_detect_json_round_trips_into_animate(tmp_path, short_driver):
    result = run_cli("detect", PORTRAIT, "--json")
    assert result.returncode == 0
    (tmp_path / "lm.json").write_text(result.stdout)
    result = run_cli("animate", PORTRAIT, "--landmarks", tmp_path / "lm.json", "--driver",
                     short_driver, "--frames-dir", tmp_path / "f")
    assert result.returncode == 0, result.stderr


def make_bad_inputs(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    fake_png = tmp_path / "fake.png"
    fake_png.write_bytes(b"\x89PNG garbage")
    blank = tmp_path / "blank.png"
    iio.imwrite(blank, np.full((300, 300, 3), 180, np.uint8))
    one_frame = tmp_path / "one.mp4"
    iio.imwrite(one_frame, iio.imread(PORTRAIT)[None, :600, :512], fps=25)
    no_face_video = tmp_path / "noface.mp4"
    iio.imwrite(no_face_video, np.full((5, 64, 64, 3), 100, np.uint8), fps=25)
    return text, fake_png, blank, one_frame, no_face_video


def test_bad_inputs_give_one_line_errors(tmp_path, short_driver):
    text, fake_png, blank, one_frame, no_face_video = make_bad_inputs(tmp_path)
    out = tmp_path / "o.mp4"
    cases = [
        (("animate", tmp_path / "missing.jpg", "--driver", short_driver, "--output", out), "no such file"),
        (("animate", text, "--driver", short_driver, "--output", out), "not a readable image"),
        (("animate", fake_png, "--driver", short_driver, "--output", out), "not a readable image"),
        (("animate", blank, "--driver", short_driver, "--output", out), "no face"),
        (("animate", PORTRAIT, "--driver", text, "--output", out), "not a readable video"),
        (("animate", PORTRAIT, "--driver", one_frame, "--output", out), "at least 2"),
        (("animate", PORTRAIT, "--driver", no_face_video, "--output", out), "no face found in any frame"),
        (("animate", PORTRAIT, "--driver", short_driver), "give an output"),
        (("animate", PORTRAIT, "--output", out), "motion source"),
        (("animate", PORTRAIT, "--driver", short_driver, "--output", tmp_path / "nodir" / "o.mp4"),
         "does not exist"),
        (("detect", blank), "no face"),
        (("sketch", PORTRAIT, "--output", tmp_path / "s.png", "--style", "nope"), "unknown sketch style"),
    ]
    for args, pattern in cases:
        assert_one_line_error(run_cli(*args), pattern)
    assert not out.exists()


def test_odd_sized_grayscale_16bit_portrait(tmp_path, short_driver):
    portrait = resize_image(iio.imread(PORTRAIT), (410, 412)).mean(axis=2)
    path = tmp_path / "gray16.png"
    iio.imwrite(path, (portrait * 257).astype(np.uint16))
    result = run_cli("animate", path, "--driver", short_driver, "--output", tmp_path / "o.mp4")
    assert result.returncode == 0, result.stderr
    frames, _ = read_video(tmp_path / "o.mp4")
    assert frames.shape[1:] == (412, 410, 3)


def test_animate_from_a_rig_motion_preset(tmp_path):
    result = run_cli("animate", "--motion", "nod", "--frames-dir", tmp_path, "--fps", "12")
    assert result.returncode == 0, result.stderr
    frames = sorted(tmp_path.glob("frame_*.png"))
    assert len(frames) >= 12 and "driver" not in result.stderr.splitlines()[-1]
    first, middle = iio.imread(frames[0]), iio.imread(frames[len(frames) // 2])
    assert first.shape == iio.imread(PORTRAIT).shape
    assert np.abs(first.astype(int) - middle).mean() > 0.5  # the nod moves the head


def test_a_gpu_device_without_torch_is_one_line_and_writes_nothing(tmp_path):
    """The main environment has no torch, as Blender's Python usually has not."""
    output = tmp_path / "out.mp4"
    result = run_cli("animate", "--motion", "idle", "--device", "cuda", "--output", output)
    if importlib.util.find_spec("torch") is None:
        assert_one_line_error(result, "needs torch")
    else:  # torch here, but no CUDA device on this machine
        assert_one_line_error(result, "not usable here")
    assert not output.exists() and not list(tmp_path.iterdir())


@pytest.mark.processes
def test_two_render_processes_write_the_same_bytes_as_one(tmp_path, short_driver):
    """Frames rendered out of order by worker processes (with the driver's own mouth and
    creases, read by the parent) are written in order, byte for byte those of one process."""
    outputs = {}
    for jobs in ("1", "2"):
        folder = tmp_path / jobs
        folder.mkdir()
        result = run_cli("animate", PORTRAIT, "--driver", short_driver, "--mouth-from-driver",
                         "--detail", "--jobs", jobs, "--output", folder / "out.mp4",
                         "--frames-dir", folder / "frames", "--sketch-dir", folder / "sketch")
        assert result.returncode == 0, result.stderr
        outputs[jobs] = {p.relative_to(folder): p.read_bytes()
                         for p in sorted(folder.rglob("*")) if p.is_file()}
    assert "by 2 processes" in result.stderr.splitlines()[-1]
    frames = [data for p, data in outputs["1"].items() if p.parts[0] == "frames"]
    assert len(frames) == 12 and len(set(frames)) > 6  # each frame its own, not one reused
    assert outputs["2"] == outputs["1"]


@pytest.mark.processes
def test_an_error_in_a_render_process_is_one_line_and_writes_nothing(tmp_path):
    output = tmp_path / "out.mp4"
    result = run_cli("animate", "--motion", "idle", "--device", "cuda", "--jobs", "2",
                     "--output", output)
    assert_one_line_error(result, "needs torch" if importlib.util.find_spec("torch") is None
                          else "not usable here")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("jobs", ["0", "two", "-1"])
def test_a_bad_jobs_count_is_one_line(tmp_path, jobs):
    result = run_cli("animate", "--motion", "idle", "--jobs", jobs, "--output", tmp_path / "o.mp4")
    assert_one_line_error(result, "--jobs")
    assert not list(tmp_path.iterdir())
