"""docray.storage and docray.userconfig: bucket_info credentials, url_to_fs, atomic writes; S3 against a real
S3-compatible server on loopback (moto's server mode, docray.testing.s3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from docray import userconfig
from docray.models import weights
from docray.storage import bucket_storage_options, full_uri, pyarrow_filesystem, url_to_fs, write_atomic
from docray.testing.s3 import S3Server

CONFIG = {
    "bucket_info": {
        "papers": ["AK1", "SK1", "http://minio.local:9000"],
        "no-endpoint": ["AK2", "SK2", ""],
        "[default]": ["AKD", "SKD", "storage.example.com"],
    }
}


@pytest.fixture
def no_aws_env(monkeypatch):
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def s3():
    with S3Server() as server:
        server.make_bucket("storage-test")
        yield server


@pytest.fixture
def s3_config(s3, tmp_path, monkeypatch, no_aws_env):
    """docray.json naming only the test bucket, in effect through DOCRAY_CONFIG."""
    path = tmp_path / "docray.json"
    path.write_text(json.dumps(s3.bucket_info_config("storage-test")))
    monkeypatch.setenv("DOCRAY_CONFIG", str(path))
    return path


# --------------------------------------------------------------------------- config file


def test_config_file_order_env_then_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOCRAY_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert userconfig.config_file() is None and userconfig.load_config() == {}
    (tmp_path / "docray.json").write_text('{"models-dir": "/cwd"}')
    assert userconfig.load_config() == {"models-dir": "/cwd"}
    explicit = tmp_path / "explicit.json"
    explicit.write_text('{"models-dir": "/env"}')
    monkeypatch.setenv("DOCRAY_CONFIG", str(explicit))
    assert userconfig.config_file() == explicit
    assert weights.models_dir() == Path("/env")  # models/weights.py reads the same file
    assert weights.load_config is userconfig.load_config
    explicit.write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        userconfig.load_config()
    explicit.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        userconfig.load_config()


# --------------------------------------------------------------------------- bucket_info


def test_named_bucket_gets_its_credentials_and_endpoint():
    assert bucket_storage_options("s3://papers/2024/a.pdf", CONFIG) == {
        "key": "AK1",
        "secret": "SK1",
        "client_kwargs": {"endpoint_url": "http://minio.local:9000"},
        "config_kwargs": {"s3": {"addressing_style": "path"}},
    }
    assert bucket_storage_options("s3a://papers/x", CONFIG)["key"] == "AK1"


def test_default_entry_and_missing_values():
    other = bucket_storage_options("s3://anything-else/a.pdf", CONFIG)
    assert other["key"] == "AKD" and other["client_kwargs"] == {"endpoint_url": "https://storage.example.com"}
    assert bucket_storage_options("s3://no-endpoint/a.pdf", CONFIG) == {"key": "AK2", "secret": "SK2"}


def test_no_entry_leaves_the_aws_credential_chain():
    config = {"bucket_info": {"papers": ["AK1", "SK1", "http://minio.local:9000"]}}
    assert bucket_storage_options("s3://elsewhere/a.pdf", config) == {}
    assert bucket_storage_options("s3://papers/a.pdf", {}) == {}
    assert bucket_storage_options("/local/papers/a.pdf", CONFIG) == {}
    assert bucket_storage_options("memory://papers/a.pdf", CONFIG) == {}


def test_malformed_entry_is_a_clear_error():
    with pytest.raises(ValueError, match="access_key"):
        bucket_storage_options("s3://bad/a.pdf", {"bucket_info": {"bad": "AK:SK"}})


def test_config_is_read_from_docray_config(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(CONFIG))
    monkeypatch.setenv("DOCRAY_CONFIG", str(path))
    assert bucket_storage_options("s3://papers/a.pdf")["secret"] == "SK1"
    path.write_text(json.dumps({"bucket_info": {}}))  # read when called, not cached
    assert bucket_storage_options("s3://papers/a.pdf") == {}


def test_explicit_storage_options_win(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(CONFIG))
    monkeypatch.setenv("DOCRAY_CONFIG", str(path))
    fs, key = url_to_fs("s3://papers/dir/a.pdf", {"key": "EXPLICIT", "client_kwargs": {"region_name": "eu-west-1"}})
    assert key == "papers/dir/a.pdf"
    assert fs.key == "EXPLICIT" and fs.secret == "SK1"
    assert fs.client_kwargs == {"endpoint_url": "http://minio.local:9000", "region_name": "eu-west-1"}


def test_missing_s3fs_names_the_extra():
    code = (
        "import sys; sys.modules['s3fs'] = None\nfrom docray.storage import url_to_fs\nurl_to_fs('s3://bucket/a.pdf')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ValueError" in done.stderr and "pip install 'docray[s3]'" in done.stderr


# --------------------------------------------------------------------------- local


def test_full_uri_local_and_remote(tmp_path):
    fs, path = url_to_fs(f"file://{tmp_path}/a/../b.pdf")
    assert full_uri(fs, path) == str(tmp_path / "b.pdf")
    fs, path = url_to_fs("memory://bucket/x.pdf")
    assert full_uri(fs, path) == "memory:///bucket/x.pdf"


def test_write_atomic_local_leaves_only_the_file(tmp_path):
    fs, root = url_to_fs(str(tmp_path))
    target = f"{root}/deep/er/run.json"
    write_atomic(fs, target, '{"ok": true}')
    assert json.loads(Path(target).read_text()) == {"ok": True}
    write_atomic(fs, target, b"\x00\x01 replaced")
    assert Path(target).read_bytes() == b"\x00\x01 replaced"
    assert sorted(p.name for p in (tmp_path / "deep" / "er").iterdir()) == ["run.json"]
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert os.stat(target).st_mode & 0o777 == plain.stat().st_mode & 0o777  # the umask applies, not 0600


def test_write_atomic_local_failure_leaves_no_temp_file(tmp_path):
    fs, root = url_to_fs(str(tmp_path))
    (tmp_path / "taken").mkdir()  # os.replace onto a directory fails
    with pytest.raises(OSError):
        write_atomic(fs, f"{root}/taken", b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"] and not any((tmp_path / "taken").iterdir())


def test_pyarrow_filesystem_local_is_arrows_own(tmp_path):
    assert isinstance(pyarrow_filesystem(str(tmp_path)), pafs.LocalFileSystem)


# --------------------------------------------------------------------------- S3 server


def test_url_to_fs_on_s3_with_bucket_info(s3, s3_config):
    s3.filesystem().pipe_file("storage-test/in/a.txt", b"hello s3")
    fs, path = url_to_fs("s3://storage-test/in/a.txt")
    assert path == "storage-test/in/a.txt"
    assert fs.cat_file(path) == b"hello s3"
    assert full_uri(fs, path) == "s3://storage-test/in/a.txt"
    assert fs.client_kwargs["endpoint_url"] == s3.endpoint_url


def test_write_atomic_on_s3(s3, s3_config):
    fs, root = url_to_fs("s3://storage-test/out/atomic")
    write_atomic(fs, f"{root}/sub/run.json", '{"n": 1}')
    write_atomic(fs, f"{root}/sub/run.json", '{"n": 2}')
    check = s3.filesystem()
    assert json.loads(check.cat_file("storage-test/out/atomic/sub/run.json")) == {"n": 2}
    assert check.find("storage-test/out/atomic") == ["storage-test/out/atomic/sub/run.json"]


def test_pyarrow_filesystem_on_s3_round_trips_parquet(s3, s3_config):
    table = pa.table({"source": ["s3://storage-test/a.pdf"], "n": [3]})
    filesystem = pyarrow_filesystem("s3://storage-test/tables/t.parquet")
    pq.write_table(table, "storage-test/tables/t.parquet", filesystem=filesystem)
    assert s3.filesystem().exists("storage-test/tables/t.parquet")
    assert pq.read_table("storage-test/tables/t.parquet", filesystem=filesystem).equals(table)
