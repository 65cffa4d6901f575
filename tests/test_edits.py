"""/face with edits: the words parsed (and bad ones answered), the shipped directions file, and an
edited face end to end on the fake Bot API and the fake Discord, keeping its identity."""
from __future__ import annotations

import io
from pathlib import Path
from typing import AsyncIterator

import numpy as np
import pytest
from PIL import Image

from bot import texts
from bot.app import Figment
from bot.edits.face_edits import MAX_AGE, MIN_AGE, EditService, WORDS, is_edit, parse_edit
from bot.errors import UserError
from bot.parsing import parse_psi
from bot.refs import PlayerRef
from generator.editing.attributes import FaceReader
from generator.editing.directions import Directions, directions_path
from generator.loading import load_face_model
from generator.serving.direct import DirectSource
from tests.conftest import make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import ephemeral_text, make_world, running_bot
from tests.fakes import DrawnFaceModel
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import replies, start_bot
from tests.telegram_fake.limits import FloodControl

SAME_PERSON = 0.6  # dlib's threshold


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return load_face_model(device="cpu")


def test_edit_words_parse() -> None:
    assert not is_edit(["42"]) and not is_edit(["42", "0.5"]) and is_edit(["42", "older"])
    older = parse_edit(["42", "older"])
    assert (older.seed, older.psi, older.age_change, older.strip) == (42, 0.7, 15.0, False)
    assert parse_edit(["42", "0.5", "age", "70"]).age == 70 and parse_edit(["42", "0.5", "age", "70"]).psi == 0.5
    assert parse_edit(["7", "smile"]).smile == 2.0 and parse_edit(["7", "serious"]).smile == -2.0
    assert parse_edit(["7", "smile", "-1.5"]).smile == -1.5
    assert parse_edit(["7", "age", "30", "smile", "1"]).age == 30
    assert parse_edit(["7", "OLDER", "strip"]).strip


@pytest.mark.parametrize(("words", "expected"), [
    (["42", "taller"], texts.edit_unknown("taller", WORDS)),
    (["42", "age", "120"], texts.edit_bad_age(MIN_AGE, MAX_AGE)),
    (["42", "age", "5"], texts.edit_bad_age(MIN_AGE, MAX_AGE)),
    (["42", "age", "old"], texts.edit_bad_age(MIN_AGE, MAX_AGE)),
    (["42", "age"], texts.edit_bad_age(MIN_AGE, MAX_AGE)),
    (["4294967296", "older"], texts.BAD_SEED),
    (["-1", "older"], texts.BAD_SEED),
    (["", "older"], texts.EDIT_NEEDS_SEED),
    (["42", "9", "older"], texts.BAD_PSI),
    (["42", "older", "age", "70"], texts.EDIT_USAGE),
    (["42", "age", "70", "strip"], texts.EDIT_USAGE),
    (["42", "older", "smile", "strip"], texts.EDIT_USAGE),
    (["42", "smile", "7"], texts.EDIT_USAGE),
    (["42", "strip"], texts.EDIT_USAGE),
])
def test_bad_edits_get_clear_messages(words: list[str], expected: str) -> None:
    with pytest.raises(UserError) as refused:
        parse_edit(words)
    assert refused.value.message == expected


def test_the_shipped_directions_match_the_shipped_weights(model) -> None:  # type: ignore[no-untyped-def]
    directions = Directions.load(directions_path(None))
    assert directions.model_version == model.model_version
    assert set(directions.items) == {"age", "smile"}
    age, smile = directions.items["age"], directions.items["smile"]
    for direction in (age, smile):
        assert abs(float(np.linalg.norm(direction.vector)) - 1) < 1e-6 and direction.spread > 0
    assert {"age_boundary_accuracy", "smile_boundary_accuracy", "age_smile_cosine", "samples"} <= set(directions.info)
    assert age.per_unit > 0 and smile.per_unit > 0 and directions_path(None).stat().st_size < 16_000


async def test_edits_without_w_or_without_directions_say_so(tmp_path: Path, model) -> None:  # type: ignore[no-untyped-def]
    ann = PlayerRef("web", "1", "Ann")
    drawn = EditService(DirectSource(DrawnFaceModel()), None, size=128, per_minute=100)
    with pytest.raises(UserError) as refused:
        await drawn.face_words(ann, ["42", "older"])
    assert refused.value.message == texts.EDITS_UNAVAILABLE
    elsewhere = EditService(DirectSource(model), tmp_path / "generator.safetensors", size=128, per_minute=100)
    with pytest.raises(UserError) as refused:
        await elsewhere.face_words(ann, ["42", "older"])
    assert refused.value.message == texts.EDIT_NO_DIRECTIONS


async def test_edited_faces_carry_content_credentials_that_state_the_edit(tmp_path: Path, model) -> None:  # type: ignore[no-untyped-def]
    """Like every /face, an edited face (and a strip) is signed when a signer is set; its manifest
    states seed, psi and the edit, since seed and psi alone would not make it again, and /check
    says so. Without a signer it is watermarked only."""
    from bot.provenance.check import check_image
    from bot.provenance.credentials import load, read_manifest
    from bot.provenance.keys import make_test_pair
    from bot.provenance.marking import FaceMarks

    ann = PlayerRef("web", "1", "Ann")
    signed = EditService(DirectSource(model), None, size=256, per_minute=100,
                         marks=FaceMarks(load(*make_test_pair(tmp_path / "c2pa"))))
    for words, edit in ((["42", "older"], "older"), (["42", "0.5", "age", "30", "smile"], "age 30, smiling"),
                        (["7", "serious", "strip"], "serious")):
        post = await signed.face_words(ann, words)
        manifest = read_manifest(post.image.data, post.image.mime)
        assert manifest is not None and manifest.state == "Valid" and manifest.ai_generated
        assert manifest.facts is not None and (manifest.facts.seed, manifest.facts.edit) == (int(words[0]), edit)
        assert f"edited: {edit}." in check_image(post.image.data, known_versions=[model.model_version]).reply()
    plain = EditService(DirectSource(model), None, size=256, per_minute=100)
    post = await plain.face_words(ann, ["42", "older"])
    assert read_manifest(post.image.data, post.image.mime) is None
    assert check_image(post.image.data).mark.found


def embedding(reader: FaceReader, data: bytes) -> np.ndarray:
    return reader.read(Image.open(io.BytesIO(data)).convert("RGB")).embedding


async def test_telegram_face_older_keeps_the_person(tmp_path: Path, model) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path)
    async with FakeBotApi(flood=FloodControl(chat_rate=1000, chat_burst=1000)) as api:
        bot = await start_bot(api, settings, await Figment.open(settings, DirectSource(model)))
        try:
            user = api.user(21, "Ann")
            chat = api.private(user)
            api.command(chat, user, "/face 42")
            api.command(chat, user, "/face 42 older")
            api.command(chat, user, "/face 42 older strip")
            calls = await api.wait_calls("sendPhoto", 3, timeout=60)
            by_caption = {("strip" if "five steps" in c.params["caption"] else
                           "older" if "older" in c.params["caption"] else "plain"): c for c in calls}
            assert set(by_caption) == {"plain", "older", "strip"}
            for call in calls:
                assert call.params["caption"].startswith(texts.AI_NOTICE)
            reader = FaceReader()
            plain, older = (embedding(reader, by_caption[k].files["photo"].data) for k in ("plain", "older"))
            assert np.linalg.norm(plain - older) < SAME_PERSON  # the seeded face stays itself
            strip = Image.open(io.BytesIO(by_caption["strip"].files["photo"].data))
            assert strip.width == 5 * strip.height
            for command, expected in (("/face 42 taller", texts.edit_unknown("taller", WORDS)),
                                      ("/face 42 age 99", texts.edit_bad_age(MIN_AGE, MAX_AGE)),
                                      ("/face 99999999999 older", texts.BAD_SEED)):
                since = api.last_seq
                api.command(chat, user, command)
                assert (await replies(api, chat["id"], 1, since=since, timeout=30))[-1] == expected
            assert api.breaches == {}
        finally:
            await bot.close()


async def test_telegram_edited_face_caption_is_in_the_askers_language(tmp_path: Path, model) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path)
    async with FakeBotApi(flood=FloodControl(chat_rate=1000, chat_burst=1000)) as api:
        figment = await Figment.open(settings, DirectSource(model))
        bot = await start_bot(api, settings, figment)
        try:
            user = api.user(22, "Ana", language_code="es")
            api.command(api.private(user), user, "/face 42 older")
            [call] = await api.wait_calls("sendPhoto", 1, timeout=60)
            es = texts.lang("es")
            version = figment.edits.ready()[0].model_version
            expected = es.edit_caption(42, parse_psi(None), version, es.EDIT_OLDER)
            assert call.params["caption"] == expected
            assert expected != texts.edit_caption(42, parse_psi(None), version, texts.EDIT_OLDER)  # not English
        finally:
            await bot.close()


async def test_discord_face_with_edit_options(tmp_path: Path, model) -> None:  # type: ignore[no-untyped-def]
    app = await Figment.open(make_settings(tmp_path), DirectSource(model))
    fake = await FakeDiscord().start()
    world = make_world(fake, ["Ann", "Bo"])
    try:
        async with running_bot(fake, app):
            ann = world.members[0]
            card = await fake.reply(await fake.slash("face", ann, world.general, seed=42, edit="smile"), timeout=60)
            [attachment] = card["attachments"]
            assert attachment["size"] <= fake.upload_bytes
            assert Image.open(io.BytesIO(fake.file_bytes(attachment))).size == (512, 512)
            assert "smiling" in card["embeds"][0]["description"]
            aged = await fake.reply(await fake.slash("face", ann, world.general, seed=42, age=70, strip=False),
                                    timeout=60)
            assert "age 70" in aged["embeds"][0]["description"]

            async def answer(**options: object) -> str:
                return await ephemeral_text(fake, await fake.slash("face", ann, world.general, **options))

            assert await answer(edit="older") == texts.EDIT_NEEDS_SEED
            assert await answer(seed=42, age=95) == texts.edit_bad_age(MIN_AGE, MAX_AGE)  # a hand-made request
            assert await answer(seed=42, edit="taller") == texts.edit_unknown("taller", WORDS)
            assert await answer(seed=42, age=30, strip=True) == texts.EDIT_USAGE
        assert not fake.breaches
    finally:
        await fake.close()
        await app.close()


def test_directions_commands_refuse_bad_input_clearly(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["generator", "directions", *args])
        return result.exit_code, " ".join(result.output.split())  # however the console wrapped it

    code, output = run("learn", "--work", str(tmp_path))
    assert code == 2 and "run `figment generator directions photos` first" in output
    code, output = run("measure", "--work", str(tmp_path), "--count", "5")
    assert code == 2 and "no age model" in output
    code, output = run("picture", "--ages", "20,x", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "--ages must be numbers" in output
    code, output = run("photos", "--faces", str(tmp_path), "--work", str(tmp_path))
    assert code == 2 and "utkface-crop" in output
