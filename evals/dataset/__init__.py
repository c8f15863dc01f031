"""Demonstrations recorded while episodes run, written as a LeRobot v3.0 dataset (``--dataset DIR``).

:mod:`evals.dataset.capture` collects one episode's frames/state/labels inside the episode loop;
:mod:`evals.dataset.lerobot_writer` appends finished episodes to the dataset on disk.
"""
