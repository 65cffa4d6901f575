"""Provenance: the watermark survives platform edits, quiz images stay unmarked, /face files carry
valid Content Credentials, `figment check` answers every kind of input, bad keys stop the start."""
from __future__ import annotations

import io
import json
import zlib
from pathlib import Path
from typing import Iterator

import c2pa
import pytest
from PIL import Image
from typer.testing import CliRunner

from bot.app import Figment
from bot.cli import app as cli
from bot.faces import FaceService
from bot.provenance import bench, watermark
from bot.provenance.check import CheckRefused, check_image
from bot.provenance.credentials import TRAINED_ALGORITHMIC_MEDIA, CredentialsError, load
from bot.provenance.keys import make_test_pair
from bot.provenance.marking import FaceMarks
from bot.refs import PlayerRef
from bot.quiz.next_image import RoundImages
from generator.serving.direct import DirectSource
from tests.conftest import make_settings
from tests.fakes import DrawnFaceModel

ALICE = PlayerRef("test", "1", "Alice")
REAL_PHOTOS = Path("/work/shared/faces")
VERSION = "sg2-test-version"


@pytest.fixture(scope="module")
def faces(one_torch_thread: None) -> list[Image.Image]:
    """Two faces from the shipped generator at the posted size: real texture, as /face makes them."""
    from generator.loading import load_face_model

    model = load_face_model()
    return [image.resize((512, 512), Image.Resampling.LANCZOS) for image in model.generate([7, 8], 0.7)]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_test_pair(tmp_path_factory.mktemp("c2pa"))


def real_photos(count: int) -> list[Path]:
    if not REAL_PHOTOS.is_dir():
        pytest.skip("the shared real photos are not on this machine")
    return bench.photo_files(REAL_PHOTOS, count)


@pytest.mark.parametrize("edit", ["none (PNG as posted)", "JPEG q75", "Telegram photo (<=1280 px, JPEG q87)",
                                  "half size (Lanczos)", "crop 10% (top-left)", "crop 10% (centred)"])
def test_watermark_survives_platform_edits(faces: list[Image.Image], edit: str) -> None:
    for face in faces:
        reading = watermark.read(bench.EDITS[edit](watermark.embed(face, VERSION)))
        assert reading.found and reading.model_id == watermark.model_id(VERSION)
        assert reading.bit_errors(VERSION) <= 4


def test_real_photos_carry_no_mark() -> None:
    for path in real_photos(6):
        with Image.open(path) as photo:
            reading = watermark.read(photo)
        assert not reading.found and reading.sync_errors > watermark.MAX_SYNC_ERRORS


async def test_quiz_image_before_reveal_carries_no_mark(tmp_path: Path) -> None:
    """The round's generated image as posted: no watermark, no manifest, while the same face
    marked the /face way is found (so the reading would catch a marking pipeline)."""
    settings = make_settings(tmp_path, posted_size=512)
    model = DrawnFaceModel(resolution=256)
    figment = await Figment.open(settings, DirectSource(model))
    try:
        images = RoundImages(figment.db, figment.source, settings)
        await images.fill()
        round_image = images.take(want_real=False)
    finally:
        await figment.close()
    posted = Image.open(io.BytesIO(round_image.posted.data))
    assert not watermark.read(posted).found
    assert check_image(round_image.posted.data).manifest is None
    face = model.generate([round_image.face.seed], round_image.face.psi)[0]
    assert watermark.read(watermark.embed(face.resize((512, 512)), model.model_version)).found


async def test_face_file_has_valid_content_credentials(keys: tuple[Path, Path]) -> None:
    marks = FaceMarks(load(*keys))
    service = FaceService(DirectSource(DrawnFaceModel(resolution=256)), size=512, per_minute=10, marks=marks)
    post = await service.face(ALICE, "42", "0.7")
    with c2pa.Reader("image/png", io.BytesIO(post.image.data)) as reader:
        assert reader.get_validation_state() == "Valid"
        manifest = json.loads(reader.json())["manifests"][reader.get_active_manifest()["label"]]
    assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
    action = assertions["c2pa.actions.v2"]["actions"][0]
    assert action["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert action["softwareAgent"] == {"name": "Figment face generator", "version": "test-drawn-1"}
    assert assertions["org.figment.generation"] == {
        "generator": "Figment face generator", "model_version": "test-drawn-1", "seed": 42, "psi": 0.7}
    result = check_image(post.image.data, known_versions=["test-drawn-1"])
    assert result.mark.found and result.model_version == "test-drawn-1"
    assert "Made by Figment: model test-drawn-1, seed 42, psi 0.7." in result.reply()


def test_tampered_face_file_is_reported_invalid(keys: tuple[Path, Path], faces: list[Image.Image]) -> None:
    credentials = load(*keys)
    assert credentials is not None
    png = FaceMarks(credentials).posted(faces[0], 512, "AI-generated", _facts()).data
    # After signing, the caption chunk is edited (a well-formed PNG still, with a correct CRC).
    start = png.index(b"tEXtDescription") - 4
    length = int.from_bytes(png[start:start + 4], "big")
    text = b"Description\x00A real photo, honest."
    chunk = len(text).to_bytes(4, "big") + b"tEXt" + text + zlib.crc32(b"tEXt" + text).to_bytes(4, "big")
    tampered = png[:start] + chunk + png[start + 12 + length:]
    reply = check_image(tampered).reply()
    assert "NOT valid" in reply


def _facts():  # type: ignore[no-untyped-def]
    from bot.provenance.credentials import FaceFacts
    return FaceFacts(VERSION, 1, 0.7)


@pytest.fixture
def bad_inputs(tmp_path: Path) -> Iterator[dict[str, Path]]:
    files = {"text": tmp_path / "notes.png", "empty": tmp_path / "empty.jpg",
             "truncated": tmp_path / "cut.jpg", "bomb": tmp_path / "bomb.png"}
    files["text"].write_text("not an image at all")
    files["empty"].write_bytes(b"")
    buffer = io.BytesIO()
    Image.new("RGB", (512, 512), "tan").save(buffer, "JPEG")
    files["truncated"].write_bytes(buffer.getvalue()[:400])
    Image.new("1", (9000, 9000)).save(files["bomb"])  # 81 Mpx in about 10 kB
    yield files


@pytest.mark.parametrize("kind, reply", [("text", "not an image"), ("empty", "empty"),
                                         ("truncated", "damaged or cut short"), ("bomb", "too large")])
def test_check_refuses_bad_input_clearly(bad_inputs: dict[str, Path], kind: str, reply: str) -> None:
    with pytest.raises(CheckRefused, match=reply):
        check_image(bad_inputs[kind].read_bytes())


def test_figment_check_cli(tmp_path: Path, faces: list[Image.Image], bad_inputs: dict[str, Path]) -> None:
    marked = tmp_path / "face.jpg"
    watermark.embed(faces[1], VERSION).save(marked, quality=80)
    photo = real_photos(1)[0]
    result = CliRunner().invoke(cli, ["check", str(marked), str(photo), str(bad_inputs["truncated"])])
    assert result.exit_code == 1, result.output  # one file could not be checked
    assert f"Made by Figment, model id {watermark.model_id(VERSION):04x}" in result.output
    assert "No Figment mark found" in result.output
    assert "damaged or cut short" in result.output and "Traceback" not in result.output


def test_missing_or_bad_key_stops_the_start(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    key, chain = keys
    assert load(None, None) is None  # neither set: start, watermark only, with a warning
    with pytest.raises(CredentialsError, match="does not exist"):
        load(tmp_path / "missing.pem", chain)
    with pytest.raises(CredentialsError, match="both"):
        load(key, None)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(CredentialsError, match="not an unencrypted PEM private key"):
        load(garbage, chain)
    other_key, _ = make_test_pair(tmp_path / "other")
    with pytest.raises(CredentialsError, match="cannot sign"):
        load(other_key, chain)  # a key that does not match the certificate


def test_figment_run_refuses_a_bad_key_with_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import get_settings

    monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FIGMENT_TELEGRAM_TOKEN", "123:abc")
    monkeypatch.setenv("FIGMENT_C2PA_KEY", str(tmp_path / "nope.pem"))
    monkeypatch.setenv("FIGMENT_C2PA_CERT", str(tmp_path / "nope-chain.pem"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    output = " ".join(result.output.split())  # the console wraps long lines
    assert "error: the C2PA key file" in output and "does not exist" in output
    assert "Traceback" not in output
