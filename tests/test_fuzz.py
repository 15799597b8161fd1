"""A fixed, seeded sample of the fuzz cases (``python -m tests.fuzz`` runs thousands).

Every damaged or hostile artifact (TF1 checkpoint with ``.meta``, TF2 checkpoint, V1
checkpoint, SavedModel, ``.keras``, ``.h5``, ``.pb``, ``.pbtxt``) is opened, explained,
listed, summarized by ``stats``, modelled as a graph and scanned, in child processes capped
at 6 GB of address space. No process may die, no exception may be anything but a
``TFExploreError`` naming a file of the case, and no file may change."""

from __future__ import annotations

import pytest
from fuzz.mutate import MUTATIONS
from fuzz.runner import BAD_OUTCOMES, bad_results, make_cases, outcome_table, run_cases
from fuzz.seeds import KINDS, build_seeds

CASES = 320
SEED = 2024


@pytest.mark.slow
def test_the_fuzz_sample(tmp_path_factory):
    """One test, so that one worker builds the seeds and runs the sample (under pytest-xdist a
    module fixture would be built again by every worker that runs one of its tests)."""
    seeds = build_seeds(tmp_path_factory.mktemp("fuzz") / "seeds")
    cases = make_cases(CASES, SEED)
    results = run_cases(cases, seeds, jobs=2, batch=40, workdir=tmp_path_factory.mktemp("fuzz_run"))
    print("\n" + outcome_table(results))
    _every_case_ends_in_success_or_a_tfexplore_error(cases, results)
    _the_sample_covers_every_kind_and_mutation(results)
    _claimed_huge_tensors_are_refused_before_allocation(results)


def _every_case_ends_in_success_or_a_tfexplore_error(cases, results):
    assert set(results) == {case["id"] for case in cases}
    bad = bad_results(results)
    assert bad == [], "\n\n".join(
        f"#{r['id']} {r['kind']}/{r['mutation']} seed={r['seed']} {r['outcome']}: "
        f"{r.get('mutation_detail')}\n{r.get('detail', '')[-1500:]}"
        for r in bad[:5]
    )
    outcomes = {r["outcome"] for r in results.values()}
    assert outcomes <= {"ok", "error", "skipped"} and not outcomes & set(BAD_OUTCOMES)


def _the_sample_covers_every_kind_and_mutation(results):
    assert {r["kind"] for r in results.values()} == set(KINDS)
    assert {r["mutation"] for r in results.values()} == set(MUTATIONS)
    skipped = [r for r in results.values() if r["outcome"] == "skipped"]
    assert len(skipped) <= CASES // 50, skipped[:3]
    errors = [r for r in results.values() if r["outcome"] == "error"]
    assert len(errors) > CASES // 4  # the damage is real: most cases are refused
    assert any(r["error"] == "CorruptArtifactError" for r in errors)


def _claimed_huge_tensors_are_refused_before_allocation(results):
    huge = [
        r
        for r in results.values()
        if (r.get("mutation_detail") or {}).get("variant")
        in ("huge_shape", "huge_dataset", "huge_weight", "broadcast")
    ]
    assert huge and all(r["outcome"] in ("ok", "error") for r in huge)
    assert max(r.get("rss_growth_mb", 0) for r in results.values()) < 1024
