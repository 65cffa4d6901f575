"""Precision by measurement, the broken-face filter, multi-modal truncation and picking
(generator/precision.py, generator/curation/{face_filter,centres,picking}.py), on real tiny
generators: nothing here mocks the model."""
from __future__ import annotations


import numpy as np
import pytest
import torch
from PIL import Image

from bot.photos.align import align_face
from bot.photos.landmarks import find_face
from generator.curation.centres import (CentresError, centres_path, compute_centres, load_centres, save_centres)
from generator.curation.critic import Critic, CriticNet
from generator.curation.face_filter import FaceFilter, plausible
from generator.curation.picking import (Candidate, Picker, best_of, best_passing, make_faces, pick_one, quiz_faces,
                                        score_candidates)
from generator.interface import InvalidRequest
from generator.loading import StyleGANFaceModel
from generator.precision import (Measurement, Setting, apply_precision, check_precision, choose, probe,
                                 wall_timer)
from tests.conftest import REPO
from tests.test_generator_model import same_face, tiny_generator

FACES = next((p for p in (REPO.parent / "shared" / "faces", REPO.parents[1] / "shared" / "faces") if p.is_dir()), None)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def model() -> StyleGANFaceModel:
    return StyleGANFaceModel(tiny_generator(32), "tiny-test", "cpu")


@pytest.fixture
def critic() -> Critic:
    torch.manual_seed(1)
    return Critic(CriticNet(), {"model_version": "tiny-test"})


# ---- precision ------------------------------------------------------------------------------------

def scripted_timer(seconds: dict[bool, float]):
    """A real probe's clock for a machine we are not on: the probe really runs each setting (so the
    differences are measured), and the time is what that machine would take (by bf16 or not)."""
    def timer(setting: Setting, make):
        return seconds[setting.bf16] * 8, make()
    return timer


def test_probe_measures_every_setting_and_leaves_the_model_as_it_was(model):
    before = model.generate([3, 4], 0.7)
    measured = probe(model, timer=wall_timer(1))
    assert [m.setting.name for m in measured] == ["fp32+channels_last", "bf16+channels_last", "bf16"]
    assert measured[0].mean_levels == 0 and measured[0].max_levels == 0
    assert all(m.seconds_per_face > 0 for m in measured)
    assert model.setting == Setting(False, True)
    assert [np.asarray(a).tobytes() for a in model.generate([3, 4], 0.7)] == [np.asarray(b).tobytes() for b in before]


def test_bf16_is_used_where_it_is_fast_and_close(model):
    report = apply_precision(model, "auto", timer=scripted_timer({False: 0.040, True: 0.011}), max_mean_levels=255)
    assert report.chosen.bf16 and model.setting.bf16
    assert "faster than fp32" in report.reason
    bf16_face = model.generate([5], 0.7)[0]
    model.apply_setting(Setting(False, True))
    assert np.abs(np.asarray(bf16_face, np.int16) - np.asarray(model.generate([5], 0.7)[0], np.int16)).mean() < 255


def test_falls_back_to_fp32_where_bf16_is_slow(model):
    """An AVX2-only CPU: bf16 autocast runs slower than fp32 (or only a little faster)."""
    for bf16_seconds in (0.120, 0.035):
        model.apply_setting(Setting(False, True))
        report = apply_precision(model, "auto", timer=scripted_timer({False: 0.040, True: bf16_seconds}),
                                 max_mean_levels=255)
        assert not report.chosen.bf16 and not model.setting.bf16, report
        assert "speed of fp32" in report.reason


def test_falls_back_to_fp32_where_bf16_is_too_far(model):
    """Fast, but its faces are further from fp32's than allowed: fp32. The difference is measured."""
    report = apply_precision(model, "auto", timer=scripted_timer({False: 0.040, True: 0.011}))
    bf16 = [m for m in report.measurements if m.setting.bf16]
    allowed = min(m.mean_levels for m in bf16) / 2  # below what this machine's bf16 really differs by
    assert allowed > 0
    model.apply_setting(Setting(False, True))
    report = apply_precision(model, "auto", timer=scripted_timer({False: 0.040, True: 0.011}),
                             max_mean_levels=allowed)
    assert not report.chosen.bf16 and "too far" in report.reason


def test_choose_rule_on_measurements():
    fp32, bf16 = Setting(False, True), Setting(True, True)
    ms = lambda s, t, d: Measurement(s, t, d, 10)  # noqa: E731
    assert choose([ms(fp32, 0.039, 0), ms(bf16, 0.011, 0.48)])[0] == bf16  # the AMX Xeon of the issue
    assert choose([ms(fp32, 0.039, 0), ms(bf16, 0.027, 0.48)])[0] == fp32  # 1.44x: not enough
    assert choose([ms(fp32, 0.039, 0), ms(bf16, 0.011, 1.2)])[0] == fp32  # over one level
    assert choose([ms(fp32, 0.039, 0), ms(bf16, 0.026, 1.0)])[0] == bf16  # both bounds are inclusive


def test_a_setting_forces_one(model, tmp_path, monkeypatch):
    assert apply_precision(model, "bf16").chosen.bf16 and model.setting.bf16
    assert not apply_precision(model, "fp32").chosen.bf16
    with pytest.raises(ValueError):
        check_precision("fast")
    from pydantic import ValidationError

    from tests.conftest import make_settings
    assert make_settings(tmp_path, precision="bf16").precision == "bf16"
    with pytest.raises(ValidationError):
        make_settings(tmp_path, precision="fp16")


# ---- the broken-face filter -----------------------------------------------------------------------

def test_filter_rejects_flat_and_noise_images():
    face_filter = FaceFilter()
    flat = Image.new("RGB", (128, 128), (128, 128, 128))
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8))
    assert not face_filter.check(flat).passed
    assert not face_filter.check(noise).passed


@pytest.mark.skipif(FACES is None, reason="../shared/faces is not here")
def test_filter_keeps_real_face_photos_aligned_as_the_quiz_shows_them():
    face_filter = FaceFilter()
    kept = 0
    photos = sorted((FACES / "utkface-crop").iterdir())[:6]
    for path in photos:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        aligned, _ = align_face(rgb, find_face(rgb).landmarks, 128)
        kept += face_filter.check(aligned).passed
    assert kept == len(photos)


def test_landmark_layout_rules():
    from generator.curation import face_filter as module

    # a plausible face: dlib's 68 points of the mean aligned face, roughly
    points = np.zeros((68, 2))
    points[:17] = np.stack([np.linspace(0.2, 0.8, 17), np.full(17, 0.5)], 1)
    points[36:42] = [0.33, 0.42] + np.c_[np.linspace(-0.05, 0.05, 6), np.zeros(6)]
    points[42:48] = [0.67, 0.42] + np.c_[np.linspace(-0.05, 0.05, 6), np.zeros(6)]
    points[27:36] = [0.5, 0.55]
    points[48:60] = [0.5, 0.72] + np.c_[np.linspace(-0.1, 0.1, 12), np.zeros(12)]  # the lips' outline
    points[60:68] = [0.5, 0.72] + np.c_[np.linspace(-0.05, 0.05, 8), np.zeros(8)]
    assert plausible(points).passed
    swapped = points.copy()
    swapped[48:68, 1] = 0.3  # the mouth above the eyes
    assert plausible(swapped).reason == "eyes, nose and mouth out of order"
    lopsided = points.copy()
    lopsided[36:42, 1] += 0.2
    assert not plausible(lopsided).passed
    assert module.SIDE >= 80  # the HOG window


# ---- multi-modal truncation -----------------------------------------------------------------------

@pytest.fixture
def picker(model, critic) -> Picker:
    return Picker(critic, None, compute_centres(model, k=4, samples=400))


def test_centres_reproduce_the_same_face_from_seed_psi_and_mode(model, picker):
    seeds = [11, 12, 13]
    first = make_faces(model, seeds, 0.6, mode="centres", picker=picker)
    again = make_faces(model, seeds, 0.6, mode="centres", picker=picker)
    assert [np.asarray(a).tobytes() for a in first] == [np.asarray(b).tobytes() for b in again]
    [alone] = make_faces(model, [12], 0.6, mode="centres", picker=picker)
    assert same_face(alone, first[1])
    mean = make_faces(model, seeds, 0.6, mode="mean", picker=picker)
    assert any(np.asarray(a).tobytes() != np.asarray(b).tobytes() for a, b in zip(first, mean))
    # psi 1 leaves w untouched whichever centre it would move toward: the same face as /face SEED 1.0
    untouched = make_faces(model, seeds, 1.0, mode="centres", picker=picker)
    assert all(same_face(a, b) for a, b in zip(untouched, model.generate(seeds, 1.0)))


def test_centres_file_round_trip_and_mismatch(model, picker, tmp_path):
    weights = tmp_path / "generator.safetensors"
    path = centres_path(weights)
    assert path.name == "generator.centres.safetensors"
    save_centres(path, picker.centres, model.model_version, 400)
    assert torch.equal(load_centres(path, model.model_version), picker.centres)
    with pytest.raises(CentresError, match="made for model tiny-test"):
        load_centres(path, "another-model")
    path.write_bytes(b"not safetensors")
    with pytest.raises(CentresError, match="corrupt"):
        load_centres(path)
    with pytest.raises(CentresError, match="figment weights centres"):
        load_centres(tmp_path / "none.safetensors")


def test_mode_centres_without_centres_is_refused(model, critic):
    with pytest.raises(InvalidRequest, match="figment weights centres"):
        make_faces(model, [1], 0.7, mode="centres", picker=Picker(critic))
    with pytest.raises(InvalidRequest, match="truncation mode"):
        make_faces(model, [1], 0.7, mode="median", picker=Picker(critic))


# ---- picking ------------------------------------------------------------------------------------

def test_picking_is_deterministic_for_a_seed_sequence(model, picker):
    picker.face_filter = FaceFilter()
    for mode in ("mean", "centres"):
        first = score_candidates(model, range(20, 36), 0.8, mode=mode, picker=picker, filter_top=3)
        again = score_candidates(model, range(20, 36), 0.8, mode=mode, picker=picker, filter_top=3)
        assert first == again
        assert [c.seed for c in first] == list(range(20, 36))
        assert sum(c.passed_filter is not None for c in first) == 3
        shown = quiz_faces(model, picker, 100, 3, k=4, psi=0.8, mode=mode)
        assert [c for c, _ in shown] == [c for c, _ in quiz_faces(model, picker, 100, 3, k=4, psi=0.8, mode=mode)]
        for i, (candidate, image) in enumerate(shown):
            assert 100 + 4 * i <= candidate.seed < 100 + 4 * (i + 1)
            [made] = make_faces(model, [candidate.seed], 0.8, mode=mode, picker=picker)
            assert same_face(made, image)  # the bank keeps (seed, psi, mode) and makes the face again


def test_best_of_prefers_faces_the_filter_passes():
    a, b, c = (Candidate(s, 0.85, "mean", score, ok) for s, score, ok in
               ((1, 3.0, False), (2, 2.0, True), (3, 2.0, None)))
    assert best_of([a, b, c]) == b  # the first of equal scores
    assert best_of([a]) == a  # every candidate failed: the best score still
    with pytest.raises(ValueError):
        best_of([])


def test_best_passing_keeps_the_best_scores_the_filter_passes_checking_best_first():
    scores = np.array([0.5, 3.0, 2.0, 2.0, -1.0, 9.0])
    checked: list[int] = []

    def passes(index: int) -> bool:
        checked.append(index)
        return index != 5  # the top score is a broken face

    chosen, checks = best_passing(scores, 3, passes)
    assert chosen == [1, 2, 3]  # 9.0 vetoed; of equal scores the first comes first
    assert checked == [5, 1, 2, 3] and checks == 4  # nothing below the third pass is checked
    assert best_passing(scores, 2)[0] == [5, 1]  # no filter: the top scores
    assert best_passing(scores, 10, lambda i: i % 2 == 0) == ([2, 0, 4], 6)  # fewer pass than asked


def test_pick_one_skips_a_broken_best(model, picker):
    """The filter's veto changes the pick: without a filter the top score wins, with a filter that
    rejects it (a tiny random generator makes no faces dlib can find) the pick falls back to it too,
    and is marked as failed."""
    seeds = list(range(40, 48))
    plain, _ = pick_one(model, seeds, 0.7, picker=picker)
    assert plain.passed_filter is None
    picker.face_filter = FaceFilter()
    vetoed, _ = pick_one(model, seeds, 0.7, picker=picker)
    assert vetoed.seed == plain.seed and vetoed.passed_filter is False


@pytest.mark.skipif(FACES is None, reason="../shared/faces is not here")
def test_the_quiz_curator_skips_a_broken_best_candidate():
    """The live quiz's best-of-K (Curator) with the filter: a critic that scores every image alike
    (all weights zero: a tie, so the first candidate wins) picks the flat image without the filter
    and the real face with it."""
    from generator.curation.best_of_k import Curator

    net = CriticNet()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.zero_()
    flat_critic = Critic(net, {})
    rgb = np.asarray(Image.open(sorted((FACES / "utkface-crop").iterdir())[0]).convert("RGB"))
    face, _ = align_face(rgb, find_face(rgb).landmarks, 128)
    flat = Image.new("RGB", (128, 128), (120, 100, 90))
    assert Curator(flat_critic, 2).pick([flat, face])[0] == 0
    assert Curator(flat_critic, 2, FaceFilter()).pick([flat, face])[0] == 1
    assert Curator(flat_critic, 2, FaceFilter()).pick([flat, flat])[0] == 0  # none passes: the best score
