"""FFHQ-style alignment: the geometry, the padding, and faces of every source framed alike."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bot.photos.align import align_face, face_square, to_aligned, wedge_mask
from bot.photos.decode import decode_photo
from bot.photos.framing import CANONICAL, measure_framing
from bot.photos.hashing import hamming, perceptual_hash, same_picture, thumbnail
from bot.photos.landmarks import find_face
from bot.photos.reasons import NO_FACE, NOT_AN_IMAGE, TOO_LARGE, UNREADABLE, PhotoRejected
from bot.photos.split import HELDOUT, TRAIN, split_for
from tests.photo_samples import SOURCES, jpeg_bytes, needs_faces, no_face_photo, png_bomb, shared_photos, \
    truncated_jpeg


def synthetic_landmarks(eye_distance: float, eye_to_mouth: float, centre=(300.0, 200.0), angle=0.0) -> np.ndarray:
    """68 points where only the eyes (36-47) and mouth corners (48, 54) matter."""
    points = np.zeros((68, 2))
    d, m = eye_distance / 2, eye_to_mouth
    local = {range(36, 42): (-d, 0.0), range(42, 48): (d, 0.0)}
    for indices, (x, y) in local.items():
        points[list(indices)] = (x, y)
    points[48], points[54] = (-d * 0.8, m), (d * 0.8, m)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return points @ turn.T + centre


def test_square_follows_the_recipe() -> None:
    square = face_square(synthetic_landmarks(60, 60))
    assert square.side == pytest.approx(4 * 60)  # 2x eye distance wins over 1.8x eye-to-mouth
    assert square.c == pytest.approx([300, 206])  # a tenth of eye-to-mouth below the eyes
    long_face = face_square(synthetic_landmarks(40, 60))
    assert long_face.side == pytest.approx(2 * 1.8 * 60)


@pytest.mark.parametrize("angle", [0.0, 0.3, -0.5])
def test_eyes_and_mouth_land_on_the_canonical_places(angle: float) -> None:
    landmarks = synthetic_landmarks(50, 50, angle=angle)
    mouth = (landmarks[48] + landmarks[54]) / 2
    points = np.stack([landmarks[36:42].mean(0), landmarks[42:48].mean(0), mouth])
    landed = (to_aligned(points, face_square(landmarks), 256) + 0.5) / 256
    assert landed == pytest.approx(CANONICAL, abs=1e-9)


def test_a_rotated_photo_is_turned_upright() -> None:
    # Two dark eyes and a mouth drawn on a tilted, textured card: the aligned face has them level.
    landmarks = synthetic_landmarks(40, 40, centre=(100, 100), angle=0.4)
    rng = np.random.default_rng(1)
    rgb = rng.integers(90, 160, (200, 200, 3), dtype=np.uint8)
    for x, y in np.stack([landmarks[36], landmarks[42]]).round().astype(int):
        rgb[y - 3:y + 4, x - 3:x + 4] = 0
    face, square = align_face(rgb, landmarks, 128)
    grey = np.asarray(face.convert("L"), dtype=float)
    dark = np.argwhere(grey < 40)
    rows = [dark[dark[:, 1] < 64][:, 0].mean(), dark[dark[:, 1] >= 64][:, 0].mean()]
    assert abs(rows[0] - rows[1]) < 2.0 and abs(rows[0] - CANONICAL[0, 1] * 128) < 3.0


@needs_faces
def test_padding_is_reflected_and_blurred_not_black() -> None:
    path = shared_photos("utkface-crop", 1, 7)[0]  # a tight crop: the square leaves it on every side
    rgb = np.asarray(decode_photo(path.read_bytes()))
    face, _ = align_face(rgb, find_face(rgb).landmarks, 256)
    pixels = np.asarray(face, dtype=float)
    corners = [pixels[:16, :16], pixels[:16, -16:], pixels[-16:, :16], pixels[-16:, -16:]]
    assert all(c.mean() > 25 for c in corners)  # never black
    assert all(c.std() < pixels[96:160, 96:160].std() for c in corners)  # smoother than the face


@needs_faces
def test_rotation_wedges_are_filled() -> None:
    for path in shared_photos("all-age-faces", 40):
        rgb = np.asarray(decode_photo(path.read_bytes()))
        if wedge_mask(rgb).mean() > 0.05:
            break
    else:
        pytest.fail("no All-Age-Faces photo with black corners in the sample")
    face, _ = align_face(rgb, find_face(rgb).landmarks, 256)
    assert (np.asarray(face).max(axis=2) <= 10).mean() < 0.002


@needs_faces
@pytest.mark.parametrize("source", SOURCES)
def test_every_source_is_framed_alike(source: str, tmp_path) -> None:
    """Landmarks found again on aligned faces: mean eyes and mouth within 2% of the canonical places."""
    paths = []
    for index, path in enumerate(shared_photos(source, 10, 120)):
        rgb = np.asarray(decode_photo(path.read_bytes()))
        try:
            face, _ = align_face(rgb, find_face(rgb).landmarks, 256)
        except PhotoRejected:
            continue  # the odd photo without a findable face
        paths.append(tmp_path / f"{index}.png")
        face.save(paths[-1])
    framing = measure_framing(paths)
    assert framing.measured >= 8
    assert framing.worst_offset < 0.02, framing.mean


def test_decode_rejects_bad_files() -> None:
    with pytest.raises(PhotoRejected) as rejected:
        decode_photo(png_bomb())
    assert rejected.value.reason == TOO_LARGE
    with pytest.raises(PhotoRejected) as rejected:
        decode_photo(b"hello, I am text")
    assert rejected.value.reason == NOT_AN_IMAGE
    with pytest.raises(PhotoRejected) as rejected:
        decode_photo(jpeg_bytes(no_face_photo())[:400])
    assert rejected.value.reason == UNREADABLE


@pytest.mark.parametrize("kind", ["EPS", "PPM", "TGA"])
def test_decode_takes_photo_formats_only(kind: str) -> None:
    # An EPS named .jpg would go to Ghostscript where it is installed: only photo formats are opened.
    buffer = io.BytesIO()
    no_face_photo(64).save(buffer, format=kind)
    with pytest.raises(PhotoRejected) as rejected:
        decode_photo(buffer.getvalue())
    assert rejected.value.reason == NOT_AN_IMAGE


def test_decode_takes_every_photo_format() -> None:
    for kind in ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF"):
        buffer = io.BytesIO()
        no_face_photo(64).save(buffer, format=kind)
        assert decode_photo(buffer.getvalue()).size == (64, 64), kind


@needs_faces
def test_truncated_photo_is_unreadable() -> None:
    with pytest.raises(PhotoRejected) as rejected:
        decode_photo(truncated_jpeg(shared_photos("celeba-6k", 1)[0]))
    assert rejected.value.reason == UNREADABLE


def test_no_face_found_in_a_landscape() -> None:
    with pytest.raises(PhotoRejected) as rejected:
        find_face(np.asarray(no_face_photo()))
    assert rejected.value.reason == NO_FACE


def test_perceptual_hash_and_thumbnails() -> None:
    image = no_face_photo()
    shifted = Image.eval(image, lambda v: min(255, v + 12))  # brighter copy
    assert hamming(np.array([perceptual_hash(image)], dtype=np.int64), perceptual_hash(shifted))[0] <= 4
    assert same_picture(thumbnail(image), thumbnail(shifted))
    assert not same_picture(thumbnail(image), thumbnail(image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)))


def test_split_is_seeded_by_identity_or_photo() -> None:
    hashes = [f"{i:064x}" for i in range(2000)]
    splits = [split_for("p", None, h, 0.1, 0) for h in hashes]
    assert 0.07 < splits.count(HELDOUT) / len(splits) < 0.13
    assert splits == [split_for("p", None, h, 0.1, 0) for h in hashes]  # deterministic
    assert splits != [split_for("p", None, h, 0.1, 1) for h in hashes]  # the seed matters
    assert len({split_for("p", "celeb_7", h, 0.5, 0) for h in hashes}) == 1  # one identity, one side
    assert split_for("p", None, hashes[0], 0.0) == TRAIN and split_for("p", None, hashes[0], 1.0) == HELDOUT


def test_contact_sheet_skips_a_missing_face(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.photos.framing import contact_sheet

    face = tmp_path / "face.png"
    no_face_photo(64).save(face)
    out = contact_sheet({"pack": [face, tmp_path / "gone.png"]}, tmp_path / "sheet.png", thumb=32)
    with Image.open(out) as sheet:
        assert sheet.size == (140 + 2 * 32, 32)
