"""The web page of ``docray serve`` in Debian's headless Chromium (selenium driving /usr/bin/chromedriver; nothing
downloads a browser): upload a PDF, follow the progress, see the page with its layout boxes beside the rendered
Markdown, the JSON tabs and the ZIP link.  Skipped, with the reason, only where Chromium is not installed
(``make install`` installs it where apt-get can)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="docray serve needs the serve extra (pip install 'docray[serve]')")

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    pytest.skip(f"{CHROMIUM} / {CHROMEDRIVER} not installed (apt-get install chromium chromium-driver; make install does)",
                allow_module_level=True)  # fmt: skip
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra")

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from docray.testing.report import TITLE, report_with_table_and_figure  # noqa: E402
from docray.testing.serve import ServeProcess  # noqa: E402

KEY = "browser-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServeProcess(str(tmp_path_factory.mktemp("serve-web")), "--executor", "local", "--api-key", KEY) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def submit(browser, server, pdf: Path, key: str) -> None:
    browser.get(server.url + "/")
    browser.find_element(By.ID, "api_key").clear()
    browser.find_element(By.ID, "api_key").send_keys(key)
    browser.find_element(By.ID, "file").send_keys(str(pdf))
    browser.find_element(By.ID, "submit").click()


def test_upload_progress_and_result_in_chromium(browser, server, tmp_path):
    pdf = tmp_path / "station report.pdf"
    pdf.write_bytes(report_with_table_and_figure().pdf)
    submit(browser, server, pdf, KEY)
    WebDriverWait(browser, 120).until(lambda b: "shown" in b.find_element(By.ID, "result").get_attribute("class")
                                      or "error" in b.find_element(By.ID, "status").get_attribute("class"))  # fmt: skip
    status = browser.find_element(By.ID, "status").text
    assert "completed" in status, status
    assert browser.find_element(By.ID, "doc-name").text == "station report"
    # the page image, drawn, with the layout boxes of middle.json over it
    WebDriverWait(browser, 30).until(lambda b: b.execute_script(
        "const i = document.getElementById('page-image'); return i.complete && i.naturalWidth > 0 && "
        "Number(document.getElementById('boxes').dataset.boxes || 0) > 0"))  # fmt: skip
    assert int(browser.find_element(By.ID, "boxes").get_attribute("data-boxes")) >= 4
    # the rendered Markdown (a sandboxed iframe): the title as a heading, the table as a table, the figure inlined
    browser.switch_to.frame(browser.find_element(By.ID, "markdown-frame"))
    assert browser.find_element(By.TAG_NAME, "h1").text == TITLE
    assert browser.find_elements(By.CSS_SELECTOR, "table td")
    figure = browser.find_element(By.TAG_NAME, "img")
    assert figure.get_attribute("src").startswith("data:image/jpeg;base64,")
    assert browser.execute_script("return arguments[0].naturalWidth", figure) > 0
    browser.switch_to.default_content()
    # the JSON tabs
    browser.find_element(By.CSS_SELECTOR, "[data-tab=tab-content-list]").click()
    content = browser.find_element(By.ID, "content-list-json")
    assert content.is_displayed() and '"type": "table"' in content.text
    browser.find_element(By.CSS_SELECTOR, "[data-tab=tab-middle]").click()
    assert '"pdf_info"' in browser.find_element(By.ID, "middle-json").text
    assert browser.find_element(By.ID, "download-zip").get_attribute("href").startswith("blob:")
    shot = tmp_path / "docray-serve-page.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_formulas_render_as_mathml(browser, server, tmp_path):
    from docray.testing.inline_math import unicode_document

    pdf = tmp_path / "math.pdf"
    pdf.write_bytes(unicode_document().pdf)
    submit(browser, server, pdf, KEY)
    WebDriverWait(browser, 120).until(lambda b: "shown" in b.find_element(By.ID, "result").get_attribute("class"))
    browser.switch_to.frame(browser.find_element(By.ID, "markdown-frame"))
    formulas = browser.find_elements(By.TAG_NAME, "math")
    assert len(formulas) >= 10 and browser.find_elements(By.CSS_SELECTOR, "math[display=block]")
    sizes = [browser.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height]", f) for f in formulas[:5]]
    assert all(w > 5 and h > 5 for w, h in sizes), sizes  # laid out by Chromium's MathML, not left as text
    assert "$" not in browser.find_element(By.TAG_NAME, "body").text.replace("US$", "")
    browser.switch_to.default_content()
    shot = tmp_path / "docray-serve-math.png"
    assert browser.save_screenshot(str(shot))


def test_a_word_document_shows_its_markdown_without_a_page_image(browser, server, tmp_path):
    from docray.testing import office

    docx = tmp_path / "pond survey.docx"
    docx.write_bytes(office.docx_file())
    submit(browser, server, docx, KEY)
    WebDriverWait(browser, 120).until(lambda b: "shown" in b.find_element(By.ID, "result").get_attribute("class")
                                      or "error" in b.find_element(By.ID, "status").get_attribute("class"))  # fmt: skip
    assert "completed" in browser.find_element(By.ID, "status").text
    # no page image (a converted document has none): the image is empty and says why, no boxes are drawn
    image = browser.find_element(By.ID, "page-image")
    WebDriverWait(browser, 30).until(lambda b: "no page images" in image.get_attribute("alt"))
    assert not image.get_attribute("src")
    browser.switch_to.frame(browser.find_element(By.ID, "markdown-frame"))
    assert office.TITLE in browser.find_element(By.TAG_NAME, "body").text
    assert browser.find_elements(By.CSS_SELECTOR, "table td")
    browser.switch_to.default_content()


def test_a_refusal_is_shown(browser, server, tmp_path):
    pdf = tmp_path / "any.pdf"
    pdf.write_bytes(report_with_table_and_figure().pdf)
    submit(browser, server, pdf, "wrong-key")
    WebDriverWait(browser, 30).until(lambda b: "error" in b.find_element(By.ID, "status").get_attribute("class"))
    assert "refused (401)" in browser.find_element(By.ID, "status").text


def test_api_docs_render_offline(browser, server):
    """/docs draws Swagger UI's operations from files the server itself serves (no CDN: CI may be offline)."""
    browser.get(server.url + "/docs")
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
    paths = {e.get_attribute("data-path") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/file_parse", "/tasks", "/tasks/{task_id}", "/tasks/{task_id}/result", "/health"} <= paths, paths
    assert browser.find_elements(By.CSS_SELECTOR, ".auth-wrapper .authorize")  # the Bearer key can be entered
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(server.url + "/") for url in loaded), loaded
