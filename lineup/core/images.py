"""Check that uploaded bytes are an image Lineup can use, judged by content, not by name."""

from __future__ import annotations

import hashlib
import io
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from lineup.core.i18n import ENGLISH, _, current_language, number

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
ACCEPTED_NAMES = "PNG, JPEG, WebP or GIF"
SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "GIF": ".gif"}
# Pillow names a JPEG that carries a multi-picture index (many phone cameras write one) "MPO";
# its first picture is an ordinary JPEG, and the upload is one to the user.
FORMAT_ALIASES = {"MPO": "JPEG"}

DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # LINEUP_MAX_UPLOAD_MB in lineup.core.settings
DEFAULT_MAX_PIXELS = 40_000_000

_MIB = 1024 * 1024
_WHITE = (255, 255, 255)


class MediaError(ValueError):
    """An upload Lineup cannot use; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class ValidatedImage:
    data: bytes
    format: str
    width: int
    height: int
    sha256: str
    suffix: str
    # Decoded once by validate_image; kept so rgb() and png_bytes() never decode again.
    _rgb: Image.Image = field(compare=False, repr=False)

    def rgb(self) -> Image.Image:
        """The picture as shown: EXIF orientation applied, RGB, first frame of a GIF.

        A copy, so a caller that draws on it cannot change what others see.
        """
        return self._rgb.copy()

    def png_bytes(self, max_side: int | None = None) -> bytes:
        """An RGB PNG of the picture, shrunk (aspect kept) so its longest side <= max_side."""
        image = self._rgb
        if max_side is not None:
            if max_side < 1:
                raise ValueError(f"max_side must be at least 1, not {max_side}.")
            longest_side = max(image.width, image.height)
            if longest_side > max_side:
                scale = max_side / longest_side
                size = (
                    max(1, round(image.width * scale)),
                    max(1, round(image.height * scale)),
                )
                image = image.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header says, read without decoding a pixel."""

    format: str  # one of ACCEPTED_FORMATS
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def image_header(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageHeader:
    """The image's format and size from its header alone, with the checks validate_image makes
    before decoding (size, format, pixels); MediaError says what to fix. Cheap: a question set
    adds up its images' pixels with it before any is decoded."""
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice that; an upload that big is refused.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image, header = _open(data, max_bytes, max_pixels)
        image.close()
    return header


def validate_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ValidatedImage:
    """Return the upload as a ValidatedImage, or raise MediaError saying what to fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image, header = _open(data, max_bytes, max_pixels)
        with image:
            try:
                image.load()
                rgb_image = _to_rgb(_upright(image))
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise _bomb_error(exc, max_pixels) from exc
            except Exception as exc:  # Truncated or corrupt data: OSError, SyntaxError, ...
                raise MediaError(
                    _(
                        "The image is damaged or incomplete: it could not be fully decoded "
                        "({reason}). It may have been cut off during upload or download; save "
                        "or export it again and upload the new file."
                    ).format(reason=exc)
                ) from exc

    return ValidatedImage(
        data=data,
        format=header.format,
        width=rgb_image.width,
        height=rgb_image.height,
        sha256=hashlib.sha256(data).hexdigest(),
        suffix=SUFFIXES[header.format],
        _rgb=rgb_image,
    )


def _open(data: bytes, max_bytes: int, max_pixels: int) -> tuple[Image.Image, ImageHeader]:
    """The image opened (its header read, no pixel decoded) and checked; the caller closes it."""
    if not data:
        raise MediaError(
            _("The file is empty (0 bytes). Upload a {formats} image.").format(
                formats=ACCEPTED_NAMES
            )
        )
    if len(data) > max_bytes:
        raise too_big(len(data), max_bytes)
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise MediaError(
            _("This file is not an image Lineup can read. Upload a {formats} image.").format(
                formats=ACCEPTED_NAMES
            )
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb_error(exc, max_pixels) from exc
    except Exception as exc:  # Pillow's plugins raise many types on a malformed header.
        raise MediaError(
            _(
                "The image header is damaged ({reason}). Save or export the image again as "
                "{formats} and upload it again."
            ).format(reason=exc, formats=ACCEPTED_NAMES)
        ) from exc
    detected = FORMAT_ALIASES.get(image.format or "", image.format or "unknown")
    width, height = image.size
    if detected not in ACCEPTED_FORMATS:
        image.close()
        raise MediaError(
            _(
                "{format} images are not supported. Accepted formats: {formats}. Convert the "
                "image (for example, save it as PNG) and upload it again."
            ).format(format=detected, formats=ACCEPTED_NAMES)
        )
    if width * height > max_pixels:
        image.close()
        raise MediaError(
            _(
                "The image is {width}x{height} pixels ({megapixels} megapixels), over the "
                "{limit} megapixel limit. Resize it, or raise the limit with the "
                "LINEUP_MAX_MEGAPIXELS environment variable."
            ).format(
                width=width,
                height=height,
                megapixels=_megapixels(width * height),
                limit=_megapixels(max_pixels),
            )
        )
    return image, ImageHeader(detected, width, height)


def read_image_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of an image file, its size checked from the file system before it is read.

    Raises MediaError for a missing, unreadable, empty or too large file, or a path that is
    not a regular file (a folder, a pipe, a device), so a huge file is never read into memory.
    The messages do not repeat the path: the caller puts it in front. Pass the bytes to
    validate_image.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise MediaError(_("There is no file at this path.")) from None
    except OSError as exc:
        raise MediaError(
            _("The file cannot be opened ({reason}).").format(reason=exc.strerror or exc)
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise MediaError(
            _("This is a folder. Give the path of a {formats} image.").format(
                formats=ACCEPTED_NAMES
            )
        )
    if not stat.S_ISREG(info.st_mode):
        raise MediaError(
            _(
                "This is not a regular file (a pipe or a device?). Give the path of a "
                "{formats} image."
            ).format(formats=ACCEPTED_NAMES)
        )
    if info.st_size > max_bytes:
        raise too_big(info.st_size, max_bytes)
    try:
        with path.open("rb") as file:
            # The file may have grown since stat(): never read more than the limit allows.
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise MediaError(
            _("The file cannot be read ({reason}).").format(reason=exc.strerror or exc)
        ) from None
    if len(data) > max_bytes:
        raise too_big(len(data), max_bytes)
    return data  # an empty file is refused by validate_image, with the same message as uploads


def too_big(size_bytes: int, max_bytes: int) -> MediaError:
    """The one wording of a file over the size limit."""
    return MediaError(
        _(
            "The file is {megabytes} MB, over the {limit} MB upload limit. Use a smaller or "
            "more compressed image, or raise the limit with the LINEUP_MAX_UPLOAD_MB "
            "environment variable."
        ).format(megabytes=number(size_bytes / _MIB, 1), limit=_decimal(max_bytes / _MIB))
    )


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; as stored if the EXIF block is unreadable."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # A broken EXIF block should not cost the user an otherwise good photo.
        return image.copy()


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any decoded mode to 8-bit RGB; transparency is laid over white, as a viewer shows it."""
    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        # 16-bit greyscale (how Pillow opens 16-bit PNGs). A plain convert("L") clips every
        # value above 255 to white, so scale 0..65535 down to 0..255 first.
        image = image.convert("I").point(lambda value: value * (1 / 257) + 0.5).convert("L")

    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "RGB":
        return image
    return image.convert("RGB")


def _bomb_error(exc: Exception, max_pixels: int) -> MediaError:
    pillow_limit = Image.MAX_IMAGE_PIXELS
    if pillow_limit:
        message = _(
            "The image claims to be too large to decode safely ({reason}). Lineup accepts up "
            "to {limit} megapixels (LINEUP_MAX_MEGAPIXELS). Pillow itself refuses images over "
            "{pillow_limit} megapixels. Resize the image and upload it again."
        )
    else:
        message = _(
            "The image claims to be too large to decode safely ({reason}). Lineup accepts up "
            "to {limit} megapixels (LINEUP_MAX_MEGAPIXELS). Resize the image and upload it "
            "again."
        )
    return MediaError(
        message.format(
            reason=exc,
            limit=_megapixels(max_pixels),
            pillow_limit=_megapixels(pillow_limit or 0),
        )
    )


def _decimal(value: float) -> str:
    """Three significant digits ("40", "0.5"), the decimal sign the language's."""
    text = f"{value:.3g}"
    return text if current_language() == ENGLISH else text.replace(".", ",")


def _megapixels(pixels: float) -> str:
    return _decimal(pixels / 1_000_000)
