"""Classifier two-sample tests: train a small classifier to tell generated from real faces and
report its accuracy on faces it did not train on. 0.5: indistinguishable; 1.0: always told apart.

Two classifiers: a small CNN on 64 px pixels, and logistic regression on the dlib identity
embeddings. Half of each set trains, the other half tests; seeded, so reruns agree.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _split(real: np.ndarray, fake: np.ndarray, seed: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    n = min(len(real), len(fake))
    if n < 4:
        raise ValueError("C2ST needs at least 4 real and 4 generated samples")
    rng = np.random.default_rng(seed)
    real, fake = real[rng.permutation(len(real))[:n]], fake[rng.permutation(len(fake))[:n]]
    half = n // 2
    x_train = np.concatenate([real[:half], fake[:half]])
    y_train = np.concatenate([np.zeros(half), np.ones(half)])
    x_test = np.concatenate([real[half:], fake[half:]])
    y_test = np.concatenate([np.zeros(n - half), np.ones(n - half)])
    return (x_train, y_train), (x_test, y_test)


def _small_cnn() -> nn.Module:
    def block(cin: int, cout: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(0.2))

    return nn.Sequential(block(3, 16), block(16, 32), block(32, 64), block(64, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1))


def _fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, batch: int, lr: float,
         seed: int, augment: bool = False, min_steps: int = 150) -> None:
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    per_epoch = -(-len(x) // batch)
    for _ in range(max(epochs, -(-min_steps // per_epoch))):  # small sets: enough steps to learn anything
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch):
            index = order[start:start + batch]
            xb = x[index]
            if augment:
                flip = torch.rand(len(xb), generator=generator) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.binary_cross_entropy_with_logits(model(xb).flatten(), y[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(((model(x).flatten() > 0).float() == y).float().mean())


def c2st_pixels(real: np.ndarray, fake: np.ndarray, side: int = 64, epochs: int = 8, seed: int = 0) -> float:
    """Accuracy of a small CNN on side x side images (uint8 N x H x W x 3 in)."""
    def prepare(images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
        return F.interpolate(x, size=(side, side), mode="area").numpy()

    (x_train, y_train), (x_test, y_test) = _split(prepare(real), prepare(fake), seed)
    torch.manual_seed(seed)
    model = _small_cnn()
    _fit(model, torch.from_numpy(x_train), torch.from_numpy(y_train).float(), epochs, 64, 2e-3, seed, augment=True)
    return _accuracy(model, torch.from_numpy(x_test), torch.from_numpy(y_test).float())


def c2st_features(real: np.ndarray, fake: np.ndarray, epochs: int = 200, seed: int = 0) -> float:
    """Accuracy of logistic regression on feature vectors (standardised on the training half)."""
    (x_train, y_train), (x_test, y_test) = _split(np.asarray(real, np.float32), np.asarray(fake, np.float32), seed)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    torch.manual_seed(seed)
    model = nn.Linear(x_train.shape[1], 1)
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train).float()
    opt = torch.optim.LBFGS(model.parameters(), max_iter=epochs)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x).flatten(), y) + 1e-3 * model.weight.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    return _accuracy(model, torch.from_numpy(x_test), torch.from_numpy(y_test).float())
