"""`figment train`, `figment eval`, `figment generate`: the generator's own tools.

Thin wrappers: the work is in generator/ (train.py, evaluate.py, loading.py), which runs without
the bot. Bad input ends in a clear message and exit code 2, never a traceback.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from bot.cli.common import console, fail, settings

DEFAULT_BANK_K = 32  # `generate --quiz --bank`: a bank that made 32 candidates for each face it shows (docs/generator.md)
MAX_BANK_K = 1024

if TYPE_CHECKING:
    from generator.curation.best_of_k import Curator
    from generator.interface import FaceModel


TRAIN_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def train(ctx: typer.Context) -> None:
    """Train the face GAN: the options of `python -m generator.train` (see `figment train --help`)."""
    from generator.train import main as train_main

    # One definition of the options: generator/train.py's parser, shared by both doors.
    code = train_main(list(ctx.args), prog="figment train",
                      echo=lambda line: console.print(line, highlight=False))
    if code:
        raise typer.Exit(code)


def evaluate(
    real: Path = typer.Option(..., help="Held-out real faces: a training archive (its held-out split) or a folder."),
    weights: Optional[Path] = typer.Option(None, help="Generator weights (default FIGMENT_WEIGHTS, else the shipped file)."),
    n: int = typer.Option(2000, help="Faces to generate and compare (FD grows as n shrinks: compare at equal n)."),
    psi: float = typer.Option(0.7, help="Truncation of the generated faces."),
    seed: int = typer.Option(0, help="First seed; faces use seeds seed .. seed+n-1."),
    train: Optional[Path] = typer.Option(None, help="Training archive for the data-copying test (default --real)."),
    train_n: int = typer.Option(3000, help="Training faces embedded for the identity copying test."),
    out: Optional[Path] = typer.Option(None, help="Folder for eval.json and samples.png (default DATA_DIR/eval)."),
    card: Optional[Path] = typer.Option(None, help="Also write the metrics into this model card."),
    device: str = typer.Option("", help="auto, cpu or cuda (default FIGMENT_DEVICE)."),
    workers: int = typer.Option(2, help="Processes for dlib (one core each)."),
    copying: bool = typer.Option(True, "--copying/--no-copying", help="The data-copying test (the slowest part)."),
) -> None:
    """FD_face, face rate, SWD, data-copying test and C2ST against held-out real faces."""
    from generator.evaluate import EvalOptions, evaluate as run_eval
    from generator.interface import GeneratorError, check_psi

    config = settings()
    try:
        check_psi(psi)
    except ValueError as error:
        fail(str(error))
    if n < 20:
        fail("--n must be at least 20")
    if workers < 1:
        fail("--workers must be at least 1")
    if not real.exists():
        fail(f"real faces not found: {real}")
    opts = EvalOptions(real=real, weights=weights or config.weights, n=n, psi=psi, seed=seed, train=train,
                       train_n=train_n, out=out or config.data_dir / "eval", card=card, device=device or config.device,
                       cache=config.data_dir / "cache" / "eval", workers=workers, copying=copying)
    try:
        result = run_eval(opts, echo=lambda line: console.print(line, highlight=False))
    except (ValueError, GeneratorError, OSError) as error:  # WeightsFileError is a ValueError
        fail(str(error))
    copying = result["copying"].get("passed")
    console.print(f"FD_face {result['fd_face']}  face rate {result['face_rate']}  SWD {result['swd']['swd_avg']}  "
                  f"C2ST {result['c2st']['pixels_cnn']}  data-copying "
                  f"{'passed' if copying else 'FAILED' if copying is False else 'skipped'}", highlight=False)


def generate(
    count: int = typer.Option(8, help="How many faces."),
    seed: Optional[int] = typer.Option(None, help="First seed (faces use seed, seed+1, ...); default random."),
    psi: float = typer.Option(0.7, help="Truncation: 0 the average face, 1 the full variety."),
    out: Path = typer.Option(Path("faces"), help="Folder for the PNGs."),
    weights: Optional[Path] = typer.Option(None, help="Generator weights (default FIGMENT_WEIGHTS, else the shipped file)."),
    device: str = typer.Option("", help="auto, cpu or cuda (default FIGMENT_DEVICE)."),
    grid: Optional[Path] = typer.Option(None, help="Instead of one PNG per face, one grid PNG of at most 1 MB "
                                                   "(8 per row), e.g. for the README."),
    select: int = typer.Option(1, help="Curated faces: each the best 1 of this many candidates by the realness "
                                       "critic (face i's candidates: seeds seed+i*K .. seed+i*K+K-1)."),
    critic: Optional[Path] = typer.Option(None, help="Realness critic for --select (default FIGMENT_CRITIC, else "
                                                     "the shipped file)."),
    quiz: bool = typer.Option(False, "--quiz", help="Write faces exactly as the quiz's fake rounds show them "
                                                    "(its picking, truncations, size and JPEG), as quiz-NNNNN.jpg."),
    k: Optional[int] = typer.Option(None, "--k", help="With --quiz: the effective K, candidates per shown face "
                                                      "(default FIGMENT_CURATE_K, what the quiz uses)."),
    bank: bool = typer.Option(False, "--bank", help="With --quiz: pick as the face bank shows its faces, the COUNT "
                                                    "best of COUNT x K candidates (K: its effective K, default 32), "
                                                    "not each face the best of its own K."),
) -> None:
    """Write generated faces as PNGs named by seed and truncation (or one small grid PNG)."""
    if quiz:
        return _generate_quiz(count, seed, out, weights, device, k, grid, select, psi, bank)
    if k is not None or bank:
        fail("--k and --bank go with --quiz (plain faces use --select)")
    from generator.curation.critic import CriticError, load_critic
    from generator.curation.best_of_k import MAX_SELECT, Curator
    from generator.interface import MAX_SEED, GeneratorError, check_psi, check_seed
    from generator.loading import load_face_model

    config = settings()
    if not 1 <= count <= 10_000:
        fail("--count must be from 1 to 10000")
    if not 1 <= select <= MAX_SELECT:
        fail(f"--select must be from 1 to {MAX_SELECT}")
    first = secrets.randbelow(MAX_SEED - count * select + 2) if seed is None else seed
    try:
        check_psi(psi)
        check_seed(first)
        check_seed(first + count * select - 1)
    except ValueError as error:
        fail(str(error))
    curator = Curator(None, 1)
    if select > 1:
        try:
            curator = Curator(load_critic(critic or config.critic), select)
        except CriticError as error:
            fail(str(error))
    try:
        model = load_face_model(weights or config.weights, device or config.device)
    except (GeneratorError, ValueError) as error:
        fail(str(error))
    try:
        where = _write_faces(model, first, count, psi, out, grid, curator)
    except OSError as error:  # e.g. --out names a file, or the disk is full
        fail(f"cannot write the faces: {error}")
    last = first + count * select - 1
    picked = f", each the best 1 of {select} by the critic" if select > 1 else ""
    console.print(f"{count} faces from {model.model_version} in {where} (seeds {first}..{last}{picked}, "
                  f"psi {psi})", highlight=False)


def _generate_quiz(count: int, seed: Optional[int], out: Path, weights: Optional[Path], device: str,
                   k: Optional[int], grid: Optional[Path], select: int, psi: float, bank: bool) -> None:
    from types import SimpleNamespace

    from bot.ops.wiring import curate_k, load_curator
    from bot.quiz.detail import settle
    from bot.quiz.sample import bank_fakes, quiz_fakes
    from generator.curation.best_of_k import MAX_SELECT
    from generator.interface import MAX_SEED, GeneratorError, check_seed
    from generator.loading import load_face_model

    config = settings()
    if grid is not None or select != 1 or psi != 0.7:
        fail("--quiz picks, sizes and truncates as the quiz does: leave out --grid, --select and --psi "
             "(use --k for the effective K)")
    if not 1 <= count <= 10_000:
        fail("--count must be from 1 to 10000")
    most_k = MAX_BANK_K if bank else MAX_SELECT
    if k is not None and not 1 <= k <= most_k:
        fail(f"--k must be from 1 to {most_k}" + (" with --bank" if bank else ""))
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file, not a folder")
    if not out.parent.is_dir():
        fail(f"the folder that would hold --out does not exist: {out.parent}")
    try:
        model = load_face_model(weights or config.weights, device or config.device, config.precision)
    except (GeneratorError, ValueError) as error:
        fail(str(error))
    if bank:
        effective_k = k if k is not None else DEFAULT_BANK_K
        curator = load_curator(config, model.model_version, 2)  # its critic and filter; K is the bank's
        if curator.critic is None:
            fail("--bank picks by the realness critic, and it cannot be loaded (see the log)")
    else:
        # the quiz's own K for this model (a large imported model curates fewer on a CPU)
        effective_k = k if k is not None else curate_k(config, SimpleNamespace(model=model))
        curator = load_curator(config, model.model_version, effective_k)
        effective_k = curator.k  # 1 when the critic cannot be loaded
    first = secrets.randbelow(MAX_SEED - count * effective_k + 2) if seed is None else seed
    try:
        check_seed(first)
        check_seed(first + count * effective_k - 1)
    except ValueError as error:
        fail(str(error))
    detail, _ = settle(config.quiz_detail, model.resolution, {}, config.posted_size)
    if bank:
        fakes = bank_fakes(model, curator, first, count, effective_k, config.quiz_psis, config.posted_size, detail)
        picking = f"as a face bank at effective K {effective_k} shows them: the {count} best of {count * effective_k}"
    else:
        fakes = quiz_fakes(model, curator, first, count, config.quiz_psis, config.posted_size, detail)
        picking = f"each the best 1 of {effective_k}"
    try:
        out.mkdir(exist_ok=True)
        for i, fake in enumerate(fakes):
            (out / f"quiz-{i + 1:05d}.jpg").write_bytes(fake.posted.data)
    except OSError as error:
        fail(f"cannot write the faces: {error}")
    except ValueError as error:  # too few candidates pass the filter for the bank's picking
        fail(str(error))
    console.print(f"{count} quiz faces from {model.model_version} in {out}: {config.posted_size} px JPEGs, "
                  f"detail {detail} px, psi {', '.join(f'{p:g}' for p in config.quiz_psis)}, {picking} "
                  f"(seeds {first}..{first + count * effective_k - 1}"
                  f"{', broken-face filter on' if curator.face_filter is not None else ''}), "
                  f"arithmetic {model.setting.name}", highlight=False)


def _write_faces(model: "FaceModel", first: int, count: int, psi: float, out: Path, grid: Optional[Path],
                 curator: "Curator") -> str:
    """One PNG per face in `out`, or one small grid PNG; returns where they went."""
    from generator.curation.best_of_k import curated_faces

    faces = []
    if grid is None:
        out.mkdir(parents=True, exist_ok=True)
    if curator.k > 1:
        made = curated_faces(model, curator, range(first, first + count * curator.k, curator.k), psi)
    else:
        made = [(s, image) for start in range(first, first + count, 16)
                for s, image in zip(range(start, min(start + 16, first + count)),
                                    model.generate(list(range(start, min(start + 16, first + count))), psi))]
    for s, image in made:
        if grid is None:
            image.save(out / f"seed{s:010d}-psi{psi:.2f}.png")
        else:
            faces.append(image)
    if grid is None:
        return str(out)
    from generator.model.sampling import image_grid, save_small_png

    grid.parent.mkdir(parents=True, exist_ok=True)
    size = save_small_png(image_grid(faces, cols=8), grid)
    return f"{grid} ({size / 1e6:.2f} MB)"


def bench_model(
    weights: Optional[Path] = typer.Option(None, help="Generator weights (default FIGMENT_WEIGHTS, else the shipped "
                                                      "file; without any, an untrained network of the real size)."),
    device: str = typer.Option("cpu", help="cpu, cuda or auto."),
    repeats: int = typer.Option(5, help="Timed repeats per batch size (median reported)."),
    threads: int = typer.Option(0, help="torch CPU threads (0: torch's default)."),
) -> None:
    """Model FLOPs per face, parameters, and generation ms/face at batch 1 and 16."""
    import json

    import torch

    from generator.bench.model import run
    from generator.interface import GeneratorError

    config = settings()
    if repeats < 1 or threads < 0:
        fail("--repeats must be at least 1 and --threads not negative")
    if threads:
        torch.set_num_threads(threads)
    try:
        report = run(weights or config.weights, repeats=repeats, device=device,
                     echo=lambda line: console.print(line, highlight=False))
    except (GeneratorError, ValueError) as error:
        fail(str(error))
    typer.echo(json.dumps(report, indent=2))
