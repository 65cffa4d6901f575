"""Which face generator a bot talks to: a shared server when FIGMENT_GENERATOR_URL is set, else its own.

    async with open_face_source(settings) as source:
        figment = await Figment.open(settings, source, curator=load_curator(settings))

Both kinds are FaceSources with start() and aclose(); open_face_source starts and stops them.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from bot.settings import Settings
from generator.serving.client import HttpFaceSource
from generator.curation.best_of_k import Curator
from generator.interface import DEFAULT_PSI, FaceModel
from generator.serving.service import GeneratorService, ServiceConfig

log = logging.getLogger(__name__)


def pool_psis(settings: Settings) -> tuple[float, ...]:
    """Keep ready faces at the truncations people use: /face's default and the quiz's."""
    return tuple(sorted({DEFAULT_PSI, *settings.quiz_psis}))


def load_model(settings: Settings) -> FaceModel:
    from generator.loading import load_face_model  # imports torch: only when this process holds the model

    model = load_face_model(settings.weights, settings.device, settings.precision)
    report = getattr(model, "precision_report", None)
    if report is not None:
        log.info("generator arithmetic: %s", report.reason)
    return model


def service_config(settings: Settings, model: FaceModel, **overrides: object) -> ServiceConfig:
    device = str(getattr(model, "device", settings.device))
    hints = getattr(model, "service_hints", None) or {}  # a large imported model sizes its own batches
    return ServiceConfig.for_device(device, pool_psis=pool_psis(settings), **{**hints, **overrides})


def build_face_source(settings: Settings) -> HttpFaceSource | GeneratorService:
    """The FaceSource for this process, not yet started. In-process loads the model (seconds)."""
    if settings.generator_url:
        token = settings.generator_token.get_secret_value() if settings.generator_token else None
        return HttpFaceSource(settings.generator_url, token=token)
    model = load_model(settings)
    return GeneratorService(model, service_config(settings, model), reload=lambda: load_model(settings))


@asynccontextmanager
async def open_face_source(settings: Settings) -> AsyncIterator[HttpFaceSource | GeneratorService]:
    """Build (off the event loop: loading a model blocks), start, and finally stop the face source."""
    source = await asyncio.to_thread(build_face_source, settings)
    try:
        await source.start()
        yield source
    finally:
        await source.aclose()


def curate_k(settings: Settings, source: object = None) -> int:
    """FIGMENT_CURATE_K, or less for a model too slow for it on this machine (a large imported
    StyleGAN2 on a CPU: generator.stylegan2.model.curate_k_cap) unless the operator set K."""
    cap = getattr(getattr(source, "model", None), "curate_k_cap", None)
    if cap is None or cap >= settings.curate_k or "curate_k" in settings.model_fields_set:
        return settings.curate_k
    log.warning("curating the best 1 of %d faces, not %d: each face of this model costs seconds of CPU "
                "(set FIGMENT_CURATE_K to choose)", cap, settings.curate_k)
    return cap


def load_curator(settings: Settings, model_version: str | None = None, k: int | None = None) -> Curator:
    """Best-of-K by the realness critic (K: `k`, else FIGMENT_CURATE_K). A missing or corrupt critic
    file does not stop the bot: it serves uncurated faces (K=1) and says so in the log, once, at start."""
    k = settings.curate_k if k is None else k
    if k == 1:
        return Curator(None, 1)
    from generator.curation.critic import CriticError, load_critic  # imports torch: only when curating

    try:
        critic = load_critic(settings.critic)
    except CriticError as error:
        log.warning("realness critic unusable, showing uncurated faces (K=1): %s", error)
        return Curator(None, 1)
    if model_version not in (None, "unknown", critic.model_version):
        log.warning("the realness critic was trained for model %s, not %s: make a new one with "
                    "`figment critic train`", critic.model_version, model_version)
    return Curator(critic, k, load_face_filter(settings))


def load_face_filter(settings: Settings):
    """The broken-face filter (FIGMENT_FACE_FILTER), or None when off or its dlib models are missing."""
    if not settings.face_filter:
        return None
    from generator.curation.face_filter import FaceFilter

    try:
        return FaceFilter()
    except (RuntimeError, OSError) as error:
        log.warning("broken-face filter unusable, picking by the critic alone: %s", error)
        return None
