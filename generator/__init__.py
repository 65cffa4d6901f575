"""Figment's face generator: the GAN, its training and evaluation, and the service that shares it.

Pure model and serving code: imports neither bot/ nor db/.
"""
