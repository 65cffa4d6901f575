"""The real-or-fake game, platform-neutral, in one folder.

service.py is what front-ends call (start, stop, answer); loop.py runs one game's rounds,
reveals.py closes them and moves scores, recorder.py writes answers in batches, leases.py says
which process runs which game, modes.py reads /quiz's words, next_image.py prepares the next
round's image (pair_image.py composes a pair), posts.py is what front-ends get back (and the
QuizPresenter protocol they implement), detail.py settles the posted detail, tips.py the tips.
"""
