"""Media I/O: atomic writes, the fast PNG encoder, video round trip."""
import zlib

import imageio.v3 as iio
import numpy as np
import pytest

from core.errors import PortraitError
from core.media import (DEFLATE_PIECE, VideoWriter, check_frame_folder, check_output,
                        deflate_fast, encode_png, read_video, resize_image, scale_landmarks,
                        write_image)


def test_png_encoder_is_lossless_on_real_and_odd_sized_images(default_portrait):
    image, _ = default_portrait
    noise = np.random.default_rng(0).integers(0, 256, (700, 900, 3), np.uint8)  # incompressible
    for array in (image, resize_image(image, (411, 413)), resize_image(image, (1024, 1024)),
                  noise, np.zeros((1, 1, 3), np.uint8)):
        assert (iio.imread(encode_png(array)) == array).all()


def test_deflate_on_threads_is_one_zlib_stream_at_every_piece_boundary():
    """Pieces joined by sync flushes decompress as one stream, whatever the data's length
    against the piece size (one piece, several, a whole number of them, one byte over)."""
    data = np.random.default_rng(1).integers(0, 8, 4 * DEFLATE_PIECE + 1, np.uint8).tobytes()
    for length in (0, 10, DEFLATE_PIECE, DEFLATE_PIECE + 1, 3 * DEFLATE_PIECE,
                   len(data)):
        stream = deflate_fast(data[:length])
        assert zlib.decompress(stream) == data[:length]
        if length >= DEFLATE_PIECE:
            assert len(stream) < 0.6 * length  # compressed: the bytes hold 3 bits each


def test_write_image_is_atomic_and_leaves_no_partial_file(tmp_path, default_portrait):
    image, _ = default_portrait
    write_image(tmp_path / "a.png", image)
    assert (iio.imread(tmp_path / "a.png") == image).all()
    (tmp_path / "b.png").mkdir()  # the final rename fails: the temporary file must go
    with pytest.raises(OSError):
        write_image(tmp_path / "b.png", image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]


def test_video_writer_keeps_odd_sizes_and_aborts_cleanly(tmp_path, default_portrait):
    image, _ = default_portrait
    odd = resize_image(image, (205, 241))
    with VideoWriter(tmp_path / "v.mp4", 25, (205, 241)) as writer:
        for _ in range(3):
            writer.write(odd)
    frames, fps = read_video(tmp_path / "v.mp4")
    assert frames.shape == (3, 241, 205, 3) and fps == 25
    assert np.abs(frames[1].astype(int) - odd).mean() < 4
    with pytest.raises(RuntimeError):
        with VideoWriter(tmp_path / "w.mp4", 25, (205, 241)) as writer:
            writer.write(odd)
            raise RuntimeError("render failed halfway")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


def test_check_output_refuses_to_overwrite(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"keep")
    with pytest.raises(PortraitError, match="--overwrite"):
        check_output(tmp_path / "x.mp4", overwrite=False)
    assert check_output(tmp_path / "x.mp4", overwrite=True).name == "x.mp4"


def test_scaled_landmarks_follow_the_resized_image(default_portrait):
    image, landmarks = default_portrait
    size = (image.shape[1] // 2, image.shape[0] // 4)
    half = scale_landmarks(landmarks, (image.shape[1], image.shape[0]), size)
    assert half.dtype == landmarks.dtype
    np.testing.assert_allclose(half[:, 0], landmarks[:, 0] * size[0] / image.shape[1], rtol=1e-6)
    np.testing.assert_allclose(half[:, 1], landmarks[:, 1] * size[1] / image.shape[0], rtol=1e-6)
    np.testing.assert_allclose(half[:, 2], landmarks[:, 2] * size[0] / image.shape[1], rtol=1e-6)


def test_a_frame_folder_may_be_missing_but_not_a_file(tmp_path):
    assert check_frame_folder(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(PortraitError, match="is not a folder"):
        check_frame_folder(tmp_path / "file")


def test_video_frames_by_index_forward_and_back():
    from conftest import DRIVING
    from core.media import VideoFrames

    clip = [p for p in DRIVING if "d0_" in p.name][0]
    frames, _ = read_video(clip)
    video = VideoFrames(clip)
    try:
        for index in (5, 6, 6, 40, 2, len(frames) - 1):
            assert np.array_equal(video[index], frames[index])
        with pytest.raises(PortraitError, match=f"has no frame {len(frames)}"):
            video[len(frames)]
    finally:
        video.close()
