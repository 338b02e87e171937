"""``docray serve`` under load on loopback: latency percentiles of the sync (POST /file_parse) and async
(POST /tasks, then polling until done) paths, and what the limits refused.

    .venv/bin/python benchmarks/bench_serve.py [--uploads 60] [--concurrency 50] [--pipeline fast]

One server (``--executor local``, one worker), ``--uploads`` requests at once: 2/3 good one-page prose PDFs (half
of them synchronous), 1/6 corrupt PDFs (accepted, then a failed task), 1/6 HTML named .pdf (415).  Then a second
server with ``--queue-size 4 --rate-per-minute 20`` gets the same burst: the refusals (503/429) are counted.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter

from docray.testing.serve import ServeProcess
from docray.testing.serve_load import mixed_uploads, percentiles, run_concurrently, wait_all


def burst(url: str, uploads: int, concurrency: int) -> dict:
    good, bad = uploads * 2 // 3, uploads // 6
    plan = mixed_uploads(good=good, corrupt=bad, html=uploads - good - bad, sync_every=2)
    t0 = time.perf_counter()
    answers = run_concurrently(url, plan, concurrency)
    accepted = {a.body["task_id"]: a for a in answers if a.status == 202}
    final = wait_all(url, list(accepted), timeout_s=1800)
    wall = time.perf_counter() - t0
    async_latency = [final[t]["finished"] - final[t]["created"] for t in accepted]
    sync_ok = [a.seconds for a in answers if a.upload.sync and a.status == 200]
    return {
        "requests": len(plan), "wall_s": round(wall, 2),
        "answers": dict(sorted(Counter(f"{'sync' if a.upload.sync else 'async'} {a.upload.kind} {a.status}" for a in answers).items())),
        "async_final": dict(Counter(f"{accepted[t].upload.kind} {s['status']}" for t, s in final.items())),
        "sync_latency_s": percentiles(sync_ok),
        "async_submit_s": percentiles([a.seconds for a in accepted.values()]),
        "async_done_s": percentiles(async_latency),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pipeline", default="fast")
    args = parser.parse_args()
    report = {}
    with tempfile.TemporaryDirectory() as root:
        with ServeProcess(f"{root}/open", "--executor", "local", "--pipeline", args.pipeline, "--queue-size", "1000") as server:
            report["unlimited"] = burst(server.url, args.uploads, args.concurrency)
        with ServeProcess(f"{root}/tight", "--executor", "local", "--pipeline", args.pipeline, "--queue-size", "4",
                          "--rate-per-minute", "20") as server:  # fmt: skip
            report["limited"] = burst(server.url, args.uploads, args.concurrency)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
