"""validate_image against a corpus of bad and odd files, each generated here."""

from __future__ import annotations

import hashlib
import io
import os
import resource
import struct
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

from lineup.core.images import MediaError, ValidatedImage, read_image_file, validate_image

RED = (255, 0, 0)
BLUE = (0, 0, 255)
GREEN = (0, 255, 0)


def encode(image: Image.Image, format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def noise_image(width: int, height: int, seed: int = 0) -> Image.Image:
    # Noise does not compress, so a cut-off file really is missing pixel data.
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def png_with_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims `width` x `height` but holds almost no pixel data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


# --- accepted formats ------------------------------------------------------------------------


def test_png_is_accepted_with_its_bytes_hash_and_size_kept() -> None:
    data = encode(Image.new("RGB", (30, 20), BLUE), "PNG")

    image = validate_image(data)

    assert isinstance(image, ValidatedImage)
    assert image.data is data
    assert (image.format, image.suffix) == ("PNG", ".png")
    assert (image.width, image.height) == (30, 20)
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert image.rgb().mode == "RGB"
    assert image.rgb().getpixel((0, 0)) == BLUE


def test_format_and_suffix_come_from_content_not_from_the_file_name(tmp_path) -> None:
    misnamed = tmp_path / "holiday.jpg"
    misnamed.write_bytes(encode(Image.new("RGB", (8, 8), RED), "PNG"))

    image = validate_image(misnamed.read_bytes())

    assert image.format == "PNG"
    assert image.suffix == ".png"


def test_jpeg_is_accepted_with_jpg_suffix() -> None:
    image = validate_image(encode(Image.new("RGB", (64, 48), RED), "JPEG", quality=95))

    assert (image.format, image.suffix) == ("JPEG", ".jpg")
    assert (image.width, image.height) == (64, 48)
    assert close_to(image.rgb().getpixel((32, 24)), RED)


def test_multi_picture_jpeg_from_a_camera_counts_as_jpeg() -> None:
    first, second = Image.new("RGB", (24, 16), RED), Image.new("RGB", (24, 16), BLUE)
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"

    image = validate_image(data)

    assert (image.format, image.suffix) == ("JPEG", ".jpg")
    assert close_to(image.rgb().getpixel((12, 8)), RED)


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_webp_is_accepted() -> None:
    image = validate_image(encode(Image.new("RGB", (40, 30), GREEN), "WEBP", lossless=True))

    assert (image.format, image.suffix) == ("WEBP", ".webp")
    assert (image.width, image.height) == (40, 30)
    assert image.rgb().getpixel((10, 10)) == GREEN


def test_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, GREEN, BLUE)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)

    image = validate_image(buffer.getvalue())

    assert (image.format, image.suffix) == ("GIF", ".gif")
    assert image.rgb().mode == "RGB"
    assert image.rgb().getpixel((8, 8)) == RED


# --- modes converted to RGB ------------------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb_with_the_right_colour() -> None:
    cmyk_red = Image.new("CMYK", (32, 32), (0, 255, 255, 0))
    data = encode(cmyk_red, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"

    image = validate_image(data)

    assert image.format == "JPEG"
    assert image.rgb().mode == "RGB"
    assert close_to(image.rgb().getpixel((16, 16)), RED)


def test_16_bit_greyscale_png_is_scaled_to_8_bit_not_clipped_to_white() -> None:
    levels = np.array([[65535, 32768, 256, 0]], dtype=np.uint16)
    data = encode(Image.fromarray(levels), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")

    pixels = [validate_image(data).rgb().getpixel((x, 0)) for x in range(4)]

    assert pixels[0] == (255, 255, 255)
    assert all(abs(channel - 128) <= 1 for channel in pixels[1])
    assert all(channel <= 1 for channel in pixels[2])
    assert pixels[3] == (0, 0, 0)


def test_transparent_rgba_is_laid_over_white() -> None:
    rgba = Image.new("RGBA", (2, 1))
    rgba.putpixel((0, 0), (255, 0, 0, 0))  # invisible red
    rgba.putpixel((1, 0), (0, 0, 0, 128))  # half-transparent black

    rgb = validate_image(encode(rgba, "PNG")).rgb()

    assert rgb.getpixel((0, 0)) == (255, 255, 255)
    assert close_to(rgb.getpixel((1, 0)), (127, 127, 127), tolerance=1)


def test_greyscale_with_alpha_is_laid_over_white() -> None:
    grey_alpha = Image.new("LA", (1, 1), (0, 0))  # black, fully transparent

    assert validate_image(encode(grey_alpha, "PNG")).rgb().getpixel((0, 0)) == (255, 255, 255)


def test_palette_png_with_transparent_index_is_laid_over_white() -> None:
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([255, 0, 0, 0, 0, 255])  # index 0 red, index 1 blue
    palette_image.putpixel((1, 0), 1)
    data = encode(palette_image, "PNG", transparency=0)

    rgb = validate_image(data).rgb()

    assert rgb.getpixel((0, 0)) == (255, 255, 255)
    assert rgb.getpixel((1, 0)) == BLUE


def test_exif_orientation_6_is_applied() -> None:
    # Stored 40 wide x 20 high with a red block at the stored top-left; orientation 6 means
    # "rotate 90 degrees clockwise to display", which moves that corner to the top-right.
    stored = Image.new("RGB", (40, 20), BLUE)
    stored.paste(RED, (0, 0, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())

    image = validate_image(data)
    shown = image.rgb()

    assert (image.width, image.height) == (20, 40)
    assert shown.size == (20, 40)
    assert close_to(shown.getpixel((15, 4)), RED)
    assert close_to(shown.getpixel((4, 4)), BLUE)
    assert close_to(shown.getpixel((4, 35)), BLUE)


def test_jpeg_with_a_corrupt_exif_block_is_still_accepted() -> None:
    corrupt_exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03"
    data = encode(Image.new("RGB", (12, 8), RED), "JPEG", quality=95, exif=corrupt_exif)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pillow: "Corrupt EXIF data."
        image = validate_image(data)

    assert (image.width, image.height) == (12, 8)
    assert close_to(image.rgb().getpixel((6, 4)), RED)


def test_rgb_returns_a_copy_that_callers_cannot_spoil() -> None:
    image = validate_image(encode(Image.new("RGB", (4, 4), BLUE), "PNG"))

    image.rgb().putpixel((0, 0), RED)

    assert image.rgb().getpixel((0, 0)) == BLUE


# --- png_bytes ----------------------------------------------------------------------------------


def test_png_bytes_shrinks_the_longest_side_and_keeps_the_aspect() -> None:
    image = validate_image(encode(Image.new("RGB", (400, 100), RED), "JPEG"))

    small = Image.open(io.BytesIO(image.png_bytes(max_side=200)))

    assert small.format == "PNG"
    assert small.mode == "RGB"
    assert small.size == (200, 50)
    assert close_to(small.getpixel((100, 25)), RED)


def test_png_bytes_never_upscales() -> None:
    image = validate_image(encode(Image.new("RGB", (100, 400), RED), "PNG"))

    assert Image.open(io.BytesIO(image.png_bytes(max_side=1000))).size == (100, 400)
    assert Image.open(io.BytesIO(image.png_bytes())).size == (100, 400)


def test_png_bytes_of_a_transparent_gif_is_rgb_on_white() -> None:
    # Left half transparent (index 0), right half red (index 1).
    palette_image = Image.new("P", (80, 80), 0)
    palette_image.putpalette([0, 0, 0, 255, 0, 0])
    palette_image.paste(1, (40, 0, 80, 80))
    image = validate_image(encode(palette_image, "GIF", transparency=0))

    png = Image.open(io.BytesIO(image.png_bytes(max_side=20)))

    assert png.mode == "RGB"
    assert png.size == (20, 20)
    assert png.getpixel((2, 10)) == (255, 255, 255)
    assert png.getpixel((17, 10)) == RED


# --- rejected files ----------------------------------------------------------------------------


def test_zero_bytes_is_rejected_as_empty() -> None:
    with pytest.raises(MediaError, match=r"empty \(0 bytes\)"):
        validate_image(b"")


def test_text_file_is_rejected_as_not_an_image() -> None:
    with pytest.raises(MediaError) as caught:
        validate_image("Это не картинка, a plain text file.\n".encode())

    message = str(caught.value)
    assert "not an image" in message
    assert "PNG, JPEG, WebP or GIF" in message


@pytest.mark.parametrize("format", ["BMP", "TIFF"])
def test_unsupported_formats_are_rejected_listing_the_accepted_ones(format: str) -> None:
    data = encode(Image.new("RGB", (8, 8), RED), format)

    with pytest.raises(MediaError) as caught:
        validate_image(data)

    message = str(caught.value)
    assert f"{format} images are not supported" in message
    assert "PNG, JPEG, WebP or GIF" in message


def test_truncated_png_is_rejected() -> None:
    data = encode(noise_image(200, 200), "PNG")

    with pytest.raises(MediaError, match="damaged or incomplete") as caught:
        validate_image(data[: len(data) // 2])

    assert "upload the new file" in str(caught.value)


def test_truncated_jpeg_is_rejected() -> None:
    data = encode(noise_image(200, 200), "JPEG", quality=90)

    with pytest.raises(MediaError, match="damaged or incomplete"):
        validate_image(data[: len(data) // 2])


def test_oversize_file_is_rejected_before_decoding_with_the_limit_and_env_var() -> None:
    # Not even an image: the size is checked first, so nothing is decoded.
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * (20 * 1024 * 1024)

    with pytest.raises(MediaError) as caught:
        validate_image(data)

    message = str(caught.value)
    assert "20.0 MB, over the 20 MB upload limit" in message
    assert "LINEUP_MAX_UPLOAD_MB" in message


def test_oversize_file_message_uses_the_given_limit() -> None:
    data = encode(noise_image(300, 300), "PNG")  # about 270 KB

    with pytest.raises(MediaError, match=r"over the 0\.1 MB upload limit"):
        validate_image(data, max_bytes=int(0.1 * 1024 * 1024))


def test_header_over_max_pixels_is_rejected_before_decoding() -> None:
    # 8000 x 6000 = 48 MP claimed, with almost no pixel data: decoding would fail as
    # "incomplete", so the megapixel message proves the check ran on the header alone.
    data = png_with_header_only(8000, 6000)
    assert len(data) < 100

    with pytest.raises(MediaError) as caught:
        validate_image(data)

    message = str(caught.value)
    assert "8000x6000 pixels (48 megapixels), over the 40 megapixel limit" in message
    assert "LINEUP_MAX_MEGAPIXELS" in message


def test_real_image_over_a_lowered_pixel_limit_is_rejected() -> None:
    data = encode(Image.new("RGB", (300, 200), RED), "PNG")

    with pytest.raises(MediaError) as caught:
        validate_image(data, max_pixels=50_000)

    message = str(caught.value)
    assert "300x200 pixels (0.06 megapixels), over the 0.05 megapixel limit" in message
    assert "LINEUP_MAX_MEGAPIXELS" in message
    assert validate_image(data, max_pixels=60_000).width == 300


def test_pillow_decompression_bomb_warning_is_treated_as_an_error() -> None:
    # Between Pillow's MAX_IMAGE_PIXELS and twice that, Pillow only warns.
    side = int((Image.MAX_IMAGE_PIXELS * 1.5) ** 0.5)
    data = png_with_header_only(side, side)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning leaking out would fail the test
        with pytest.raises(MediaError) as caught:
            validate_image(data, max_pixels=10**12)

    message = str(caught.value)
    assert "too large to decode safely" in message
    assert "decompression bomb" in message
    assert "LINEUP_MAX_MEGAPIXELS" in message


def test_pillow_decompression_bomb_error_is_a_media_error() -> None:
    data = png_with_header_only(100_000, 100_000)  # 10 gigapixels claimed in ~60 bytes

    with pytest.raises(MediaError, match="too large to decode safely"):
        validate_image(data, max_pixels=10**12)


def test_huge_claimed_dimensions_are_rejected_with_the_default_limit() -> None:
    with pytest.raises(MediaError, match="megapixel"):
        validate_image(png_with_header_only(65_535, 65_535))


def test_long_thin_image_within_the_pixel_limit_is_accepted() -> None:
    image = validate_image(encode(Image.new("L", (20_000, 2), 200), "PNG"))

    assert (image.width, image.height) == (20_000, 2)
    assert image.rgb().getpixel((19_999, 1)) == (200, 200, 200)


def test_validation_leaves_the_warning_filters_as_they_were() -> None:
    before = list(warnings.filters)

    validate_image(encode(Image.new("RGB", (4, 4), RED), "PNG"))
    with pytest.raises(MediaError):
        validate_image(png_with_header_only(100_000, 100_000))

    assert warnings.filters == before


# --- image files (the CLI's --image) ---------------------------------------------------------


def test_a_3_gb_file_is_refused_from_its_size_without_being_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as file:
        file.truncate(3 * 1024**3)  # sparse: no disk used, but 3 GB if read
    rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()

    with pytest.raises(MediaError) as caught:
        read_image_file(huge, max_bytes=20 * 1024 * 1024)

    assert time.perf_counter() - started < 1.0
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before_kb) / 1024
    assert rss_growth_mb < 100
    message = str(caught.value)
    assert "3072.0 MB, over the 20 MB upload limit" in message
    assert "LINEUP_MAX_UPLOAD_MB" in message


def test_an_image_file_within_the_limit_is_read_whole(tmp_path: Path) -> None:
    data = encode(Image.new("RGB", (30, 20), BLUE), "PNG")
    path = tmp_path / "blue.png"
    path.write_bytes(data)

    assert read_image_file(path, max_bytes=len(data)) == data
    with pytest.raises(MediaError, match="upload limit"):
        read_image_file(path, max_bytes=len(data) - 1)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "There is no file at this path"),
        (lambda p: (p.mkdir(), p)[1], "This is a folder"),
        (lambda p: (os.mkfifo(p), p)[1], "not a regular file"),
        (lambda p: (p.write_bytes(b"x"), p / "inside")[1], "cannot be opened"),
    ],
    ids=["missing", "folder", "fifo", "below-a-file"],
)
def test_a_path_that_is_not_a_readable_file_is_a_media_error(
    tmp_path: Path, make: object, message: str
) -> None:
    path = make(tmp_path / "image.png")  # type: ignore[operator]
    with pytest.raises(MediaError, match=message):
        read_image_file(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_a_media_error(tmp_path: Path) -> None:
    path = tmp_path / "secret.png"
    path.write_bytes(encode(Image.new("RGB", (4, 4), RED), "PNG"))
    path.chmod(0)
    with pytest.raises(MediaError, match="cannot be read .*Permission denied"):
        read_image_file(path)


def test_an_empty_image_file_gets_the_empty_file_message(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty \(0 bytes\)"):
        validate_image(read_image_file(path))
