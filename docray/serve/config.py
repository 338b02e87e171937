"""The settings of one ``docray serve`` process (from its command line; nothing is read at import time)."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class ExecutorChoice(str, Enum):
    AUTO = "auto"  # in-process for a small task, Ray for a large one (as docray parse)
    LOCAL = "local"
    RAY = "ray"


class ServeConfig(BaseModel):
    """What the server allows and where it keeps tasks."""

    model_config = ConfigDict(extra="forbid")

    output_root: str = Field(description="folder or fsspec URL for uploads and results: <root>/tasks/<task_id>/")
    state_db: str | None = Field(None, description="SQLite file of task state (default: <output_root>/tasks.sqlite3; required for a remote root)")
    address: str | None = Field(None, description="Ray address; None: embedded local Ray when a task runs on Ray")
    executor: ExecutorChoice = Field(ExecutorChoice.AUTO, description="how tasks run")
    pipeline: str | None = Field(None, description="docray pipeline for backend=pipeline (default: standard)")
    api_keys: list[str] = Field(default_factory=list, description="accepted Bearer keys; empty: no authentication")
    max_upload_mb: float = Field(100.0, gt=0, description="largest request body (all files together), MiB: 413 above")
    max_files: int = Field(20, ge=1, description="most files in one request")
    max_pages: int = Field(1000, ge=1, description="most pages in one task (after the page range): 413 above")
    rate_per_minute: int = Field(0, ge=0, description="requests per minute per key (or client address); 0: unlimited")
    queue_size: int = Field(64, ge=1, description="most pending tasks: 503 above")
    workers: int = Field(1, ge=1, description="tasks run at the same time")
    request_timeout_s: float = Field(600.0, gt=0, description="POST /file_parse waits this long, then answers 504 with the task id")
    task_timeout_s: float = Field(3600.0, gt=0, description="a task still running after this fails (checked between documents)")
    max_attempts: int = Field(3, ge=1, description="a task interrupted by a server stop this many times fails")
    allowed_server_urls: list[str] = Field(
        default_factory=list, description="server_url values a client may name (vlm-http-client); none: server_url is refused"
    )
    vlm_server_url: str | None = Field(None, description="the server's own OpenAI-compatible VLM server for vlm-http-client")

    def db_path(self) -> str:
        if self.state_db:
            return self.state_db
        if "://" in self.output_root and not self.output_root.startswith("file://"):
            raise ValueError("a remote --output-root needs --state-db PATH (a local SQLite file)")
        return self.output_root.removeprefix("file://").rstrip("/") + "/tasks.sqlite3"
