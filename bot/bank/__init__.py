"""The face bank: the most convincing faces, made and scored in idle time, kept as seeds in the
database and drawn by the quiz (and unseeded /face) ahead of today's best 1 of K."""
