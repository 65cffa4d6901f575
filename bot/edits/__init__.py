"""Faces steered in W: /face with edits (face_edits.py), /morph (morphs.py) and the animation
files a morph is posted as (animation.py)."""
