"""`python -m evals` is the same as `python -m evals.run`."""

import sys

from evals.run import main

sys.exit(main())
