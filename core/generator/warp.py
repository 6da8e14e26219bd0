"""The dense backward map: a triangle mesh moved to the target, rasterized with a depth test.

The control points are triangulated once, on the source. Each frame the triangles are drawn
at their target positions, and every output pixel takes the source position from the triangle
covering it. Triangles that turn their back to the viewer (their target orientation flips, as
the far cheek does when the head turns) are culled, and where moved triangles overlap the one
nearest the camera wins: the head turns with occlusion instead of folding over itself, and a
mirrored copy of the skin never shows. Inside a triangle the map is affine, so it is exact at
the control points and smooth between them. It is evaluated on a coarse lattice of nodes (a
fixed number of cells across the face); a resampler (resample.py) upsamples it and samples
the portrait, one bilinear sample per moving output pixel, the only full-resolution cost.
"""
from __future__ import annotations

import numpy as np

from .composite import Box, bounding_box

INSIDE_TOLERANCE = 1e-5  # barycentric slack so rounding loses no node on a shared edge
SOFTEN_KERNEL = np.array([0.25, 0.5, 0.25])  # see soften


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Twice the signed area (M,) of each triangle of points (N, 2); > 0 = counter-clockwise
    in image axes (y down)."""
    corner = points[triangles]
    e1, e2 = corner[:, 1] - corner[:, 0], corner[:, 2] - corner[:, 0]
    return e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles (M, 3) of points (N, 2) over their convex hull, all with positive
    signed area (of duplicate points only the first is used)."""
    import cv2

    # Subdiv2D keeps float32 positions and answers with them: map them back to indices.
    single = np.asarray(points, np.float32)
    low = np.floor(single.min(axis=0)) - 1
    size = np.ceil(single.max(axis=0)) + 2 - low
    subdiv = cv2.Subdiv2D((int(low[0]), int(low[1]), int(size[0]), int(size[1])))
    subdiv.insert([(float(x), float(y)) for x, y in single])
    index = {}
    for k, (x, y) in enumerate(single.tolist()):
        index.setdefault((x, y), k)
    corners = subdiv.getTriangleList().reshape(-1, 3, 2).tolist()
    # Triangles reaching Subdiv2D's own outer vertices are not ours.
    triangles = np.array([[index[tuple(c)] for c in triangle] for triangle in corners
                          if all(tuple(c) in index for c in triangle)], np.intp).reshape(-1, 3)
    flipped = signed_areas(points, triangles) < 0
    triangles[flipped] = triangles[flipped][:, ::-1]
    return triangles


def moving_triangles(target: np.ndarray, source: np.ndarray,
                     triangles: np.ndarray) -> np.ndarray:
    """The triangles (M', 3) of triangles (M, 3) with a corner that moves from source (N, 2)
    to target (N, 2 or 3): the rest keep the identity map, so they need not be drawn."""
    moved = (target[:, 0] != source[:, 0]) | (target[:, 1] != source[:, 1])
    corner = moved[triangles]
    return triangles[corner[:, 0] | corner[:, 1] | corner[:, 2]]


def mesh_box(target: np.ndarray, triangles: np.ndarray, margin: float, width: int,
             height: int) -> Box | None:
    """Bounding box of triangles (M, 3) at their target positions (N, 2 or 3), grown by margin
    and clipped to the image (None for no triangle)."""
    corner = np.zeros(len(target), bool)
    corner[triangles] = True
    return bounding_box(target[corner, :2], margin, width, height)


def node_displacement(target: np.ndarray, source: np.ndarray, triangles: np.ndarray,
                      origin: tuple[float, float], cell: float,
                      shape: tuple[int, int]) -> np.ndarray:
    """Backward displacement (source - target position) at lattice nodes: (GH, GW, 2).

    target (N, 3) x, y, depth (smaller = nearer); source (N, 2); triangles (M, 3) positive in
    the source, the ones to draw (nodes none covers keep zero displacement). Node (i, j) sits
    at origin + cell * (j, i). Each triangle is drawn over the nodes of its bounding box, all
    at once; barycentric coordinates are affine in the node's position, so a node costs a few
    multiply-adds. Back-facing triangles are culled, the nearest one wins.

    Per-triangle and per-node values are kept in flat (M,) / (K,) arrays: numpy is several
    times slower on (M, 3, 2) stacks of tiny axes.
    """
    rows, cols = shape
    a, b, c = triangles.T
    x = (target[:, 0] - origin[0]) / cell  # (N,) lattice units
    y = (target[:, 1] - origin[1]) / cell
    xa, xb, xc, ya, yb, yc = x[a], x[b], x[c], y[a], y[b], y[c]
    e1x, e1y, e2x, e2y = xb - xa, yb - ya, xc - xa, yc - ya
    area = e1x * e2y - e1y * e2x  # twice the signed area
    front = area > 1e-12  # culls back faces and collapsed triangles (a shut eye)
    inverse = 1.0 / np.where(front, area, 1.0)

    # Each triangle's bounding box of nodes (none for a culled one), and its barycentric
    # coordinates as affine forms of a node's offset (dcol, drow) from the box's first node:
    # b1 = forms[0] + forms[1] * dcol + forms[2] * drow, and b2 likewise from forms[3:].
    first_x = np.maximum(np.ceil(np.minimum(np.minimum(xa, xb), xc)), 0.0)
    first_y = np.maximum(np.ceil(np.minimum(np.minimum(ya, yb), yc)), 0.0)
    last_x = np.minimum(np.floor(np.maximum(np.maximum(xa, xb), xc)), cols - 1)
    last_y = np.minimum(np.floor(np.maximum(np.maximum(ya, yb), yc)), rows - 1)
    across = np.maximum(last_x - first_x + 1, 0).astype(np.int64)
    counts = across * np.maximum(last_y - first_y + 1, 0).astype(np.int64) * front
    dx0, dy0 = first_x - xa, first_y - ya
    forms = np.column_stack([e2y * dx0 - e2x * dy0, e2y, -e2x,
                             e1x * dy0 - e1y * dx0, -e1y, e1x]) * inverse[:, None]

    # Every node of every bounding box: its triangle and its place in the box.
    tri = np.repeat(np.arange(len(counts)), counts)
    drow, dcol = np.divmod(np.arange(len(tri)) - (np.cumsum(counts) - counts)[tri], across[tri])
    per = np.repeat(forms, counts, axis=0)  # (K, 6): quicker than gathering each column
    b1 = per[:, 0] + per[:, 1] * dcol + per[:, 2] * drow
    b2 = per[:, 3] + per[:, 4] * dcol + per[:, 5] * drow
    hit = np.flatnonzero((b1 >= -INSIDE_TOLERANCE) & (b2 >= -INSIDE_TOLERANCE)
                         & (b1 + b2 <= 1.0 + INSIDE_TOLERANCE))
    tri, b1, b2 = tri[hit], b1[hit], b2[hit]
    node = ((first_y[tri] + drow[hit]) * cols + first_x[tri] + dcol[hit]).astype(np.int64)

    # Depth test, only where triangles overlap (shared edges, occlusion): elsewhere a node has
    # a single hit and no sorting is needed.
    shared = np.bincount(node, minlength=rows * cols)[node] > 1
    if shared.any():
        overlap = np.flatnonzero(shared)
        z = target[triangles[tri[overlap]], 2]  # (S, 3) corner depths
        depth = z[:, 0] + b1[overlap] * (z[:, 1] - z[:, 0]) + b2[overlap] * (z[:, 2] - z[:, 0])
        order = overlap[np.lexsort((depth, node[overlap]))]  # by node, nearest first
        by_node = node[order]
        keep = ~shared
        keep[order[np.concatenate([[True], by_node[1:] != by_node[:-1]])]] = True
        node, b1, b2, tri = node[keep], b1[keep], b2[keep], tri[keep]

    # Each node's source position from its triangle's affine map; positions as x + iy.
    s = source[:, 0] + 1j * source[:, 1]
    sa, sb, sc = s[a[tri]], s[b[tri]], s[c[tri]]
    row, col = np.divmod(node, cols)
    position = (origin[0] + cell * col) + 1j * (origin[1] + cell * row)
    displacement = np.zeros(rows * cols, complex)
    displacement[node] = sa + b1 * (sb - sa) + b2 * (sc - sa) - position
    return displacement.view(np.float64).reshape(rows, cols, 2)  # x + iy is (x, y) in memory


def lattice(box: Box, cell: int, width: int, height: int) -> tuple[Box, tuple[int, int]]:
    """The node lattice covering box: (the pixel span it covers, (rows, cols) of nodes).

    The span starts on the box and is a whole number of cells, shifted back inside the image
    where it can be, so upsampling by `cell` lands node k exactly on pixel k * cell.
    """
    x0, y0, x1, y1 = box
    cols = -(-(x1 - 1 - x0) // cell) + 1
    rows = -(-(y1 - 1 - y0) // cell) + 1
    span_w, span_h = (cols - 1) * cell + 1, (rows - 1) * cell + 1
    x0 = max(min(x0, width - span_w), 0)
    y0 = max(min(y0, height - span_h), 0)
    return (x0, y0, x0 + span_w, y0 + span_h), (rows, cols)


def lattice_nodes(span: Box, cell: int) -> np.ndarray:
    """(rows, cols, 2) pixel positions of the lattice nodes over span."""
    xs = np.arange(span[0], span[2], cell, dtype=np.float64)
    ys = np.arange(span[1], span[3], cell, dtype=np.float64)
    nodes = np.empty((len(ys), len(xs), 2))
    nodes[..., 0], nodes[..., 1] = xs, ys[:, None]
    return nodes


def mesh_field(target: np.ndarray, source: np.ndarray, triangles: np.ndarray, box: Box,
               cell: int, width: int, height: int
               ) -> tuple[np.ndarray, Box, Box] | None:
    """The mesh's backward map within box of a (width, height) image, for a resampler
    (resample.py): (field, span, where) with field the displacement (rows, cols, 2) at the
    lattice nodes over span, and where the part of box it moves (None if it moves nothing).
    Control points target (N, 3) x, y, depth -> source (N, 2) (pixel indices) over triangles
    (M, 3) (the moving ones, see `moving_triangles`; box must hold them), mapped on a lattice
    of `cell` pixels."""
    span, shape = lattice(box, cell, width, height)
    field = soften(node_displacement(target, source, triangles, span[:2], cell, shape), cell)
    where = moving_part(field, span, cell, box)
    return None if where is None else (field, span, where)


def moving_part(field: np.ndarray, span: Box, cell: int, box: Box) -> Box | None:
    """The part of box where a displacement field (rows, cols, 2) on the lattice over span
    moves pixels: between the first and last lattice rows and columns with a moving node.
    Beyond them the field is zero at the nodes and so in between: the image stays as it is
    there (the head's still outer ring leaves such a margin inside the box)."""
    moving = (field[..., 0] != 0) | (field[..., 1] != 0)  # numpy reduces axes of 2 slowly
    rows, cols = np.flatnonzero(moving.any(axis=1)), np.flatnonzero(moving.any(axis=0))
    if len(rows) == 0:
        return None
    # Pixels strictly between a still node and a moving one move.
    x0 = max(box[0], span[0] + (cols[0] - 1) * cell + 1)
    y0 = max(box[1], span[1] + (rows[0] - 1) * cell + 1)
    x1 = min(box[2], span[0] + (cols[-1] + 1) * cell)
    y1 = min(box[3], span[1] + (rows[-1] + 1) * cell)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def soften(field: np.ndarray, cell: float) -> np.ndarray:
    """Round off the stair-steps triangle edges leave where the surface folds away (a turned
    face's far cheek): where a [1, 2, 1] / 4 blur across the lattice (rows, cols, 2) moves the
    displacement by more than about a cell, the blurred field is taken; elsewhere the exact
    one, so smooth motion keeps landmarks exact."""
    import cv2

    blurred = cv2.sepFilter2D(field, -1, SOFTEN_KERNEL, SOFTEN_KERNEL,
                              borderType=cv2.BORDER_REPLICATE)
    change = np.abs(blurred - field)
    change = np.maximum(change[..., :1], change[..., 1:])  # per node: the larger of x, y
    weight = np.clip((change - 0.25 * cell) / (0.5 * cell), 0.0, 1.0)
    return field + (blurred - field) * weight
