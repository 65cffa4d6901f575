"""The face GAN itself: the networks (networks.py, built from layers.py), the one path from seed
to pixels (sampling.py), and the files a run writes and the bot loads (checkpoint.py)."""
