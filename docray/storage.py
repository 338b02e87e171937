"""The one place docray turns a URL into a filesystem (fsspec), with per-bucket S3 credentials.

Every read and write of documents, manifests and outputs goes through :func:`url_to_fs`, so a
local path, ``file://``, ``memory://``, ``s3://`` (and ``s3a://``) or any other fsspec URL works
wherever docray takes a path.

S3 credentials come, for each bucket, from ``"bucket_info"`` in docray's config file
(:mod:`docray.userconfig`), in MinerU's format::

    {"bucket_info": {"my-bucket": ["access_key", "secret_key", "https://endpoint"],
                     "[default]": ["access_key", "secret_key", "http://minio:9000"]}}

A bucket without an entry (and no ``"[default]"``) gets no options, so s3fs uses the standard AWS
credential chain: ``AWS_*`` environment variables, ``~/.aws``, instance roles, ``AWS_ENDPOINT_URL``.
Explicit ``storage_options`` always win over the config.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from docray.userconfig import config_file, load_config

S3_PROTOCOLS = ("s3", "s3a")
DEFAULT_BUCKET = "[default]"
S3_INSTALL_HINT = "pip install 'docray[s3]'"

__all__ = [
    "DEFAULT_BUCKET",
    "S3_INSTALL_HINT",
    "bucket_storage_options",
    "full_uri",
    "is_local",
    "pyarrow_filesystem",
    "url_to_fs",
    "write_atomic",
]


def _protocol(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def bucket_storage_options(url: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """s3fs keyword arguments for the bucket of an ``s3://``/``s3a://`` URL, from ``bucket_info``.

    ``config`` defaults to docray's config file (read now).  The bucket's own entry wins over
    ``"[default]"``; an entry is ``[access_key, secret_key]`` or ``[access_key, secret_key,
    endpoint_url]`` (empty or null values are left to the AWS credential chain).  A custom
    endpoint (MinIO, moto, Ceph...) gets path-style addressing.  Returns ``{}`` for other URLs and
    for buckets without an entry.  Raises ``ValueError`` for a malformed entry.
    """
    if _protocol(url) not in S3_PROTOCOLS:
        return {}
    bucket = url.split("://", 1)[1].split("/", 1)[0]
    config = load_config() if config is None else config
    info = config.get("bucket_info") or {}
    if not isinstance(info, dict):
        raise ValueError(
            f"docray config {_config_name()}: 'bucket_info' must map bucket names to [key, secret, endpoint]"
        )
    entry = info.get(bucket, info.get(DEFAULT_BUCKET))
    if entry is None:
        return {}
    if (
        not isinstance(entry, (list, tuple))
        or not 2 <= len(entry) <= 3
        or not all(isinstance(v, (str, type(None))) for v in entry)
    ):
        raise ValueError(
            f"docray config {_config_name()}: bucket_info entry for {bucket!r} must be "
            f'["access_key", "secret_key", "endpoint_url"], not {entry!r}'
        )
    key, secret, endpoint = (list(entry) + [None])[:3]
    options: dict[str, Any] = {}
    if key:
        options["key"] = key
    if secret:
        options["secret"] = secret
    if endpoint:
        endpoint = endpoint if "://" in endpoint else f"https://{endpoint}"
        options["client_kwargs"] = {"endpoint_url": endpoint}
        options["config_kwargs"] = {"s3": {"addressing_style": "path"}}
    return options


def _config_name() -> str:
    path = config_file()
    return str(path) if path else "(given)"


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``; nested dicts (``client_kwargs``, ``config_kwargs``) merge too."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def url_to_fs(url: str, storage_options: dict[str, Any] | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """``(filesystem, path)`` for any fsspec URL or local path, with the bucket's config options.

    Raises ``ValueError`` when the URL's filesystem is unknown or its package is not installed
    (for S3: ``pip install 'docray[s3]'``).
    """
    url = os.fspath(url)
    options = _merge(bucket_storage_options(url), storage_options or {})
    try:
        return fsspec.core.url_to_fs(url, **options)
    except ImportError as exc:
        hint = f"s3fs is not installed: {S3_INSTALL_HINT}" if _protocol(url) in S3_PROTOCOLS else str(exc)
        raise ValueError(f"cannot open {url}: {hint}") from exc


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """Whether ``fs`` is the local disk."""
    return isinstance(fs, LocalFileSystem)


def full_uri(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """``path`` on ``fs`` as a URL another process can open: a normalised absolute path on the
    local disk, else protocol-prefixed (``s3://bucket/key``, ``memory:///dir/a.pdf``)."""
    if is_local(fs):
        return os.path.normpath(path)
    return fs.unstrip_protocol(path)


def write_atomic(fs: fsspec.AbstractFileSystem, path: str, data: bytes | str) -> None:
    """Write ``data`` (str: UTF-8) to ``path`` so that the file appears complete or not at all.

    Local disk: a temporary file in the same directory, then ``os.replace``.  Object stores: one
    upload (an S3 PUT, or a multipart upload, only shows the object once it is complete).  Parent
    directories are created.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if not is_local(fs):
        if parent:
            fs.makedirs(parent, exist_ok=True)
        fs.pipe_file(path, payload)
        return
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    temp = os.path.join(parent, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 & ~umask, like open()
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def pyarrow_filesystem(url: str, storage_options: dict[str, Any] | None = None):
    """A ``pyarrow.fs.FileSystem`` for ``url`` (e.g. for ``ray.data.read_parquet(filesystem=...)``):
    pyarrow's own local filesystem for local paths, else the fsspec filesystem of :func:`url_to_fs`
    (with the bucket's config options) wrapped in ``PyFileSystem(FSSpecHandler(...))``."""
    from pyarrow.fs import FSSpecHandler, PyFileSystem
    from pyarrow.fs import LocalFileSystem as ArrowLocalFileSystem

    fs, _ = url_to_fs(url, storage_options)
    if is_local(fs):
        return ArrowLocalFileSystem()
    return PyFileSystem(FSSpecHandler(fs))
