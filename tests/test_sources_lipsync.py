"""Audio lip sync on the real speech recording: the jaw follows the voice and rests in pauses."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from core.errors import PortraitError
from core.sources.lipsync import lipsync_curves, lipsync_motion, read_audio

SPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "testdata" / "audio" / \
    "jfk_inaugural_ask_not.wav"
FPS = 24.0


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    rate, samples = wavfile.read(SPEECH)
    return samples.astype(np.float64) / 32768.0, rate


def _frame_envelope(samples, rate, count):
    edges = np.minimum(np.round(np.arange(count + 1) * rate / FPS).astype(int), len(samples))
    return np.array([np.sqrt(np.mean(samples[a:b] ** 2)) if b > a else 0.0
                     for a, b in zip(edges[:-1], edges[1:])])


def _jaw(motion) -> np.ndarray:
    return motion.tracks["jawOpen"][:, 1]


def test_jaw_follows_the_speech_envelope(speech):
    samples, rate = speech
    jaw = _jaw(lipsync_motion(SPEECH, FPS))
    envelope = _frame_envelope(samples, rate, len(jaw))
    assert len(jaw) == int(len(samples) / rate * FPS) + 1
    assert np.corrcoef(jaw, envelope)[0, 1] >= 0.7
    assert jaw.max() > 0.5  # speaking opens the mouth visibly


def test_mouth_is_closed_in_pauses(speech):
    samples, rate = speech
    curves = lipsync_curves(read_audio(SPEECH), FPS)
    level = 20 * np.log10(_frame_envelope(samples, rate, len(curves["jawOpen"])) + 1e-9)
    quiet = level < np.percentile(level, 10) + 6.0
    # Frames inside a quiet run, one frame away from its ends (the jaw needs a frame to close).
    inside = quiet & np.roll(quiet, 1) & np.roll(quiet, -1) & np.roll(quiet, 2) & np.roll(quiet, -2)
    assert inside.sum() > 20
    for name, values in curves.items():
        assert values[inside].max() < 0.05, name
        assert 0.0 <= values.min() and values.max() <= 1.0, name


def test_vowel_shapes_move_while_speaking():
    curves = lipsync_curves(read_audio(SPEECH), FPS)
    for name in ("mouthFunnel", "mouthPucker", "mouthStretchLeft"):
        assert curves[name].max() > 0.1, name
    # Rounded and spread lips are opposites: they do not peak together.
    rounded = np.maximum(curves["mouthFunnel"], curves["mouthPucker"])
    assert np.minimum(rounded, curves["mouthStretchLeft"]).max() < 0.5 * rounded.max()


def test_frame_start_and_determinism():
    first = lipsync_motion(SPEECH, 30.0, frame_start=101)
    assert first.tracks["jawOpen"][0, 0] == 101 and first.frame_start == 101
    assert first.to_json() == lipsync_motion(SPEECH, 30.0, frame_start=101).to_json()


def test_flac_and_mp3_decode_through_ffmpeg(tmp_path):
    import imageio_ffmpeg

    reference = _jaw(lipsync_motion(SPEECH, FPS))
    for suffix in (".flac", ".mp3"):
        encoded = tmp_path / f"speech{suffix}"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(SPEECH),
                        str(encoded)], check=True)
        jaw = _jaw(lipsync_motion(encoded, FPS))
        if suffix == ".flac":  # lossless: the same samples, the same keys
            np.testing.assert_array_equal(jaw, reference)
        else:  # the encoder pads the start a little: compare the shape of the curves
            count = min(len(jaw), len(reference))
            assert np.corrcoef(jaw[:count], reference[:count])[0, 1] > 0.9


def test_silence_is_no_speech(tmp_path):
    silent = tmp_path / "silent.wav"
    wavfile.write(silent, 16000, np.zeros(32000, np.int16))
    with pytest.raises(PortraitError, match="no speech: the audio is silent"):
        lipsync_motion(silent, FPS)
    hum = tmp_path / "hum.wav"
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(32000) / 16000)
    wavfile.write(hum, 16000, (tone * 32767).astype(np.int16))
    with pytest.raises(PortraitError, match="no speech: the level never rises"):
        lipsync_motion(hum, FPS)


def test_not_audio_is_refused(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("this is not a sound\n" * 50)
    with pytest.raises(PortraitError, match="not a readable audio file"):
        lipsync_motion(text, FPS)
    image = Path(__file__).resolve().parents[1].parent / "shared" / "testdata" / "portraits" / \
        "photo_astronaut_eileen_collins.png"
    with pytest.raises(PortraitError, match="not a readable audio file|no audio"):
        lipsync_motion(image, FPS)
    with pytest.raises(PortraitError, match="no such file"):
        lipsync_motion(tmp_path / "missing.wav", FPS)
