"""`figment demo` without the CLI: database, face generator, photo packs, then the playground page."""
from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Callable

from sqlalchemy.engine import make_url

from bot.app import Figment
from bot.settings import Settings
from bot.ops.starter_photos import StarterPhotos
from bot.web_app import serve
from bot.ops.wiring import curate_k, load_curator
from generator.interface import FaceSource

log = logging.getLogger(__name__)

SourceOpener = Callable[[Settings], AbstractAsyncContextManager[FaceSource]]


class DemoError(Exception):
    """A start-up problem the operator can fix; the message says how."""


def _default_opener(settings: Settings) -> AbstractAsyncContextManager[FaceSource]:
    from bot.ops.wiring import open_face_source  # the production generator: shipped weights or a shared server

    return open_face_source(settings)


def hide_password(db_url: str, text: str) -> str:
    """text with the password of db_url (a PostgreSQL URL may hold one) masked, for the terminal."""
    try:
        url = make_url(db_url)
    except Exception:  # unparsable: never echo it, it may still hold a password
        return text.replace(db_url, "FIGMENT_DATABASE_URL")
    if not url.password:
        return text
    text = text.replace(db_url, url.render_as_string(hide_password=True))
    return text.replace(f":{url.password}@", ":***@")  # the URL as a driver may quote it, decoded


async def photo_summary(figment: Figment) -> str:
    packs = figment.settings.photo_packs
    count = await figment.quiz.photo_count()
    which = f"packs {', '.join(packs)}" if packs else "all packs"
    if count:
        return f"quiz photos: {count} ({which})"
    return (f"quiz photos: none yet ({which}); /quiz will say how to import some, e.g. "
            "figment photos import ../shared/faces/celeba-6k --pack celeba")


async def run_demo(settings: Settings, *, host: str, port: int, stop: asyncio.Event,
                   on_ready: Callable[[str], None], say: Callable[[str], None] = print,
                   open_source: SourceOpener = _default_opener) -> None:
    """Serve the playground until `stop` is set. DemoError for a problem the operator can fix."""
    async with AsyncExitStack() as stack:
        try:
            source = await stack.enter_async_context(open_source(settings))
        except Exception as error:
            raise DemoError(f"could not start the face generator: {error}. Set FIGMENT_WEIGHTS to a weights "
                            "file, or FIGMENT_GENERATOR_URL to a running `figment generator serve`.") from error
        try:
            curator = load_curator(settings, source.model_version, curate_k(settings, source))
            figment = await Figment.open(settings, source, curator=curator)  # brings the database to the newest schema
        except Exception as error:
            url = settings.db_url
            raise DemoError(f"could not open the database at {hide_password(url, url)}: "
                            f"{hide_password(url, str(error))}") from error
        stack.push_async_callback(figment.close)
        say(await photo_summary(figment))
        starter = StarterPhotos(settings, figment.db)
        if settings.starter_photos is not None:
            say(f"first run: if no photos are imported yet, a sample of {settings.starter_sample} from "
                f"{settings.starter_photos} is imported in the background (the page shows how far)")
        try:
            await serve(figment, stop, host=host, port=port, on_ready=on_ready, starter=starter)
        except OSError as error:
            raise DemoError(f"cannot listen on {host}:{port} ({error.strerror or error}). "
                            "Is another demo running? Pick another port with --port.") from error
