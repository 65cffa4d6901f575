"""Frames to animation files: MP4 (H.264, no sound) for Telegram's sendAnimation, GIF for Discord
and the playground.

The encoder is PyAV (`av`): its wheels carry FFmpeg with libx264, so H.264 needs no system
ffmpeg and no subprocess; frames go from numpy to the encoder in memory. GIF comes from Pillow
(already a dependency): Discord and browsers play it inline everywhere, looping.
Both files say they are AI-made in their metadata (MP4 `comment`/`description`, GIF comment).
"""
from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
from PIL import Image

MP4_MIME, GIF_MIME = "video/mp4", "image/gif"


FULL_RANGE = 2  # FFmpeg's AVCOL_RANGE_JPEG: luma 0-255, as the frames have it
MP4_CRF = 14  # the highest CRF at which every frame kept the watermark, with a level to spare (docs/editing.md)


def mp4(frames: list[Image.Image], fps: int, note: str, crf: int = MP4_CRF) -> bytes:
    """H.264 in MP4, yuv420p (what every player takes), full range and flagged so. The invisible
    watermark lives in the luma: squeezing it into the video range (16-235) and back already loses
    it, so the frames keep their full range, and the quality is one the mark survives. (No
    faststart: it reopens the output by name, which an in-memory file has not; the files are small
    enough to load whole.)"""
    if not frames:
        raise ValueError("no frames to encode")
    width, height = frames[0].size
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        container.metadata["comment"] = note
        container.metadata["description"] = note
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = width - width % 2, height - height % 2  # 4:2:0 needs even sides
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        stream.codec_context.color_range = FULL_RANGE
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.asarray(image.convert("RGB"))[:stream.height, :stream.width],
                                               format="rgb24").reformat(format="yuv420p", dst_color_range=FULL_RANGE)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def gif(frames: list[Image.Image], fps: int, note: str) -> bytes:
    """A looping GIF: one 256-colour palette for all frames (no flicker between frames)."""
    if not frames:
        raise ValueError("no frames to encode")
    strip = Image.new("RGB", (frames[0].width, frames[0].height * len(frames)))
    for index, image in enumerate(frames):
        strip.paste(image.convert("RGB"), (0, index * frames[0].height))
    palette = strip.quantize(256, method=Image.Quantize.MEDIANCUT)
    quantized = [image.convert("RGB").quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)
                 for image in frames]
    buffer = io.BytesIO()
    quantized[0].save(buffer, "GIF", save_all=True, append_images=quantized[1:], loop=0,
                      duration=round(1000 / fps), comment=note.encode(), optimize=False, disposal=1)
    return buffer.getvalue()


def mp4_frames(data: bytes) -> list[Image.Image]:
    """Decode an MP4 back to frames (for checks and tests)."""
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]
