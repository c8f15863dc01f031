"""`python -m evals.run` with the fake env package and fake policies (for subprocess tests: kill -9, SIGINT)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fake_env

from evals.run import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], backend=fake_env.fake_backend(), policy_builder=fake_env.make_fake_factory))
