"""The playground's HTTP side (aiohttp): the page, a JSON API, images, and a server-sent event stream.

GET  /                    the chat page (static/index.html; static/ holds its CSS and JS)
GET  /api/events          server-sent events: a snapshot of the room, then live changes
                          (?client=ID&name=NAME marks this tab's player as online)
POST /api/say             {"client", "name", "text"} -> {"ok", "error", "toast", "status", "messages"}
POST /api/answer          {"client", "name", "round_id", "guess": "real"|"fake"|"a"|"b"} -> same shape
POST /api/daily           {"client", "name", "daily": "YYYYMMDD:N", "guess": "real"|"fake"} -> same shape
                          (a daily round's answer: the messages go to the asking tab only)
GET  /api/images/{token}  an image posted in the room
"""
from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import web

from bot import i18n, texts
from bot.app import Figment
from bot.ops.starter_photos import StarterPhotos
from bot.web_app.inputs import MAX_MESSAGE_CHARS
from bot.web_app.page import page_language, render
from bot.web_app.playground import Playground
from bot.web_app.presenter import WebPresenter
from bot.web_app.room import Message, Room

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024  # bytes; the message limit itself (characters) is checked with a friendly reply
KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 0.5  # how soon a closed tab leaves the 'online' list
CHAT_ID = "playground"
PLAYGROUND = web.AppKey("playground", Playground)
ROOM = web.AppKey("room", Room)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SECURITY_HEADERS = {
    # Only our own files run or load; user text is rendered as text anyway, this is a second wall.
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message, "toast": None, "status": None, "messages": []},
                             status=status)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Friendly JSON for every refusal and failure under /api; the server itself keeps running."""
    try:
        response = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        response = _error(413, texts.web_message_too_long(MAX_MESSAGE_CHARS))
    except web.HTTPException as error:
        if not request.path.startswith("/api/") or error.status < 400:
            raise
        response = _error(error.status, texts.WEB_BAD_REQUEST)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("playground request %s %s failed", request.method, request.path)
        response = _error(500, texts.ERROR)
    if not response.prepared:
        response.headers.update(SECURITY_HEADERS)
    return response


async def _json_body(request: web.Request) -> dict[str, Any]:
    # JSON only: a foreign web page cannot send this content type without the browser asking first
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType()
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest() from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest()
    return body


async def page(request: web.Request) -> web.StreamResponse:
    return web.Response(text=render(page_language(request)), content_type="text/html",
                        headers={"Cache-Control": "no-cache", "Vary": "Accept-Language"})


async def say(request: web.Request) -> web.Response:
    body = await _json_body(request)
    reply = await request.app[PLAYGROUND].say(body.get("client"), body.get("name"), body.get("text"), body.get("lang"))
    return web.json_response(reply.json())


async def answer(request: web.Request) -> web.Response:
    body = await _json_body(request)
    reply = await request.app[PLAYGROUND].answer(body.get("client"), body.get("name"), body.get("round_id"),
                                                 body.get("guess"), body.get("lang"))
    return web.json_response(reply.json())


async def daily(request: web.Request) -> web.Response:
    body = await _json_body(request)
    reply = await request.app[PLAYGROUND].answer_daily(body.get("client"), body.get("name"), body.get("daily"),
                                                       body.get("guess"), body.get("lang"))
    return web.json_response(reply.json())


async def image(request: web.Request) -> web.Response:
    posted = request.app[ROOM].image(request.match_info["token"])
    if posted is None:
        raise web.HTTPNotFound()
    return web.Response(body=posted.data, content_type=posted.mime,
                        headers={"Cache-Control": "private, max-age=3600"})


async def credentials(request: web.Request) -> web.Response:
    """A revealed fake round's face with its watermark and Content Credentials."""
    from bot.errors import UserError
    from bot.provenance.revealed import revealed_face

    try:
        posted = await revealed_face(request.app[PLAYGROUND].figment, int(request.match_info["round_id"]))
    except UserError as error:
        return _error(409, error.message)
    return web.Response(body=posted.data, content_type=posted.mime, headers={
        "Content-Disposition": f'attachment; filename="{posted.filename}"', "Cache-Control": "private, no-store"})


async def check(request: web.Request) -> web.Response:
    """/check in the playground: the image file is the request body (the page sends it as is), the
    tab's player id in ?client= (the per-user limit's key; without one, the caller's address)."""
    from bot.errors import UserError
    from bot.provenance.check import MAX_BYTES, CheckService
    from bot.web_app.inputs import check_client

    # An image type only: a foreign page's plain form cannot send one without the browser asking first.
    if not (request.content_type.startswith("image/") or request.content_type == "application/octet-stream"):
        return _error(415, texts.CHECK_NOT_IMAGE)
    # Read the stream ourselves: the app's body limit is for chat messages, images are larger.
    if (request.content_length or 0) > MAX_BYTES:
        return _error(413, texts.check_too_big(MAX_BYTES))
    client = request.query.get("client")
    try:
        who = check_client(client) if client is not None else f"address:{request.remote}"
    except UserError as error:
        return _error(400, error.message)
    checks = CheckService(request.app[PLAYGROUND].figment)
    try:
        await checks.admit("web", who)  # counted before the upload is read
    except UserError as error:
        return _error(429, error.message)
    # read(n) returns what has arrived so far, not the whole body: gather the chunks to the end.
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            return _error(413, texts.check_too_big(MAX_BYTES))
        chunks.append(chunk)
    return web.json_response({"ok": True, "reply": await checks.reply(b"".join(chunks), page_language(request))})


async def events(request: web.Request) -> web.StreamResponse:
    room = request.app[ROOM]
    presence = request.app[PLAYGROUND].online(request.query.get("client"), request.query.get("name"))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no", **SECURITY_HEADERS})
    await response.prepare(request)
    queue = room.subscribe(presence)
    try:
        for event in room.snapshot():
            await response.write(_sse(event))
        quiet = 0.0
        while request.transport is not None and not request.transport.is_closing():
            try:
                event = await asyncio.wait_for(queue.get(), POLL_SECONDS)
            except asyncio.TimeoutError:
                # look again whether the tab is still there (so 'online' stays true); ping now and then
                quiet += POLL_SECONDS
                if quiet >= KEEPALIVE_SECONDS:
                    await response.write(b": keep-alive\n\n")
                    quiet = 0.0
                continue
            if event is None:  # the room closed or dropped this stream
                break
            await response.write(_sse(event))
            quiet = 0.0
    except (ConnectionResetError, ConnectionError):
        pass  # the tab went away
    finally:
        room.unsubscribe(queue)
    return response


def _sse(event: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


def in_every_language(say: Callable[[texts.Texts], str]) -> dict[str, str]:
    """A text of the bot's own, said in each language the bot has (a tab shows its page's)."""
    return {lang.replace("_", "-"): say(texts.lang(lang)) for lang in i18n.available()}  # keyed as <html lang>


def show_starter_status(room: Room, starter: StarterPhotos) -> None:
    """One message in the room tells what the first-run import is doing, edited as it goes."""
    shown: list[Message] = []

    def update() -> None:
        text = starter.text()
        if not text:
            return
        said = in_every_language(starter.text)
        if not shown:
            shown.append(room.post("bot", text, texts=said))
        elif shown[0].text != text:
            shown[0].text, shown[0].texts = text, said
            room.changed(shown[0])

    starter.on_change(update)


def build_app(figment: Figment, *, title: str = "Playground", starter: StarterPhotos | None = None) -> web.Application:
    """The playground as an aiohttp application. Registers its quiz presenter for platform 'web';
    on start-up it recovers the web games a previous run left open."""
    room = Room(CHAT_ID, title)
    presenter = WebPresenter(room, figment.boards, figment.chats)
    figment.quiz.register("web", presenter)
    figment.quiz.on_scores_moved(presenter.scores_moved)
    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY)
    app[ROOM] = room
    app[PLAYGROUND] = Playground(figment, room, presenter, starter)

    async def on_startup(app: web.Application) -> None:
        await presenter.refresh_board()
        room.post("bot", texts.START, texts=in_every_language(lambda t: t.START))
        if starter is not None:
            show_starter_status(room, starter)
            await starter.start()
        await figment.quiz.recover("web")

    async def on_shutdown(app: web.Application) -> None:
        if starter is not None:
            await starter.aclose()  # an interrupted first-run import resumes at the next start
        room.close()  # ends the event streams so shutdown does not wait for them

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.router.add_get("/", page)
    app.router.add_get("/api/events", events)
    app.router.add_post("/api/say", say)
    app.router.add_post("/api/answer", answer)
    app.router.add_post("/api/daily", daily)
    app.router.add_get("/api/images/{token}", image)
    app.router.add_get(r"/api/rounds/{round_id:\d+}/credentials", credentials)
    app.router.add_post("/api/check", check)
    app.router.add_static("/static/", STATIC, show_index=False)
    return app
