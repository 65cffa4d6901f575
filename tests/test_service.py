"""The in-process generator service: batching, the ready pool, backpressure, crashes, cancellation.

The models are real FaceModels (tests/fakes.py). A "gated" model blocks its worker until the test
opens the gate, so tests control what is queued and what is running without depending on timing.
Timeouts here only guard against hangs; speed is measured by `figment bench generator`.
"""
from __future__ import annotations

import asyncio
import threading

import pytest

from generator.interface import (DEFAULT_PSI, FaceSource, GeneratedFace, GeneratorBusy, GeneratorUnavailable,
                                 InvalidRequest)
from generator.serving.prometheus import sample, scraped
from generator.serving.service import CLOSED_MESSAGE, FAILED_MESSAGE, GeneratorService, ServiceConfig
from tests.fakes import DrawnFaceModel, GatedModel

HANG_GUARD = 20  # seconds; a test that needs this long has hung




def no_pool(**overrides: object) -> ServiceConfig:
    return ServiceConfig(pool_size=0, **overrides)  # type: ignore[arg-type]


def same_image(face: GeneratedFace, seed: int, psi: float) -> bool:
    [expected] = DrawnFaceModel().generate([seed], psi)
    return face.image.tobytes() == expected.tobytes()


async def wait_until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(HANG_GUARD):
        while not condition():
            await asyncio.sleep(0.001)


async def test_is_a_face_source_and_serves_seeded_faces() -> None:
    model = DrawnFaceModel()
    async with GeneratorService(model, no_pool()) as service:
        assert isinstance(service, FaceSource)
        face = await service.face(42, 0.5)
        assert (face.seed, face.psi, face.model_version) == (42, 0.5, model.model_version)
        assert same_image(face, 42, 0.5)
        again = await service.face(42, 0.5)
        assert again.image.tobytes() == face.image.tobytes()


@pytest.mark.parametrize("seed, psi", [(-1, 0.7), (2**32, 0.7), ("5", 0.7), (True, 0.7), (1.5, 0.7),
                                       (1, -0.1), (1, 1.6), (1, float("nan")), (1, "0.7")])
async def test_bad_seed_or_psi_is_refused(seed, psi) -> None:  # type: ignore[no-untyped-def]
    model = DrawnFaceModel()
    async with GeneratorService(model, no_pool()) as service:
        with pytest.raises(InvalidRequest):
            await service.face(seed, psi)
    assert model.calls == []


async def test_not_started_or_closed_is_unavailable() -> None:
    service = GeneratorService(DrawnFaceModel(), no_pool())
    with pytest.raises(GeneratorUnavailable):
        await service.face(1)
    await service.start()
    await service.aclose()
    with pytest.raises(GeneratorUnavailable):
        await service.face(1)


async def test_unseeded_faces_at_a_pooled_psi_come_from_the_pool_with_no_model_time() -> None:
    model = DrawnFaceModel()
    config = ServiceConfig(pool_psis=(0.5, 0.7), pool_size=6, refill_batch=4)
    async with GeneratorService(model, config) as service:
        async with asyncio.timeout(HANG_GUARD):
            await service.wait_pool_full()
        assert service.pool_levels() == {0.5: 6, 0.7: 6}
        pool_seeds = {seed for seeds, psis in model.calls for seed, p in zip(seeds, psis) if p == 0.7}
        faces = await asyncio.gather(*(service.face(None, 0.7) for _ in range(6)))
        assert {face.seed for face in faces} <= pool_seeds  # made before they were asked for
        assert service.metrics.requests_total("generated") == 0  # no request waited for the model
        assert len({face.seed for face in faces}) == 6  # each pooled face is served once
        assert all(same_image(face, face.seed, 0.7) for face in faces)
        assert service.metrics.requests_total("pool_hit") == 6
        async with asyncio.timeout(HANG_GUARD):
            await service.wait_pool_full()  # refilled in the background
        assert service.pool_levels()[0.7] == 6


async def test_unseeded_at_other_psi_or_empty_pool_is_generated() -> None:
    model = DrawnFaceModel()
    async with GeneratorService(model, ServiceConfig(pool_psis=(0.7,), pool_size=2, refill_batch=1)) as service:
        face = await service.face(None, 0.3)
        assert face.psi == 0.3 and same_image(face, face.seed, 0.3)
        faces = await asyncio.gather(*(service.face() for _ in range(10)))  # more than the pool holds
        assert len({f.seed for f in faces}) == 10
        assert service.metrics.requests_total("generated") >= 8


async def test_requests_are_batched_up_to_max_batch_and_psis_may_mix() -> None:
    model = GatedModel()
    async with GeneratorService(model, no_pool(max_batch=4, max_wait_ms=20)) as service:
        blocker = asyncio.create_task(service.face(1))
        await asyncio.to_thread(model.entered.wait, HANG_GUARD)  # the worker is busy with seed 1
        requests = [(seed, 0.5 if seed % 2 else 0.9) for seed in range(10, 20)]
        tasks = [asyncio.create_task(service.face(seed, psi)) for seed, psi in requests]
        await wait_until(lambda: service.queue_depth == 10, "ten queued")
        model.gate.set()
        faces = await asyncio.gather(blocker, *tasks)
    assert [len(seeds) for seeds, _ in model.calls] == [1, 4, 4, 2]
    assert model.calls[1] == ((10, 11, 12, 13), (0.9, 0.5, 0.9, 0.5))
    for face, (seed, psi) in zip(faces[1:], requests):
        assert (face.seed, face.psi) == (seed, psi) and same_image(face, seed, psi)


async def test_500_concurrent_requests_against_a_queue_of_64_get_a_face_or_busy() -> None:
    model = DrawnFaceModel()
    async with GeneratorService(model, no_pool(queue_size=64, max_batch=16)) as service:
        async with asyncio.timeout(HANG_GUARD):  # none hangs
            results = await asyncio.gather(*(service.face(seed) for seed in range(500)), return_exceptions=True)
        faces = [r for r in results if isinstance(r, GeneratedFace)]
        busy = [r for r in results if isinstance(r, GeneratorBusy)]
        assert len(faces) + len(busy) == 500  # nothing else: no other error, no hang
        assert len(faces) >= 64 and busy
        assert all(str(error) == "the face generator is busy; try again in a few seconds" for error in busy)
        for seed, result in enumerate(results):
            if isinstance(result, GeneratedFace):
                assert result.seed == seed and same_image(result, seed, 0.7)
        assert service.metrics.requests_total("busy") == len(busy)
        assert service.queue_depth == 0
        assert same_image(await service.face(7), 7, 0.7)  # and it still serves


async def test_a_full_queue_refuses_at_once_and_count_is_all_or_nothing() -> None:
    model = GatedModel()
    async with GeneratorService(model, no_pool(queue_size=8, max_batch=1)) as service:
        blocker = asyncio.create_task(service.face(1))
        await asyncio.to_thread(model.entered.wait, HANG_GUARD)
        queued = [asyncio.create_task(service.face(seed)) for seed in range(100, 105)]
        await wait_until(lambda: service.queue_depth == 5, "five queued")
        with pytest.raises(GeneratorBusy):
            await service.faces(4, seed=200)  # room for 3 only: none is queued
        assert service.queue_depth == 5
        with pytest.raises(InvalidRequest):
            await service.faces(9)  # more than the queue could ever hold
        three = asyncio.create_task(service.faces(3, seed=300))
        await wait_until(lambda: service.queue_depth == 8, "eight queued")
        model.gate.set()
        await asyncio.gather(blocker, *queued)
        assert [face.seed for face in await three] == [300, 301, 302]


async def test_a_worker_that_raises_mid_batch_fails_those_requests_and_the_next_succeed() -> None:
    model = GatedModel(fail_on_seed=13)
    async with GeneratorService(model, no_pool(max_batch=4, max_wait_ms=20)) as service:
        blocker = asyncio.create_task(service.face(1))
        await asyncio.to_thread(model.entered.wait, HANG_GUARD)
        first = [asyncio.create_task(service.face(seed)) for seed in (11, 12, 13, 14)]  # one batch, with 13
        second = [asyncio.create_task(service.face(seed)) for seed in (21, 22, 23, 24)]  # the next batch
        await wait_until(lambda: service.queue_depth == 8, "two batches queued")
        model.gate.set()
        async with asyncio.timeout(HANG_GUARD):
            await blocker
            failed = await asyncio.gather(*first, return_exceptions=True)
            served = await asyncio.gather(*second)
        assert all(isinstance(error, GeneratorUnavailable) and str(error) == FAILED_MESSAGE for error in failed)
        assert "model failed on seed 13" in str(failed[0].__cause__)  # the real cause travels along
        assert [face.seed for face in served] == [21, 22, 23, 24]
        assert same_image(await service.face(15), 15, 0.7)
        assert service.restarts == 1
        assert sample(service.metrics.registry, "figment_generator_worker_failures_total") == 1
        assert service.metrics.requests_total("failed") == 4
        assert service.healthy


async def test_a_crashed_worker_reloads_the_model_when_it_can() -> None:
    broken = DrawnFaceModel(fail_on_seed=13)
    fresh = DrawnFaceModel()
    fresh.model_version = "test-drawn-reloaded"
    async with GeneratorService(broken, no_pool(), reload=lambda: fresh) as service:
        with pytest.raises(GeneratorUnavailable):
            await service.face(13)
        face = await service.face(13)  # the reloaded model has no such fault
        assert face.model_version == "test-drawn-reloaded" and same_image(face, 13, 0.7)
        assert service.model_version == "test-drawn-reloaded"


async def test_reload_failures_make_requests_unavailable_until_it_loads() -> None:
    attempts = []

    def reload() -> DrawnFaceModel:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("weights file missing")
        return DrawnFaceModel()

    config = no_pool(restart_backoff=0.01)
    async with GeneratorService(DrawnFaceModel(fail_on_seed=13), config, reload=reload) as service:
        with pytest.raises(GeneratorUnavailable):
            await service.face(13)
        async with asyncio.timeout(HANG_GUARD):
            while True:
                try:
                    face = await service.face(13)
                    break
                except GeneratorUnavailable:  # while reloading: at once, never hanging
                    await asyncio.sleep(0.005)
        assert same_image(face, 13, 0.7) and len(attempts) == 3


async def test_cancelling_half_the_callers_costs_nothing_more() -> None:
    model = GatedModel()
    async with GeneratorService(model, no_pool(max_batch=8)) as service:
        blocker = asyncio.create_task(service.face(1))
        await asyncio.to_thread(model.entered.wait, HANG_GUARD)
        tasks = {seed: asyncio.create_task(service.face(seed)) for seed in range(100, 120)}
        await wait_until(lambda: service.queue_depth == 20, "twenty queued")
        cancelled = [seed for seed in tasks if seed % 2]
        for seed in cancelled:
            tasks[seed].cancel()
        await asyncio.sleep(0)
        await wait_until(lambda: service.queue_depth == 10, "the cancelled left the queue")
        model.gate.set()
        async with asyncio.timeout(HANG_GUARD):
            await blocker
            for seed, task in tasks.items():
                if seed in cancelled:
                    with pytest.raises(asyncio.CancelledError):
                        await task
                else:
                    face = await task
                    assert face.seed == seed and same_image(face, seed, 0.7)
        generated = {seed for seeds, _ in model.calls for seed in seeds}
        assert generated == {1} | {seed for seed in tasks if seed not in cancelled}  # no cancelled seed ran
        assert service.metrics.requests_total("cancelled") == 10


class SteppedModel(DrawnFaceModel):
    """Each model call records its seeds, then waits for one `steps.release()` from the test."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = threading.Semaphore(0)
        self.started: list[tuple[int, ...]] = []

    def generate(self, seeds, psi):  # type: ignore[no-untyped-def]
        self.started.append(tuple(seeds))
        if not self.steps.acquire(timeout=HANG_GUARD):
            raise RuntimeError("the test never let this call run")
        return super().generate(seeds, psi)


async def test_a_caller_cancelled_after_its_batch_started_gives_its_face_to_the_pool() -> None:
    model = SteppedModel()
    config = ServiceConfig(pool_psis=(0.7,), pool_size=2, refill_batch=1)
    async with GeneratorService(model, config) as service:
        try:
            await wait_until(lambda: len(model.started) == 1, "the first refill is running")
            task = asyncio.create_task(service.face(None, 0.7))  # pool empty: queued, random seed
            await wait_until(lambda: service.queue_depth == 1, "queued")
            model.steps.release()  # the refill ends (pool 1 of 2); the request's batch starts
            await wait_until(lambda: len(model.started) == 2, "its batch has started")
            [cancelled_seed] = model.started[1]
            task.cancel()
            model.steps.release()  # its batch ends after the caller left
            await wait_until(lambda: service.pool_levels()[0.7] == 2 or len(model.started) > 2, "pool or refill")
            assert service.pool_levels()[0.7] == 2 and len(model.started) == 2  # kept, so no refill was needed
            pooled = [await service.face() for _ in range(2)]
            assert {face.seed for face in pooled} == {model.started[0][0], cancelled_seed}
            assert same_image(next(f for f in pooled if f.seed == cancelled_seed), cancelled_seed, 0.7)
        finally:
            model.steps.release(100)  # let any refill still waiting finish


async def test_a_caller_that_waits_too_long_gets_unavailable_and_leaves_the_queue() -> None:
    model = GatedModel()
    async with GeneratorService(model, no_pool(request_timeout=0.05)) as service:
        async with asyncio.timeout(HANG_GUARD):
            with pytest.raises(GeneratorUnavailable, match="in time"):
                await service.face(1)  # its batch is stuck behind the closed gate
            with pytest.raises(GeneratorUnavailable, match="in time"):
                await service.face(2)  # queued behind it
        assert service.queue_depth == 0
        model.gate.set()
        assert same_image(await service.face(3), 3, 0.7)


async def test_shutdown_is_quick_and_fails_waiting_requests() -> None:
    model = GatedModel()
    service = await GeneratorService(model, no_pool()).start()
    blocker = asyncio.create_task(service.face(1))
    await asyncio.to_thread(model.entered.wait, HANG_GUARD)
    queued = [asyncio.create_task(service.face(seed)) for seed in range(10, 15)]
    await wait_until(lambda: service.queue_depth == 5, "queued")
    async with asyncio.timeout(5):  # does not wait for the running model call
        await service.aclose()
    async with asyncio.timeout(5):  # the running and the queued requests are told at once
        results = await asyncio.gather(blocker, *queued, return_exceptions=True)
    assert all(isinstance(result, GeneratorUnavailable) and str(result) == CLOSED_MESSAGE for result in results)
    assert not service.healthy
    model.gate.set()


async def test_metrics_name_requests_batches_queue_pool_and_latency() -> None:
    async with GeneratorService(DrawnFaceModel(), ServiceConfig(pool_psis=(0.7,), pool_size=2)) as service:
        await service.face(5)
        await wait_until(lambda: service.pool_levels()[0.7] == 2, "pool full")
        text = service.metrics.render()
    assert scraped(text, "figment_generator_requests_total", outcome="generated") == 1
    assert scraped(text, "figment_generator_requests_total", outcome="busy") == 0  # present from the start
    assert scraped(text, "figment_generator_request_seconds_count", path="model") == 1
    assert scraped(text, "figment_generator_batch_size_count", kind="requests") == 1
    assert scraped(text, "figment_generator_batch_size_count", kind="refill") >= 1
    assert scraped(text, "figment_generator_queue_depth") == 0
    assert scraped(text, "figment_generator_pool_level", psi="0.7") == 2
    assert scraped(text, "figment_generator_pool_capacity", psi="0.7") == 2
    assert "# TYPE figment_generator_request_seconds histogram" in text


async def test_pooled_faces_of_a_request_that_failed_go_back_to_the_pool() -> None:
    class BreaksLater(DrawnFaceModel):
        broken = False

        def generate(self, seeds, psi):  # type: ignore[no-untyped-def]
            if self.broken:
                raise RuntimeError("the GPU fell over")
            return super().generate(seeds, psi)

    model = BreaksLater()
    config = ServiceConfig(pool_psis=(0.7,), pool_size=2, refill_batch=2, restart_backoff=0.01)
    async with GeneratorService(model, config) as service:
        async with asyncio.timeout(HANG_GUARD):
            await service.wait_pool_full()
        model.broken = True
        with pytest.raises(GeneratorUnavailable):
            await service.faces(3)  # two from the pool, one for the broken model
        assert service.pool_levels()[0.7] == 2
        model.broken = False
        assert len({face.seed for face in await service.faces(2)}) == 2


async def test_a_hung_model_call_fails_its_batch_and_a_fresh_worker_serves_the_next() -> None:
    model = GatedModel(hang_guard=5)  # blocks until the gate opens: a hung driver call
    async with GeneratorService(model, no_pool(stall_seconds=0.3)) as service:
        with pytest.raises(GeneratorUnavailable, match="failed"):
            await service.face(1)
        assert service.restarts == 1 and service.healthy
        model.gate.set()  # the next call on the fresh worker thread goes through
        face = await service.face(2)
        assert face.seed == 2 and same_image(face, 2, DEFAULT_PSI)
