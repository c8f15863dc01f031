"""The runner's exit codes (documented in `python -m evals.run --help` and docs/runner.md) and the error
that maps to `EXIT_USAGE`."""

EXIT_OK = 0  # every selected episode ran (whether the policy succeeded does not matter)
EXIT_EPISODE_ERRORS = 1  # some episodes ended with an error, or workers could not start
EXIT_USAGE = 2  # bad flag, suite, policy or run directory: one line on stderr, nothing ran
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM: finished episodes kept, continue with --resume


class UsageError(Exception):
    """A mistake the user must fix; printed as one line, exit code 2."""
