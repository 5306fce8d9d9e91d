"""Turning uploaded bytes into the files we serve: Pillow for images, ffmpeg for video.

Pure functions of bytes, no database: they run outside any transaction (in the request's
worker thread for images, in the media job for video and GIF). Every way an upload can be
bad (a type we do not take, a truncated file, a decompression bomb, a video ffmpeg cannot
read) raises `Invalid` with a sentence for the user; nothing else is expected to escape.

* The type is decided by the file's first bytes, never by its name or the client's
  Content-Type: JPEG, PNG, WebP and GIF images; MP4/QuickTime and WebM/Matroska video.
  SVG, text and anything else is refused.
* Images: the pixel count is checked from the header before any pixel is decoded
  (`LIMITS.image_matrix`; Pillow's own DecompressionBombError stops anything larger still),
  the EXIF orientation is applied, and the stored files are re-encoded from pixels, so EXIF
  (GPS, camera serials) and other metadata are gone. The original is kept at most
  `LIMITS.original_pixels`, the preview at most `LIMITS.small_pixels`.
* Video and animated GIF: H.264 MP4 (yuv420p, faststart, no metadata; GIFs without sound),
  at most 1920 px on the long side and `LIMITS.video_frame_rate` fps, with an output size
  cap (`-fs`) and a wall-clock limit (`LIMITS.ffmpeg_seconds`); the preview is its first
  frame as a JPEG.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blurhash
from PIL import Image, ImageOps

from aloft.errors import Invalid

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What an upload may be; reported in the instance's configuration.media_attachments."""

    image_size: int = 16 * MB
    video_size: int = 40 * MB
    image_matrix: int = 33_177_600  # pixels decoded at most (7680x4320)
    video_matrix: int = 8_294_400  # 3840x2160
    video_frame_rate: int = 60
    original_pixels: int = 8_294_400  # a stored image is at most 3840x2160's worth
    small_pixels: int = 230_400  # previews at most 640x360's worth
    video_edge: int = 1920  # longest side of a stored video
    video_seconds: int = 600  # longest stored video
    ffmpeg_seconds: float = 120.0  # wall-clock limit of one ffmpeg run
    description: int = 1_500
    attachments: int = 4  # per status


LIMITS = Limits()

# At most this many decodes or conversions at once per process: a 33-megapixel image takes
# ~100 MB decoded and more while resized, and the server has a thread per request.
SLOTS = threading.BoundedSemaphore(2)

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
}
DEMUXERS = {
    "video/mp4": "mov",
    "video/quicktime": "mov",
    "video/webm": "matroska",
    "image/gif": "gif",
}
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
BAD_TYPE = (
    "Validation failed: File content type is invalid (allowed: JPEG, PNG, WebP, GIF, MP4, "
    "WebM, MOV)"
)
UNREADABLE = "Validation failed: the file could not be read as {kind} (damaged or truncated?)"


@dataclass
class Variant:
    content_type: str
    data: bytes


@dataclass
class Processed:
    """The files to store and what the entity says about them."""

    type: str  # image, gifv, video
    files: dict[str, Variant]  # "original", "small"
    meta: dict[str, Any] = field(default_factory=dict)
    blurhash: str | None = None


def sniff(data: bytes) -> str | None:
    """The media type of `data` from its first bytes, or None if it is none we take."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def size_limit(content_type: str) -> int:
    return LIMITS.image_size if content_type in IMAGE_TYPES else LIMITS.video_size


def geometry(width: int, height: int) -> dict[str, Any]:
    return {
        "width": width,
        "height": height,
        "size": f"{width}x{height}",
        "aspect": width / height if height else 1.0,
    }


# -- images ----------------------------------------------------------------------------------


def _open(data: bytes, content_type: str) -> Image.Image:
    """Open (headers only) and check the pixel count before anything is decoded."""
    kind = content_type.split("/")[1].upper()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[PIL_FORMATS[content_type]])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Invalid(_too_many_pixels()) from None
        except (OSError, ValueError, SyntaxError):
            raise Invalid(UNREADABLE.format(kind=kind)) from None
    if image.width * image.height > LIMITS.image_matrix or min(image.size) < 1:
        raise Invalid(_too_many_pixels())
    return image


def _too_many_pixels() -> str:
    return f"Validation failed: images may have at most {LIMITS.image_matrix} pixels"


def is_animated(data: bytes, content_type: str) -> bool:
    """Whether an image has more than one frame (an animated GIF is stored as video)."""
    return bool(getattr(_open(data, content_type), "is_animated", False))


def _fit(image: Image.Image, pixels: int) -> Image.Image:
    width, height = image.size
    if width * height <= pixels:
        return image
    scale = math.sqrt(pixels / (width * height))
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _encode(image: Image.Image, content_type: str) -> bytes:
    """Pixels only: no EXIF, XMP or comments are written (Pillow writes metadata only when
    asked), the colour profile is kept so colours stay right."""
    out = io.BytesIO()
    icc = image.info.get("icc_profile")
    extra: dict[str, Any] = {"icc_profile": icc} if icc else {}
    if content_type == "image/jpeg":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, **extra)
    elif content_type == "image/webp":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, "WEBP", quality=90, **extra)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, "PNG", **extra)
    return out.getvalue()


def _blurhash(image: Image.Image) -> str:
    small = image.convert("RGB")
    small.thumbnail((64, 64))
    return str(blurhash.encode(small, 4, 4))


def image(data: bytes, content_type: str) -> Processed:
    """A still image: oriented, stripped, resized original and a small preview."""
    with SLOTS:
        return _image(data, content_type)


def _image(data: bytes, content_type: str) -> Processed:
    source = _open(data, content_type)
    kind = content_type.split("/")[1].upper()
    try:
        source.load()
        oriented = ImageOps.exif_transpose(source)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise Invalid(UNREADABLE.format(kind=kind)) from None
    stored_type = "image/png" if content_type == "image/gif" else content_type
    if stored_type == "image/png" and oriented.mode == "P":
        oriented = oriented.convert("RGBA")  # the resampling filters need real colours
    original = _fit(oriented, LIMITS.original_pixels)
    small = _fit(oriented, LIMITS.small_pixels)
    return Processed(
        type="image",
        files={
            "original": Variant(stored_type, _encode(original, stored_type)),
            "small": Variant(stored_type, _encode(small, stored_type)),
        },
        meta={"original": geometry(*original.size), "small": geometry(*small.size)},
        blurhash=_blurhash(small),
    )


def cropped(data: bytes, content_type: str, size: tuple[int, int]) -> Variant:
    """A still image cropped to `size`'s proportions about its centre and scaled to exactly
    `size` (Mastodon's "400x400#" geometry for avatars): oriented and stripped like any
    image, the first frame of an animated one, stored as its own type (a GIF as PNG)."""
    with SLOTS:
        source = _open(data, content_type)
        kind = content_type.split("/")[1].upper()
        try:
            source.seek(0)
            source.load()
            oriented = ImageOps.exif_transpose(source)
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
            raise Invalid(UNREADABLE.format(kind=kind)) from None
        stored_type = "image/png" if content_type == "image/gif" else content_type
        if oriented.mode not in ("RGB", "RGBA", "L"):
            oriented = oriented.convert("RGBA")  # the resampling filters need real colours
        fitted = ImageOps.fit(oriented, size, Image.Resampling.LANCZOS)
        return Variant(stored_type, _encode(fitted, stored_type))


# -- video and GIF ---------------------------------------------------------------------------


# How long an answer of ffmpeg_missing stands: the instance entity asks on every request,
# and two PATH searches were 5 % of /api/v1/instance (issue 11); an operator who installs
# ffmpeg sees video accepted within this, without a restart.
FFMPEG_CHECK_SECONDS = 60.0
_ffmpeg_checked: tuple[float, str | None] | None = None


def ffmpeg_missing() -> str | None:
    """None if ffmpeg and ffprobe are installed, else why video cannot be taken (looked up
    at most once every FFMPEG_CHECK_SECONDS)."""
    global _ffmpeg_checked
    now = time.monotonic()
    if _ffmpeg_checked is not None and now - _ffmpeg_checked[0] < FFMPEG_CHECK_SECONDS:
        return _ffmpeg_checked[1]
    missing = None
    if not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
        missing = "Validation failed: this server cannot take video or animated GIFs (no ffmpeg)"
    _ffmpeg_checked = (now, missing)
    return missing


def _run(argv: list[str], what: str) -> bytes:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=LIMITS.ffmpeg_seconds, check=False)
    except subprocess.TimeoutExpired:
        raise Invalid(f"Validation failed: {what} took longer than allowed") from None
    if done.returncode != 0:
        raise Invalid(f"Validation failed: the file could not be read as {what}")
    return done.stdout


def _input(content_type: str, path: Path) -> list[str]:
    """ffmpeg's input options: the demuxer our sniffing chose, never one ffmpeg guesses
    from the content (a playlist dressed up as a video could make it open other files or
    URLs), and local files only."""
    return ["-f", DEMUXERS[content_type], "-protocol_whitelist", "file", "-i", str(path)]


def probe(path: Path, content_type: str = "video/mp4") -> dict[str, Any]:
    """ffprobe's view of a video: its first video stream and the format."""
    argv = ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format"]
    out = _run([*argv, *_input(content_type, path)], "video")
    try:
        info = json.loads(out)
    except ValueError:
        raise Invalid("Validation failed: the file could not be read as video") from None
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "video"]
    if not streams or not streams[0].get("width") or not streams[0].get("height"):
        raise Invalid("Validation failed: the file has no video in it")
    return {"video": streams[0], "format": info.get("format", {})}


def check_video(data: bytes, content_type: str) -> None:
    """Refuse at upload what ffmpeg cannot read, or a frame larger than the limit."""
    with tempfile.TemporaryDirectory(prefix="aloft-media-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        video = probe(path, content_type)["video"]
    if int(video["width"]) * int(video["height"]) > LIMITS.video_matrix:
        limit = LIMITS.video_matrix
        raise Invalid(f"Validation failed: video frames may have at most {limit} pixels")


def video(data: bytes, content_type: str) -> Processed:
    """An MP4 (H.264) of an uploaded video or animated GIF (stored as gifv, without sound),
    and its first frame as preview."""
    with SLOTS:
        return _video(data, content_type)


def _video(data: bytes, content_type: str) -> Processed:
    gifv = content_type == "image/gif"
    edge = LIMITS.video_edge
    scale = (
        f"scale=w='min({edge},iw)':h='min({edge},ih)'"
        ":force_original_aspect_ratio=decrease:force_divisible_by=2"
    )
    with tempfile.TemporaryDirectory(prefix="aloft-media-") as folder:
        source, target = Path(folder) / "upload", Path(folder) / "out.mp4"
        source.write_bytes(data)
        argv = ["ffmpeg", "-nostdin", "-v", "error", "-y", *_input(content_type, source)]
        argv += ["-map_metadata", "-1", "-map", "0:v:0"]
        argv += ["-an"] if gifv else ["-map", "0:a:0?", "-c:a", "aac", "-b:a", "128k"]
        argv += ["-vf", scale, "-fpsmax", str(LIMITS.video_frame_rate)]
        argv += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
        argv += ["-maxrate", "2500k", "-bufsize", "5000k", "-movflags", "+faststart"]
        argv += ["-t", str(LIMITS.video_seconds), "-fs", str(LIMITS.video_size), str(target)]
        _run(argv, "video")
        info = probe(target)
        first_frame = ["-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"]
        own = _input("video/mp4", target)
        frame = _run(["ffmpeg", "-nostdin", "-v", "error", *own, *first_frame], "video")
        mp4 = target.read_bytes()
    stream, form = info["video"], info["format"]
    width, height = int(stream["width"]), int(stream["height"])
    original: dict[str, Any] = {"width": width, "height": height}
    if stream.get("avg_frame_rate") not in (None, "0/0"):
        original["frame_rate"] = stream["avg_frame_rate"]
    if form.get("duration"):
        original["duration"] = round(float(form["duration"]), 3)
    if form.get("bit_rate"):
        original["bitrate"] = int(form["bit_rate"])
    still = Image.open(io.BytesIO(frame), formats=["PNG"])
    still.load()
    small = _fit(still.convert("RGB"), LIMITS.small_pixels)
    meta: dict[str, Any] = {
        "original": original,
        "small": geometry(*small.size),
        "width": width,
        "height": height,
        "size": f"{width}x{height}",
        "aspect": width / height,
    }
    if "duration" in original:
        meta["duration"] = original["duration"]
    return Processed(
        type="gifv" if gifv else "video",
        files={
            "original": Variant("video/mp4", mp4),
            "small": Variant("image/jpeg", _encode(small, "image/jpeg")),
        },
        meta=meta,
        blurhash=_blurhash(small),
    )
