"""The motion-source commands (solve, mocap, lipsync, life) write motion JSON that loads back."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from core.errors import PortraitError
from core.rig.motion import load_motion
from core.sources.commands import add_source_commands

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"


def _run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m core")
    add_source_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    args.run(args)


def test_mocap_writes_a_motion_at_the_requested_fps(tmp_path):
    out = tmp_path / "take.json"
    _run(["mocap", str(TESTDATA / "mocap" / "livelinkface_MySlate_3_Jason_Millers_iPhone.csv"),
          "--output", str(out), "--fps", "30", "--frame-start", "101", "--swap-mouth-lr"])
    motion = load_motion(out)
    assert (motion.fps, motion.frame_start, motion.frame_end) == (30.0, 101, 264)
    assert len(motion.tracks) == 52
    first = out.read_bytes()
    with pytest.raises(PortraitError, match="exists"):
        _run(["mocap", str(TESTDATA / "mocap" / "livelinkface_MySlate_3_Jason_Millers_iPhone.csv"),
              "--output", str(out)])
    _run(["mocap", str(TESTDATA / "mocap" / "livelinkface_MySlate_3_Jason_Millers_iPhone.csv"),
          "--output", str(out), "--fps", "30", "--frame-start", "101", "--swap-mouth-lr",
          "--overwrite"])
    assert out.read_bytes() == first  # same input, same bytes


def test_lipsync_and_life_write_motions(tmp_path):
    _run(["lipsync", str(TESTDATA / "audio" / "jfk_inaugural_ask_not.wav"),
          "--output", str(tmp_path / "speech.json")])
    speech = load_motion(tmp_path / "speech.json")
    assert speech.tracks["jawOpen"][:, 1].max() > 0.5
    _run(["life", "--output", str(tmp_path / "life.json"), "--frame-end", "120", "--seed", "4",
          "--layers", "blink", "sway"])
    assert sorted(p.name for p in tmp_path.glob("life_*.json")) == ["life_blink.json",
                                                                   "life_sway.json"]
    sway = load_motion(tmp_path / "life_sway.json")
    assert (sway.frame_start, sway.frame_end) == (1, 120) and "head.yaw" in sway.tracks


def test_solve_writes_reduced_curves(tmp_path):
    out = tmp_path / "solve.json"
    _run(["solve", str(TESTDATA / "driving" / "lp_d0_man_greenscreen.mp4"), "--output", str(out),
          "--every", "4", "--reduce", "0.02", "--fps", "24", "--quiet"])
    motion = load_motion(out)
    assert motion.fps == 24.0 and motion.interpolation == "LINEAR"
    assert {"jawOpen", "head.yaw", "head.x"} <= set(motion.tracks)
    weights, _, _ = motion.sample()
    assert weights.min() >= 0.0 and weights.max() <= 1.0 and weights.max() > 0.1
    assert all(len(keys) < 74 for keys in motion.tracks.values())  # fewer than one per frame


def test_bad_input_is_a_portrait_error(tmp_path):
    with pytest.raises(PortraitError, match="not a readable audio file"):
        _run(["lipsync", str(TESTDATA / "mocap" / "livelinkface_MySlate_3_Jason_Millers_iPhone.csv"),
              "--output", str(tmp_path / "x.json")])
    with pytest.raises(PortraitError, match="no such file"):
        _run(["solve", str(tmp_path / "missing.mp4"), "--output", str(tmp_path / "x.json")])
    with pytest.raises(PortraitError, match="output folder does not exist"):
        _run(["life", "--output", str(tmp_path / "no" / "life.json"), "--frame-end", "50"])
    assert not list(tmp_path.rglob("*.json"))
    with pytest.raises(SystemExit):
        _run(["lipsync", "a.wav", "--output", "x.json", "--fps", "-1"])
    assert not list(tmp_path.iterdir())
