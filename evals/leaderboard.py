"""`python -m evals.leaderboard`: the documented command; the implementation is `evals.reports.leaderboard`."""

import sys

from evals.reports.leaderboard import main

if __name__ == "__main__":
    sys.exit(main())
