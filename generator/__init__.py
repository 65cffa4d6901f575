"""Figment's face generator: the GAN, its training and evaluation, and the service that shares it.

Commands and the public interface at the top (train.py, evaluate.py, interface.py, loading.py,
gpu_train.sh); the library by role: model/, stylegan2/, training/, curation/, serving/,
evaluation/, gpu/, bench/; weights/ ships the trained files. Imports neither bot/ nor db/
(tests/test_architecture.py checks it).
"""
