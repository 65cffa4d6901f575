"""Curated sampling: the realness critic (critic.py; critic_training.py makes it), best-of-K
picking (best_of_k.py), a FaceSource that curates (source.py), and its honest evaluation
(`python -m generator.curation.evaluate`)."""
