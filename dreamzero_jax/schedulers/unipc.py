"""UniPC multistep predictor-corrector for flow matching (upstream ``FlowUniPCMultistepScheduler``).

Upstream keeps Python state (a history list, the last sample, an order counter) and recomputes the
step coefficients every call. Within one denoising run the order used at step ``i`` is fixed (warm-up
from order 1, lower order at the end), so every coefficient depends on ``i`` alone. We precompute
them on the host as tables indexed by the step, which makes :meth:`FlowUniPCMultistepScheduler.step`
a pure function of a static-shape :class:`UniPCState` -- a whole denoising loop fits in ``lax.scan``.

Each step, in upstream order: convert the velocity to an x0 prediction ``x0 = x - sigma_i v``; if
``i > 0`` correct the incoming sample with UniC (order of the previous predictor); push x0 into the
history; predict the next sample with UniP (B(h) = expm1, "bh2", predicting x0).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np


class UniPCState(NamedTuple):
    """Solver history: ``history[-1]`` is the newest x0 prediction; ``step`` the next step index."""

    history: jnp.ndarray  # [solver_order, *sample_shape]
    last_sample: jnp.ndarray  # sample after correction at the previous step
    step: jnp.ndarray  # int32 scalar


def _uni_coefficients(lam: np.ndarray, i_t: int, i_s0: int, order: int, predictor: bool) -> tuple:
    """B(h) coefficients of one UniP (``predictor``) or UniC update from log-SNR ``lam``.

    Returns ``(h_phi_1, B_h, rks, rhos)``: rks[k] for history k+1 steps back, rhos as upstream solves them.
    """
    h = lam[i_t] - lam[i_s0]
    hh = -h  # predict_x0
    h_phi_1 = np.expm1(hh)
    B_h = np.expm1(hh)  # solver_type "bh2"
    rks = [(lam[i_s0 - k] - lam[i_s0]) / h for k in range(1, order)] + [1.0]
    R, b, h_phi_k, fact = [], [], h_phi_1 / hh - 1, 1
    for k in range(1, order + 1):
        R.append(np.power(rks, k - 1))
        b.append(h_phi_k * fact / B_h)
        fact *= k + 1
        h_phi_k = h_phi_k / hh - 1 / fact
    R, b = np.array(R), np.array(b)
    if predictor:
        if order == 1:
            rhos = np.zeros(0)
        elif order == 2:  # upstream hard-codes rho = 0.5 for second order instead of solving
            rhos = np.array([0.5])
        else:
            rhos = np.linalg.solve(R[:-1, :-1], b[:-1])
    else:
        rhos = np.array([0.5]) if order == 1 else np.linalg.solve(R, b)  # same shortcut for order 1
    return h_phi_1, B_h, np.array(rks[:-1]), rhos


class FlowUniPCMultistepScheduler:
    """UniPC sampler tables for ``num_steps`` steps with sigma shift ``shift`` (DreamZero: 16, 5.0).

    ``timesteps`` (int32, what the model is fed), ``sigmas`` ([num_steps + 1], last 0) and ``orders``
    (predictor order per step) match upstream after ``set_timesteps(num_steps, shift=shift)``.
    Use ``state = sched.init_state(sample)`` then ``prev, state = sched.step(state, v, sample)`` per step.
    """

    def __init__(
        self,
        num_steps: int = 16,
        shift: float = 5.0,
        *,
        num_train_timesteps: int = 1000,
        solver_order: int = 2,
        lower_order_final: bool = True,
        disable_corrector: tuple[int, ...] = (),
    ):
        self.num_steps, self.shift, self.solver_order = num_steps, shift, solver_order
        # sigma_max comes from the constructor's table (shift 1): 1 - 1/T as float32, widened (upstream .item())
        sigma_max = float(np.float32(1.0 - 1.0 / num_train_timesteps))
        s = np.linspace(sigma_max, 0.0, num_steps + 1)[:-1]
        s = shift * s / (1 + (shift - 1) * s)
        # int64 truncation of sigma * T, as upstream (999.8 -> 999)
        self.timesteps = jnp.asarray((s * num_train_timesteps).astype(np.int64).astype(np.int32))
        sig32 = np.concatenate([s, [0.0]]).astype(np.float32)
        self.sigmas = jnp.asarray(sig32)

        n, K = num_steps, solver_order
        sig = sig32.astype(np.float64)
        with np.errstate(divide="ignore"):
            lam = np.log(1 - sig) - np.log(sig)  # lam[n] = +inf (final sigma 0)
        last = [min(K, n - i) if lower_order_final else K for i in range(n)]
        orders = [min(last[i], i + 1) for i in range(n)]  # warm-up: order grows by one per step
        pa, pm = np.zeros(n), np.zeros((n, K))
        uc, ca, cm, cd = np.zeros(n, bool), np.zeros(n), np.zeros((n, K)), np.zeros(n)
        for i in range(n):
            alpha_t = 1 - sig[i + 1]
            h_phi_1, B_h, rks, rhos = _uni_coefficients(lam, i + 1, i, orders[i], predictor=True)
            pa[i] = sig[i + 1] / sig[i]
            c = -alpha_t * B_h * rhos / rks if len(rks) else np.zeros(0)
            pm[i, K - 1] = -alpha_t * h_phi_1 - c.sum()
            for k, ck in enumerate(c):  # history slot of the prediction k+1 steps older than m0
                pm[i, K - 2 - k] = ck
            if i > 0 and (i - 1) not in disable_corrector:
                q, alpha_c = orders[i - 1], 1 - sig[i]
                h_phi_1, B_h, rks, rhos = _uni_coefficients(lam, i, i - 1, q, predictor=False)
                uc[i], ca[i] = True, sig[i] / sig[i - 1]
                c = -alpha_c * B_h * rhos[:-1] / rks
                cd[i] = -alpha_c * B_h * rhos[-1]
                cm[i, K - 1] = -alpha_c * h_phi_1 - c.sum() - cd[i]
                for k, ck in enumerate(c):
                    cm[i, K - 2 - k] = ck
        self.orders = jnp.asarray(np.array(orders, np.int32))
        f32 = np.float32
        self._pa, self._pm = jnp.asarray(pa.astype(f32)), jnp.asarray(pm.astype(f32))
        self._uc, self._ca = jnp.asarray(uc), jnp.asarray(ca.astype(f32))
        self._cm, self._cd = jnp.asarray(cm.astype(f32)), jnp.asarray(cd.astype(f32))

    def init_state(self, sample: jnp.ndarray) -> UniPCState:
        """Empty history for samples shaped like ``sample`` (the start of a fresh denoising run)."""
        zeros = jnp.zeros_like(sample)
        return UniPCState(jnp.zeros((self.solver_order, *sample.shape), sample.dtype), zeros, jnp.int32(0))

    def step(self, state: UniPCState, model_output: jnp.ndarray, sample: jnp.ndarray):
        """One UniPC step at ``state.step``: returns ``(prev_sample, new_state)``. Pure; jit/scan-safe."""
        i = state.step
        dt = sample.dtype
        x0 = sample - self.sigmas[i].astype(dt) * model_output
        corrected = (
            self._ca[i].astype(dt) * state.last_sample
            + jnp.tensordot(self._cm[i].astype(dt), state.history, axes=1)
            + self._cd[i].astype(dt) * x0
        )
        sample = jnp.where(self._uc[i], corrected, sample)
        history = jnp.concatenate([state.history[1:], x0[None]], axis=0)
        prev = self._pa[i].astype(dt) * sample + jnp.tensordot(self._pm[i].astype(dt), history, axes=1)
        return prev, UniPCState(history, sample, i + 1)
