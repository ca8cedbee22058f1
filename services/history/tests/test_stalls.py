"""The stall limit and the error a stalled run gets (pure)."""

from __future__ import annotations

import pytest

from recruit_sync.history.stalls import DEFAULT_STALL_SECONDS, StallPolicy, stall_error


def test_the_limit_comes_from_the_environment_with_a_default() -> None:
    assert StallPolicy.from_env({}).seconds == DEFAULT_STALL_SECONDS == 600
    assert StallPolicy.from_env({"RECRUIT_SYNC_RUN_STALL_SECONDS": " 2.5 "}).seconds == 2.5
    assert StallPolicy.from_env({"RECRUIT_SYNC_RUN_STALL_SECONDS": ""}).seconds == 600


@pytest.mark.parametrize("text", ["ten", "0", "-5", "nan"])
def test_a_bad_limit_is_refused_naming_the_variable(text: str) -> None:
    with pytest.raises(ValueError, match="RECRUIT_SYNC_RUN_STALL_SECONDS"):
        StallPolicy.from_env({"RECRUIT_SYNC_RUN_STALL_SECONDS": text})


def test_the_loop_looks_a_few_times_per_period_and_at_least_every_30_s() -> None:
    assert StallPolicy(600).check_every == 30
    assert StallPolicy(4).check_every == 1
    assert StallPolicy(0.1).check_every == 0.2


def test_the_error_names_the_stage_that_went_silent() -> None:
    # FetchCompleted said how many batches: the importer (or the way to history) is what stopped
    assert stall_error(600, 200, 41) == "stalled: no batch imported for 600 s (41 of 200 batches in)"
    assert stall_error(600, 3, 0) == "stalled: no batch imported for 600 s (0 of 3 batches in)"
    # batches came, but the fetch never said it had ended
    assert stall_error(600, None, 41) == (
        "stalled: waiting for the fetch to end (nothing for 600 s; 41 batches imported so far)"
    )
    # nothing but SyncDue
    assert stall_error(2.5, None, 0) == (
        "stalled: the fetch has not reported for 2.5 s (no batch imported, no end of fetch)"
    )
