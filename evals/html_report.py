"""`python -m evals.html_report`: the documented command; the implementation is `evals.reports.html_report`."""

import sys

from evals.reports.html_report import main

if __name__ == "__main__":
    sys.exit(main())
