"""The shipped realness critic: small, for the shipped generator, and it tells our faces from real ones."""
from __future__ import annotations

from generator.model.checkpoint import read_export
from generator.curation.critic import DEFAULT_CRITIC, load_critic
from generator.loading import DEFAULT_WEIGHTS


def test_shipped_critic_matches_the_shipped_generator() -> None:
    assert DEFAULT_CRITIC.stat().st_size < 4_000_000
    critic = load_critic()
    _, _, version, _ = read_export(DEFAULT_WEIGHTS)
    assert critic.model_version == version
    assert critic.info["heldback_accuracy"] > 0.9 and critic.info["real_train_faces"] >= 1000
