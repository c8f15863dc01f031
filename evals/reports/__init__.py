"""Reports over finished (or unfinished) run directories: compare two runs, leaderboards, HTML reports.

They read what `evals.runner` wrote (its columns and part files) and never import a CLI module.
"""
