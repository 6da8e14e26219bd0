"""The dense backward map: a triangle mesh moved to the target, rasterized with a depth test.

The control points are triangulated once, on the source. Each frame the triangles are drawn
at their target positions, and every output pixel takes the source position from the triangle
covering it. Triangles that turn their back to the viewer (their target orientation flips, as
the far cheek does when the head turns) are culled, and where moved triangles overlap the one
nearest the camera wins: the head turns with occlusion instead of folding over itself, and a
mirrored copy of the skin never shows. Inside a triangle the map is affine, so it is exact at
the control points and smooth between them. It is evaluated on a coarse lattice of nodes (a
fixed number of cells across the face), and where closing lids fold it on fine lattices too,
all in one pass; a resampler (resample.py) upsamples it and samples the portrait, one
bilinear sample per moving output pixel, the only full-resolution cost.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .composite import Box, bounding_box

Lattice = tuple[tuple[float, float], float, tuple[int, int]]  # origin (x, y), cell, (rows, cols)

INSIDE_TOLERANCE = 1e-5  # barycentric slack so rounding loses no node on a shared edge
SOFTEN_KERNEL = np.array([0.25, 0.5, 0.25])  # see soften
_SIGNS = np.array([[1.0], [-1.0]])


class _EntryRow:
    """The rows of node_displacements' table: what one entry's (a triangle on a lattice) rows
    of nodes need, a quantity per row of one array, so that one np.repeat hands them all to
    every row of nodes (numpy's cost there is per call, not per value)."""
    BOUNDS = slice(0, 6)           # the columns' bounds on the box's first row: lower, upper
    BOUNDS_PER_ROW = slice(6, 12)  # their change per row
    FIRST_ROW = 12                 # the entry's first row among all entries' rows
    DISPLACEMENT = slice(13, 15)   # x, y at the box's first node
    PER_COLUMN = slice(15, 17)     # the displacement's change per column
    FIRST_NODE = 17                # the box's first node's index among all lattices' nodes
    PER_ROW = slice(18, 20)        # the displacement's change per row
    COLUMNS = 20                   # the lattice's columns
    ACROSS = 21                    # the box's nodes across, less one
    COUNT = 22
    # Rows 12-17 become, once the rows are spread out, what each node of a row's span needs:
    SPAN = slice(12, 18)           # its place among all nodes less its column in the box, the
                                   # displacement at column 0 and its change per column, and
                                   # the index of the node at column 0


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
    """Backward displacement (source - target position) at the nodes of one lattice:
    (GH, GW, 2), node (i, j) at origin + cell * (j, i). See node_displacements."""
    return node_displacements(target, source, triangles, [(origin, cell, shape)])[0]


def node_displacements(target: np.ndarray, source: np.ndarray, triangles: np.ndarray,
                       lattices: list[Lattice]) -> list[np.ndarray]:
    """Backward displacement (source - target position) at the nodes of each lattice
    (origin, cell, (rows, cols)), node (i, j) at origin + cell * (j, i): [(rows, cols, 2)].

    target (N, 3) x, y, depth (smaller = nearer); source (N, 2); triangles (M, 3) positive in
    the source, the ones to draw (nodes none covers keep zero displacement). A node takes the
    affine map of the triangle it lies in (barycentric coordinates >= -INSIDE_TOLERANCE);
    back-facing triangles are culled, and where triangles overlap the nearest one wins (of
    exactly as near ones, on the edge they share, either: their maps agree there).

    Each triangle is drawn row by row of nodes: along a row its barycentric coordinates are
    affine in the column, so the span of columns inside it follows from three divisions, and
    so is the displacement (a node costs two multiply-adds). numpy's cost here is mostly per
    call, not per value, so all lattices are drawn in one pass: a second lattice (the fine one
    around closing lids) costs its nodes, not the calls again. Values are kept in (k, M)
    arrays, a row per quantity: numpy is several times slower on (M, k) stacks of tiny axes.
    """
    corners = triangles.T  # (3, M)
    corner = target[:, :2].T.take(corners, axis=1)  # (2, 3, M) x/y, corner, triangle
    low = np.minimum(np.minimum(corner[:, 0], corner[:, 1]), corner[:, 2])  # (2, M)
    high = np.maximum(np.maximum(corner[:, 0], corner[:, 1]), corner[:, 2])
    edge = corner[:, 1:] - corner[:, :1]  # (2, 2, M) x/y, corner b / c less corner a
    area = edge[0, 0] * edge[1, 1]
    area -= edge[1, 0] * edge[0, 1]  # twice the signed area, in pixels

    # Entries: the triangles drawn on each lattice, found for all lattices at once (L): those
    # facing the viewer (twice their area in lattice units > 1e-12: a shut eye's collapsed
    # ones are culled too) whose bounding box holds a node. setting (8, L): origin x, y,
    # cell, the last column and row, the columns, the lattice's first node among all
    # lattices', the least twice area in pixels.
    sizes = [rows * cols for _, _, (rows, cols) in lattices]
    begins = [sum(sizes[:k]) for k in range(len(sizes))]
    setting = np.array([[*origin, cell, cols - 1, rows - 1, cols, begin, 1e-12 * cell * cell]
                        for (origin, cell, (rows, cols)), begin in zip(lattices, begins)]).T
    at, cell = setting[0:2, :, None], setting[2, :, None]  # (2, L, 1), (L, 1)
    first = np.subtract(low[:, None], at)
    first /= cell
    np.ceil(first, out=first)
    np.maximum(first, 0.0, out=first)
    extent = np.subtract(high[:, None], at)
    extent /= cell
    np.floor(extent, out=extent)
    np.minimum(extent, setting[3:5, :, None], out=extent)
    extent -= first  # (2, L, M) the box of nodes: across and down, less one
    drawn = np.minimum(extent[0], extent[1]) >= 0
    drawn &= area > setting[7, :, None]
    entries = np.flatnonzero(drawn)  # (E,) lattice * M + triangle
    on, triangle = np.divmod(entries, len(area))  # the entry's lattice and triangle
    first = first.reshape(2, -1).take(entries, axis=1)  # (2, E)
    extent = extent.reshape(2, -1).take(entries, axis=1)
    setting = setting.take(on, axis=1)  # (8, E)
    at, cell, columns, lattice_begin = setting[0:2], setting[2], setting[5], setting[6]
    corners = corners.take(triangle, axis=1)  # (3, E)
    corner = np.subtract(corner.take(triangle, axis=2), at[:, None])
    corner /= cell  # (2, 3, E) in lattice units
    edge = corner[:, 1:] - corner[:, :1]
    area = edge[0, 0] * edge[1, 1]
    area -= edge[1, 0] * edge[0, 1]
    inverse = 1.0 / area

    # The barycentric coordinates b1, b2 (of corners b and c) and b3 = 1 - b1 - b2 at the
    # node (dcol, drow) from the box's first node: form[0] + form[1] * drow + form[2] * dcol.
    form = np.empty((3, 3, len(area)))  # value, per row, per column; b1, b2, b3; entry
    signed = inverse * _SIGNS
    np.multiply(edge[1, ::-1], signed, out=form[2, :2])  # e2y / A, -e1y / A
    np.multiply(edge[0, ::-1], signed[::-1], out=form[1, :2])  # -e2x / A, e1x / A
    offset = first - corner[:, 0]  # (2, E) the first node from corner a
    np.multiply(form[2, :2], offset[0], out=form[0, :2])
    form[0, :2] += form[1, :2] * offset[1]
    np.add(form[:, 0], form[:, 1], out=form[:, 2])
    np.negative(form[:, 2], out=form[:, 2])
    form[0, 2] += 1.0

    # What the rows of each entry need, (_EntryRow.COUNT, E).
    table = np.empty((_EntryRow.COUNT, len(area)))
    rows_of = _EntryRow
    # Along a row, b >= -INSIDE_TOLERANCE bounds the column from below where b rises, from
    # above where it falls: at (-INSIDE_TOLERANCE - b at column 0) / (b per column). As b1 +
    # b2 + b3 = 1, on every row at least one rises and one falls: a lower bound that is not
    # one is set to 0 (columns start at 0), an upper one to the nodes across (where they
    # end), both stored less that (so 0 too), and the rows' spans need no other clipping. (A
    # b constant along rows is zero on the box's top or bottom row: it bounds no node.)
    rising, falling = form[2] > 0, form[2] < 0
    bound = np.empty_like(form[:2])  # at drow 0, per row; b1, b2, b3; entry
    np.subtract(-INSIDE_TOLERANCE, form[0], out=bound[0])
    np.negative(form[1], out=bound[1])
    bound /= form[2] + (form[2] == 0)  # (numpy's masked divide is slow)
    limits = table[rows_of.BOUNDS.start:rows_of.BOUNDS_PER_ROW.stop].reshape(2, 2, 3, -1)
    # limits: at drow 0 / per row, lower / upper, b1..b3, entry
    np.multiply(bound, rising, out=limits[:, 0])
    bound[0] -= extent[0]
    np.multiply(bound, falling, out=limits[:, 1])
    moved = source.T.take(corners, axis=1)  # (2, 3, E)
    spread = moved[:, 1:] - moved[:, :1]  # (2, 2, E)
    weighted = spread * form[:, None, :2]  # (3, 2, 2, E): at 0, per row, per column
    for part, rows in ((0, rows_of.DISPLACEMENT), (1, rows_of.PER_ROW),
                       (2, rows_of.PER_COLUMN)):
        np.add(weighted[part, :, 0], weighted[part, :, 1], out=table[rows])
    table[rows_of.DISPLACEMENT] += moved[:, 0]
    table[rows_of.DISPLACEMENT] -= first * cell
    table[rows_of.DISPLACEMENT] -= at
    # The node itself moves a cell right per column, a cell down per row.
    table[rows_of.PER_COLUMN][0] -= cell
    table[rows_of.PER_ROW][1] -= cell
    np.multiply(first[1], columns, out=table[rows_of.FIRST_NODE])
    table[rows_of.FIRST_NODE] += first[0]
    table[rows_of.FIRST_NODE] += lattice_begin
    table[rows_of.COLUMNS] = columns
    table[rows_of.ACROSS] = extent[0]
    tall = extent[1] + 1.0
    np.subtract(np.cumsum(tall), tall, out=table[rows_of.FIRST_ROW])

    # Spans: every entry's rows of nodes (S), each with its columns inside.
    row = np.repeat(table, tall.astype(np.int64), axis=1)  # (_EntryRow.COUNT, S)
    drow = np.arange(row.shape[1], dtype=np.float64)
    drow -= row[rows_of.FIRST_ROW]
    bounds = row[rows_of.BOUNDS_PER_ROW] * drow
    bounds += row[rows_of.BOUNDS]
    low = np.ceil(bounds[0:3].max(axis=0))
    wide = bounds[3:6].min(axis=0)
    wide += row[rows_of.ACROSS]
    wide += 1.0
    np.floor(wide, out=wide)
    wide -= low
    np.maximum(wide, 0.0, out=wide)
    wide = wide.astype(np.int64)
    start = np.cumsum(wide)
    start -= wide  # each span's first node among all spans' nodes (K)
    # What each node of a span needs (see _EntryRow.SPAN), made over in place.
    np.subtract(start, low, out=row[rows_of.FIRST_ROW])
    row[rows_of.DISPLACEMENT] += row[rows_of.PER_ROW] * drow
    row[rows_of.FIRST_NODE] += drow * row[rows_of.COLUMNS]

    place, x, y, x_per_column, y_per_column, first_node = np.repeat(
        row[rows_of.SPAN], wide, axis=1)  # (K,) each
    dcol = np.arange(len(place), dtype=np.float64)
    dcol -= place
    node = first_node
    node += dcol
    node = node.astype(np.int64)
    values = np.empty(len(node), complex)  # x + iy
    np.multiply(x_per_column, dcol, out=values.real)
    values.real += x
    np.multiply(y_per_column, dcol, out=values.imag)
    values.imag += y
    count = np.bincount(node, minlength=sum(sizes))
    displacement = np.zeros(len(count), complex)
    displacement[node] = values
    if np.count_nonzero(count) < len(node):
        # Depth test where triangles overlap (shared edges, occlusion): the nearest wins.
        overlap = np.flatnonzero(count[node] > 1)
        of = np.searchsorted(start, overlap, side="right") - 1  # their spans
        owner = np.searchsorted(table[rows_of.FIRST_ROW], of, side="right") - 1  # entries
        b = form.take(owner, axis=2)  # (3, 3, O)
        b = b[0, :2] + b[1, :2] * drow[of] + b[2, :2] * (overlap - start[of] + low[of])
        z = target[:, 2].take(corners.take(owner, axis=1))  # (3, O) corner depths
        depth = z[0] + b[0] * (z[1] - z[0]) + b[1] * (z[2] - z[0])
        nearest = np.full(len(count), np.inf)
        np.minimum.at(nearest, node[overlap], depth)
        won = overlap[depth == nearest[node[overlap]]]
        displacement[node[won]] = values[won]
    flat = displacement.view(np.float64)  # x + iy is (x, y) in memory
    return [flat[2 * begin:2 * (begin + size)].reshape(*shape, 2)
            for (_, _, shape), size, begin in zip(lattices, sizes, begins)]


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
               cell: int, width: int, height: int, fine: Sequence[tuple[Box, int]] = ()
               ) -> tuple[np.ndarray, Box, Box, list[tuple[np.ndarray, Box]]] | None:
    """The mesh's backward map within box of a (width, height) image, for a resampler
    (resample.py): (field, span, where, fine fields) with field the displacement (rows, cols,
    2) at the lattice nodes over span, and where the part of box it moves (None if it moves
    nothing). Control points target (N, 3) x, y, depth -> source (N, 2) (pixel indices) over
    triangles (M, 3) (the moving ones, see `moving_triangles`; box must hold them), mapped on
    a lattice of `cell` pixels. fine: more boxes, each mapped on a lattice of its own cell
    [(box, cell)] in the same pass (see node_displacements), unsoftened: [(field, span)]."""
    parts = [(box, cell), *fine]
    spans = [lattice(part, part_cell, width, height) for part, part_cell in parts]
    field, *fine_fields = node_displacements(
        target, source, triangles, [(span[:2], part_cell, shape)
                                    for (span, shape), (_, part_cell) in zip(spans, parts)])
    (span, _), *fine_spans = spans
    field = soften(field, cell)
    where = moving_part(field, span, cell, box)
    if where is None:
        return None
    return field, span, where, [(fine_field, fine_span) for fine_field, (fine_span, _)
                                in zip(fine_fields, fine_spans)]


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
