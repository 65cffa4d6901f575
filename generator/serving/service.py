"""The shared generator, in-process: one worker thread owns the model, callers await faces.

How a request flows:
- An unseeded request at a pooled truncation takes a ready face from the pool: no model time.
- Anything else joins a bounded queue (full: GeneratorBusy at once, so memory stays bounded).
- The batcher task takes up to `max_batch` queued requests, waiting at most `max_wait_ms` after the
  oldest one arrived for more to join, and runs them as one `model.generate` call on the worker
  thread (torch releases the GIL, so the event loop keeps serving meanwhile).
- When no request waits, the batcher refills the pools, then runs low-priority requests (the face
  bank's candidates, `low_priority_faces`), in small batches, so a burst of requests never waits
  long behind them.
- A caller that gives up (cancelled or timed out) leaves the queue at once: its seed never reaches
  the model. If its batch had already started, an unseeded face goes to the pool instead of waste.
- If `generate` raises, the requests of that batch fail with GeneratorUnavailable, the worker
  thread is replaced (and the model reloaded when a `reload` callable is given), and the next
  requests are served as usual.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from PIL import Image

from generator.interface import (
    DEFAULT_PSI, MAX_SEED, FaceModel, GeneratedFace, GeneratorBusy,
    GeneratorUnavailable, InvalidRequest, check_psi, check_seed,
)
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from generator.serving.prometheus import BATCH_BUCKETS, LATENCY_BUCKETS, exposition, sample

log = logging.getLogger(__name__)

BUSY_MESSAGE = "the face generator is busy; try again in a few seconds"
FAILED_MESSAGE = "the face generator failed while making this face; please try again"
CLOSED_MESSAGE = "the face generator is shut down"
NOT_STARTED_MESSAGE = "the face generator is not started"
DOWN_MESSAGE = "the face generator is unavailable right now"
TIMEOUT_MESSAGE = "the face generator did not answer in time"


@dataclass(frozen=True)
class ServiceConfig:
    max_batch: int = 16            # most requests in one model call
    max_wait_ms: float = 3.0       # how long a lone request waits for others to share its batch
    queue_size: int = 256          # waiting requests beyond this get GeneratorBusy at once
    pool_psis: tuple[float, ...] = (0.5, 0.7, 0.9, 1.0)
    pool_size: int = 32            # ready faces kept per pooled truncation (0: no pool)
    refill_batch: int = 8          # faces per background refill call; small, as it delays requests
    request_timeout: float | None = 60.0  # a caller waits at most this long, then GeneratorUnavailable
    restart_backoff: float = 0.5   # first pause after a failed model reload; doubles up to 30 s
    stall_seconds: float = 120.0   # a model call running longer has hung: fail it, start a fresh worker

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.queue_size < 1 or self.refill_batch < 1 or self.pool_size < 0:
            raise ValueError("max_batch, queue_size and refill_batch must be at least 1; pool_size at least 0")
        for psi in self.pool_psis:
            check_psi(psi)

    @classmethod
    def for_device(cls, device: str, **overrides: object) -> "ServiceConfig":
        """Defaults that suit the device: a GPU likes big batches, a CPU small ones (latency grows with size)."""
        if str(device).startswith("cuda"):
            base = cls(max_batch=64, queue_size=1024, pool_size=256, refill_batch=64, max_wait_ms=2.0)
        else:
            base = cls(max_batch=16, queue_size=256, pool_size=32, refill_batch=4)
        return replace(base, **overrides)  # type: ignore[arg-type]


class _Request:
    __slots__ = ("seed", "psi", "random", "future", "queued_at", "timer")

    def __init__(self, seed: int, psi: float, random: bool, future: asyncio.Future, queued_at: float) -> None:
        self.seed, self.psi, self.random, self.future, self.queued_at = seed, psi, random, future, queued_at
        self.timer: asyncio.TimerHandle | None = None


OUTCOMES = ("pool_hit", "generated", "busy", "invalid", "failed", "timed_out", "cancelled")


class ServiceMetrics:
    """What /metrics shows about the service: requests, batches, queue, pool, latency.

    Built once the service's queue and pools exist: the gauges read them when scraped."""

    def __init__(self, service: "GeneratorService") -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            "figment_generator_requests_total",
            "Face requests by outcome: pool_hit, generated, busy, invalid, failed, timed_out, cancelled.",
            ["outcome"], registry=registry)
        for outcome in OUTCOMES:  # every series from the start, so a rate over it is never missing
            self.requests.labels(outcome=outcome)
        self.latency = Histogram(
            "figment_generator_request_seconds", "Time from request to face, by path (pool or model).",
            ["path"], buckets=LATENCY_BUCKETS, registry=registry)
        self.batch_size = Histogram(
            "figment_generator_batch_size", "Faces per model call, by kind (requests, low or refill).",
            ["kind"], buckets=BATCH_BUCKETS, registry=registry)
        self.batch_seconds = Histogram(
            "figment_generator_batch_seconds", "Duration of one model call, by kind.",
            ["kind"], buckets=LATENCY_BUCKETS, registry=registry)
        self.failures = Counter(
            "figment_generator_worker_failures_total", "Model calls that raised (the worker was restarted).",
            registry=registry)
        Gauge("figment_generator_queue_depth", "Requests waiting for the model.",
              registry=registry).set_function(lambda: len(service._queue))
        Gauge("figment_generator_in_flight", "Faces in the model call now running.",
              registry=registry).set_function(lambda: len(service._in_flight))
        level = Gauge("figment_generator_pool_level", "Ready faces in the pool, per truncation.", ["psi"],
                      registry=registry)
        capacity = Gauge("figment_generator_pool_capacity", "Pool size per truncation.", ["psi"],
                         registry=registry)
        for psi, pool in service._pools.items():  # the pooled truncations are fixed at construction
            level.labels(psi=f"{psi:g}").set_function(pool.__len__)
            capacity.labels(psi=f"{psi:g}").set(service.config.pool_size)
        Gauge("figment_generator_up", "1 when the generator can take requests.",
              registry=registry).set_function(lambda: 1 if service.healthy else 0)

    def requests_total(self, outcome: str) -> int:
        """Requests counted so far with this outcome."""
        return int(sample(self.registry, "figment_generator_requests_total", outcome=outcome))

    def render(self) -> str:
        """The Prometheus text of this service alone."""
        return exposition(self.registry).decode()


class GeneratorService:
    """A FaceSource that batches requests onto one model and keeps ready faces in a pool.

    Use `async with GeneratorService(model) as source:` or call `start()` and `aclose()`.
    `reload`, when given, builds a fresh model after the worker failed (e.g. a CUDA error).
    """

    def __init__(self, model: FaceModel, config: ServiceConfig | None = None, *,
                 reload: Callable[[], FaceModel] | None = None) -> None:
        self.model = model
        self.model_version = model.model_version
        self.config = config or ServiceConfig()
        self.reload = reload
        self._queue: deque[_Request] = deque()
        self._low: deque[_Request] = deque()  # low priority: run only when no request waits
        self._in_flight: list[_Request] = []
        pool_psis = sorted(set(self.config.pool_psis)) if self.config.pool_size else []
        self._pools: dict[float, deque[GeneratedFace]] = {psi: deque() for psi in pool_psis}
        self.metrics = ServiceMetrics(self)
        self._state = "new"  # new, running, reloading, closed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Future | None = None  # the batcher sleeps on this
        self._wake_at = 1  # queue length that wakes the batcher
        self._wake_on_pool = False  # whether taking a pooled face wakes it (to refill)
        self._pool_full = asyncio.Event()
        self.restarts = 0

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> "GeneratorService":
        if self._state != "new":
            raise RuntimeError("a GeneratorService starts once")
        self._loop = asyncio.get_running_loop()
        self._executor = self._new_executor()
        self._state = "running"
        self._task = self._loop.create_task(self._supervise(), name="figment-generator-batcher")
        return self

    async def aclose(self) -> None:
        """Stop at once: waiting and running requests fail with GeneratorUnavailable.

        A model call already running finishes in its thread, but nobody waits for it.
        """
        if self._state == "closed":
            return
        self._state = "closed"
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._fail(list(self._in_flight) + list(self._queue) + list(self._low), CLOSED_MESSAGE)
        self._queue.clear()
        self._low.clear()
        self._in_flight = []
        for pool in self._pools.values():
            pool.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> "GeneratorService":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def healthy(self) -> bool:
        return self._state == "running" and self._task is not None and not self._task.done()

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    def pool_levels(self) -> dict[float, int]:
        return {psi: len(pool) for psi, pool in self._pools.items()}

    async def wait_pool_full(self) -> None:
        """Return once every pool is full (for benchmarks and tests; wrap it in a timeout)."""
        await self._pool_full.wait()

    # ---- the FaceSource API ------------------------------------------------------------------

    async def face(self, seed: int | None = None, psi: float = DEFAULT_PSI) -> GeneratedFace:
        [face] = await self.faces(1, seed, psi)
        return face

    async def faces(self, count: int, seed: int | None = None, psi: float = DEFAULT_PSI) -> list[GeneratedFace]:
        """`count` faces: seeds seed .. seed+count-1 when seeded, else random ones.

        All or nothing: when the queue cannot take every face that must be made, GeneratorBusy.
        """
        started = time.perf_counter()
        try:
            psi = check_psi(psi)
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= self.config.queue_size:
                raise InvalidRequest(f"count must be a whole number from 1 to {self.config.queue_size}")
            if seed is not None:
                check_seed(seed)
                check_seed(seed + count - 1)
        except InvalidRequest:
            self.metrics.requests.labels(outcome="invalid").inc(count if isinstance(count, int) and count > 0 else 1)
            raise
        if self._state != "running":
            raise GeneratorUnavailable({"new": NOT_STARTED_MESSAGE, "closed": CLOSED_MESSAGE}.get(self._state, DOWN_MESSAGE))

        pooled: list[GeneratedFace] = []
        pool = self._pools.get(psi) if seed is None else None
        if pool:
            while pool and len(pooled) < count:
                pooled.append(pool.popleft())
            self._pool_taken()
            self.metrics.requests.labels(outcome="pool_hit").inc(len(pooled))
            for _ in pooled:
                self.metrics.latency.labels(path="pool").observe(time.perf_counter() - started)
            if len(pooled) == count:
                return pooled

        needed = count - len(pooled)
        if len(self._queue) + needed > self.config.queue_size:
            if pooled:  # nothing is lost: the pooled faces go back where they were
                pool.extendleft(reversed(pooled))  # type: ignore[union-attr]
            self.metrics.requests.labels(outcome="busy").inc(needed)
            raise GeneratorBusy(BUSY_MESSAGE)
        seeds = [None] * needed if seed is None else list(range(seed, seed + count))
        requests = [self._enqueue(s, psi, started) for s in seeds]
        try:
            if len(requests) == 1:
                made = [await self._wait(requests[0])]
            else:
                made = list(await asyncio.gather(*(self._wait(request) for request in requests)))
        except BaseException:
            for request in requests:  # one failed or the caller left: the rest are not wanted either
                request.future.cancel()
            for face in pooled:  # nor the pooled faces taken for this call: they serve the next one
                self._to_pool(face)
            raise
        return pooled + made

    async def low_priority_faces(self, seeds: Sequence[int], psi: float = DEFAULT_PSI) -> list[GeneratedFace]:
        """The faces of these seeds, made only while no other request waits (the face bank's
        candidates): a live request that arrives meanwhile goes first. GeneratorBusy when the
        low-priority queue is full; the same timeout as other requests."""
        psi = check_psi(psi)
        seeds = [check_seed(seed) for seed in seeds]
        if not 1 <= len(seeds) <= self.config.queue_size:
            raise InvalidRequest(f"count must be a whole number from 1 to {self.config.queue_size}")
        if self._state != "running":
            raise GeneratorUnavailable({"new": NOT_STARTED_MESSAGE, "closed": CLOSED_MESSAGE}.get(self._state, DOWN_MESSAGE))
        if len(self._low) + len(seeds) > self.config.queue_size:
            self.metrics.requests.labels(outcome="busy").inc(len(seeds))
            raise GeneratorBusy(BUSY_MESSAGE)
        started = time.perf_counter()
        requests = [self._enqueue(seed, psi, started, low=True) for seed in seeds]
        try:
            return list(await asyncio.gather(*(self._wait(request) for request in requests)))
        except BaseException:
            for request in requests:
                request.future.cancel()
            raise

    def _enqueue(self, seed: int | None, psi: float, started: float, *, low: bool = False) -> _Request:
        assert self._loop is not None
        random = seed is None
        if seed is None:
            seed = secrets.randbelow(MAX_SEED + 1)
        request = _Request(seed, psi, random, self._loop.create_future(), started)
        request.future.add_done_callback(functools.partial(self._left, request))
        if self.config.request_timeout is not None:
            request.timer = self._loop.call_later(self.config.request_timeout, self._expire, request)
        if low:
            self._low.append(request)
            if self._wake is not None and self._wake_on_pool:  # the batcher is idle: wake it
                _settle(self._wake)
        else:
            self._queue.append(request)
            self._notify()
        return request

    async def _wait(self, request: _Request) -> GeneratedFace:
        try:
            face = await request.future
        except asyncio.CancelledError:
            request.future.cancel()  # make sure it leaves the queue even if we were cancelled oddly
            raise
        self.metrics.latency.labels(path="model").observe(time.perf_counter() - request.queued_at)
        return face

    def _expire(self, request: _Request) -> None:
        if not request.future.done():
            self.metrics.requests.labels(outcome="timed_out").inc()
            request.future.set_exception(GeneratorUnavailable(TIMEOUT_MESSAGE))

    def _left(self, request: _Request, future: asyncio.Future) -> None:
        """Done callback: a request that ends while still queued (cancelled, timed out) leaves the queue."""
        if request.timer is not None:
            request.timer.cancel()
        if future.cancelled():
            self.metrics.requests.labels(outcome="cancelled").inc()
        if future.cancelled() or future.exception() is not None:
            for queue in (self._queue, self._low):
                try:
                    queue.remove(request)
                except ValueError:
                    pass  # already taken into a batch (or the queue was cleared)

    # ---- the batcher -----------------------------------------------------------------------

    def _notify(self) -> None:
        if self._wake is not None and len(self._queue) >= self._wake_at:
            _settle(self._wake)

    def _pool_taken(self) -> None:
        self._pool_full.clear()
        if self._wake_on_pool and self._wake is not None:
            _settle(self._wake)

    async def _sleep_until(self, queue_length: int, *, on_pool: bool, timeout: float | None) -> None:
        """Sleep until the queue holds `queue_length` requests, a pooled face is taken, or the timeout."""
        assert self._loop is not None
        wake = self._wake = self._loop.create_future()
        self._wake_at, self._wake_on_pool = queue_length, on_pool
        timer = self._loop.call_later(timeout, _settle, wake) if timeout is not None else None
        try:
            await wake
        finally:
            if timer is not None:
                timer.cancel()
            self._wake = None

    async def _supervise(self) -> None:
        """Keep the batcher alive: a bug in it fails the waiting requests, then it starts over."""
        while True:
            try:
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the generator batcher failed; restarting it")
                self._fail(list(self._in_flight) + list(self._queue) + list(self._low), FAILED_MESSAGE)
                self._queue.clear()
                self._low.clear()
                self._in_flight = []
                await asyncio.sleep(self.config.restart_backoff)

    async def _run(self) -> None:
        config = self.config
        while True:
            if not self._queue:
                plan = self._refill_plan()
                if plan:
                    await self._refill(plan)
                    continue
                self._pool_full.set()
                if self._low:  # the lowest priority: after requests and refills, in small batches
                    low = self._take_batch(self._low, self.config.refill_batch)
                    if low:
                        await self._run_batch(low, "low")
                else:
                    await self._sleep_until(1, on_pool=True, timeout=None)
                continue
            # Wait for company only until the oldest request has waited max_wait_ms.
            wait = config.max_wait_ms / 1000 - (time.perf_counter() - self._queue[0].queued_at)
            if len(self._queue) < config.max_batch and wait > 0:
                await self._sleep_until(config.max_batch, on_pool=False, timeout=wait)
            batch = self._take_batch()
            if batch:
                await self._run_batch(batch)

    def _take_batch(self, queue: deque[_Request] | None = None, most: int | None = None) -> list[_Request]:
        """Up to max_batch waiting requests; ones that already ended (cancelled, timed out) are dropped."""
        queue = self._queue if queue is None else queue
        most = self.config.max_batch if most is None else most
        batch: list[_Request] = []
        while queue and len(batch) < most:
            request = queue.popleft()
            if not request.future.done():
                batch.append(request)
        return batch

    async def _run_batch(self, batch: list[_Request], kind: str = "requests") -> None:
        self._in_flight = batch  # aclose() fails these if it cancels us mid-call
        try:
            images = await self._generate([r.seed for r in batch], [r.psi for r in batch], kind)
        except _ModelFailed as failure:
            self._in_flight = []
            self._fail(batch, FAILED_MESSAGE, failure.__cause__)
            await self._restart_worker()
            return
        self._in_flight = []
        for request, image in zip(batch, images):
            face = GeneratedFace(image, request.seed, request.psi, self.model_version)
            if not request.future.done():
                self.metrics.requests.labels(outcome="generated").inc()
                request.future.set_result(face)
            elif request.random and request.future.cancelled():
                self._to_pool(face)  # the caller left after its batch started: keep the face

    def _refill_plan(self) -> list[float]:
        """The truncations of the next refill batch: the emptiest pools first."""
        deficits = {psi: self.config.pool_size - len(pool) for psi, pool in self._pools.items()}
        plan: list[float] = []
        while len(plan) < self.config.refill_batch:
            psi = max(deficits, key=deficits.__getitem__, default=None)
            if psi is None or deficits[psi] <= 0:
                break
            plan.append(psi)
            deficits[psi] -= 1
        return plan

    async def _refill(self, psis: list[float]) -> None:
        seeds = [secrets.randbelow(MAX_SEED + 1) for _ in psis]
        try:
            images = await self._generate(seeds, psis, "refill")
        except _ModelFailed:
            await self._restart_worker()
            await asyncio.sleep(self.config.restart_backoff)  # don't spin on a model that keeps failing
            return
        for seed, psi, image in zip(seeds, psis, images):
            self._to_pool(GeneratedFace(image, seed, psi, self.model_version))

    def _to_pool(self, face: GeneratedFace) -> None:
        pool = self._pools.get(face.psi)
        if pool is not None and len(pool) < self.config.pool_size:
            pool.append(face)

    async def _generate(self, seeds: list[int], psis: list[float], kind: str) -> list[Image.Image]:
        """One model call on the worker thread; raises _ModelFailed if the model raised."""
        assert self._loop is not None and self._executor is not None
        psi: float | list[float] = psis[0] if len(set(psis)) == 1 else psis
        started = time.perf_counter()
        call = self._loop.run_in_executor(self._executor, _call_model, self.model, seeds, psi)
        try:
            # A hung call (a stuck driver, a deadlock) would stall every caller behind it: give up on
            # it after stall_seconds; the restart abandons its thread and starts a fresh one.
            # (asyncio.wait, not wait_for: a cancelled caller must not wait for the thread.)
            done, _ = await asyncio.wait({call}, timeout=self.config.stall_seconds)
        except asyncio.CancelledError:
            call.cancel()
            raise
        if not done:
            call.cancel()
            log.error("the face model hung for %.0f s on a %s batch of %d; restarting the worker",
                      self.config.stall_seconds, kind, len(seeds))
            self.metrics.failures.inc()
            raise _ModelFailed() from TimeoutError(f"no answer in {self.config.stall_seconds:g} s")
        try:
            images = call.result()
        except Exception as error:
            log.error("the face model failed on a %s batch of %d: %r; restarting the worker", kind, len(seeds), error)
            self.metrics.failures.inc()
            raise _ModelFailed() from error
        self.metrics.batch_size.labels(kind=kind).observe(len(seeds))
        self.metrics.batch_seconds.labels(kind=kind).observe(time.perf_counter() - started)
        return images

    def _new_executor(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="figment-generator")

    async def _restart_worker(self) -> None:
        """A fresh worker thread; with `reload`, a fresh model too (retried with backoff until it loads)."""
        assert self._loop is not None and self._executor is not None
        self.restarts += 1
        old, self._executor = self._executor, self._new_executor()
        old.shutdown(wait=False, cancel_futures=True)
        if self.reload is None:
            return
        delay = self.config.restart_backoff
        while True:
            try:
                model = await self._loop.run_in_executor(self._executor, self.reload)
                break
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.error("reloading the face model failed: %r; retrying in %.1f s", error, delay)
                self._state = "reloading"  # new requests fail at once instead of piling up
                self._fail(list(self._queue) + list(self._low), DOWN_MESSAGE)
                self._queue.clear()
                self._low.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self.model, self.model_version = model, model.model_version
        if self._state == "reloading":
            self._state = "running"

    def _fail(self, requests: Sequence[_Request], message: str, cause: BaseException | None = None) -> None:
        for request in requests:
            if not request.future.done():
                self.metrics.requests.labels(outcome="failed").inc()
                error = GeneratorUnavailable(message)
                error.__cause__ = cause
                request.future.set_exception(error)


class _ModelFailed(Exception):
    """A model call raised (the original error is the __cause__)."""


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _call_model(model: FaceModel, seeds: list[int], psi: float | list[float]) -> list[Image.Image]:
    images = model.generate(seeds, psi)
    if len(images) != len(seeds):
        raise RuntimeError(f"the model returned {len(images)} images for {len(seeds)} seeds")
    return images
