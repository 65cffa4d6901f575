"""The trained-generator FaceModel: determinism, truncation, input checks, weights errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from generator.model.checkpoint import EXPORT_NAME, export_generator, load_generator
from generator.interface import FaceModel, InvalidRequest
from generator.loading import DEFAULT_WEIGHTS, WeightsError, load_face_model
from generator.model.networks import Discriminator, Generator, ModelConfig, preset
from generator.model.sampling import seed_latents


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_generator(resolution: int = 32, seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    G = Generator(preset("tiny", resolution))
    with torch.no_grad():  # a trained look: noise on, w_avg away from zero
        for module in G.modules():
            if hasattr(module, "noise_strength"):
                module.noise_strength.fill_(0.5)
        G.mapping.w_avg.normal_()
    return G


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / EXPORT_NAME
    export_generator(path, tiny_generator(), {"kimg": 12, "step": 3})
    return path


@pytest.fixture(scope="module")
def model(weights):
    return load_face_model(weights, device="cpu")


def pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


# "Same seed, same face" (README, The generator): the same seeds in the same call give the same
# bytes; the same seed in another batch, thread count or CPU may round a few pixels the other way,
# at most one level. Measured: the float output differs by at most 0.003 of a level between a face
# made alone and in a batch, so a pixel moves one level only when it sits on a rounding edge (about
# 1 pixel in 30,000); two levels would need 300 times that error.
ONE_LEVEL = 1


def same_face(a, b) -> bool:
    """Two images of one seed: equal up to one level per pixel (another batch, thread count or CPU)."""
    return a.size == b.size and int(np.abs(pixels(a) - pixels(b)).max()) <= ONE_LEVEL


def test_loads_as_a_face_model(model, weights):
    assert isinstance(model, FaceModel)
    assert model.resolution == 32
    assert model.model_version.startswith("sg2-32px-12k-")
    [image] = model.generate([7], 0.7)
    assert image.size == (32, 32) and image.mode == "RGB"


def test_same_seed_gives_the_same_face(model, weights):
    first = model.generate([1, 2, 3], 0.7)
    again = model.generate([1, 2, 3], 0.7)
    for a, b in zip(first, again):
        assert a.tobytes() == b.tobytes()
    # another model instance, and the seed alone in a batch: the same face
    [alone] = load_face_model(weights, device="cpu").generate([2], 0.7)
    assert same_face(alone, first[1])
    assert first[0].tobytes() != first[1].tobytes()


def test_a_batch_moves_the_float_output_far_less_than_one_level(model):
    """The ground for ONE_LEVEL: alone vs in a batch, the images before rounding differ by a tiny
    fraction of a level (0.0024 measured here), so rounding can move a pixel by one level, never two."""
    seeds = list(range(40, 48))
    z, psi = seed_latents(seeds, model.G.cfg.z_dim), torch.full((len(seeds),), 0.7)
    with torch.no_grad():
        batch = model.G(z, psi=psi, noise_mode="const")
        alone = torch.cat([model.G(z[i:i + 1], psi=psi[i:i + 1], noise_mode="const") for i in range(len(seeds))])
    assert (batch - alone).abs().max().item() * 127.5 < 0.05


def test_seed_latents_are_fixed_by_the_seed():
    assert torch.equal(seed_latents([5, 6], 16), seed_latents([5, 6], 16))
    assert not torch.equal(seed_latents([5], 16), seed_latents([6], 16))


def test_psi_zero_gives_the_average_face_for_every_seed(model):
    images = model.generate([0, 1, 99, 2**32 - 1], 0.0)
    assert all(same_face(image, images[0]) for image in images)  # rows of one batch: one level at most
    far = model.generate([0, 1], 1.0)
    assert np.abs(pixels(far[0]) - pixels(far[1])).max() > 10 * ONE_LEVEL


def test_one_psi_per_seed(model):
    mixed = model.generate([4, 4], [0.0, 1.0])
    assert same_face(mixed[0], model.generate([5], 0.0)[0])  # psi 0: the average face, whatever the seed
    assert same_face(mixed[1], model.generate([4], 1.0)[0])
    assert not same_face(mixed[0], mixed[1])
    with pytest.raises(InvalidRequest):
        model.generate([4, 5], [0.5])


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True, "3"])
def test_bad_seed_is_rejected(model, seed):
    with pytest.raises(InvalidRequest):
        model.generate([seed], 0.7)


@pytest.mark.parametrize("psi", [-0.1, 1.51, float("nan"), float("inf"), "0.7", None])
def test_bad_psi_is_rejected(model, psi):
    with pytest.raises(InvalidRequest):
        model.generate([1], psi)


def test_missing_weights_name_the_file(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(WeightsError, match="nope.safetensors"):
        load_face_model(missing, device="cpu")


def test_default_weights_missing_or_present():
    if DEFAULT_WEIGHTS.exists():
        assert load_face_model(device="cpu").resolution in (64, 128, 256)
    else:
        with pytest.raises(WeightsError, match=str(DEFAULT_WEIGHTS)):
            load_face_model(device="cpu")


def test_corrupt_weights_name_the_file(tmp_path, weights):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a safetensors file at all" * 10)
    with pytest.raises(WeightsError, match="garbage.safetensors"):
        load_face_model(garbage, device="cpu")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(weights.read_bytes()[:-500])
    with pytest.raises(WeightsError, match="truncated.safetensors"):
        load_face_model(truncated, device="cpu")


def test_foreign_or_mismatched_weights_name_the_file(tmp_path):
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": torch.zeros(3)}, str(foreign))
    with pytest.raises(WeightsError, match="foreign.safetensors"):
        load_face_model(foreign, device="cpu")
    # right format, wrong tensors for the config it claims
    mismatched = tmp_path / "mismatched.safetensors"
    export_generator(mismatched, tiny_generator(16), {})
    data = mismatched.read_bytes()
    assert b'\\"resolution\\": 16' in data
    mismatched.write_bytes(data.replace(b'\\"resolution\\": 16', b'\\"resolution\\": 32'))
    with pytest.raises(WeightsError, match="mismatched.safetensors"):
        load_face_model(mismatched, device="cpu")


def test_export_round_trip_keeps_the_faces(tmp_path):
    G = tiny_generator().eval()
    path = tmp_path / EXPORT_NAME
    export_generator(path, G, {})
    loaded, version, _ = load_generator(path)
    z = seed_latents([1, 2], G.cfg.z_dim)
    psi = torch.tensor([0.7, 0.7])
    with torch.no_grad():
        assert torch.allclose(G(z, psi, "const"), loaded(z, psi, "const"), atol=0.02)
    assert path.stat().st_size < 1e6


def test_configs_from_older_files_keep_their_behaviour():
    old = {"resolution": 128, "z_dim": 256, "w_dim": 256, "mapping_layers": 4, "channel_base": 8192,
           "channel_max": 256}  # written before `resample` existed
    assert ModelConfig.from_dict(old) == ModelConfig()
    assert ModelConfig.from_dict({**old, "resample": "fast"}).resample == "fast"
    with pytest.raises(ValueError):
        ModelConfig(resample="bicubic")


def test_shipped_size_budget():
    """The lean 128 px generator must stay under 20 MB in fp16."""
    for resample in ("classic", "fast"):
        params = sum(p.numel() for p in Generator(ModelConfig(resample=resample)).parameters())
        assert params * 2 < 16 * 2**20  # also fits one file back from a GPU box
    d = Discriminator(ModelConfig())
    assert d(torch.zeros(4, 3, 128, 128)).shape == (4,)
