"""`figment generator directions ...`: attribute directions for /face edits, remade for new weights.

    figment generator directions photos  --work DIR        # the age model from labelled photos
    figment generator directions sample  --work DIR --start S --count N   # repeat: shards of faces
    figment generator directions learn   --work DIR        # directions.safetensors next to the weights
    figment generator directions measure --work DIR        # how well the edits work, and morph costs
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from bot.cli.common import console, fail, settings

app = typer.Typer(help="Attribute directions (age, smile) in W for /face edits.", no_args_is_help=True)

WORK = typer.Option(Path("artifacts/directions"), help="Working folder: photos.npz, shard-*.npz, age-model.npz.")
FACES = Path(__file__).resolve().parents[3] / "shared" / "faces"


def _model():  # type: ignore[no-untyped-def]
    from generator.editing.latents import latent_model
    from generator.loading import load_face_model

    config = settings()
    try:
        model = latent_model(load_face_model(config.weights, "cpu"))
    except Exception as error:
        fail(f"cannot load the face model: {error}")
    if model is None:
        fail("these weights have no W space: directions need a StyleGAN generator (Figment's own or imported weights)")
    return model


@app.command()
def photos(work: Path = WORK, faces: Path = typer.Option(FACES, help="The shared photo sets (utkface-crop, "
                                                                     "all-age-faces inside)."),
           limit: int = typer.Option(3000, min=100, help="Photos to read (a seeded sample).")) -> None:
    """Read labelled photos (age from their file names) and fit the age model; 20 % held out."""
    import numpy as np

    from generator.editing.learn import read_photos, split_age_model

    folders = [faces / "utkface-crop", faces / "all-age-faces"]
    if not all(folder.is_dir() for folder in folders):
        fail(f"{faces} must hold utkface-crop/ and all-age-faces/")
    work.mkdir(parents=True, exist_ok=True)
    data = read_photos(folders, limit, progress=console.print)
    np.savez(work / "photos.npz", **data)
    _fit_age(work)


def _fit_age(work: Path) -> None:
    import numpy as np

    from generator.editing.learn import split_age_model

    with np.load(work / "photos.npz") as stored:
        data = dict(stored)
    model, metrics = split_age_model(data)
    model.save(work / "age-model.npz")
    console.print(json.dumps({"age_model_held_out": metrics}, indent=1))


@app.command()
def sample(work: Path = WORK, start: int = typer.Option(1_000_000, help="First seed (keep clear of seeds "
                                                                         "measure uses: 0..count)."),
           count: int = typer.Option(800, min=16, max=5000, help="Faces in this shard (800: ~5 min of CPU)."),
           psi: float = typer.Option(0.85, min=0.0, max=1.5, help="Truncation of the sampled faces.")) -> None:
    """One shard of generated faces with their w and readings (repeat with other --start values)."""
    import numpy as np

    from generator.editing.learn import sample_shard

    work.mkdir(parents=True, exist_ok=True)
    shard = sample_shard(_model(), start, count, psi, progress=console.print)
    np.savez(work / f"shard-{start}.npz", **shard)


@app.command()
def learn(work: Path = WORK, out: Path = typer.Option(None, help="Directions file (default: next to the "
                                                                 "weights, directions.safetensors).")) -> None:
    """Linear classifiers in W per attribute, conditional directions, written next to the weights."""
    from generator.editing.attributes import AgeModel
    from generator.editing.directions import Direction, Directions, directions_path
    from generator.editing.learn import learn as learn_directions, load_shards

    if not (work / "age-model.npz").is_file():
        if not (work / "photos.npz").is_file():
            fail(f"no age model in {work}: run `figment generator directions photos` first")
        _fit_age(work)
    try:
        samples = load_shards(work)
    except FileNotFoundError as error:
        fail(str(error))
    model = _model()
    vectors, info = learn_directions(samples, AgeModel.load(work / "age-model.npz"))
    items = {name: Direction(name, vector, info[f"{name}_per_unit"], info[f"{name}_intercept"], info[f"{name}_std"])
             for name, vector in vectors.items()}
    path = out or directions_path(settings().weights)
    Directions(model.model_version, items, info).save(path)
    console.print(json.dumps(info, indent=1))
    console.print(f"wrote {path} ({path.stat().st_size} bytes) for model {model.model_version}")


@app.command()
def measure(work: Path = WORK, count: int = typer.Option(100, min=0, help="Seeds 0..count-1 to edit (0: "
                                                                         "morphs only)."),
            psi: float = typer.Option(0.7, help="Truncation, as /face."),
            morphs: int = typer.Option(3, min=0, help="Morphs to time (seed pairs 1-2, 3-4, ...)."),
            directions: Path = typer.Option(None, help="Directions file (default: next to the weights).")) -> None:
    """Classifier moves, identity kept and FD_face of the edits; CPU cost and size of morphs."""
    import asyncio
    import platform

    from generator.editing.attributes import AgeModel
    from generator.editing.directions import Directions, DirectionsError, directions_path
    from generator.editing.measure import measure as measure_edits

    try:
        found = Directions.load(directions or directions_path(settings().weights))
    except DirectionsError as error:
        fail(str(error))
    if count and not (work / "age-model.npz").is_file():
        fail(f"no age model in {work}: run `figment generator directions photos` first")
    model = _model()
    report: dict[str, object] = {"cpu": _cpu_name() or platform.processor(), "model": model.model_version}
    if count:
        report["edits"] = measure_edits(model, found, AgeModel.load(work / "age-model.npz"), list(range(count)),
                                        psi, progress=console.print)
    if morphs:
        report["morphs"] = asyncio.run(_time_morphs(model, morphs))
    console.print(json.dumps(report, indent=1))


async def _time_morphs(model, count: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import asyncio

    from bot.edits.morphs import MorphService

    config = settings()
    service = MorphService(object(), size=config.morph_size, frames=config.morph_frames, fps=config.morph_fps)
    posts = []
    for pair in range(count):
        started = time.process_time()
        post = await asyncio.to_thread(service._make, model, 2 * pair + 1, 2 * pair + 2, 0.7)
        posts.append((post, time.process_time() - started))
    return {"frames": float(config.morph_frames), "size_px": float(config.morph_size),
            "cpu_seconds_mean": sum(cpu for _, cpu in posts) / count,
            "wall_seconds_mean": sum(p.seconds for p, _ in posts) / count,
            "mp4_bytes_mean": sum(len(p.mp4.data) for p, _ in posts) / count,
            "gif_bytes_mean": sum(len(p.gif.data) for p, _ in posts) / count,
            "gif_bytes_max": float(max(len(p.gif.data) for p, _ in posts))}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


@app.command()
def picture(seed: int = typer.Option(42, help="The face."),
            ages: str = typer.Option("20,35,50,65,80", help="Ages, comma-separated."),
            psi: float = typer.Option(0.7, help="Truncation, as /face."),
            tile: int = typer.Option(192, min=64, max=512, help="Side of each face, in pixels."),
            out: Path = typer.Option(Path("docs/ages.png"), help="Where to write the PNG.")) -> None:
    """One face at several ages side by side (the README's picture), as `/face SEED age N` makes them."""
    from PIL import Image

    from bot.edits.face_edits import EditRequest, edited_w
    from generator.editing.directions import Directions, DirectionsError, directions_path
    from generator.model.sampling import save_small_png

    try:
        found = Directions.load(directions_path(settings().weights))
        wanted = [float(a) for a in ages.split(",")]
    except DirectionsError as error:
        fail(str(error))
    except ValueError:
        fail(f"--ages must be numbers separated by commas, not {ages!r}")
    model = _model()
    w = model.w_of([seed], psi)
    faces = [model.render(edited_w(w, EditRequest(seed, psi, age=age), found))[0] for age in wanted]
    sheet = Image.new("RGB", (tile * len(faces), tile))
    for index, face in enumerate(faces):
        sheet.paste(face.resize((tile, tile), Image.Resampling.LANCZOS), (index * tile, 0))
    size = save_small_png(sheet, out, max_bytes=400_000)
    console.print(f"wrote {out} ({size} bytes): seed {seed} at ages {ages}")
