"""Real photo packs: safe decoding, dlib face finding, FFHQ-style alignment, import, datasets.

The import turns operators' folders of photos into aligned face crops under the data
directory with one RealPhoto row each; the quiz shows the held-out ones, the dataset build
packs the rest (and the held-out ones, marked) into a training archive.
"""
