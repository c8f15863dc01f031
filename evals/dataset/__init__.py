"""Demonstrations recorded while episodes run, written as a LeRobot v3.0 dataset (``--dataset DIR``).

:mod:`evals.dataset.options` holds the settings the run plan carries; :mod:`evals.dataset.capture` collects
one episode's frames/state/labels inside the episode loop; :mod:`evals.dataset.sink` hands finished episodes,
in suite order, to :mod:`evals.dataset.lerobot_writer`, which appends them to the dataset on disk.
"""
