"""Rendered frames on disk: one PNG per scene frame and a manifest of what each was made from.

The manifest maps frame -> digest of everything the frame depends on (landmarks, settings,
source image). A frame whose digest is unchanged is not rendered again. Invariants, also after a
crash or a cancelled render: every PNG is complete (written atomically), and an entry exists
only for a PNG made from exactly that digest (the entry is dropped before the PNG is replaced
and written after).

Storing a frame costs the same at frame 2000 as at frame 1: entries are appended to a journal
beside the manifest (one short line each), and the journal is folded into manifest.json when
it has grown as large as the manifest and when a render ends (close()). The manifest plus its
journal, replayed in order, are the cache's entries. Several processes may render frames of one
cache at once (render farm chunks): appends and folds are serialized by a lock file, so no
process loses another's entries.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from pathlib import Path

import numpy as np

from ..core.errors import PortraitError
from ..core.media import atomic_path, write_image

MANIFEST = "manifest.json"
JOURNAL = ".manifest.journal"  # "FRAME DIGEST" lines, or "FRAME -" where an entry was dropped
JOURNAL_LINE = re.compile(r"(\d+) (\S+)")
DROPPED = "-"
MIN_FOLD_BYTES = 64 * 1024  # a journal this small is not worth folding before the render ends
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


PARTIAL = re.compile(r"\.(.+)\.partial-\d+((?:\.[^.]*)?)")  # atomic_path's temporary names


def partial_leftovers(folder: Path) -> dict[str, list[Path]]:
    """Temporary files a killed process left (`.NAME.partial-PID.png`), by the file they were
    to become: one listing of the folder."""
    found: dict[str, list[Path]] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            partial = PARTIAL.fullmatch(entry.name)
            if partial is not None:
                found.setdefault("".join(partial.groups()), []).append(folder / entry.name)
    return found


def remove_partials(folder: Path, names) -> None:
    """Drop temporary files a killed process left for these frame files."""
    leftovers = partial_leftovers(folder)
    for name in names:
        for leftover in leftovers.get(name, ()):
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


def replay_journal(path: Path, digests: dict[str, str]) -> None:
    """Apply a journal's entries, in order, to frame -> digest entries. A line that does not
    parse (the last one, cut short by a killed process) is skipped: its frame is rendered
    again."""
    try:
        text = path.read_bytes().decode("ascii", errors="replace")
    except FileNotFoundError:
        return
    for line in text.split("\n"):
        entry = JOURNAL_LINE.fullmatch(line)
        if entry is None:
            continue
        frame, digest = entry.groups()
        if digest == DROPPED:
            digests.pop(frame, None)
        else:
            digests[frame] = digest


class FrameCache:
    """A folder of frame_NNNN.png files, their manifest and its journal.

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
        self._manifest_stamp = None  # (inode, mtime, size) of the manifest this view was read at
        self._leftovers = None  # partial_leftovers() when the first frame is stored
        digests = read_manifest(self.folder / MANIFEST)
        if digests is None:
            self._refuse_foreign_frames()
            self._digests = {}
        else:
            self._load()

    def _refuse_foreign_frames(self) -> None:
        foreign = next(self.folder.glob("frame_*.png"), None)
        if foreign is not None:
            raise PortraitError(f"{foreign}: the cache folder holds frames this extension did "
                                "not make (choose an empty cache folder)")

    def _stamp(self):
        try:
            stat = (self.folder / MANIFEST).stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _load(self) -> None:
        """This view := the manifest plus its journal (under the lock: no fold in between)."""
        with folder_lock(self.folder):
            digests = read_manifest(self.folder / MANIFEST)
            if digests is None:
                self._refuse_foreign_frames()
                self._write_manifest({})
                digests = {}
            replay_journal(self.folder / JOURNAL, digests)
            self._manifest_stamp = self._stamp()
        self._digests = digests

    def _claim(self) -> None:
        """Before a frame is written: make the folder and its manifest if they are not there
        (the mark that the frames in it are the extension's), and re-read the manifest if
        another process folded its journal or someone replaced it (refused if it is no longer
        ours). A stat when nothing changed."""
        if self._leftovers is not None and self._stamp() == self._manifest_stamp:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PortraitError(f"{self.folder}: cannot create the cache folder "
                                f"({exc.strerror or exc})") from None
        self._load()  # farm chunks may claim a new cache at once: under the lock
        if self._leftovers is None:
            self._leftovers = partial_leftovers(self.folder)

    def _write_manifest(self, digests: dict[str, str]) -> None:
        with atomic_path(self.folder / MANIFEST) as tmp:
            tmp.write_text(json.dumps({"made_by": MADE_BY, "frames": digests}, indent=0,
                                      sort_keys=True))

    def _append(self, frame: int, digest: str) -> None:
        """Record one frame's digest (DROPPED: no entry) in the journal: one line, O(1)."""
        line = f"{frame} {digest}\n".encode("ascii")
        with folder_lock(self.folder):
            handle = os.open(self.folder / JOURNAL, os.O_CREAT | os.O_RDWR | os.O_APPEND, 0o644)
            try:
                size = os.fstat(handle).st_size
                # A process killed inside its write may have left a line without its end:
                # start a new line, so this entry is not read as part of that one.
                if size and os.pread(handle, 1, size - 1) != b"\n":
                    line = b"\n" + line
                os.write(handle, line)
            finally:
                os.close(handle)
            if digest == DROPPED:
                self._digests.pop(str(frame), None)
            else:
                self._digests[str(frame)] = digest
            if size + len(line) > max(MIN_FOLD_BYTES, self._manifest_stamp[2]):
                self._fold()

    def _fold(self) -> None:
        """Under the lock: the manifest := manifest + journal, the journal removed. Other
        processes' entries are in both, so this view takes them up too."""
        digests = read_manifest(self.folder / MANIFEST)
        if digests is None:
            return  # nothing to fold into (a cache that was never claimed)
        replay_journal(self.folder / JOURNAL, digests)
        self._write_manifest(digests)
        (self.folder / JOURNAL).unlink(missing_ok=True)
        self._manifest_stamp = self._stamp()
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
        if str(frame) in self._digests or self.path(frame).exists():
            # Another process's entry for it may be newer than this view: drop any.
            self._append(frame, DROPPED)
        for leftover in self._leftovers.pop(self.path(frame).name, ()):  # a killed render's
            leftover.unlink(missing_ok=True)
        try:
            write_image(self.path(frame), image)
        except OSError as exc:
            raise PortraitError(f"{self.path(frame)}: cannot write the frame "
                                f"({exc.strerror or exc})") from None
        self._append(frame, digest)

    def close(self) -> None:
        """At the end of a render (finished, cancelled or failed): fold the journal into the
        manifest, which then lists every frame this and other processes stored."""
        if (self.folder / JOURNAL).exists():
            with folder_lock(self.folder):
                self._fold()

    def frames(self) -> list[int]:
        """Frames with an entry and a file, in order."""
        return sorted(int(f) for f in self._digests if self.path(int(f)).is_file())
