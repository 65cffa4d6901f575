"""What training reads and keeps: the face archive (archive.py) and its batches (data.py),
DiffAugment (augment.py), the state carried across sessions (state.py) and the run log (runlog.py).
The command itself is generator/train.py."""
