"""Audio lip sync: speech envelope -> jawOpen, vowel colour -> funnel / pucker / stretch.

No phoneme recogniser (no weights, no network): the jaw follows the loudness of the voice and the
lips follow where the spectrum's energy sits. Rounded vowels (o, u) put their energy low (second
formant below ~1 kHz) -> mouthFunnel / mouthPucker; spread vowels (i, e) have a high second
formant (~2 kHz) -> mouthStretch. Everything is gated by a noise gate so the mouth closes in
pauses.

Analysis runs at 100 frames/s on 16 kHz mono: RMS over 20 ms windows, spectra over 32 ms.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PortraitError
from ..validate import finite_array, frame_rate, frame_span, within
from ..rig.motion import Motion
from ..smoothing import gaussian_smooth
from .tracks import dense_tracks, make_motion

SAMPLE_RATE = 16000
HOP = SAMPLE_RATE // 100  # 10 ms
RMS_WINDOW = SAMPLE_RATE // 50  # 20 ms
SPECTRUM_WINDOW = 512  # 32 ms: resolves the first two formants
MAX_SAMPLE = 16.0  # +24 dB over full scale: louder is a broken file, not a voice
SILENCE_DBFS = -50.0  # loudest 20 ms quieter than this: nothing to lip-sync
MIN_SPEECH_RANGE_DB = 10.0  # speech rises at least this far above its noise floor
GATE_ABOVE_FLOOR_DB = 9.0  # the gate opens this far above the noise floor


@dataclass
class LipSyncSettings:
    """How far each shape goes at full strength (the rig's 0..1 units)."""
    jaw: float = 0.7
    funnel: float = 0.5
    pucker: float = 0.45
    stretch: float = 0.35
    smoothing_ms: float = 20.0  # Gaussian sigma: the jaw cannot follow single glottal bursts


def read_audio(path: str | Path) -> np.ndarray:
    """Any audio file ffmpeg reads (WAV, FLAC, MP3, a video's sound track) -> (N,) float32 mono
    16 kHz in -1..1."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise PortraitError(f"{path}: no such file")
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path),
               "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0:
        raise PortraitError(f"{path}: not a readable audio file")
    samples = np.frombuffer(result.stdout, np.float32)
    # A float WAV can hold NaN or infinities (ffmpeg passes them on) and samples far beyond
    # full scale: neither is speech, and either would key NaN or a jaw stuck open.
    finite_array(samples, f"{path}: samples")
    within(samples, f"{path}: samples", -MAX_SAMPLE, MAX_SAMPLE, "sample")
    if len(samples) < RMS_WINDOW * 5:
        raise PortraitError(f"{path}: no audio in the file (or under 0.1 s of it)")
    return samples


def frame_signal(samples: np.ndarray, window: int) -> np.ndarray:
    """(N,) -> (F, window) windows centred every HOP samples (F = ceil(N / HOP)), zero-padded."""
    count = -(-len(samples) // HOP)
    padded = np.pad(samples, (window // 2, window + count * HOP))
    starts = np.arange(count) * HOP
    return padded[starts[:, None] + np.arange(window)[None, :]]


def rms_db(samples: np.ndarray) -> np.ndarray:
    """(N,) -> (F,) RMS level in dBFS of 20 ms windows every 10 ms."""
    windows = frame_signal(samples, RMS_WINDOW)
    return 10.0 * np.log10(np.mean(windows.astype(np.float64) ** 2, axis=1) + 1e-12)


def band_energies(samples: np.ndarray, bands_hz: list[tuple[float, float]]) -> np.ndarray:
    """(N,) -> (F, B) spectral energy of each band in Hann-windowed 32 ms windows."""
    windows = frame_signal(samples, SPECTRUM_WINDOW) * np.hanning(SPECTRUM_WINDOW)
    power = np.abs(np.fft.rfft(windows, axis=1)) ** 2
    freqs = np.fft.rfftfreq(SPECTRUM_WINDOW, 1.0 / SAMPLE_RATE)
    return np.stack([power[:, (freqs >= low) & (freqs < high)].sum(axis=1)
                     for low, high in bands_hz], axis=1)


def speech_activity(level_db: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(F,) dB -> (F,) 0..1 loudness above the noise gate, the gate and the peak level (dB).

    The noise floor is the 10th percentile level (every recording has pauses); the gate sits
    GATE_ABOVE_FLOOR_DB above it. Loudness is compressed (square root of the linear amplitude
    ratio) the way a jaw opens: quickly for soft syllables, saturating for loud ones.
    """
    floor, peak = np.percentile(level_db, [10, 99.5])
    if peak < SILENCE_DBFS:
        raise PortraitError(f"no speech: the audio is silent (peak {peak:.0f} dBFS)")
    if peak - floor < MIN_SPEECH_RANGE_DB:
        raise PortraitError(f"no speech: the level never rises above the background "
                            f"({peak - floor:.0f} dB range)")
    gate = floor + GATE_ABOVE_FLOOR_DB
    amplitude = 10.0 ** ((level_db - gate) / 20.0)
    full = 10.0 ** ((peak - gate) / 20.0)
    activity = np.sqrt(np.clip((amplitude - 1.0) / (full - 1.0), 0.0, 1.0))
    return activity, gate, peak


def vowel_shapes(samples: np.ndarray, voiced: np.ndarray) -> tuple[np.ndarray, ...]:
    """(N,) audio, (F,) bool voiced -> rounded, close, spread (F,) each 0..1.

    rounded: energy below 1.2 kHz against 1.2-4 kHz, relative to the clip's own voiced median
    (so a deep and a high voice both span the range). close: first formant low (250-550 Hz
    against 550-1000 Hz), which separates u (pucker) from o (funnel). spread: the opposite of
    rounded.
    """
    low_f1, high_f1, high = band_energies(
        samples, [(250, 550), (550, 1200), (1200, 4000)]).T + 1e-12
    balance = np.log2((low_f1 + high_f1) / high)
    closeness = np.log2(low_f1 / high_f1)
    if voiced.sum() >= 5:
        balance = balance - np.median(balance[voiced])
        closeness = closeness - np.median(closeness[voiced])
    rounded = np.clip(balance / 2.0, 0.0, 1.0)
    spread = np.clip(-balance / 2.0, 0.0, 1.0)
    close = 1.0 / (1.0 + np.exp(-2.0 * closeness))
    return rounded, close, spread


def lipsync_curves(samples: np.ndarray, fps: float,
                   settings: LipSyncSettings | None = None) -> dict[str, np.ndarray]:
    """(N,) 16 kHz audio -> shape name -> (K,) weights at each scene frame (K = duration * fps)."""
    settings = settings or LipSyncSettings()
    level = rms_db(samples)
    activity, gate, _ = speech_activity(level)
    rounded, close, spread = vowel_shapes(samples, level > gate)
    sigma = settings.smoothing_ms / 10.0  # in 10 ms analysis frames
    jaw = gaussian_smooth(activity, sigma)
    # The lips take their shape only while the voice sounds, and ease in and out with the jaw.
    funnel = gaussian_smooth(activity * rounded * (1.0 - close), 1.5 * sigma)
    pucker = gaussian_smooth(activity * rounded * close, 1.5 * sigma)
    stretch = gaussian_smooth(activity * spread, 1.5 * sigma)

    duration = len(samples) / SAMPLE_RATE
    # Frame k shows the sound of [k / fps, (k + 1) / fps): sample the middle of that interval.
    frame_times = (np.arange(int(np.floor(duration * fps)) + 1) + 0.5) / fps
    analysis_times = np.arange(len(level)) * HOP / SAMPLE_RATE

    def at_frames(curve, scale):
        return np.clip(np.interp(frame_times, analysis_times, curve) * scale, 0.0, 1.0)

    stretch_frames = at_frames(stretch, settings.stretch)
    return {"jawOpen": at_frames(jaw, settings.jaw),
            "mouthFunnel": at_frames(funnel, settings.funnel),
            "mouthPucker": at_frames(pucker, settings.pucker),
            "mouthStretchLeft": stretch_frames,
            "mouthStretchRight": stretch_frames.copy()}


def lipsync_motion(path: str | Path, fps: float, frame_start: float = 1,
                   settings: LipSyncSettings | None = None) -> Motion:
    """An audio file as a Motion keyed (LINEAR) on every frame: the sound's time 0 lands on
    frame_start."""
    fps = frame_rate(fps, "scene fps")
    samples = read_audio(path)
    frame_span(frame_start, frame_start + len(samples) / SAMPLE_RATE * fps, str(path))
    try:
        curves = lipsync_curves(samples, fps, settings)
    except PortraitError as exc:
        raise PortraitError(f"{path}: {exc}") from None
    frames = frame_start + np.arange(len(curves["jawOpen"]), dtype=np.float64)
    return make_motion(Path(path).stem, fps, dense_tracks(frames, curves), "LINEAR")
