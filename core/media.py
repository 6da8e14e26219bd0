"""Reading portraits and videos, writing frames and videos atomically.

Images come back as uint8 RGB arrays (H, W, 3) whatever the file held (grayscale, RGBA,
16-bit). Every output goes to a temporary file beside its destination and is renamed into place
only when complete, so a failed run never leaves a half-written file or replaces a good one.
"""
from __future__ import annotations

import contextlib
import os
import struct
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import PortraitError
from .validate import finite_array, frame_rate

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".gif"}
DEFLATE_PIECE = 1 << 19  # bytes compressed per thread by deflate_fast: 512 KB


def _require_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise PortraitError(f"{path}: no such file")
    if not path.is_file():
        raise PortraitError(f"{path}: not a file")
    if not os.access(path, os.R_OK):
        raise PortraitError(f"{path}: not readable")
    return path


def to_rgb8(array: np.ndarray, name: str = "image") -> np.ndarray:
    """Any image array -> uint8 RGB (H, W, 3): gray is replicated, alpha dropped, >8 bit scaled.

    Float images (EXR, float TIFF) are display values 0..1 (clipped); NaN or infinite pixels
    are refused rather than guessed.
    """
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise PortraitError(f"{name}: unsupported image layout {array.shape}")
    array = array[:, :, :3]
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if np.issubdtype(array.dtype, np.integer):
        scale = 255.0 / float(np.iinfo(array.dtype).max)
        return np.clip(np.rint(array.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    finite_array(array, name)
    return np.clip(np.rint(array.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)


# The codec converts to 3 colour channels (CMYK and YCCK JPEGs through libjpeg, palettes, grey,
# grey+alpha, RGBA with alpha dropped), keeps 16-bit and float depth for to_rgb8 to scale, and
# ignores EXIF orientation as Blender does, so the plane and the frames agree pixel for pixel.
_COLOUR_FLAGS = ("IMREAD_COLOR", "IMREAD_ANYDEPTH", "IMREAD_IGNORE_ORIENTATION")


def _imdecode(data: bytes, flag_names) -> np.ndarray | None:
    import cv2

    flags = 0
    for name in flag_names:
        flags |= getattr(cv2, name)
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        return None


def decode_image(data: bytes, name: str) -> np.ndarray:
    """An encoded image (the bytes of a file named `name`) as uint8 RGB (H, W, 3), the colours
    Blender shows for it: see _COLOUR_FLAGS and to_rgb8. A multi-page file gives its first page.
    """
    if name.lower().endswith(".exr"):
        os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    array = _imdecode(data, _COLOUR_FLAGS)
    if array is None:
        # The colour path refuses some files the codec reads as they are (a one-channel float
        # TIFF): those hold no CMYK, so their channels are grey, BGR or BGRA.
        array = _imdecode(data, ("IMREAD_UNCHANGED",))
    if array is None or array.ndim < 2:
        raise PortraitError(f"{name}: not a readable image")
    if min(array.shape[:2]) < 16:
        raise PortraitError(f"{name}: image too small ({array.shape[1::-1]})")
    if array.ndim == 3 and array.shape[2] in (3, 4):
        array = array[:, :, [2, 1, 0] + ([3] if array.shape[2] == 4 else [])]  # from BGR(A)
    return to_rgb8(array, name)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a portrait as uint8 RGB (H, W, 3) (see decode_image)."""
    path = _require_file(path)
    return decode_image(path.read_bytes(), str(path))


class VideoReader:
    """Frames of a video file as uint8 RGB (H, W, 3), with its fps and frame count."""

    def __init__(self, path: str | os.PathLike):
        import imageio_ffmpeg

        self.path = _require_file(path)
        try:
            self._gen = imageio_ffmpeg.read_frames(str(self.path))
            meta = next(self._gen)
        except (RuntimeError, OSError, StopIteration):
            raise PortraitError(f"{self.path}: not a readable video") from None
        try:
            self.width, self.height = (int(v) for v in meta["size"])
            fps = float(meta.get("fps") or 25.0)
        except (KeyError, TypeError, ValueError, OverflowError):
            self._gen.close()
            raise PortraitError(f"{self.path}: not a readable video (no video stream)") from None
        if not (0 < self.width <= 65536 and 0 < self.height <= 65536):
            self._gen.close()
            raise PortraitError(f"{self.path}: video frames of {self.width}x{self.height} pixels")
        try:
            self.fps = frame_rate(fps, f"{self.path}: frame rate")
        except PortraitError:
            self._gen.close()
            raise
        try:
            self.num_frames = imageio_ffmpeg.count_frames_and_secs(str(self.path))[0]
        except RuntimeError:
            self.num_frames = 0

    def __len__(self) -> int:
        return self.num_frames

    def __iter__(self) -> Iterator[np.ndarray]:
        shape = (self.height, self.width, 3)
        size = self.height * self.width * 3
        try:
            for raw in self._gen:
                if len(raw) != size:  # a truncated last frame: the file ends mid-frame
                    return
                yield np.frombuffer(raw, np.uint8).reshape(shape).copy()
        except (RuntimeError, OSError):
            raise PortraitError(f"{self.path}: the video cannot be decoded past this point") from None

    def close(self) -> None:
        self._gen.close()


class VideoFrames:
    """Frames of a video by index, decoded forward: asked in order (a render), each frame is
    decoded once; an earlier frame than the last one decoded reads the video again from its
    start (no seeking, so a frame is the same bytes whichever was asked before it)."""

    def __init__(self, path: str | os.PathLike):
        self.path = path
        self._reader: VideoReader | None = None
        self._frames: Iterator[np.ndarray] | None = None
        self._next = 0  # the index of the frame _frames yields next
        self._last: tuple[int, np.ndarray] | None = None

    def __getitem__(self, index: int) -> np.ndarray:
        """Frame `index` (H, W, 3) uint8, or a one-line error when the video is shorter."""
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        if self._reader is None or index < self._next:
            self.close()
            self._reader = VideoReader(self.path)
            self._frames, self._next = iter(self._reader), 0
        for frame in self._frames:
            self._next += 1
            if self._next - 1 == index:
                self._last = (index, frame)
                return frame
        raise PortraitError(f"{self.path}: the video has no frame {index} (it has {self._next})")

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = self._frames = None


def read_video(path: str | os.PathLike) -> tuple[np.ndarray, float]:
    """Whole video as uint8 (T, H, W, 3) and its fps."""
    reader = VideoReader(path)
    try:
        frames = list(reader)
    finally:
        reader.close()
    if not frames:
        raise PortraitError(f"{reader.path}: the video has no frames")
    return np.stack(frames), reader.fps


def check_frame_folder(path: str | os.PathLike) -> Path:
    """A folder for PNG frames: it may be missing (it is made later), not a file."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise PortraitError(f"{folder}: exists and is not a folder")
    return folder


def check_output(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse to replace an existing file unless asked; make sure the folder is writable."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise PortraitError(f"{path}: exists (pass --overwrite to replace it)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise PortraitError(f"{parent}: output folder does not exist")
    if not os.access(parent, os.W_OK):
        raise PortraitError(f"{parent}: output folder is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def encode_png(image: np.ndarray) -> bytes:
    """uint8 RGB (H, W, 3) -> PNG bytes, fast: every row "Up"-filtered, zlib level 1.

    Rendered frames are a cache written once per frame: this is ~7x faster than Pillow's
    default PNG encoder at 1024 px for files of about the same size, and its deflate uses
    every core (deflate_fast).
    """
    height, width, channels = image.shape
    rows = np.ascontiguousarray(image, np.uint8).reshape(height, width * channels)
    filtered = np.empty((height, 1 + width * channels), np.uint8)
    filtered[:, 0] = 2  # filter type Up: each byte minus the byte above
    filtered[0, 0] = 0  # the first row has nothing above it
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # wraps modulo 256, as PNG wants

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", deflate_fast(filtered.tobytes())) + chunk(b"IEND", b""))


def deflate_fast(data: bytes) -> bytes:
    """The zlib stream (level 1) of data, its pieces of DEFLATE_PIECE bytes compressed on one
    thread per core (zlib lets go of the GIL), as pigz does: each piece a raw deflate stream
    ended on a byte boundary by a sync flush, so they join into one (the last one finished),
    between the zlib header and the whole data's checksum. A piece starts with an empty window,
    which costs a fraction of a percent in size."""
    from concurrent.futures import ThreadPoolExecutor

    if len(data) <= DEFLATE_PIECE:
        return zlib.compress(data, 1)
    view = memoryview(data)
    starts = range(0, len(data), DEFLATE_PIECE)

    def piece(start: int) -> bytes:
        compressor = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw: no header
        last = start + DEFLATE_PIECE >= len(data)
        return (compressor.compress(view[start:start + DEFLATE_PIECE])
                + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH))

    with ThreadPoolExecutor(min(os.cpu_count() or 1, len(starts))) as pool:
        body = b"".join(pool.map(piece, starts))
    # 0x78 0x01: deflate with a 32 KB window, level 1's flag, the header's check bits.
    return b"\x78\x01" + body + struct.pack(">I", zlib.adler32(data))


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an RGB image atomically (the format follows the suffix)."""
    suffix = Path(path).suffix.lower()
    with atomic_path(path) as tmp:
        if suffix == ".png" and image.ndim == 3 and image.shape[2] == 3:
            tmp.write_bytes(encode_png(image))
        else:
            import cv2

            pixels = image[:, :, ::-1] if image.ndim == 3 else image
            ok, data = cv2.imencode(suffix, np.ascontiguousarray(pixels))
            if not ok:
                raise PortraitError(f"{path}: cannot write images of this type")
            tmp.write_bytes(data.tobytes())


class VideoWriter:
    """Writes uint8 RGB frames to an H.264 file atomically: the file appears only on close()."""

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]):
        import imageio_ffmpeg

        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.stem}.partial-{os.getpid()}{self.path.suffix}")
        width, height = size
        # 4:2:0 needs even sizes; odd-sized portraits keep their size in 4:4:4.
        pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        self._gen = imageio_ffmpeg.write_frames(
            str(self.tmp), (width, height), fps=fps, codec="libx264", pix_fmt_out=pix_fmt,
            quality=None, bitrate=None, macro_block_size=1,
            output_params=["-crf", "16", "-preset", "veryfast"], ffmpeg_log_level="error")
        self._gen.send(None)

    def write(self, frame: np.ndarray) -> None:
        self._gen.send(np.ascontiguousarray(frame))

    def close(self) -> None:
        self._gen.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self._gen.close()
        if self.tmp.exists():
            self.tmp.unlink()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


DEFAULT_PORTRAIT = Path(__file__).resolve().parent / "assets" / "grace_hopper.jpg"


def default_portrait_path() -> Path:
    """Grace Hopper's public-domain photo (the one matplotlib ships), bundled with the
    package: the default portrait."""
    return DEFAULT_PORTRAIT


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 (H, W, 3) to size (W, H): area averaging when shrinking, bilinear when
    growing."""
    import cv2

    width, height = size
    if (width, height) == (image.shape[1], image.shape[0]):
        return image
    shrinking = width < image.shape[1] or height < image.shape[0]
    return cv2.resize(np.ascontiguousarray(image), (width, height),
                      interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def scale_landmarks(landmarks: np.ndarray, image_size: tuple[int, int],
                    size: tuple[int, int]) -> np.ndarray:
    """Landmarks (..., 3) px of an `image_size` (W, H) image -> px of the image resized to
    `size` (W, H); z scales with x. Computed in the landmarks' own dtype."""
    landmarks = np.asarray(landmarks)
    sx, sy = size[0] / image_size[0], size[1] / image_size[1]
    return landmarks * np.array([sx, sy, sx], landmarks.dtype)
