"""Long work the UI stays responsive through: one modal runner, and the video solve job.

In a window, a JobOperator steps its job from a timer, shows progress in the status bar and
cancels on Esc; in background mode and in scripts without a window the job runs to its end at
once. A job (RenderJob in render.py, SolveJob here) has:
    tick       seconds between timer steps      step()    advance (may raise PortraitError)
    finished   nothing left to do               progress  (done, total)
    status     the status bar's text            stop()    Esc was pressed
    stopped    the report after Esc             close()   give back what the job holds
"""
from __future__ import annotations

import threading
from pathlib import Path

import bpy
import numpy as np

from ..core.errors import PortraitError
from .operators import PortraitOperator


class JobOperator(PortraitOperator):
    """Runs the job of `start(context)` modal in a window, blocking otherwise, and hands the
    finished job to `finish(context, job)`, whose result is the operator's."""
    # Whether other events reach Blender while the job runs (False: the job owns the scene).
    pass_events = True

    def start(self, context):
        raise NotImplementedError

    def finish(self, context, job) -> set[str]:
        raise NotImplementedError

    def run(self, context) -> set[str]:
        """Blocking: the job from start to finish."""
        job = self.start(context)
        try:
            while not job.finished:
                job.step()
        finally:
            job.close()
        return self.finish(context, job)

    def invoke(self, context, event):
        return self.run_modal(context)

    def run_modal(self, context) -> set[str]:
        """Modal where there is a window to show progress in, else blocking."""
        if bpy.app.background or context.window is None:
            return self.reporting(self.run, context)
        return self.reporting(self._start_modal, context)

    def _start_modal(self, context) -> set[str]:
        job = self.start(context)
        if job.finished:  # nothing to wait for
            job.close()
            return self.finish(context, job)
        self._job = job
        manager = context.window_manager
        self._timer = manager.event_timer_add(job.tick, window=context.window)
        manager.modal_handler_add(self)
        manager.progress_begin(0, job.progress[1])
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC":
            job.stop()
            self._end(context)
            self.report({"WARNING"}, job.stopped)
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"} if self.pass_events else {"RUNNING_MODAL"}
        try:
            job.step()
        except PortraitError as exc:
            self._end(context)
            return self.fail(str(exc))
        except BaseException:
            self._end(context)
            raise
        context.window_manager.progress_update(job.progress[0])
        context.workspace.status_text_set(f"{job.status}  -  Esc to cancel")
        if not job.finished:
            return {"RUNNING_MODAL"}
        self._end(context)
        return self.reporting(self.finish, context, job)

    def _end(self, context) -> None:
        manager = context.window_manager
        manager.event_timer_remove(self._timer)
        manager.progress_end()
        context.workspace.status_text_set(None)
        self._job.close()


class _Cancelled(Exception):
    pass


class SolveJob:
    """A video solve on a worker thread (numpy and mediapipe only: no bpy there).

    The runner polls the thread; Esc sets `cancel`, and the worker stops at its next frame.
    `motion` is the solved core.rig.Motion, keyed by the operator on the main thread.
    """
    tick = 0.1
    stopped = "Video solve cancelled; the rig is unchanged"
    what = "Video solve"  # what the operator's report calls it

    def __init__(self, video: str, face_rig, landmarks: np.ndarray, fps: float, frame_start: int,
                 smoothing: float, stride: int, reduce: float):
        self.video, self.face_rig, self.landmarks = video, face_rig, landmarks
        self.fps, self.frame_start = fps, frame_start
        self.smoothing, self.stride, self.reduce = smoothing, stride, reduce
        self.cancel = threading.Event()
        self.state = ("tracking", 0, 0)
        self.motion = None  # core.rig.Motion when the solve finished
        self.track = None  # the video's landmarks (T, 478, 3) then, and its fps
        self.video_fps = None
        self.error: str | None = None
        self.thread = threading.Thread(target=self.solve, daemon=True)

    def _progress(self, stage: str, done: int, total: int) -> None:
        if self.cancel.is_set():
            raise _Cancelled
        self.state = (stage, done, total)

    def solve(self) -> None:
        """The worker thread's work: every failure ends up in `error`."""
        from ..core.sources.video_solve import solve_motion, solve_track, track_video

        try:
            track, scores, video_fps, _ = track_video(self.video, self._progress)
            solve, _ = solve_track(track, scores, video_fps, self.face_rig, self.landmarks,
                                   smoothing=self.smoothing, stride=self.stride,
                                   progress=self._progress)
            self.track, self.video_fps = track, video_fps
            self.motion = solve_motion(solve, self.fps, self.frame_start,
                                       reduce=self.reduce if self.reduce > 0 else None,
                                       name=Path(self.video).stem)
        except _Cancelled:
            pass
        except PortraitError as exc:
            self.error = str(exc)
        except Exception as exc:  # a worker thread must hand every failure to the operator
            self.error = f"video solve failed: {type(exc).__name__}: {exc}"

    def step(self) -> None:
        """Start the worker (first call), wait for it up to a tick; its error is raised here."""
        if self.thread.ident is None:
            self.thread.start()
        self.thread.join(self.tick)
        if self.finished and self.error:
            raise PortraitError(self.error)

    @property
    def finished(self) -> bool:
        return self.thread.ident is not None and not self.thread.is_alive()

    @property
    def progress(self) -> tuple[int, int]:
        """Percent done: tracking is about a tenth of the work, solving the rest."""
        stage, done, total = self.state
        part = done / total if total else 0.0
        return int(100 * (0.1 * part if stage == "tracking" else 0.1 + 0.9 * part)), 100

    @property
    def status(self) -> str:
        stage, done, total = self.state
        return f"Video solve: {stage} frame {done} of {total}"

    def stop(self) -> None:
        self.cancel.set()
        if self.thread.ident is not None:
            self.thread.join()

    def close(self) -> None:
        """Nothing to give back: the worker touches no Blender data."""
