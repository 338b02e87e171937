"""Several Ray nodes on this machine (Ray's cluster utilities start extra raylets on loopback): the run is
scheduled across them, a worker node is removed mid-run, and every document is still in the output exactly once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from docray.pipelines.executors import RayExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline
from docray.testing.corpus import committed_documents, write_corpus

pytestmark = pytest.mark.ray
RUN_TIMEOUT_S = 900.0


@pytest.fixture
def cluster():
    import ray
    from ray.cluster_utils import Cluster

    ray.shutdown()  # an embedded Ray of an earlier test: this test connects to its own cluster
    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    workers = [made.add_node(num_cpus=1) for _ in range(2)]
    made.wait_for_nodes()
    ray.init(address=made.address)
    try:
        yield made, workers
    finally:
        ray.shutdown()
        made.shutdown()


def test_a_worker_node_removed_mid_run_leaves_every_document_exactly_once(tmp_path, cluster):
    import ray

    made, workers = cluster
    assert len([n for n in ray.nodes() if n["Alive"]]) == 3
    for attempt, n in enumerate((120, 480)):
        corpus = write_corpus(tmp_path / f"in{attempt}", n, corrupt_fraction=0.05, seed=attempt)
        out = tmp_path / f"out{attempt}"
        result: dict = {}

        def run() -> None:
            try:
                executor = RayExecutor(address=made.address, progress_bars=False)
                result["report"] = run_pipeline(load_pipeline("fast"), [str(corpus.directory)], str(out),
                                                executor=executor, shard_size=40)  # fmt: skip
            except BaseException as exc:  # reported by the test thread
                result["error"] = exc

        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while committed_documents(out) < n // 10 and runner.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        at_removal = committed_documents(out)
        removed = runner.is_alive()
        if removed:
            made.remove_node(workers[attempt])  # its raylet and workers die with what they were running
        runner.join(RUN_TIMEOUT_S)
        assert not runner.is_alive(), f"the run over {n} documents did not finish after the node was removed"
        if "error" in result:
            raise result["error"]
        if removed and at_removal < n:
            break
    else:
        pytest.fail("the run finished before a node could be removed, even over 480 documents")

    report = result["report"]
    assert report.complete and report.missing == []
    rows = pads.dataset(out / "documents", format="parquet", partitioning="hive").to_table(
        columns=["source", "status"]
    ).to_pylist()
    counts = Counter(r["source"] for r in rows)
    assert max(counts.values()) == 1, "no document twice"
    assert set(counts) == {str(p) for p in corpus.paths}, "every document once"
    assert {Path(r["source"]) for r in rows if r["status"] == "error"} == set(corpus.corrupt)
    pages = pads.dataset(out / "pages", format="parquet", partitioning="hive").to_table(columns=["source", "page_idx"])
    keys = Counter(zip(pages.column("source").to_pylist(), pages.column("page_idx").to_pylist()))
    assert max(keys.values()) == 1 and len(keys) == corpus.total_pages
    assert len([node for node in ray.nodes() if node["Alive"]]) == 2  # the run finished on the nodes left


def test_an_embedded_run_starts_a_ray_of_its_own_beside_a_running_cluster(tmp_path):
    """A cluster that Ray's utilities (or `ray start`) run on this machine is recorded in /tmp/ray; an executor
    without an address still starts its own Ray with its own CPUs instead of joining it (or failing on num_cpus)."""
    import ray
    from ray.cluster_utils import Cluster

    ray.shutdown()
    other = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        corpus = write_corpus(tmp_path / "in", 3, corrupt_fraction=0.0, pages=(1, 1), seed=1)
        report = run_pipeline(load_pipeline("fast"), [str(corpus.directory)], str(tmp_path / "out"),
                              executor=RayExecutor(num_cpus=2, progress_bars=False))  # fmt: skip
        assert report.complete and report.stats.documents == 3
        assert ray.get_runtime_context().gcs_address != other.address
        assert ray.cluster_resources().get("CPU") == 2
    finally:
        ray.shutdown()
        other.shutdown()
