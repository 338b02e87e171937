"""docray serve's parts without a server: the SQLite task store, keys, the rate limiter, upload sniffing, the
Markdown page."""

from __future__ import annotations

import pytest

from docray.schema import DocKind
from docray.serve.limits import ANONYMOUS, ApiKeys, RateLimiter, Refusal, check_upload, pages_in_range
from docray.serve.store import Task, TaskStatus, TaskStore
from docray.testing import office
from docray.testing.pdfs import image_file, not_a_pdf, simple_pdf


def task(n: int) -> Task:
    return Task(id=f"t{n}", client="c", form={}, files=[{"name": f"d{n}"}])


def test_store_queues_in_order_and_bounds_the_queue(tmp_path):
    store = TaskStore(str(tmp_path / "tasks.sqlite3"))
    assert store.add(task(1), max_pending=2) and store.add(task(2), max_pending=2)
    assert not store.add(task(3), max_pending=2)  # full: refused, not stored
    assert store.get("t3") is None
    assert store.queued_ahead(store.get("t2")) == 1
    claimed = store.claim_next()
    assert claimed.id == "t1" and claimed.status == TaskStatus.PROCESSING and claimed.attempts == 1
    assert store.queued_ahead(store.get("t2")) == 0
    store.finish("t1", TaskStatus.COMPLETED, rows=[{"name": "d1", "status": "ok"}])
    assert store.get("t1").rows == [{"name": "d1", "status": "ok"}]
    assert store.counts() == {"pending": 1, "processing": 0, "completed": 1, "failed": 0}


def test_recover_requeues_interrupted_tasks_then_fails_them(tmp_path):
    path = str(tmp_path / "tasks.sqlite3")
    store = TaskStore(path)
    store.add(task(1), max_pending=5)
    for attempt in (1, 2):
        assert store.claim_next().attempts == attempt
        store.close()
        store = TaskStore(path)  # a new server process on the same file
        assert store.recover(max_attempts=3) == {"requeued": 1, "failed": 0}
    assert store.claim_next().attempts == 3
    assert store.recover(max_attempts=3) == {"requeued": 0, "failed": 1}
    failed = store.get("t1")
    assert failed.status == TaskStatus.FAILED and "3 times" in failed.error


def test_keys_and_anonymous_clients():
    assert ApiKeys([]).client_of(None) == ANONYMOUS
    keys = ApiKeys(["alpha", "beta"])
    assert keys.client_of("Bearer alpha") != keys.client_of("Bearer beta")
    assert keys.client_of("bearer alpha") == keys.client_of("Bearer alpha")
    for header in (None, "Bearer", "Bearer gamma", "Basic alpha", "alpha"):
        with pytest.raises(Refusal) as refused:
            keys.client_of(header)
        assert refused.value.status == 401


def test_rate_limiter_refills_with_time():
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    limiter.take("a")
    limiter.take("a")
    with pytest.raises(Refusal) as refused:
        limiter.take("a")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "30"
    limiter.take("b")  # per client
    now[0] = 30.0
    limiter.take("a")  # one request back after 30 s at 2 a minute


def test_uploads_are_sniffed_from_their_bytes():
    assert check_upload("x.txt", simple_pdf(1)).kind == DocKind.PDF
    assert check_upload("x.pdf", image_file("jpeg")).mime == "image/jpeg"
    with pytest.raises(Refusal) as refused:
        check_upload("x.pdf", not_a_pdf())
    assert refused.value.status == 415
    with pytest.raises(Refusal) as refused:
        check_upload("x.pdf", b"")
    assert refused.value.status == 400


def test_office_uploads_are_sniffed_by_the_ingest_sniffer():
    assert check_upload("x.pdf", office.docx_file()).kind == DocKind.DOCX
    assert check_upload("sheet", office.xlsx_file()).mime.endswith("spreadsheetml.sheet")
    assert check_upload("page", office.html_file()).kind == DocKind.HTML
    assert check_upload("names.csv", b"alice\nbob\n").kind == DocKind.CSV  # one column: CSV by its name, as in ingest
    with pytest.raises(Refusal) as refused:
        check_upload("names.txt", b"alice\nbob\n")
    assert refused.value.status == 415
    unusable = {office.corrupt_zip(): 400, office.encrypted_ooxml(): 400, office.legacy_doc(): 415}
    for data, status in {**unusable, office.macro_only(): 415}.items():
        with pytest.raises(Refusal) as refused:
            check_upload("x.docx", data)
        assert refused.value.status == status, refused.value.detail


def test_pages_in_range_counts_converted_pages():
    assert pages_in_range(office.pptx_file(), DocKind.PPTX, 0, None) == 2  # slides
    assert pages_in_range(office.xlsx_file(), DocKind.XLSX, 1, None) == 1  # the second sheet
    assert pages_in_range(office.html_file(), DocKind.HTML, 0, 5) == 1
    assert pages_in_range(office.truncated_docx(), DocKind.DOCX, 0, None) == 0  # unreadable: the run's error row


def test_pages_in_range_counts_what_will_be_parsed():
    five = simple_pdf(5)
    assert pages_in_range(five, DocKind.PDF, 0, None) == 5
    assert pages_in_range(five, DocKind.PDF, 1, 2) == 2
    assert pages_in_range(five, DocKind.PDF, 4, 99) == 1
    assert pages_in_range(five, DocKind.PDF, 7, None) == 0
    assert pages_in_range(b"%PDF-1.7 garbage", DocKind.PDF, 0, None) == 0
    assert pages_in_range(image_file("png"), DocKind.IMAGE, 0, None) == 1


def test_markdown_page_renders_math_as_mathml_and_inlines_images():
    pytest.importorskip("latex2mathml")
    pytest.importorskip("markdown_it")
    from docray.serve.render_md import markdown_page

    page = markdown_page("# Title\n\nEnergy $E=mc^2$ costs $5 and $6.\n\n$$\\frac{a}{b}$$\n\n![](images/f.jpg)\n",
                         {"images/f.jpg": "data:image/jpeg;base64,AAAA"})  # fmt: skip
    assert "<h1>Title</h1>" in page
    assert page.count("<math") == 2 and "<mfrac>" in page and 'display="block"' in page
    assert "$5 and $6" in page  # prices are not math
    assert 'src="data:image/jpeg;base64,AAAA"' in page
