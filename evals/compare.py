"""`python -m evals.compare`: the documented command; the implementation is `evals.reports.compare`."""

import sys

from evals.reports.compare import main

if __name__ == "__main__":
    sys.exit(main())
