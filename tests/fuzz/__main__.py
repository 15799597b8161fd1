"""``python -m tests.fuzz --cases 3000``: fuzz tfexplore and print the outcome table.

Exit status 0 when no case crashed, raised a non-tfexplore exception, raised an error naming
no file of the case, changed a file, or timed out; 1 otherwise (the bad cases are listed, and
written with their details to ``WORKDIR/bad_cases.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .runner import bad_results, elapsed, make_cases, outcome_table, run_cases
from .seeds import KINDS, build_seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cases", type=int, default=300, help="number of cases (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="RNG seed of the case list")
    parser.add_argument("--jobs", type=int, default=2, help="child processes at a time")
    parser.add_argument("--batch", type=int, default=40, help="cases per child process")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated artifact kinds")
    parser.add_argument("--limit-gb", type=float, default=6.0, help="RLIMIT_AS of each child")
    parser.add_argument("--workdir", default="/tmp/tfexplore-fuzz", help="seeds and case copies")
    parser.add_argument("--mutations", default="", help="comma-separated mutations (default all)")
    parser.add_argument("--only", default="", help="comma-separated case ids to (re-)run")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    workdir = Path(args.workdir)
    seeds = build_seeds(workdir / "seeds")
    kinds = tuple(k for k in args.kinds.split(",") if k)
    mutations = tuple(m for m in args.mutations.split(",") if m) or None
    cases = make_cases(args.cases, args.seed, kinds, mutations)
    if args.only:
        wanted = {int(i) for i in args.only.split(",")}
        cases = [case for case in cases if case["id"] in wanted]
    print(
        f"{len(cases)} cases over {len(kinds)} kinds, {args.jobs} jobs (seeds ready in "
        f"{elapsed(start)})",
        flush=True,
    )
    done = [0]

    def progress(result):
        done[0] += 1
        if done[0] % 100 == 0 or result["outcome"] in ("crash", "other", "timeout", "modified"):
            print(
                f"  {done[0]}/{len(cases)} ({elapsed(start)}) last: {result['outcome']}", flush=True
            )

    results = run_cases(
        cases,
        seeds,
        jobs=args.jobs,
        batch=args.batch,
        limit_gb=args.limit_gb,
        workdir=workdir / "run",
        progress=progress,
    )
    (workdir / "results.json").write_text(json.dumps(results, indent=0, default=str))
    print()
    print(outcome_table(results))
    bad = bad_results(results)
    peak = max((r.get("rss_growth_mb", 0) for r in results.values()), default=0)
    print(f"\n{len(results)} cases in {elapsed(start)}; largest RSS growth of one case: {peak} MB")
    if bad:
        (workdir / "bad_cases.json").write_text(json.dumps(bad, indent=1, default=str))
        print(f"\n{len(bad)} bad case(s), details in {workdir / 'bad_cases.json'}:")
        for result in bad[:30]:
            first = (result.get("detail") or "").strip().splitlines()
            print(
                f"  #{result['id']} {result['kind']}/{result['mutation']} seed={result['seed']}: "
                f"{result['outcome']} {result.get('error', '')} at {result.get('step', '?')}: "
                f"{first[-1] if first else ''}"
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
