"""Suite files: load, validate (schema + tasks/embodiments + ids + seeds), merge defaults, expand, filter.

Every problem raises `SuiteError` with ONE line naming the file, the case and the field, so the CLI can
print it and exit 2 before any episode runs.

Example:
    >>> from evals.runner.backend import default_backend
    >>> suite = load_suite("test_cases/smoke.json", default_backend())  # doctest: +SKIP
    >>> specs = filter_specs(expand(suite), cases=["cube*"], tags=[])  # doctest: +SKIP
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from evals.runner.backend import EnvBackend
from evals.runner.spec import EpisodeSpec

FORMAT_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("schema.json")  # package data: ships in the wheel

# Values used when neither the case nor the suite's defaults set a field. `instruction` and `horizon`
# come from `envs.task_info(task)` instead; the env options come from `envs.EnvConfig` (see `builtin_defaults`).
RUNNER_DEFAULTS: dict[str, Any] = {
    "open_loop_horizon": 8,  # DROID clients execute 8 actions of each predicted chunk
    "stop_on_success": True,
    "variations": {},
    "tags": [],
    "seed_start": 0,
}


def builtin_defaults() -> dict[str, Any]:
    """The runner's defaults plus the env defaults of `envs.EnvConfig`, spelled as in a suite file."""
    # Imported here so that reading and schema-checking a suite file needs no simulator.
    from envs.config import EnvConfig

    env = EnvConfig()
    return {
        "embodiment": env.embodiment,
        "action_space": env.action_space,
        "cameras": list(env.cameras),
        "image_size": list(env.image_size),
        "control_freq": env.control_freq,
        **RUNNER_DEFAULTS,
    }


class SuiteError(ValueError):
    """A suite (or filter) problem the user must fix; the message is one line."""


@dataclass(frozen=True)
class Suite:
    path: str
    name: str
    version: str
    description: str
    cases: list[dict[str, Any]] = field(default_factory=list)  # resolved: every field present

    def to_dict(self) -> dict[str, Any]:
        """The full resolved suite (recorded in run.json; `Suite.from_dict` reads it back)."""
        return {
            "format_version": FORMAT_VERSION,
            "path": self.path,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "cases": self.cases,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Suite:
        return cls(d["path"], d["name"], d["version"], d.get("description", ""), list(d["cases"]))


def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def _where(path: str, doc: Any, loc: list[Any]) -> str:
    """'file: case 'id' (cases[3]): field 'a.b'' for a location inside the suite document."""
    parts = [path]
    rest = list(loc)
    if len(rest) >= 2 and rest[0] == "cases" and isinstance(rest[1], int):
        idx = rest[1]
        case = doc["cases"][idx] if isinstance(doc.get("cases"), list) and idx < len(doc["cases"]) else {}
        cid = case.get("id") if isinstance(case, dict) else None
        parts.append(f"case {cid!r} (cases[{idx}])" if isinstance(cid, str) else f"cases[{idx}]")
        rest = rest[2:]
    elif rest and rest[0] == "defaults":
        parts.append("defaults")
        rest = rest[1:]
    if rest:
        parts.append("field " + repr(".".join(str(p) for p in rest)))
    return ": ".join(parts)


def _schema_error(path: str, doc: Any, err: jsonschema.ValidationError) -> SuiteError:
    loc = list(err.absolute_path)
    message = err.message
    if err.validator in ("unevaluatedProperties", "additionalProperties"):
        extra = re.findall(r"'([^']+)'", err.message)
        if extra:
            loc.append(extra[0])
            message = f"unknown field {extra[0]!r}"
    elif err.validator == "required":
        missing = re.findall(r"'([^']+)'", err.message)
        if missing:
            loc.append(missing[0])
            message = "missing required field"
    if len(message) > 200:
        message = message[:200] + "..."
    return SuiteError(f"{_where(path, doc, loc)}: {message}")


def read_document(path: str | Path) -> dict[str, Any]:
    """Parse and schema-check a suite file (no env package needed)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise SuiteError(f"{path}: cannot read suite file ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise SuiteError(
            f"{path}: not a UTF-8 text file (byte {e.start}); a suite is a JSON document"
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise SuiteError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(doc, dict):
        raise SuiteError(f"{path}: a suite must be a JSON object with format_version, name and cases")
    if "format_version" in doc and doc["format_version"] != FORMAT_VERSION:
        raise SuiteError(
            f"{path}: field 'format_version': {doc['format_version']!r} is not supported (this runner reads {FORMAT_VERSION})"
        )
    validator = jsonschema.Draft202012Validator(_schema())
    err = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if err is not None:
        raise _schema_error(str(path), doc, err)
    return doc


def merge_case(defaults: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    """Builtin defaults < suite defaults < case. Tags concatenate; variations merge key by key;
    a case's `seeds` replaces inherited `num_trials`/`seed_start` and vice versa."""
    merged: dict[str, Any] = {}
    for layer in (builtin_defaults(), defaults, case):
        if "seeds" in layer:
            merged.pop("num_trials", None)
        if "num_trials" in layer:
            merged.pop("seeds", None)
        for key, value in layer.items():
            if key == "tags":
                merged["tags"] = list(dict.fromkeys([*merged.get("tags", []), *value]))
            elif key == "variations":
                merged["variations"] = {**merged.get("variations", {}), **value}
            else:
                merged[key] = value
    return merged


def _check_names(path: str, doc: dict[str, Any], resolved: list[dict[str, Any]], backend: EnvBackend) -> None:
    tasks = list(backend.list_tasks())
    embodiments = list(backend.list_embodiments())
    seen: dict[str, int] = {}
    for i, case in enumerate(resolved):
        where = _where(path, doc, ["cases", i])
        if case["id"] in seen:
            raise SuiteError(f"{where}: field 'id': duplicate id (also cases[{seen[case['id']]}])")
        seen[case["id"]] = i
        if "task" not in case:
            raise SuiteError(f"{where}: field 'task': missing (set it in the case or in defaults)")
        if case["task"] not in tasks:
            raise SuiteError(
                f"{where}: field 'task': unknown task {case['task']!r} (valid: {', '.join(tasks)})"
            )
        if case["embodiment"] not in embodiments:
            raise SuiteError(
                f"{where}: field 'embodiment': unknown embodiment {case['embodiment']!r} "
                f"(valid: {', '.join(embodiments)})"
            )
        if "seeds" in case and "num_trials" in case:
            raise SuiteError(f"{where}: field 'seeds': give either seeds or num_trials, not both")
        if "seeds" not in case and "num_trials" not in case:
            raise SuiteError(
                f"{where}: field 'seeds': missing (give seeds or num_trials, here or in defaults)"
            )


def resolve(path: str, doc: dict[str, Any], backend: EnvBackend) -> Suite:
    """Merge defaults into every case, check names, fill task defaults; return the resolved suite."""
    defaults = doc.get("defaults", {})
    merged = [merge_case(defaults, case) for case in doc["cases"]]
    _check_names(path, doc, merged, backend)
    cases = []
    for case in merged:
        info = backend.task_info(case["task"])
        seeds = (
            case["seeds"]
            if "seeds" in case
            else list(range(case["seed_start"], case["seed_start"] + case["num_trials"]))
        )
        resolved = {k: v for k, v in case.items() if k not in ("seeds", "num_trials", "seed_start")}
        resolved["seeds"] = [int(s) for s in seeds]
        resolved.setdefault("instruction", info["default_instruction"])
        resolved.setdefault("horizon", int(info["default_horizon"]))
        cases.append(resolved)
    return Suite(str(path), doc["name"], str(doc.get("version", "1")), doc.get("description", ""), cases)


def load_suite(path: str | Path, backend: EnvBackend) -> Suite:
    """Read, validate and resolve a suite file. Raises `SuiteError` with a one-line message."""
    return resolve(str(path), read_document(path), backend)


def expand(suite: Suite, seeds_override: list[int] | None = None) -> list[EpisodeSpec]:
    """One `EpisodeSpec` per (case, seed), in (case order, seed order)."""
    specs = []
    for index, case in enumerate(suite.cases):
        for seed in seeds_override if seeds_override is not None else case["seeds"]:
            specs.append(
                EpisodeSpec(
                    suite_name=suite.name,
                    suite_version=suite.version,
                    case_index=index,
                    case_id=case["id"],
                    task=case["task"],
                    embodiment=case["embodiment"],
                    instruction=case["instruction"],
                    seed=int(seed),
                    horizon=int(case["horizon"]),
                    open_loop_horizon=int(case["open_loop_horizon"]),
                    action_space=case["action_space"],
                    cameras=tuple(case["cameras"]),
                    image_size=(int(case["image_size"][0]), int(case["image_size"][1])),
                    control_freq=int(case["control_freq"]),
                    stop_on_success=bool(case["stop_on_success"]),
                    variations=dict(case["variations"]),
                    tags=tuple(case["tags"]),
                )
            )
    return specs


def filter_specs(
    specs: list[EpisodeSpec], *, cases: list[str] | None = None, tags: list[str] | None = None
) -> list[EpisodeSpec]:
    """Keep episodes whose case id matches any glob in `cases` and that carry any tag in `tags`
    (an empty/None filter keeps everything)."""
    out = specs
    if cases:
        out = [s for s in out if any(fnmatch.fnmatchcase(s.case_id, pat) for pat in cases)]
    if tags:
        wanted = set(tags)
        out = [s for s in out if wanted.intersection(s.tags)]
    return out
