"""The training flow-matching scheduler (upstream ``FlowMatchScheduler``), as a jit-friendly class.

Sigmas are spaced linearly from ``sigma_max`` to ``sigma_min`` and shifted by
``shift * s / (1 + (shift - 1) * s)``; timesteps are ``sigma * num_train_timesteps``. Training
samples ``x_t = (1 - sigma) x_0 + sigma * noise`` and regresses ``noise - x_0``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


class FlowMatchScheduler:
    """Shifted-sigma table with add_noise / training_target / training_weight / Euler step.

    Holds only arrays (``sigmas``, ``timesteps``, ``weights``); every method is pure and can be
    called inside ``jax.jit``. ``training=True`` builds the loss weights (a Gaussian bump over the
    timesteps, normalised to mean 1, minimum shifted to 0) like upstream ``set_timesteps(training=True)``.
    """

    def __init__(
        self,
        num_steps: int = 1000,
        *,
        num_train_timesteps: int = 1000,
        shift: float = 5.0,
        sigma_max: float = 1.0,
        sigma_min: float = 0.0,
        extra_one_step: bool = True,
        training: bool = True,
    ):
        self.num_steps = num_steps
        self.num_train_timesteps = num_train_timesteps
        self.shift = shift
        if extra_one_step:  # one extra point then dropped, so sigma_min itself is never reached
            s = np.linspace(sigma_max, sigma_min, num_steps + 1)[:-1]
        else:
            s = np.linspace(sigma_max, sigma_min, num_steps)
        s = shift * s / (1 + (shift - 1) * s)
        sigmas = s.astype(np.float32)
        timesteps = sigmas * np.float32(num_train_timesteps)
        self.sigmas = jnp.asarray(sigmas)
        self.timesteps = jnp.asarray(timesteps)
        self.weights = None
        if training:
            x = timesteps.astype(np.float64)
            # upstream centres the bump on num_steps / 2 (not num_train_timesteps / 2); identical for 1000 steps
            y = np.exp(-2 * ((x - num_steps / 2) / num_steps) ** 2)
            y = y - y.min()
            self.weights = jnp.asarray((y * (num_steps / y.sum())).astype(np.float32))

    def index(self, timestep) -> jnp.ndarray:
        """Index of the table entry nearest to each ``timestep`` (any shape)."""
        t = jnp.asarray(timestep, jnp.float32)
        return jnp.argmin(jnp.abs(self.timesteps - t[..., None]), axis=-1)

    def sigma(self, timestep) -> jnp.ndarray:
        return self.sigmas[self.index(timestep)]

    def add_noise(self, sample, noise, timestep) -> jnp.ndarray:
        """``(1 - sigma) * sample + sigma * noise``; ``timestep`` matches the leading dims of ``sample``."""
        sigma = self.sigma(timestep).astype(sample.dtype)
        sigma = sigma.reshape(sigma.shape + (1,) * (sample.ndim - sigma.ndim))
        return (1 - sigma) * sample + sigma * noise

    @staticmethod
    def training_target(sample, noise, timestep=None) -> jnp.ndarray:
        """The flow-matching velocity target ``noise - sample`` (independent of the timestep)."""
        return noise - sample

    def training_weight(self, timestep) -> jnp.ndarray:
        if self.weights is None:
            raise ValueError("training weights exist only for a scheduler built with training=True")
        return self.weights[self.index(timestep)]

    def step(self, model_output, timestep, sample) -> jnp.ndarray:
        """One Euler step ``sample + v * (sigma_next - sigma)``; past the last entry sigma_next is 0."""
        i = self.index(timestep)
        nxt = jnp.where(
            i + 1 < self.sigmas.shape[0], self.sigmas[jnp.minimum(i + 1, self.sigmas.shape[0] - 1)], 0.0
        )
        return sample + model_output * (nxt - self.sigmas[i]).astype(sample.dtype)
