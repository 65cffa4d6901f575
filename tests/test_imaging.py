"""The quiz image pipeline leaks nothing: real and generated faces come out indistinguishable
by size, dimensions, format, header bytes, metadata and name."""
from __future__ import annotations

import io
from collections import Counter, defaultdict

import pytest
from PIL import Image

from bot.imaging import QUIZ_QUALITY, face_png, pad_jpeg, quiz_image, quiz_length, to_quiz_pixels
from bot.texts import AI_NOTICE
from tests.fakes import DrawnFaceModel
from tests.photo_samples import SOURCES, needs_faces, noise_image, shared_photos

SIZE = 512


def segments(data: bytes) -> list[tuple[int, bytes]]:
    """The JPEG's marker segments up to and including the scan header: (marker, body)."""
    assert data[:2] == b"\xff\xd8"
    out, at = [], 2
    while True:
        marker = data[at + 1]
        length = int.from_bytes(data[at + 2:at + 4], "big")
        out.append((marker, data[at + 4:at + 2 + length]))
        at += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return out


def header(data: bytes) -> bytes:
    """Every byte before the image data."""
    return data[:sum(4 + len(body) for _, body in segments(data)) + 2]


def real_faces(count_per_source: int = 4) -> list[Image.Image]:
    faces = []
    for source in SOURCES:
        for path in shared_photos(source, count_per_source, 200):
            with Image.open(path) as image:
                # Real quiz photos are stored aligned at 256 px; any real picture will do here.
                faces.append(image.convert("RGB").resize((256, 256)))
    return faces


def fake_faces(count: int) -> list[Image.Image]:
    return DrawnFaceModel(resolution=128).generate(list(range(count)), 0.7)


def stump_accuracy(features: list[tuple], labels: list[int]) -> float:
    """A decision stump: learn, on the first half, the majority label per value of each feature;
    keep the feature that does best there; report its accuracy on the second half."""
    half = len(labels) // 2
    fallback = Counter(labels[:half]).most_common(1)[0][0]

    def rule(column: int) -> dict[object, int]:
        table: dict[object, Counter[int]] = defaultdict(Counter)
        for feature, label in zip(features[:half], labels[:half]):
            table[feature[column]][label] += 1
        return {value: counts.most_common(1)[0][0] for value, counts in table.items()}

    def accuracy(table: dict[object, int], column: int, part: slice) -> float:
        pairs = list(zip(features[part], labels[part]))
        return sum(table.get(f[column], fallback) == label for f, label in pairs) / len(pairs)

    best = max(range(len(features[0])), key=lambda c: accuracy(rule(c), c, slice(0, half)))
    return accuracy(rule(best), best, slice(half, None))


@needs_faces
def test_real_and_generated_quiz_images_are_indistinguishable() -> None:
    real, fake = real_faces(), fake_faces(12)
    posted = [quiz_image(image, SIZE) for image in real + fake]
    labels = [1] * len(real) + [0] * len(fake)

    lengths = {len(p.data) for p in posted}
    assert lengths == {quiz_length(SIZE)}
    headers = {header(p.data) for p in posted}
    assert len(headers) == 1  # byte for byte: same tables, same JFIF header, no length that varies
    for p in posted:
        with Image.open(io.BytesIO(p.data)) as image:
            assert (image.format, image.size, image.mode) == ("JPEG", (SIZE, SIZE), "RGB")
            assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
            assert not image.getexif()
        markers = [marker for marker, _ in segments(p.data)]
        assert 0xFE not in markers and not [m for m in markers if 0xE1 <= m <= 0xEF]  # no comment, no APPn
        assert p.mime == "image/jpeg" and len(p.filename) == len("0123456789abcdef.jpg")
    assert len({p.filename for p in posted}) == len(posted)

    features = [(len(p.data), *Image.open(io.BytesIO(p.data)).size, header(p.data), p.data[-64:])
                for p in posted]
    # Interleave so both halves hold both kinds equally.
    order = [i for pair in zip(range(len(real)), range(len(real), len(posted))) for i in pair]
    accuracy = stump_accuracy([features[i] for i in order], [labels[i] for i in order])
    assert accuracy == pytest.approx(0.5)

    # The same classifier does tell them apart when the pipeline is unfair (plain re-encodes).
    unfair = []
    for image in real + fake:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=QUIZ_QUALITY, optimize=True)
        unfair.append((*image.size, header(buffer.getvalue())))
    assert stump_accuracy([unfair[i] for i in order], [labels[i] for i in order]) > 0.9


def test_padding_changes_no_pixel() -> None:
    face = fake_faces(1)[0]
    posted = quiz_image(face, 256)
    buffer = io.BytesIO()
    to_quiz_pixels(face, 256).save(buffer, format="JPEG", quality=QUIZ_QUALITY, subsampling="4:2:0")
    with Image.open(io.BytesIO(posted.data)) as padded, Image.open(buffer) as plain:
        assert padded.tobytes() == plain.tobytes()


def test_every_source_size_reaches_the_same_detail() -> None:
    # A 256 px real photo and the same face at 128 px (the generator's size) post identically.
    big = fake_faces(1)[0].resize((256, 256), Image.Resampling.BICUBIC)
    small = big.resize((128, 128), Image.Resampling.LANCZOS)
    assert to_quiz_pixels(big, SIZE).tobytes() == to_quiz_pixels(small, SIZE).tobytes()


def test_metadata_of_the_source_never_reaches_the_post() -> None:
    image = fake_faces(1)[0]
    image.info.update({"comment": b"REAL photo from pack x", "dpi": (300, 300), "icc_profile": b"fake"})
    data = quiz_image(image, 256).data
    assert b"REAL" not in data and b"fake" not in data
    assert len(data) == quiz_length(256)


def test_a_too_detailed_picture_still_gets_the_fixed_length() -> None:
    # Noise at full detail does not fit at the usual quality: re-encoded lower, same length.
    posted = quiz_image(noise_image(128), 128, detail=128)
    assert len(posted.data) == quiz_length(128)
    with Image.open(io.BytesIO(posted.data)) as image:
        image.load()


def test_pad_jpeg_refuses_what_it_cannot_do() -> None:
    data = quiz_image(fake_faces(1)[0], 128).data
    with pytest.raises(ValueError):
        pad_jpeg(data, len(data) - 1)
    with pytest.raises(ValueError):
        pad_jpeg(b"\xff\xd8 no end", 100)


def test_face_png_says_it_is_generated() -> None:
    posted = face_png(fake_faces(1)[0], 256)
    with Image.open(io.BytesIO(posted.data)) as image:
        assert image.size == (256, 256) and image.text["Description"] == AI_NOTICE
    assert posted.mime == "image/png" and posted.filename.endswith(".png")
