"""Diffusion schedulers: training flow matching and the UniPC multistep sampler (both jit-friendly)."""

from dreamzero_jax.schedulers.flow_match import FlowMatchScheduler
from dreamzero_jax.schedulers.unipc import FlowUniPCMultistepScheduler, UniPCState

__all__ = ["FlowMatchScheduler", "FlowUniPCMultistepScheduler", "UniPCState"]
