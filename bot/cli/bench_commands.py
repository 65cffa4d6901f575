"""`figment bench ...`: benchmarks whose numbers go in the README."""
from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks: db, generator, model, bank, provenance, check.", no_args_is_help=True)


@app.command("db")
def bench_db(
    answers: list[int] = typer.Option([100_000, 1_000_000], "--answers", help="Board sizes to measure at."),
    path: str = typer.Option("", help="SQLite file to use (default a temporary one)."),
) -> None:
    """Answers recorded per second, and leaderboard query p50/p99 at 100k and 1M answers."""
    from bot.ops.bench_db import run

    run(answers, path or None)


@app.command("generator")
def bench_generator(
    device: str = typer.Option("", help="auto, cpu or cuda (default FIGMENT_DEVICE)."),
    weights: str = typer.Option("", help="Generator weights (default FIGMENT_WEIGHTS, else the shipped file; "
                                         "without any, a randomly initialised network of the real size)."),
    concurrency: list[int] = typer.Option([1, 16, 64], "--concurrency", help="Concurrent callers to measure at."),
    requests: int = typer.Option(0, help="Seeded requests per cell (0: 256 on a GPU, 16 on a CPU; at least 2x concurrency)."),
    pool_requests: int = typer.Option(0, help="Pool size and pool-hit requests per cell (0: 512 GPU, 32 CPU)."),
    max_batch: int = typer.Option(0, help="The service's max batch (0: the device's default)."),
    threads: int = typer.Option(0, help="torch CPU threads (0: torch's default; 1 suits a busy shared CPU)."),
    switch_interval: float = typer.Option(0.0, help="Python's GIL switch interval in seconds (0: default 0.005)."),
    http: bool = typer.Option(True, "--http/--no-http", help="Also measure over HTTP (server in a child process)."),
) -> None:
    """Generator latency p50/p99 and throughput: pool hits and seeded, in-process and over HTTP, next to raw model speed."""
    from bot.cli.common import console, fail, settings
    from generator.bench import serving as bench_serving
    from generator.interface import GeneratorError

    config = settings()
    if min(concurrency) < 1 or requests < 0 or pool_requests < 0 or max_batch < 0 or threads < 0:
        fail("concurrency must be at least 1; the other numbers must not be negative")
    argv = ["--device", device or config.device, "--concurrency", *map(str, concurrency),
            "--requests", str(requests), "--pool-requests", str(pool_requests),
            "--max-batch", str(max_batch), "--threads", str(threads),
            "--switch-interval", str(switch_interval)]
    chosen = weights or (str(config.weights) if config.weights else "")
    if chosen:
        argv += ["--weights", chosen]
    if not http:
        argv.append("--no-http")
    args = bench_serving.parser().parse_args(argv)
    bench_serving.set_threads(args.threads, args.switch_interval)
    try:
        text = bench_serving.run(args, say=lambda line: console.print(f"[dim]{line}[/]"))
    except (FileNotFoundError, ValueError, GeneratorError) as error:
        fail(str(error))
    typer.echo(text)  # plain: the tables are markdown for the README, not to be wrapped


from bot.cli.train_commands import bench_model  # noqa: E402  (the command lives with the generator tools)

app.command("model")(bench_model)


@app.command("bank")
def bench_bank(
    seconds: float = typer.Option(120.0, help="Length of each of the three phases."),
    gap: float = typer.Option(1.0, help="Seconds between live requests (a /face and a quiz image, alternately)."),
) -> None:
    """The face bank's fill rate per hour, and live /face and quiz image p50/p99 with and without it filling."""
    from bot.cli.common import console, fail, settings
    from bot.ops.bench_bank import run
    from bot.provenance.bench_check import cpu_name
    from generator.interface import GeneratorError

    config = settings()
    if not seconds > 0 or not gap > 0:
        fail("--seconds and --gap must be above 0")
    try:
        lines = run(config, seconds, gap, say=lambda line: console.print(f"[dim]{line}[/]", highlight=False))
    except (FileNotFoundError, ValueError, GeneratorError) as error:
        fail(str(error))
    import os

    typer.echo(f"CPU: {cpu_name()}, {os.cpu_count()} cores; load average at the end "
               f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for line in lines:
        typer.echo(line)  # plain: the table is pasted into the docs as is


@app.command("provenance")
def bench_provenance(
    faces: int = typer.Option(500, help="Generated faces to mark and edit (0: skip)."),
    photos: int = typer.Option(2000, help="Real photos to read for false positives (0: skip)."),
    photo_dir: str = typer.Option("/work/shared/faces", help="Folder of real photos, read in place."),
    out: str = typer.Option("", help="Write the results as JSON here too."),
) -> None:
    """Watermark detection and bit errors per edit on generated faces; false positives on real photos."""
    from pathlib import Path

    from bot.cli.common import settings
    from bot.provenance import bench

    size = settings().posted_size
    face_result = bench.bench_faces(faces, size) if faces else None
    photo_result = bench.bench_photos(Path(photo_dir), photos, size) if photos else None
    if out:
        bench.save(Path(out), {"faces": face_result, "photos": photo_result})
    for line in bench.table(face_result, photo_result):
        typer.echo(line)  # plain: the table is pasted into the README as is


@app.command("check")
def bench_check() -> None:
    """CPU time and peak memory of one /check on the worst images the size and pixel limits let in."""
    import platform

    from bot.cli.common import console, settings
    from bot.provenance import bench_check as bench

    say = lambda line: console.print(f"[dim]{line}[/]", highlight=False)  # noqa: E731
    rows = bench.run(settings().posted_size, say=say)
    slow = bench.run_slow(settings().posted_size, say=say)
    typer.echo(f"CPU: {bench.cpu_name() or platform.processor()}")
    for line in [*bench.table(rows), "", *bench.slow_table(slow)]:
        typer.echo(line)  # plain: the tables are pasted into the README as is
