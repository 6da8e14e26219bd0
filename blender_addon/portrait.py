"""A portrait in the scene: the plane showing it (root, holds the settings) and its face rig.

The plane lies in its local XZ plane, facing -Y, sized so that its local space is the contract's
portrait space (S = max(W, H) / 2 px per unit). The rig is a child mesh whose 478 vertices are
the landmarks, with the 52 ARKit shape keys from core.rig.
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ..core.errors import PortraitError
from ..core.landmarks.topology import NUM_LANDMARKS
from . import checks, compat, dependencies

LANDMARKS_KEY = "portrait_landmarks"  # on the plane: the portrait's landmarks (478 * 3) in image pixels
PIVOT_KEY = "portrait_pivot"  # on the rig: the head pivot at rest, portrait space
IMAGE_NODE = "Portrait Frames"  # the material's Image Texture node showing the animation


def load_input(filepath: str, landmarks_path: str = "", face: int = 0):
    """Read a portrait and find its landmarks: (uint8 (H, W, 3), float32 (478, 3) px).

    Landmarks come from `landmarks_path` (JSON from `python -m core detect --json`) when given,
    so a Blender without mediapipe can still add portraits.
    """
    dependencies.require("add")
    from ..core.media import read_image

    if not filepath:
        raise PortraitError("no portrait image given")
    image = read_image(bpy.path.abspath(filepath))
    if not landmarks_path:
        dependencies.require("detect")
    from ..core.landmarks.files import read_or_detect_landmarks

    landmarks = read_or_detect_landmarks(image, bpy.path.abspath(landmarks_path) if landmarks_path
                                   else None, face)
    return image, np.asarray(landmarks, np.float32)


def _plane_mesh(name: str, width: int, height: int) -> bpy.types.Mesh:
    half_w, half_h = width / max(width, height), height / max(width, height)
    mesh = bpy.data.meshes.new(name)
    # Counter-clockwise seen from -Y, so the face normal points at a camera in Front view.
    mesh.from_pydata([(-half_w, 0, -half_h), (half_w, 0, -half_h), (half_w, 0, half_h),
                      (-half_w, 0, half_h)], [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", [0, 0, 1, 0, 1, 1, 0, 1])
    return mesh


def _rig_edges() -> list[tuple[int, int]]:
    """The facial part polylines as mesh edges, so the rig reads as a face drawing."""
    from ..core.landmarks.topology import PARTS

    edges = {tuple(sorted(pair)) for lines in PARTS.values() for line in lines
             for pair in zip(line[:-1], line[1:])}
    return sorted(edges)


def _rig_object(name: str, face_rig) -> bpy.types.Object:
    from ..core.rig import ARKIT_NAMES

    rest = np.asarray(face_rig.rest, np.float64) - np.asarray(face_rig.pivot, np.float64)
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(rest.tolist(), _rig_edges(), [])
    rig = bpy.data.objects.new(name, mesh)
    rig.shape_key_add(name="Basis", from_mix=False)
    for name_k, delta in zip(ARKIT_NAMES, np.asarray(face_rig.deltas, np.float64)):
        key = rig.shape_key_add(name=name_k, from_mix=False)
        key.data.foreach_set("co", (rest + delta).astype(np.float32).ravel())
        key.slider_min, key.slider_max = 0.0, 1.0
        key.value = 0.0  # new keys start at 1.0 in some Blender versions: rest pose = all zero
    rig.rotation_mode = "XYZ"
    rig.location = tuple(float(v) for v in face_rig.pivot)
    rig[PIVOT_KEY] = [float(v) for v in face_rig.pivot]
    rig.display_type = "WIRE"
    rig.show_in_front = True
    rig.hide_render = True
    return rig


def _material(name: str, image: bpy.types.Image) -> bpy.types.Material:
    """Emission of an Image Texture: the plane shows the frames unlit, as rendered."""
    material = bpy.data.materials.new(name)
    tree = compat.material_node_tree(material)
    tree.nodes.clear()
    texture = tree.nodes.new("ShaderNodeTexImage")
    texture.name = texture.label = IMAGE_NODE
    texture.image = image
    texture.location = (-400, 0)
    emission = tree.nodes.new("ShaderNodeEmission")
    output = tree.nodes.new("ShaderNodeOutputMaterial")
    output.location = (250, 0)
    tree.links.new(texture.outputs["Color"], emission.inputs["Color"])
    tree.links.new(emission.outputs["Emission"], output.inputs["Surface"])
    return material


def create_portrait(scene: bpy.types.Scene, filepath: str, image: np.ndarray,
                    landmarks: np.ndarray) -> bpy.types.Object:
    """Collection with the portrait plane and its face rig; returns the plane (the root).

    Everything that can fail runs before the first datablock is created, so a failure leaves
    the file untouched.
    """
    from ..core.rig import FaceRig

    height, width = image.shape[:2]
    face_rig = FaceRig.from_landmarks(landmarks, (width, height))
    try:
        portrait_image = bpy.data.images.load(filepath, check_existing=True)
    except RuntimeError:
        raise PortraitError(f"{filepath}: Blender cannot load this image") from None
    name = bpy.path.clean_name(Path(bpy.path.abspath(filepath)).stem)

    plane = bpy.data.objects.new(name, _plane_mesh(name, width, height))
    name = plane.name
    collection = bpy.data.collections.new(name)
    scene.collection.children.link(collection)
    collection.objects.link(plane)
    plane.data.materials.append(_material(name, portrait_image))
    plane[LANDMARKS_KEY] = landmarks.astype(np.float64).ravel().tolist()

    rig = _rig_object(f"{name}_rig", face_rig)
    collection.objects.link(rig)
    rig.parent = plane  # identity parent inverse: the rig's location is in portrait space

    settings = plane.portrait
    settings.is_portrait = True
    settings.source = portrait_image
    settings.rig = rig
    settings.image_width, settings.image_height = width, height
    settings.cache_dir = f"//portrait_cache/{name}/"
    scene.portrait_active = plane
    return plane


def portraits(scene: bpy.types.Scene) -> list[bpy.types.Object]:
    return [obj for obj in scene.objects if obj.portrait.is_portrait]


def find_portrait(context: bpy.types.Context, name: str = "") -> bpy.types.Object:
    """The portrait named `name`, else the scene's active one, else the selected one."""
    scene = context.scene
    if name:
        plane = scene.objects.get(name)
        if plane is None or not plane.portrait.is_portrait:
            have = ", ".join(p.name for p in portraits(scene)) or "none"
            raise PortraitError(f"no portrait named '{name}' in scene '{scene.name}' "
                                f"(have: {have})")
    else:
        plane = scene.portrait_active
        active = getattr(context, "active_object", None)
        if plane is None and active is not None:
            plane = active if active.portrait.is_portrait else active.parent
        if plane is None or not plane.portrait.is_portrait:
            raise PortraitError("no portrait selected: add one with Portrait > Add Portrait "
                                "or pick the active portrait in the Portrait panel")
    checks.portrait_state(plane, NUM_LANDMARKS, PIVOT_KEY)
    return plane


def scene_fps(scene: bpy.types.Scene) -> float:
    return scene.render.fps / scene.render.fps_base


def image_size(plane: bpy.types.Object) -> tuple[int, int]:
    return plane.portrait.image_width, plane.portrait.image_height


def portrait_landmarks(plane: bpy.types.Object) -> np.ndarray:
    """The landmarks (478, 3) px detected on the portrait when it was added."""
    values = plane.get(LANDMARKS_KEY)
    try:
        landmarks = np.array(values if values is not None else (), np.float64)
    except (TypeError, ValueError):
        landmarks = np.empty(0)
    if landmarks.shape != (NUM_LANDMARKS * 3,) or not np.isfinite(landmarks).all():
        raise PortraitError(f"{plane.name}: the portrait's landmarks (custom property "
                            f"'{LANDMARKS_KEY}') are missing or were edited")
    return landmarks.astype(np.float32).reshape(NUM_LANDMARKS, 3)


_pixels: dict[tuple, tuple[np.ndarray, str]] = {}  # file identity -> (pixels, digest)


def blend_relative(path: str) -> str:
    """path as the .blend should store it: relative to the saved .blend ("//..."), or as it is
    where it cannot be (the .blend not saved yet, or another drive)."""
    if not bpy.data.filepath:
        return path
    try:
        return bpy.path.relpath(path)
    except ValueError:
        return path


def file_version(path: Path, what: str) -> tuple[str, int, int]:
    """(path, mtime, size): a key that changes when the file does; a one-line error naming
    `what` ("the portrait image") when it is missing."""
    try:
        stat = path.stat()
    except OSError:
        raise PortraitError(f"{path}: {what} is missing") from None
    return str(path), stat.st_mtime_ns, stat.st_size


def portrait_pixels(plane: bpy.types.Object) -> tuple[np.ndarray, str]:
    """The portrait as uint8 (H, W, 3) and its digest, from its file or from the .blend if packed.

    Remembered per file version, so the live preview does not decode the portrait every frame.
    """
    from .cache import frame_digest

    image = plane.portrait.source
    if image is None:
        raise PortraitError(f"{plane.name}: the portrait image is missing")
    if image.packed_file is not None:
        key = ("packed", image.name_full, image.packed_file.size)
    else:
        key = file_version(Path(bpy.path.abspath(image.filepath, library=image.library)),
                           "the portrait image")
    if key not in _pixels:
        from ..core.media import decode_image, read_image

        if image.packed_file is not None:
            pixels = decode_image(bytes(image.packed_file.data), image.name_full)
        else:
            pixels = read_image(key[0])
        _pixels.clear()  # one portrait's pixels at a time is enough for preview speed
        _pixels[key] = (pixels, frame_digest(pixels))
    pixels, digest = _pixels[key]
    if (pixels.shape[1], pixels.shape[0]) != image_size(plane):
        raise PortraitError(f"{plane.name}: the portrait image is now {pixels.shape[1]}x"
                            f"{pixels.shape[0]}, it was {image_size(plane)[0]}x"
                            f"{image_size(plane)[1]} when added")
    return pixels, digest


def cache_folder(plane: bpy.types.Object) -> Path:
    """The portrait's cache folder as an absolute path (not created here)."""
    text = plane.portrait.cache_dir or f"//portrait_cache/{plane.name}/"
    if text.startswith("//") and not bpy.data.filepath:
        raise PortraitError(f"the cache folder {text} is relative to the .blend file: "
                            "save the file first or choose an absolute cache folder")
    return Path(bpy.path.abspath(text))


def image_node(plane: bpy.types.Object) -> bpy.types.ShaderNodeTexImage:
    material = plane.active_material
    node = material.node_tree.nodes.get(IMAGE_NODE) if material and material.node_tree else None
    if node is None:
        raise PortraitError(f"{plane.name}: its material lost the '{IMAGE_NODE}' image node")
    return node


def show_current(plane: bpy.types.Object) -> None:
    """Point the plane at what it should show: preview, else rendered frames, else the portrait."""
    settings = plane.portrait
    node = image_node(plane)
    if settings.preview and settings.preview_image is not None:
        node.image = settings.preview_image
    elif settings.frames_image is not None:
        node.image = settings.frames_image
        user = node.image_user
        user.frame_start = settings.sequence_start
        # Blender reads file number (frame - frame_start + 1 + offset): offset it to the frame.
        user.frame_offset = settings.sequence_start - 1
        user.frame_duration = settings.sequence_length
        user.use_auto_refresh = True
    else:
        node.image = settings.source
