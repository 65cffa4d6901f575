"""The playground's HTTP side: page, JSON API, images, live events, and every kind of bad input."""
from __future__ import annotations

import asyncio
import io
import json
import socket
from pathlib import Path
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from typer.testing import CliRunner

from bot import texts
from bot.app import Figment
from bot.cli import app as cli_app
from bot.refs import ChatRef
from bot.settings import Settings
from bot.web_app import build_app
from bot.web_app.demo import DemoError, hide_password, run_demo
from bot.web_app.inputs import MAX_MESSAGE_CHARS
from bot.web_app.playground import MESSAGES_PER_MINUTE
from db import migrate
from db.models import Round
from generator.serving.direct import DirectSource
from tests.conftest import add_real_photos, make_settings
from tests.fakes import DrawnFaceModel
from tests.hall_data import face_round

WEB_CHAT = ChatRef("web", "playground", "Playground")
ADA = "ada-0000-browser"
BOB = "bob-1111-browser"


@pytest.fixture
async def client(app: Figment) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(app))) as test_client:
        yield test_client


async def say(client: TestClient, text: Any, name: Any = "Ada", who: Any = ADA) -> tuple[int, dict[str, Any]]:
    response = await client.post("/api/say", json={"client": who, "name": name, "text": text})
    return response.status, await response.json()


async def answer(client: TestClient, round_id: Any, guess: Any, name: str = "Ada", who: str = ADA
                 ) -> dict[str, Any]:
    response = await client.post("/api/answer", json={"client": who, "name": name, "round_id": round_id,
                                                      "guess": guess})
    assert response.status == 200
    return await response.json()


class Events:
    """Reads the server-sent event stream of one tab."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.seen: list[dict[str, Any]] = []

    async def until(self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            while True:
                line = await self.response.content.readline()
                assert line, "the event stream ended"
                if line.startswith(b"data: "):
                    event = json.loads(line[6:])
                    self.seen.append(event)
                    if match(event):
                        return event
        return await asyncio.wait_for(read(), timeout)


@asynccontextmanager
async def events(client: TestClient, name: str = "", who: str = ADA) -> AsyncIterator[Events]:
    response = await client.get("/api/events", params={"client": who, "name": name})
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    try:
        yield Events(response)
    finally:
        response.close()


def message(kind: str, predicate: Callable[[dict[str, Any]], bool] = lambda m: True
            ) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == "message" and e["message"]["kind"] == kind and predicate(e["message"])


# --- the page --------------------------------------------------------------------------------

async def test_page_and_static_files_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = await client.get("/")
    assert page.status == 200 and "<title>Figment playground</title>" in await page.text()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    script = await client.get("/static/app.js")
    assert script.status == 200 and "textContent" in await script.text()
    assert "innerHTML" not in await script.text()
    assert (await client.get("/static/nope.js")).status == 404


# --- /face and the images --------------------------------------------------------------------

async def test_face_posts_a_png_that_decodes(client: TestClient, app: Figment) -> None:
    status, body = await say(client, "/face 7")
    assert status == 200 and body["ok"] and body["error"] is None
    echo, reply = body["messages"]
    assert (echo["kind"], echo["name"], echo["text"]) == ("user", "Ada", "/face 7")
    assert reply["kind"] == "bot" and texts.AI_NOTICE in reply["text"] and "seed 7" in reply["text"]
    image = await client.get(reply["image"])
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"
    decoded = Image.open(io.BytesIO(await image.read()))
    assert decoded.size == (app.settings.posted_size, app.settings.posted_size)
    assert (await client.get("/api/images/not-a-token")).status == 404


@pytest.mark.parametrize("text, expected", [
    ("/face banana", texts.BAD_SEED),
    ("/face -1", texts.BAD_SEED),
    ("/face 42 9", texts.BAD_PSI),
    ("/face 1 0.5 2", texts.FACE_USAGE),
    ("/face 1 0.5 extra", "I don't know the edit \"extra\""),  # words after a seed are edits (bot.edits)
    ("/settings seconds 30 please", texts.SETTINGS_USAGE),
    ("/quiz 0", texts.bad_rounds(20)),
    ("/leaderboard sideways", "Use /leaderboard"),
    ("/hall sideways", texts.HALL_USAGE),
    ("/stop", texts.NO_GAME),
    ("/frobnicate", texts.web_unknown_command("/frobnicate")),
    ("   ", texts.WEB_EMPTY_MESSAGE),
    ("x" * 10_000, texts.web_message_too_long(MAX_MESSAGE_CHARS)),
])
async def test_bad_commands_get_a_friendly_message(client: TestClient, text: str, expected: str) -> None:
    status, body = await say(client, text)
    assert status == 200 and not body["ok"]
    assert expected in body["error"]
    _, after = await say(client, "/help")  # the server is still up and well
    assert after["ok"] and after["messages"][-1]["text"] == texts.HELP


@pytest.mark.parametrize("name, expected", [
    ("", texts.WEB_NEED_NAME),
    ("   \t ", texts.WEB_NEED_NAME),
    (None, texts.WEB_NEED_NAME),
    ("\u202e\x00", texts.WEB_NEED_NAME),
    ("N" * 33, texts.web_name_too_long(32)),
    (42, texts.WEB_BAD_REQUEST),
])
async def test_bad_names_are_refused(client: TestClient, name: Any, expected: str) -> None:
    status, body = await say(client, "/face 1", name=name)
    assert (status, body["ok"], body["error"], body["messages"]) == (200, False, expected, [])


async def test_a_long_message_says_the_limit_and_a_huge_body_is_cut_off(client: TestClient) -> None:
    status, body = await say(client, "é" * (MAX_MESSAGE_CHARS + 1))
    assert status == 200 and body["error"] == texts.web_message_too_long(MAX_MESSAGE_CHARS)
    huge = json.dumps({"client": ADA, "name": "Ada", "text": "x" * 1_000_000})
    response = await client.post("/api/say", data=huge, headers={"Content-Type": "application/json"})
    assert response.status == 413
    assert (await response.json())["error"] == texts.web_message_too_long(MAX_MESSAGE_CHARS)
    assert (await say(client, "/help"))[1]["ok"]


@pytest.mark.parametrize("data, content_type, status", [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b'{"client": "ada-0000-browser", "name": "Ada", "text": "/help"}', "text/plain", 415),
])
async def test_malformed_requests_get_json_errors(client: TestClient, data: bytes, content_type: str,
                                                  status: int) -> None:
    response = await client.post("/api/say", data=data, headers={"Content-Type": content_type})
    assert response.status == status
    assert (await response.json()) == {"ok": False, "error": texts.WEB_BAD_REQUEST, "toast": None,
                                       "status": None, "messages": []}


@pytest.mark.parametrize("who", ["", "short", "has spaces in it", "x" * 41, 12345678, None])
async def test_bad_player_ids_are_refused(client: TestClient, who: Any) -> None:
    status, body = await say(client, "/help", who=who)
    assert body["error"] == texts.WEB_BAD_CLIENT


async def test_plain_chat_is_rate_limited_per_browser(client: TestClient) -> None:
    for number in range(MESSAGES_PER_MINUTE):
        assert (await say(client, f"hello {number}"))[1]["ok"]
    _, body = await say(client, "one too many")
    assert "Easy there" in body["error"]
    assert (await say(client, "hi", name="Bob", who=BOB))[1]["ok"]  # someone else may still talk


async def test_html_in_names_and_messages_travels_as_plain_text(client: TestClient) -> None:
    name = "<b>Eve</b><script>x()</script>"
    async with events(client, name=name, who=BOB) as stream:
        presence = await stream.until(lambda e: e["type"] == "presence" and e["names"])
        assert presence["names"] == [name]
        await say(client, "<img src=x onerror=alert(1)>", name=name, who=BOB)
        event = await stream.until(message("user"))
    assert event["message"]["name"] == name and event["message"]["text"] == "<img src=x onerror=alert(1)>"


async def test_a_failing_generator_gets_a_friendly_message_and_the_server_stays_up(settings: Settings) -> None:
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel(fail_on_seed=13)))
    try:
        async with TestClient(TestServer(build_app(figment))) as client:
            response = await client.post("/api/say", json={"client": ADA, "name": "Ada", "text": "/face 13"})
            assert response.status == 500 and (await response.json())["error"] == texts.ERROR
            assert (await say(client, "/face 14"))[1]["ok"]
    finally:
        await figment.close()


# --- the quiz ----------------------------------------------------------------------------------

async def test_quiz_without_photos_says_how_to_import_them(client: TestClient) -> None:
    _, body = await say(client, "/quiz 3")
    assert not body["ok"]
    assert "figment photos import DIR --pack NAME" in body["error"]
    assert "figment photos import ../shared/faces/celeba-6k --pack celeba" in body["error"]


async def test_two_players_play_a_round_live(client: TestClient, app: Figment) -> None:
    await add_real_photos(app)
    async with events(client, "Ada", ADA) as ada, events(client, "Bob", BOB) as bob:
        for stream in (ada, bob):
            await stream.until(lambda e: e["type"] == "presence" and e["names"] == ["Ada", "Bob"])
        async with events(client, "Cy", "cy-2222-browser") as cy:
            await cy.until(lambda e: e["type"] == "presence" and e["names"] == ["Ada", "Bob", "Cy"])
        await ada.until(lambda e: e["type"] == "presence" and e["names"] == ["Ada", "Bob"])  # Cy closed the tab
        assert (await say(client, "/quiz 1"))[1]["ok"]
        posted = (await ada.until(message("round")))["message"]
        assert (await bob.until(message("round")))["message"]["id"] == posted["id"]
        assert [b["guess"] for b in posted["buttons"]] == ["real", "fake"]
        assert (await client.get(posted["image"])).status == 200

        first = await answer(client, posted["round_id"], "real")
        assert (first["status"], first["toast"]) == ("recorded", texts.ANSWER_RECORDED)
        again = await answer(client, posted["round_id"], "fake")
        assert (again["status"], again["toast"]) == ("already", texts.ANSWER_ALREADY)
        await answer(client, posted["round_id"], "fake", name="Bob", who=BOB)

        # both named tabs answered: the round closes early and the reveal edits the message in both
        for stream in (ada, bob):
            revealed = (await stream.until(message("round", lambda m: not m["buttons"]), timeout=5))["message"]
            assert revealed["id"] == posted["id"]
            assert "of 2 got it right" in revealed["text"] and revealed["answered"] == ["Ada", "Bob"]
            board = await stream.until(lambda e: e["type"] == "board" and "Bob" in e["text"])
            assert "Ada" in board["text"]
            summary = (await stream.until(message("summary")))["message"]
            assert "Game over!" in summary["text"] and "Ada" in summary["text"] and "Bob" in summary["text"]
    late = await answer(client, posted["round_id"], "real", name="Cy", who="cy-2222-browser")
    assert late["status"] == "closed"
    _, body = await say(client, "/leaderboard")
    assert "Ada" in body["messages"][-1]["text"] and "Bob" in body["messages"][-1]["text"]


async def test_answers_that_make_no_sense_are_refused(client: TestClient, app: Figment) -> None:
    for round_id, guess in [("1", "real"), (True, "real"), (1, "maybe"), (None, None)]:
        body = await answer(client, round_id, guess)
        assert body["error"] == texts.WEB_BAD_ANSWER
    body = await answer(client, 123456, "real")  # no such round in this room
    assert (body["status"], body["toast"]) == ("no_round", texts.ANSWER_UNKNOWN)
    body = await answer(client, 1, "real", name="")
    assert body["error"] == texts.WEB_NEED_NAME


async def test_a_button_of_the_other_kind_of_round_is_refused(client: TestClient, app: Figment) -> None:
    await add_real_photos(app)
    await app.chats.update(WEB_CHAT, is_admin=True, key="seconds", value="60")
    async with events(client, "Ada", ADA) as ada:
        for command, wrong_guess, right_guess in (("/quiz 1", "a", "real"), ("/quiz pairs 1", "real", "b")):
            assert (await say(client, command))[1]["ok"]
            posted = (await ada.until(message("round", lambda m: m["text"].startswith("Round 1/1")
                                                    and bool(m["buttons"]))))["message"]
            wrong = await answer(client, posted["round_id"], wrong_guess)  # a hand-made request
            assert (wrong["status"], wrong["toast"]) == ("wrong_kind", texts.ANSWER_WRONG_KIND)
            right = await answer(client, posted["round_id"], right_guess)  # the wrong one took nothing
            assert right["status"] == "recorded"
            await ada.until(message("summary"))  # Ada is the only one here: the round closed at her answer


async def test_stop_ends_the_game_and_a_new_tab_sees_the_room_so_far(client: TestClient, app: Figment) -> None:
    await add_real_photos(app)
    await app.chats.update(WEB_CHAT, is_admin=True, key="seconds", value="60")
    assert (await say(client, "/quiz 3"))[1]["ok"]
    _, body = await say(client, "/quiz 3")
    assert body["error"] == texts.GAME_RUNNING
    async with events(client) as stream:  # a tab with no name yet only watches
        await stream.until(message("round"))
        assert (await say(client, "/stop"))[1]["ok"]
        await stream.until(message("round", lambda m: not m["buttons"] and "Nobody answered" in m["text"]))
        summary = await stream.until(message("summary"))
        assert "Game stopped." in summary["message"]["text"]
    async with events(client) as late:  # the snapshot has it all, in order
        await late.until(message("summary"))
        kinds = [e["message"]["kind"] for e in late.seen if e["type"] == "message"]
        assert kinds[0] == "bot" and kinds.index("round") < kinds.index("summary")
        assert late.seen[0]["type"] == "reset"


async def test_a_restart_picks_up_the_web_game(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, round_seconds=60)
    first = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    await add_real_photos(first)
    async with TestClient(TestServer(build_app(first))) as client:
        async with events(client) as stream:
            assert (await say(client, "/quiz 2"))[1]["ok"]
            posted = (await stream.until(message("round")))["message"]
    for _ in range(200):  # the core notes the round's message only after posting it
        async with first.db.transaction() as session:
            if (await session.get(Round, posted["round_id"])).message_ref:
                break
        await asyncio.sleep(0.01)
    await first.close()  # the round is still open

    second = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    try:
        async with TestClient(TestServer(build_app(second))) as client:  # start-up resumes the game
            # the new room numbers its messages from 1 again: one of these now has the old round's id
            chat = [(await say(client, f"hello {n}"))[1]["messages"][0] for n in range(3)]
            assert posted["id"] in [m["id"] for m in chat]
            _, body = await say(client, "/stop")
            assert body["ok"]
            async with events(client) as stream:  # the old round's reveal is posted anew, then the summary
                reveal = await stream.until(message("bot", lambda m: "Nobody answered" in m["text"]))
                assert reveal["message"]["text"].startswith("Round 1/2")
                await stream.until(message("summary", lambda m: "Game stopped." in m["text"]))
            users = [e["message"] for e in stream.seen if e["type"] == "message" and e["message"]["kind"] == "user"]
            assert [m["text"] for m in users[:3]] == ["hello 0", "hello 1", "hello 2"]  # left as they were
    finally:
        await second.close()


async def test_hall_of_fakes(client: TestClient, app: Figment) -> None:
    _, body = await say(client, "/hall")
    assert body["messages"][-1]["text"] == texts.hall_empty("week", app.settings.hall_min_answers)
    await face_round(app, 77, fooled=9, answers=10)
    await face_round(app, 78, fooled=10, answers=10, reveal=False)  # open: never in the hall
    _, body = await say(client, "/hall all")
    reply = body["messages"][-1]
    assert reply["text"].startswith("Hall of fakes, all time") and "· seed 77 ·" in reply["text"]
    assert "seed 78" not in reply["text"]
    image = await client.get(reply["image"])
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"
    assert "does not exist" in Image.open(io.BytesIO(await image.read())).text["Description"]


async def test_stats_settings_and_forgetme(client: TestClient) -> None:
    _, body = await say(client, "/stats")
    assert body["messages"][-1]["text"].startswith("Stats for Ada:")
    _, body = await say(client, "/settings seconds 30")
    assert "rounds last 30 s" in body["messages"][-1]["text"]
    _, body = await say(client, "/forgetme")
    assert body["ok"] and body["messages"][-1]["text"] == texts.FORGOTTEN_NOTHING


# --- figment demo --------------------------------------------------------------------------------

@asynccontextmanager
async def drawn_source(settings: Settings) -> AsyncIterator[DirectSource]:
    yield DirectSource(DrawnFaceModel())


async def test_demo_upgrades_the_database_and_serves_the_page(settings: Settings) -> None:
    stop, urls, said = asyncio.Event(), [], []
    task = asyncio.create_task(run_demo(settings, host="127.0.0.1", port=0, stop=stop, on_ready=urls.append,
                                        say=said.append, open_source=drawn_source))
    while not urls:
        assert not task.done(), task.exception()
        await asyncio.sleep(0.02)
    async with aiohttp.ClientSession() as session:
        async with session.get(urls[0]) as page:
            assert page.status == 200
        async with session.post(urls[0] + "api/say", json={"client": ADA, "name": "Ada", "text": "/face 7"}) as r:
            assert (await r.json())["ok"]
    stop.set()
    await asyncio.wait_for(task, 10)
    assert await migrate.current_revision(settings.db_url) == migrate.head_revision(settings.db_url)
    assert any("figment photos import ../shared/faces/celeba-6k" in line for line in said)


async def test_demo_explains_a_taken_port_and_a_missing_generator(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DemoError, match="--port"):
            await run_demo(settings, host="127.0.0.1", port=port, stop=asyncio.Event(), on_ready=print,
                           say=lambda _: None, open_source=drawn_source)

    @asynccontextmanager
    async def broken(settings: Settings) -> AsyncIterator[DirectSource]:
        raise FileNotFoundError("no weights at /nowhere.safetensors")
        yield  # pragma: no cover

    with pytest.raises(DemoError, match="FIGMENT_WEIGHTS"):
        await run_demo(settings, host="127.0.0.1", port=0, stop=asyncio.Event(), on_ready=print,
                       say=lambda _: None, open_source=broken)


async def test_demo_never_shows_the_database_password(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="postgresql+asyncpg://figment:hunter2-secret@127.0.0.1:1/x")
    with pytest.raises(DemoError, match="could not open the database") as failed:
        await run_demo(settings, host="127.0.0.1", port=0, stop=asyncio.Event(), on_ready=print,
                       say=lambda _: None, open_source=drawn_source)
    assert "hunter2-secret" not in str(failed.value) and "figment:***@127.0.0.1:1/x" in str(failed.value)
    assert hide_password("postgresql://u:pw@h/d", "at postgresql://u:pw@h/d and u:pw@h") == \
        "at postgresql://u:***@h/d and u:***@h"
    assert hide_password("no url: pw", "bad no url: pw") == "bad FIGMENT_DATABASE_URL"


def test_demo_command_refuses_a_bad_port() -> None:
    result = CliRunner().invoke(cli_app, ["demo", "--port", "70000"])
    assert result.exit_code == 2 and "65535" in result.output
