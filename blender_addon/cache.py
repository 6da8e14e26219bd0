"""Rendered frames on disk: one PNG per scene frame and a manifest of what each was made from.

The manifest maps frame -> digest of everything the frame depends on (landmarks, settings,
source image). A frame whose digest is unchanged is not rendered again. Invariants, also after a
crash or a cancelled render: every PNG is complete (written atomically), and a manifest entry
exists only for a PNG made from exactly that digest (the entry is dropped before the PNG is
replaced and written after). Several processes may render frames of one cache at once (render
farm chunks): the manifest's read-modify-write is serialized by a lock file.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from ..core.errors import PortraitError
from ..core.media import atomic_path, write_image

MANIFEST = "manifest.json"
MADE_BY = "portrait_animator"  # the manifest's mark: this folder's frames are the extension's
LOCK = ".manifest.lock"
STALE_LOCK_SECONDS = 30.0  # held for one small JSON write: older means its process died
LOCK_TIMEOUT_SECONDS = 120.0


def frame_file_name(frame: int) -> str:
    """The name of a frame's PNG, in the cache and in a render's output folder."""
    return f"frame_{frame:04d}.png"


def frame_digest(*parts) -> str:
    """sha256 of strings, numbers and arrays (dtype and shape included)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


@contextlib.contextmanager
def folder_lock(folder: Path):
    """Exclusive lock on `folder` between processes and machines: a lock file created with
    O_EXCL (atomic also on network shares), removed afterwards; a stale one is broken."""
    lock = folder / LOCK
    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    while True:
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            break
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > STALE_LOCK_SECONDS:
                    lock.unlink(missing_ok=True)  # its owner was killed inside the lock
                    continue
            except FileNotFoundError:
                continue
            if time.monotonic() > deadline:
                raise PortraitError(f"{lock}: the cache stayed locked for "
                                    f"{LOCK_TIMEOUT_SECONDS:.0f} s") from None
            time.sleep(0.005)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def remove_partials(folder: Path, names) -> None:
    """Drop temporary files a killed process left for these frame files (`.NAME.partial-*`)."""
    for name in names:
        stem, suffix = os.path.splitext(name)
        for leftover in folder.glob(f".{stem}.partial-*{suffix}"):
            leftover.unlink(missing_ok=True)


def read_manifest(path: Path) -> dict[str, str] | None:
    """The frame -> digest entries of a cache manifest; None if there is none.

    Refuses, in one line, a manifest.json that is not one this extension wrote: the folder is
    then someone else's and nothing in it may be replaced.
    """
    if not path.exists() and not path.is_symlink():
        return None
    foreign = PortraitError(f"{path}: not a Portrait Animator cache manifest; the folder holds "
                            "someone else's files (choose another cache folder)")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        raise foreign from None
    if not (isinstance(data, dict) and set(data) <= {"made_by", "frames"}
            and data.get("made_by", MADE_BY) == MADE_BY and isinstance(data.get("frames"), dict)):
        raise foreign
    frames = data["frames"]
    if not all(key.isdigit() and isinstance(value, str) for key, value in frames.items()):
        raise foreign
    return dict(frames)


class FrameCache:
    """A folder of frame_NNNN.png files and their manifest.

    The manifest marks the folder as the extension's: it is written before the first frame, and
    a folder holding frame files but no manifest (or a manifest of another kind) is refused, so
    a user's own files in a chosen cache folder are never replaced.
    """

    def __init__(self, folder: str | os.PathLike):
        """Check the folder without touching it: it is made (with its manifest) only when the
        first frame is stored, so a render refused before its first frame leaves no trace."""
        self.folder = Path(folder)
        existing = next(folder for folder in (self.folder, *self.folder.parents)
                        if folder.exists())
        if not existing.is_dir():
            raise PortraitError(f"{self.folder}: cannot create the cache folder ({existing} is "
                                "a file)")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PortraitError(f"{self.folder}: the cache folder is not writable")
        digests = read_manifest(self.folder / MANIFEST)
        if digests is None:
            self._refuse_foreign_frames()
        self._digests = digests or {}

    def _refuse_foreign_frames(self) -> None:
        foreign = next(self.folder.glob("frame_*.png"), None)
        if foreign is not None:
            raise PortraitError(f"{foreign}: the cache folder holds frames this extension did "
                                "not make (choose an empty cache folder)")

    def _claim(self) -> None:
        """Make the folder and its manifest before the first frame is written (the mark that
        the frames in it are the extension's)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PortraitError(f"{self.folder}: cannot create the cache folder "
                                f"({exc.strerror or exc})") from None
        with folder_lock(self.folder):  # farm chunks may claim a new cache at once
            if read_manifest(self.folder / MANIFEST) is None:
                self._refuse_foreign_frames()
                self._write_manifest({})

    def _read_manifest(self) -> dict[str, str]:
        return read_manifest(self.folder / MANIFEST) or {}

    def _write_manifest(self, digests: dict[str, str]) -> None:
        with atomic_path(self.folder / MANIFEST) as tmp:
            tmp.write_text(json.dumps({"made_by": MADE_BY, "frames": digests}, indent=0,
                                      sort_keys=True))

    def _set_entry(self, frame: int, digest: str | None) -> None:
        """Record (or with None, drop) one frame's digest in the manifest on disk.

        Re-read first: another process may be rendering other frames of the same cache.
        """
        with folder_lock(self.folder):
            digests = self._read_manifest()
            if digest is None:
                digests.pop(str(frame), None)
            else:
                digests[str(frame)] = digest
            self._write_manifest(digests)
        self._digests = digests

    def path(self, frame: int) -> Path:
        if frame < 0:
            raise PortraitError(f"frame {frame}: frames before 0 cannot be cached")
        return self.folder / frame_file_name(frame)

    def is_current(self, frame: int, digest: str) -> bool:
        return self._digests.get(str(frame)) == digest and self.path(frame).is_file()

    def store(self, frame: int, image: np.ndarray, digest: str) -> None:
        """Write frame `frame` made from `digest`; on failure the frame is absent, never partial."""
        self._claim()
        self._digests = self._read_manifest()  # still ours? (refuses a replaced manifest)
        if str(frame) in self._digests:
            self._set_entry(frame, None)
        remove_partials(self.folder, [self.path(frame).name])  # a killed render's leftover
        try:
            write_image(self.path(frame), image)
        except OSError as exc:
            raise PortraitError(f"{self.path(frame)}: cannot write the frame "
                                f"({exc.strerror or exc})") from None
        self._set_entry(frame, digest)

    def frames(self) -> list[int]:
        """Frames with a manifest entry and a file, in order."""
        return sorted(int(f) for f in self._digests if self.path(int(f)).is_file())
