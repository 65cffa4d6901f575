"""Steering faces in W: the latents behind a seed (latents.py), morphs between two seeds
(morph.py), attribute directions learnt from classifiers (directions.py, attributes.py,
learn.py) and edits along them."""
