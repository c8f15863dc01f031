"""Regression gate: compare a candidate run against a baseline run of the same suite.

    python -m evals.compare results/droid/BASE results/droid/CAND --group task --max-drop 0.1 --json cmp.json

Episodes are joined on (case_id, seed). Within a group, when both runs hold the same episodes the comparison
is paired (exact McNemar test on the discordant pairs); otherwise the two groups are compared as independent
samples (Fisher's exact test). Errored episodes (termination_reason == "error") are never counted as
failures: they are left out of the rates, counted per group and listed. A group is a regression when the
candidate's success rate drops by more than --max-drop AND the drop is significant at --alpha.

Exit codes: 0 no regression, 1 regression found, 2 usage error (bad flag, unreadable run directory, runs of
different suites / suite versions / task fingerprints without --allow-changed-tasks).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from evals.reports.compare_stats import (
    fisher_exact,
    holm_adjust,
    mcnemar_exact,
    min_attainable_p,
    newcombe_interval,
)
from evals.reports.run_dir import RunDirError, load_run

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 2
GROUP_COLUMNS = {"case": "case_id", "task": "task", "embodiment": "embodiment"}
KEY = ["case_id", "seed"]
ADJUSTMENTS = ("none", "holm")


def comparability_problems(base: Any, cand: Any) -> list[str]:
    """Reasons the two runs measure different things (different suite, suite version or task code)."""
    problems = []
    for field in ("suite_name", "suite_version"):
        if base.info.get(field) != cand.info.get(field):
            problems.append(f"{field} differs ({base.info.get(field)!r} vs {cand.info.get(field)!r})")
    fb, fc = base.info.get("task_fingerprints") or {}, cand.info.get("task_fingerprints") or {}
    for task in sorted(set(fb) & set(fc)):
        if fb[task] != fc[task]:
            problems.append(f"task {task!r} changed (fingerprint {fb[task]} vs {fc[task]})")
    return problems


def _is_error(episodes: pd.DataFrame) -> pd.Series:
    return episodes["termination_reason"] == "error"


def compare_group(name: str, base: pd.DataFrame, cand: pd.DataFrame, alpha: float, max_drop: float) -> dict:
    """One row of the comparison for the episodes of one group in each run."""
    keys_b = set(zip(base["case_id"], base["seed"], strict=True))
    keys_c = set(zip(cand["case_id"], cand["seed"], strict=True))
    vb, vc = base[~_is_error(base)], cand[~_is_error(cand)]
    paired = bool(keys_b) and keys_b == keys_c
    if paired:
        # A pair with an error on either side is dropped: the error is reported, its partner is "excluded".
        m = vb[[*KEY, "success"]].merge(vc[[*KEY, "success"]], on=KEY, suffixes=("_b", "_c"))
        sb, sc = m["success_b"].astype(bool), m["success_c"].astype(bool)
        n_b = n_c = len(m)
        k_b, k_c = int(sb.sum()), int(sc.sum())
        only_b, only_c = int((sb & ~sc).sum()), int((sc & ~sb).sum())
        p = mcnemar_exact(only_b, only_c) if n_b else float("nan")
        excluded = len(vb) + len(vc) - 2 * len(m)
    else:
        n_b, n_c = len(vb), len(vc)
        k_b, k_c = int(vb["success"].sum()), int(vc["success"].sum())
        only_b = only_c = None
        p = fisher_exact(k_c, n_c - k_c, k_b, n_b - k_b) if n_b and n_c else float("nan")
        excluded = 0
    rate_b = k_b / n_b if n_b else float("nan")
    rate_c = k_c / n_c if n_c else float("nan")
    delta = rate_c - rate_b
    lo, hi = newcombe_interval(k_c, n_c, k_b, n_b)
    return {
        "group": str(name),
        "test": "mcnemar" if paired else "fisher",
        "n_baseline": n_b,
        "n_candidate": n_c,
        "successes_baseline": k_b,
        "successes_candidate": k_c,
        "rate_baseline": rate_b,
        "rate_candidate": rate_c,
        "delta": delta,
        "ci95_low": lo,
        "ci95_high": hi,
        "p_value": p,
        "p_adjusted": p,
        "only_baseline_succeeded": only_b,
        "only_candidate_succeeded": only_c,
        "errors_baseline": int(_is_error(base).sum()),
        "errors_candidate": int(_is_error(cand).sum()),
        "excluded_partner_errored": excluded,
        "verdict": verdict(delta, p, alpha, max_drop),
    }


def verdict(delta: float, p: float, alpha: float, max_drop: float) -> str:
    if math.isnan(p):
        return "n/a"
    if delta < 0 and p < alpha:
        # A significant drop within the tolerated size is reported but does not fail the gate.
        return "REGRESSION" if -delta > max_drop else "drop<max"
    return "improved" if delta > 0 and p < alpha else "ok"


def compare_runs(
    base: pd.DataFrame,
    cand: pd.DataFrame,
    group: str = "case",
    alpha: float = 0.05,
    max_drop: float = 0.1,
    adjust: str = "none",
) -> pd.DataFrame:
    """Overall row ("all") then one row per group value, in baseline order (candidate-only groups last).

    With adjust="holm" the per-group p-values (not the overall one) are Holm-adjusted before the verdict.
    """
    col = GROUP_COLUMNS[group]
    rows = [compare_group("all", base, cand, alpha, max_drop)]
    names = list(dict.fromkeys([*base[col].tolist(), *cand[col].tolist()]))
    for name in names:
        rows.append(compare_group(name, base[base[col] == name], cand[cand[col] == name], alpha, max_drop))
    if adjust == "holm":
        for row, p_adj in zip(rows[1:], holm_adjust([r["p_value"] for r in rows[1:]]), strict=True):
            row.update(p_adjusted=p_adj, verdict=verdict(row["delta"], p_adj, alpha, max_drop))
    return pd.DataFrame(rows)


def errored_episodes(run: Any, role: str) -> list[dict]:
    eps = run.episodes[_is_error(run.episodes)]
    cols = ["case_id", "seed", "error_type", "error"]
    return [
        {"run": role, **{c: (r[c].item() if hasattr(r[c], "item") else r[c]) for c in cols}}
        for _, r in eps[cols].iterrows()
    ]


def format_rows(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Fixed-width text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), *(fmt.format(*r) for r in rows)]) + "\n"


def _num(x: float, spec: str = ".2f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def format_comparison(table: pd.DataFrame) -> str:
    header = (
        "group",
        "test",
        "n base",
        "n cand",
        "base",
        "cand",
        "delta",
        "95% CI",
        "p",
        "p adj",
        "err b/c",
        "verdict",
    )
    rows = [
        (
            r.group,
            r.test,
            str(r.n_baseline),
            str(r.n_candidate),
            _num(r.rate_baseline),
            _num(r.rate_candidate),
            _num(r.delta, "+.2f"),
            f"[{_num(r.ci95_low, '+.2f')}, {_num(r.ci95_high, '+.2f')}]",
            _num(r.p_value, ".3g"),
            _num(r.p_adjusted, ".3g"),
            f"{r.errors_baseline}/{r.errors_candidate}",
            r.verdict,
        )
        for r in table.itertuples()
    ]
    return format_rows(header, rows)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and math.isnan(x):
        return None
    return x.item() if hasattr(x, "item") else x


def _run_meta(run: Any) -> dict:
    policy = run.info.get("policy") or {}
    keys = ("suite_name", "suite_version", "git_commit", "started_at", "status")
    return {
        "path": str(run.path),
        "policy": policy.get("name"),
        "checkpoint": policy.get("checkpoint"),
        **{k: run.info.get(k) for k in keys},
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evals.compare", description=__doc__.split("\n\n")[0])
    p.add_argument("baseline", help="baseline run directory (holds run.json and episodes.parquet)")
    p.add_argument("candidate", help="candidate run directory to check against the baseline")
    p.add_argument(
        "--group",
        choices=sorted(GROUP_COLUMNS),
        default="case",
        help="rows per case (default), task or embodiment, after an overall row",
    )
    p.add_argument(
        "--max-drop",
        type=float,
        default=0.1,
        help="largest tolerated drop in success rate, 0..1 (default 0.1)",
    )
    p.add_argument("--alpha", type=float, default=0.05, help="significance level in (0, 1) (default 0.05)")
    p.add_argument(
        "--allow-changed-tasks",
        action="store_true",
        help="compare despite a different suite name/version or task fingerprint",
    )
    p.add_argument(
        "--adjust",
        choices=ADJUSTMENTS,
        default="none",
        help="per-group p-value adjustment for many groups: none (default) or holm",
    )
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON to this file")
    return p


class _Usage(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not 0 < args.alpha < 1:
            raise _Usage(f"--alpha must be in (0, 1), got {args.alpha}")
        if not 0 <= args.max_drop <= 1:
            raise _Usage(f"--max-drop must be in [0, 1], got {args.max_drop}")
        base, cand = load_run(args.baseline), load_run(args.candidate)
        problems = comparability_problems(base, cand)
        if problems and not args.allow_changed_tasks:
            raise _Usage(
                f"runs are not comparable: {'; '.join(problems)} (pass --allow-changed-tasks to override)"
            )
    except (_Usage, RunDirError) as e:
        print(f"evals.compare: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    table = compare_runs(base.episodes, cand.episodes, args.group, args.alpha, args.max_drop, args.adjust)
    errors = errored_episodes(base, "baseline") + errored_episodes(cand, "candidate")
    regression = bool((table["verdict"] == "REGRESSION").any())
    print(f"baseline:  {base.path}  ({_run_meta(base)['policy']})")
    print(f"candidate: {cand.path}  ({_run_meta(cand)['policy']})")
    print(format_comparison(table))
    for e in errors:
        print(f"errored ({e['run']}): {e['case_id']} seed {e['seed']}: {e['error_type']}: {e['error']}")
    overall = table.iloc[0]
    if (
        best := min_attainable_p(overall["test"] == "mcnemar", overall["n_baseline"], overall["n_candidate"])
    ) >= args.alpha:
        print(f"warning: too few episodes: even the largest possible drop gives p >= {best:.3g} >= alpha")
    n_reg = int((table["verdict"] == "REGRESSION").sum())
    print(
        f"{'REGRESSION' if regression else 'no regression'}: {n_reg} group(s) dropped by more than "
        f"{args.max_drop:g} at alpha={args.alpha:g}"
    )
    if args.json:
        out = {
            "baseline": _run_meta(base),
            "candidate": _run_meta(cand),
            "group_by": args.group,
            "alpha": args.alpha,
            "max_drop": args.max_drop,
            "adjust": args.adjust,
            "regression": regression,
            "comparability_problems": problems,
            "rows": table.to_dict("records"),
            "errored_episodes": errors,
        }
        Path(args.json).write_text(json.dumps(_jsonable(out), indent=2, allow_nan=False) + "\n")
    return EXIT_REGRESSION if regression else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
