"""The suite runner: plan -> suite/specs -> executor -> worker -> episode -> recorder -> run directory.

`evals.run` (the CLI) builds a `RunPlan` once and hands it to `run_session`; nothing here imports a CLI.
"""
