"""Media I/O: atomic writes, the fast PNG encoder, video round trip."""
import imageio.v3 as iio
import numpy as np
import pytest

from core.errors import PortraitError
from core.media import (VideoWriter, check_output, encode_png, read_video, resize_image,
                        write_image)


def test_png_encoder_is_lossless_on_real_and_odd_sized_images(default_portrait):
    image, _ = default_portrait
    for array in (image, resize_image(image, (411, 413)), np.zeros((1, 1, 3), np.uint8)):
        assert (iio.imread(encode_png(array)) == array).all()


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
