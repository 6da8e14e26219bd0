"""The head-and-hair matte and the background behind it, measured once on the portrait.

A warp alone has to stretch something where a moving head uncovers the background, and it
stretches the hair's edge into a veil. The matte tells the head (face, hair, ears) from the
background; the plate is the portrait with the head filled in from the background around it.
Each frame the matte is warped with the portrait, and wherever the moved head no longer covers
a pixel that was head, the plate shows there instead of the stretched edge.

Below the jaw the matte is opaque: the neck and shoulders keep following the rings (head.py),
as they should, because a body does not uncover anything behind it when the head moves.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..landmarks.topology import face_axes
from .composite import Box
from .head import OVAL, HeadRings

WORK_SIDE = 512          # GrabCut and the fill run on the portrait scaled to this longer side
MOVE_SIDE = 192          # each frame the matte is moved at this longer side: it is smooth
BAND_PIXELS = 80         # frame rows blended together, about: fewer calls against fewer pixels
GRABCUT_ROUNDS = 4
JAW_FADE = 0.25          # oval radii below the chin over which the matte turns opaque
FILL_RADIUS = 5          # px at WORK_SIDE: how far the fill looks for background colours
EDGE_SIGMA = 1.0         # px at WORK_SIDE: the matte's soft edge


def _polygon_mask(shape: tuple[int, int], points: np.ndarray, scale: float) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points[:, :2] * scale).astype(np.int32)], 1)
    return mask.astype(bool)


@dataclass(frozen=True)
class HeadMatte:
    """The portrait's head-and-hair matte, at the small scale it is moved at each frame, and
    the full-size plate."""
    matte: np.ndarray   # (h, w) uint8 0..255, the portrait scaled by `scale`
    scale: float        # matte pixels per portrait pixel (the longer side MOVE_SIDE)
    plate: np.ndarray   # (H, W, 3) uint8: the portrait, the head's place filled

    @classmethod
    def measure(cls, image: np.ndarray, landmarks: np.ndarray, rings: HeadRings
                ) -> "HeadMatte":
        """Cut the head of image (H, W, 3) with landmarks (478, 3) and its head rings (pixel
        indices) and fill its place.

        GrabCut, seeded by the landmarks, separates the head: inside the first head ring is
        head for sure, out to the second ring probably head, out to the third probably
        background, beyond it background for sure. The plate fills the head's place with the
        background around it (OpenCV's Telea inpainting) and is the portrait elsewhere.
        """
        height, width = image.shape[:2]
        scale = min(1.0, WORK_SIDE / max(height, width))
        small = cv2.resize(image, (max(2, round(width * scale)), max(2, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        shape = small.shape[:2]
        seeds = np.full(shape, cv2.GC_BGD, np.uint8)
        seeds[_polygon_mask(shape, rings.ring(2), scale)] = cv2.GC_PR_BGD
        seeds[_polygon_mask(shape, rings.ring(1), scale)] = cv2.GC_PR_FGD
        seeds[_polygon_mask(shape, rings.ring(0), scale)] = cv2.GC_FGD

        # GrabCut starts its colour models with k-means on OpenCV's global generator: seeding
        # it makes the matte, and so every frame, the same on every run.
        cv2.setRNGSeed(0)
        background_model, foreground_model = np.zeros((1, 65)), np.zeros((1, 65))
        cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), seeds, None, background_model,
                    foreground_model, GRABCUT_ROUNDS, cv2.GC_INIT_WITH_MASK)
        head = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.uint8)
        # Keep the part connected to the face: GrabCut may also pick background patches that
        # share the hair's colours.
        count, labels = cv2.connectedComponents(head)
        if count > 2:
            face_label = labels[_polygon_mask(shape, landmarks[OVAL], scale)]
            head = (labels == np.bincount(face_label[face_label > 0]).argmax()).astype(np.uint8)

        # Opaque below the jaw (the neck and body follow the rings instead).
        _, down = face_axes(landmarks)
        oval = landmarks[OVAL, :2]
        radius = float(np.linalg.norm(oval - oval.mean(axis=0), axis=1).mean())
        chin = float((oval @ down).max())
        ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32) / np.float32(scale)
        below = np.clip((xs * down[0] + ys * down[1] - chin) / (JAW_FADE * radius), 0.0, 1.0)

        fill_region = cv2.dilate(head, np.ones((5, 5), np.uint8)) * (below < 1)
        filled = cv2.inpaint(small, fill_region.astype(np.uint8), FILL_RADIUS,
                             cv2.INPAINT_TELEA)
        matte = np.maximum(cv2.GaussianBlur(head.astype(np.float32), (0, 0), EDGE_SIGMA), below)
        matte = np.round(matte * 255).astype(np.uint8)
        move_scale = MOVE_SIDE / max(height, width)
        moving = cv2.resize(matte, (max(2, round(width * move_scale)),
                                    max(2, round(height * move_scale))),
                            interpolation=cv2.INTER_AREA)
        # The plate differs from the portrait only under the matte, so a still pixel outside
        # the head is the portrait's own whatever the head does.
        plate = image.copy()
        region = cv2.resize(matte, (width, height), interpolation=cv2.INTER_LINEAR) > 0
        plate[region] = cv2.resize(filled, (width, height),
                                   interpolation=cv2.INTER_LINEAR)[region]
        return cls(moving, move_scale, plate)

    def show_uncovered(self, frame: np.ndarray, field: np.ndarray, span: Box, box: Box,
                       cell: int) -> None:
        """Where the head the warp (field (rows, cols, 2) on the lattice over span, see
        warp.mesh_field) moved over box no longer covers what was head, blend the plate into
        frame (H, W, 3) uint8, in place.

        The matte is soft at its own scale, so its move is computed there, from the lattice:
        the band behind a moving head is found on a few thousand pixels, and only it is
        touched at full size."""
        x0, y0, x1, y1 = box
        scale = self.scale
        # The matte's pixels inside box.
        sx0, sy0 = math.ceil(x0 * scale), math.ceil(y0 * scale)
        sx1, sy1 = math.floor((x1 - 1) * scale) + 1, math.floor((y1 - 1) * scale) + 1
        if sx1 <= sx0 or sy1 <= sy0:
            return
        # The source position of each: its own plus the field (in matte pixels) upsampled
        # there. Matte pixel sx lies on the lattice at (sx / scale - span) / cell (node k of
        # the lattice sits on pixel span + k * cell): affine, so a warpAffine upsamples it,
        # one plane at a time (OpenCV's is many times slower on two float channels).
        step = 1.0 / (scale * cell)
        to_lattice = np.array([[step, 0.0, (sx0 / scale - span[0]) / cell],
                               [0.0, step, (sy0 / scale - span[1]) / cell]])
        source_x, source_y = (
            cv2.warpAffine(np.ascontiguousarray(field[..., axis] * scale, np.float32), to_lattice,
                           (sx1 - sx0, sy1 - sy0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
            for axis in (0, 1))
        source_x += np.arange(sx0, sx1, dtype=np.float32)
        source_y += np.arange(sy0, sy1, dtype=np.float32)[:, None]
        moved = cv2.remap(self.matte, source_x, source_y, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
        uncovered = cv2.subtract(self.matte[sy0:sy1, sx0:sx1], moved)
        showing = uncovered > 0
        rows = sy1 - sy0
        # Blend band by band of matte rows, each over the runs of columns it needs: the
        # uncovered part is a thin band behind the head, far smaller than its bounding box.
        # A band's frame rows lie past matte row first - 1, up to its last row: they
        # interpolate between those rows, so both decide where anything shows in it.
        band_rows = max(1, round(BAND_PIXELS * scale))
        firsts = np.arange(0, rows, band_rows)
        shows = np.logical_or.reduceat(showing, firsts, axis=0)  # (bands, columns)
        shows[1:] |= showing[firsts[1:] - 1]
        runs = _column_runs(shows)
        if not runs:
            return
        share = uncovered.astype(np.float32) * np.float32(1 / 255)
        for band, columns in runs.items():
            first = band * band_rows
            last = min(first + band_rows, rows) - 1
            fy0 = y0 if first == 0 else max(math.floor((sy0 + first - 1) / scale) + 1, y0)
            fy1 = y1 if last == rows - 1 else min(math.floor((sy0 + last) / scale) + 1, y1)
            if fy1 <= fy0:
                continue
            for fx0, fx1 in _frame_columns(columns, sx0, scale, x0, x1):
                # frame pixel (x, y) lies at matte position (x * scale - sx0, y * scale - sy0)
                to_matte = np.float32([[scale, 0, fx0 * scale - sx0],
                                       [0, scale, fy0 * scale - sy0]])
                weight = cv2.warpAffine(share, to_matte, (fx1 - fx0, fy1 - fy0),
                                        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                        borderMode=cv2.BORDER_REPLICATE)
                region = frame[fy0:fy1, fx0:fx1]
                cv2.blendLinear(self.plate[fy0:fy1, fx0:fx1], region, weight, 1.0 - weight,
                                dst=region)


def _column_runs(shows: np.ndarray) -> dict[int, list[tuple[int, int]]]:
    """Per row of shows (bands, C) bool with any set: the runs [start, stop) of matte columns
    whose frame pixels interpolate between columns where it is set (a frame pixel between
    two matte columns reads both), in order."""
    bands, columns = shows.shape
    grown = np.zeros((bands, columns + 2), bool)  # a column that shows nothing each side
    grown[:, 1:-1] = shows
    grown[:, 2:-1] |= shows[:, :-1]
    grown[:, 1:-2] |= shows[:, 1:]
    edges = np.flatnonzero(grown[:, 1:] != grown[:, :-1]).reshape(-1, 2)
    runs: dict[int, list[tuple[int, int]]] = {}
    for start, stop in edges.tolist():
        band, column = divmod(start, columns + 1)
        runs.setdefault(band, []).append((column, stop - band * (columns + 1)))
    return runs


def _frame_columns(runs: list[tuple[int, int]], first: int, scale: float, x0: int, x1: int
                   ) -> list[tuple[int, int]]:
    """The frame's column ranges [fx0, fx1) within [x0, x1), disjoint and in order, whose
    pixels interpolate within the runs [start, stop) of matte columns (see _column_runs);
    matte column k is column first + k of the matte, which holds `scale` matte pixels per
    frame pixel."""
    ranges: list[tuple[int, int]] = []
    for start, stop in runs:
        fx0 = max(math.floor((first + start) / scale), x0)
        fx1 = min(math.ceil((first + stop - 1) / scale) + 1, x1)
        if fx1 <= fx0:
            continue
        if ranges and fx0 <= ranges[-1][1]:  # blending a pixel twice would darken it
            ranges[-1] = (ranges[-1][0], fx1)
        else:
            ranges.append((fx0, fx1))
    return ranges
