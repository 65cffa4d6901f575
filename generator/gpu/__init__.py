"""GPU training sessions: what is packed for the device machine (pack.py) and what runs there
(`python -m generator.gpu.session`, started by generator/gpu_train.sh)."""
