"""Pipeline YAML loading, overrides, and the checks made when a plan is built (no Ray)."""

from __future__ import annotations

from typing import Literal

import pytest

from docray.config import OperatorConfig
from docray.operators import OPERATORS
from docray.operators.base import Level, Operator
from docray.pipelines.plan import build_plan
from docray.pipelines.ray_adapter import map_batches_kwargs
from docray.pipelines.spec import (
    PipelineError,
    apply_overrides,
    load_pipeline,
    parse_pipeline,
)
from docray.schema import PAGES, RESULTS


class NeedsOcrLinesConfig(OperatorConfig):
    op: Literal["needs_ocr_lines"] = "needs_ocr_lines"


class NeedsOcrLines(Operator[NeedsOcrLinesConfig]):
    """A page operator reading a column that nothing writes."""

    name = "needs_ocr_lines"
    Config = NeedsOcrLinesConfig
    consumes = Level.PAGES
    produces = Level.PAGES
    reads = ("ocr_lines",)


def test_bundled_fast_pipeline_builds_and_ends_in_results():
    plan = build_plan(load_pipeline("fast"))
    assert [s.name for s in plan.stages] == ["ingest", "render", "assemble", "quality"]
    assert plan.stage("render").output_schema == PAGES
    math = build_plan(load_pipeline("fast-math"))
    assert [s.name for s in math.stages] == ["ingest", "render", "formula", "assemble", "quality"]
    assert math.stage("render").output_schema.names == [*PAGES.names, "glyphs", "rules"]  # render.glyphs: math
    assert "glyphs" not in math.stage("formula").output_schema.names
    assert plan.stage("assemble").output_schema.names == RESULTS.names
    assert plan.stages[-1].output_schema.names == [*RESULTS.names, "lang", "quality_score", "quality_flags"]
    assert plan.parse_method == "auto"


def test_load_by_path_and_by_name_agree(tmp_path):
    from pathlib import Path

    by_path = load_pipeline(Path(__file__).parents[1] / "pipelines" / "fast.yaml")
    assert by_path == load_pipeline("fast")


def test_overrides_are_yaml_typed_and_validated():
    spec = apply_overrides(load_pipeline("fast"), ["render.dpi=200", "render.method=txt", "render.resources.num_cpus=0.5"])
    plan = build_plan(spec)
    render = plan.stage("render").config
    assert render.dpi == 200 and render.method.value == "txt" and render.resources.num_cpus == 0.5
    assert plan.parse_method == "txt"
    with pytest.raises(PipelineError, match="no stage 'ocr'"):
        apply_overrides(load_pipeline("fast"), ["ocr.lang=en"])
    with pytest.raises(PipelineError, match="stage.key=value"):
        apply_overrides(load_pipeline("fast"), ["dpi=3"])
    with pytest.raises(PipelineError, match="invalid config"):
        build_plan(apply_overrides(load_pipeline("fast"), ["render.no_such_field=1"]))
    with pytest.raises(PipelineError, match="invalid config"):
        build_plan(apply_overrides(load_pipeline("fast"), ["render.dpi=-5"]))


def test_output_overrides():
    spec = apply_overrides(load_pipeline("fast"), ["output.tables=[documents]"])
    assert spec.output.tables == ["documents"]
    with pytest.raises(PipelineError):
        apply_overrides(load_pipeline("fast"), ["output.tables=[nonsense]"])


def test_stage_order_is_checked():
    spec = parse_pipeline({"name": "bad", "stages": ["ingest", "assemble"]})
    with pytest.raises(PipelineError, match="consumes pages but the previous stage produces documents"):
        build_plan(spec)
    with pytest.raises(PipelineError, match="must end with a stage producing results"):
        build_plan(parse_pipeline({"name": "short", "stages": ["ingest", "render"]}))
    with pytest.raises(PipelineError, match="unknown operator 'ocrx'"):
        build_plan(parse_pipeline({"name": "typo", "stages": ["ingest", "ocrx"]}))
    with pytest.raises(PipelineError, match="duplicate stage name"):
        build_plan(parse_pipeline({"name": "dup", "stages": ["ingest", "render", "render", "assemble"]}))


def test_missing_input_columns_fail_at_build_time(monkeypatch):
    monkeypatch.setitem(OPERATORS, "needs_ocr_lines", f"{__name__}:NeedsOcrLines")
    spec = parse_pipeline({"name": "p", "stages": ["ingest", "render", "needs_ocr_lines", "assemble"]})
    with pytest.raises(PipelineError, match=r"reads columns \['ocr_lines'\] that no earlier stage writes"):
        build_plan(spec)


def test_malformed_pipeline_files():
    with pytest.raises(PipelineError):
        parse_pipeline(["not", "a", "mapping"])  # type: ignore[arg-type]
    with pytest.raises(PipelineError, match="'op' key"):
        parse_pipeline({"name": "x", "stages": [{"dpi": 3}]})
    with pytest.raises(PipelineError):
        parse_pipeline({"name": "x", "stages": [], "unknown_key": 1})
    with pytest.raises(FileNotFoundError):
        load_pipeline("no_such_pipeline")


def test_map_batches_kwargs_from_config():
    from ray.data import ActorPoolStrategy, TaskPoolStrategy

    spec = apply_overrides(
        load_pipeline("fast"),
        ["render.batch_size=3", "render.resources.num_gpus=0.25", "render.resources.memory=1000000",
         "assemble.concurrency=[1, 3]"],
    )  # fmt: skip
    plan = build_plan(spec)
    render = map_batches_kwargs(plan.stage("render"))
    assert render["batch_size"] == 3 and render["num_gpus"] == 0.25 and render["memory"] == 1000000
    assert isinstance(render["compute"], TaskPoolStrategy)  # stateless: tasks, operator built per batch
    assert render["batch_format"] == "pyarrow"
    assert render["fn_kwargs"]["output_schema"] == PAGES
    math = load_pipeline("fast-math")
    formula = map_batches_kwargs(build_plan(math).stage("formula"))
    assert isinstance(formula["compute"], TaskPoolStrategy)  # text layer only: no model, no actor pool
    with_model = build_plan(apply_overrides(math, ["formula.image_model.kind=latex_ocr_junia"]))
    assert isinstance(map_batches_kwargs(with_model.stage("formula"))["compute"], ActorPoolStrategy)  # holds a model
    assemble = map_batches_kwargs(plan.stage("assemble"))
    assert isinstance(assemble["compute"], ActorPoolStrategy)
    assert (assemble["compute"].min_size, assemble["compute"].max_size) == (1, 3)
    assert assemble["fn"].name == "assemble"
    assert "num_gpus" not in map_batches_kwargs(plan.stage("ingest"))


def test_actor_pools_that_reserve_every_cpu_are_reported_before_a_run_hangs():
    from docray.pipelines.plan import build_plan
    from docray.pipelines.ray_adapter import starved_stages

    hung = build_plan(apply_overrides(load_pipeline("fast"), ["render.concurrency=2"]))
    problem = starved_stages(hung.stages, 2.0)
    assert problem and "reserve 2 of the cluster's 2 CPUs" in problem and "ingest" in problem
    assert starved_stages(hung.stages, 4.0) is None
    halved = build_plan(apply_overrides(load_pipeline("fast"), ["render.concurrency=2", "render.resources.num_cpus=0.5"]))
    assert starved_stages(halved.stages, 2.0) is None
    assert starved_stages(build_plan(load_pipeline("standard")).stages, 2.0) is None  # sized for 2 cores


@pytest.mark.parametrize("name", ["standard", "ocr", "vlm", "handwriting"])
def test_bundled_model_stages_are_pools_that_start_small_enough_for_two_cpus(name):
    """[min, max] actor pools: Ray Data grows them while work queues and the cluster has room; their floors leave
    the task stages (and the Parquet read and write tasks) CPUs on a 2-core laptop."""
    from docray.pipelines.ray_adapter import starved_stages, uses_actor_pool

    overrides = ["vlm.resources.num_gpus=0"] if name in ("vlm", "handwriting") else []
    plan = build_plan(apply_overrides(load_pipeline(name), overrides))
    pools = [s for s in plan.stages if uses_actor_pool(s) and s.config.concurrency is not None]
    assert pools and all(isinstance(s.config.concurrency, tuple) for s in pools)
    assert all(1 == s.config.concurrency[0] < s.config.concurrency[1] for s in pools)
    kwargs = map_batches_kwargs(pools[0])
    assert (kwargs["compute"].min_size, kwargs["compute"].max_size) == pools[0].config.concurrency
    assert starved_stages(plan.stages, 2.0, {"read": 0.1, "write": 0.1}) is None


def test_model_engines_bound_opencv_threads_to_the_worker_cpus():
    cv2 = pytest.importorskip("cv2")
    from docray.models.registry import bound_opencv_threads

    before = cv2.getNumThreads()
    try:
        bound_opencv_threads(1)
        assert cv2.getNumThreads() == 1
        bound_opencv_threads(0)  # fractions of a CPU round to at least one thread
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)
