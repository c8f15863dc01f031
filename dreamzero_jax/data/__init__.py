"""Training data: LeRobot-format datasets (v3.0 as recorded by ``evals.run --dataset``, and v2.1)."""

from dreamzero_jax.data.lerobot import Columns, DatasetError, Episode, LeRobotDataset, load_dataset

__all__ = ["Columns", "DatasetError", "Episode", "LeRobotDataset", "load_dataset"]
