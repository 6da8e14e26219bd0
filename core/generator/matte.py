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

import cv2
import numpy as np

from ..landmarks.topology import FACE_OVAL, face_axes
from .head import HeadRings

WORK_SIDE = 512          # GrabCut and the fill run on the portrait scaled to this longer side
GRABCUT_ROUNDS = 4
JAW_FADE = 0.25          # oval radii below the chin over which the matte turns opaque
FILL_RADIUS = 5          # px at WORK_SIDE: how far the fill looks for background colours
EDGE_SIGMA = 1.0         # px at WORK_SIDE: the matte's soft edge
OVAL = FACE_OVAL[:-1]


def _polygon_mask(shape: tuple[int, int], points: np.ndarray, scale: float) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points[:, :2] * scale).astype(np.int32)], 1)
    return mask.astype(bool)


def head_matte(image: np.ndarray, landmarks: np.ndarray, rings: HeadRings
               ) -> tuple[np.ndarray, np.ndarray]:
    """(matte (H, W) uint8 0..255, plate (H, W, 3) uint8) of image (H, W, 3) with landmarks
    (478, 3) and its head rings (pixel indices).

    GrabCut, seeded by the landmarks, separates the head: inside the first head ring is head
    for sure, out to the second ring probably head, out to the third probably background,
    beyond it background for sure. The plate fills the head's place with the background around it
    (OpenCV's Telea inpainting) and is the portrait everywhere else.
    """
    height, width = image.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    small_size = (max(2, round(width * scale)), max(2, round(height * scale)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    shape = small.shape[:2]
    per_ring = len(OVAL)
    ring = [rings.points[k * per_ring:(k + 1) * per_ring] for k in range(3)]
    seeds = np.full(shape, cv2.GC_BGD, np.uint8)
    seeds[_polygon_mask(shape, ring[2], scale)] = cv2.GC_PR_BGD
    seeds[_polygon_mask(shape, ring[1], scale)] = cv2.GC_PR_FGD
    seeds[_polygon_mask(shape, ring[0], scale)] = cv2.GC_FGD

    # GrabCut starts its colour models with k-means on OpenCV's global generator: seeding it
    # makes the matte, and so every frame, the same on every run.
    cv2.setRNGSeed(0)
    background_model, foreground_model = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), seeds, None, background_model,
                foreground_model, GRABCUT_ROUNDS, cv2.GC_INIT_WITH_MASK)
    head = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.float32)
    # Keep the part connected to the face: GrabCut may also pick background patches that
    # share the hair's colours.
    count, labels = cv2.connectedComponents(head.astype(np.uint8))
    if count > 2:
        face_label = labels[_polygon_mask(shape, landmarks[OVAL], scale)]
        face_label = np.bincount(face_label[face_label > 0]).argmax()
        head = (labels == face_label).astype(np.float32)

    # Opaque below the jaw (the neck and body follow the rings instead).
    _, down = face_axes(landmarks)
    oval = landmarks[OVAL, :2]
    radius = float(np.linalg.norm(oval - oval.mean(axis=0), axis=1).mean())
    chin = float((oval @ down).max())
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32) / np.float32(scale)
    below = np.clip((xs * down[0] + ys * down[1] - chin) / (JAW_FADE * radius), 0.0, 1.0)

    fill_region = cv2.dilate(head.astype(np.uint8), np.ones((5, 5), np.uint8)) * (below < 1)
    filled = cv2.inpaint(small, fill_region.astype(np.uint8), FILL_RADIUS, cv2.INPAINT_TELEA)
    head = cv2.GaussianBlur(head, (0, 0), EDGE_SIGMA)
    matte = np.maximum(head, below)

    full = (width, height)
    matte = cv2.resize(matte, full, interpolation=cv2.INTER_LINEAR)
    matte = np.round(np.clip(matte, 0.0, 1.0) * 255).astype(np.uint8)
    # The plate differs from the portrait only under the matte, so a still pixel outside the
    # head is the portrait's own whatever the head does.
    plate = image.copy()
    region = matte > 0
    plate[region] = cv2.resize(filled, full, interpolation=cv2.INTER_LINEAR)[region]
    return matte, plate


def over_background(moved: np.ndarray, matte: np.ndarray, plate: np.ndarray) -> np.ndarray:
    """The moved portrait (h, w, 4) uint8, its fourth channel the moved matte, with the plate
    (h, w, 3) uint8 showing where the still matte (h, w) uint8 had the head and the moved one
    no longer has it -> (h, w, 3) uint8."""
    uncovered = np.maximum(matte.astype(np.float32) - moved[..., 3], 0) * np.float32(1 / 255)
    return cv2.blendLinear(np.ascontiguousarray(moved[..., :3]), plate, 1.0 - uncovered,
                           uncovered)
