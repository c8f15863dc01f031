"""`Dispatcher`: the retry-once rule and the hand-out order both executors share (no processes here)."""

from __future__ import annotations

from evals.runner.dispatch import MAX_ATTEMPTS, Dispatcher, crashed_result
from evals.runner.spec import EpisodeSpec


def _spec(case_id: str, seed: int) -> EpisodeSpec:
    return EpisodeSpec(
        suite_name="s",
        suite_version="1",
        case_index=0,
        case_id=case_id,
        task="FakeReach",
        embodiment="panda",
        instruction="reach",
        seed=seed,
        horizon=5,
        open_loop_horizon=4,
        action_space="joint_position",
        cameras=(),
        image_size=(8, 8),
        control_freq=15,
        stop_on_success=True,
    )


def _names(specs) -> list[str]:
    return [s.name for s in specs]


def test_a_lost_episode_is_retried_first_once_then_given_up():
    d = Dispatcher([_spec("a", 0), _spec("b", 0), _spec("a", 1)])
    first = d.next_for(0)
    assert first.name == "a__seed0"
    assert d.next_for(1).name == "b__seed0"
    [(spec, attempts, retry)] = d.lost(1)
    assert (spec.name, attempts, retry) == ("b__seed0", 1, True)
    assert d.done(0, first) == 1
    # the retry goes to the next worker that asks, before another seed of that worker's last case
    assert d.next_for(0).name == "b__seed0"
    [(spec, attempts, retry)] = d.lost(0)
    assert (spec.name, attempts, retry) == ("b__seed0", MAX_ATTEMPTS, False)
    assert _names(d.pending) == ["a__seed1"]  # given up: not queued again


def test_a_finished_retry_reports_two_attempts():
    d = Dispatcher([_spec("a", 0), _spec("b", 0)])
    d.next_for(0)
    d.lost(0)
    retried = d.next_for(1)
    assert retried.name == "a__seed0"
    assert d.done(1, retried) == 2
    second = d.next_for(1)
    assert second.name == "b__seed0" and d.done(1, second) == 1
    assert d.next_for(1) is None and not d.has_pending


def test_a_worker_prefers_another_seed_of_its_last_case():
    d = Dispatcher([_spec("a", 0), _spec("b", 0), _spec("a", 1)])
    first = d.next_for(0)
    assert first.name == "a__seed0"
    d.done(0, first)
    assert d.next_for(0).name == "a__seed1"  # its env is cached there
    assert d.next_for(1).name == "b__seed0"


def test_a_worker_with_several_slots_loses_all_its_episodes_in_order():
    """`--batch` slots: a dead worker's episodes are all retried, in their order, before anything else."""
    d = Dispatcher([_spec("a", 0), _spec("b", 0), _spec("c", 0), _spec("d", 0)])
    on_0 = [d.next_for(0), d.next_for(0)]
    other = d.next_for(1)
    assert _names(on_0) == ["a__seed0", "b__seed0"] and other.name == "c__seed0"
    assert d.done(0, on_0[0]) == 1  # one finished before the worker died: not lost
    assert d.next_for(0).name == "d__seed0"
    lost = d.lost(0)
    assert [(s.name, a, r) for s, a, r in lost] == [("b__seed0", 1, True), ("d__seed0", 1, True)]
    assert _names(d.pending) == ["b__seed0", "d__seed0"]
    assert d.done(1, other) == 1


def test_crashed_result_names_no_executor_detail():
    row = crashed_result(_spec("a", 3), 2).row
    assert row["error_type"] == "WorkerCrash" and row["attempts"] == 2
    assert row["error"] == "worker process died during the episode (2 attempts)"
    assert row["termination_reason"] == "error" and row["seed"] == 3
