"""``docray serve``'s API docs work offline: ``/docs`` (Swagger UI) and ``/redoc`` load their scripts and styles from
the server itself (no CDN), without an API key, while the API behind them still asks for one.  A real uvicorn server
on loopback with ``--api-key``; the page's rendering in Chromium is in ``test_serve_browser.py``."""

from __future__ import annotations

import http.client
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

pytest.importorskip("fastapi", reason="docray serve needs the serve extra (pip install 'docray[serve]')")
requests = pytest.importorskip("requests")

from docray.testing.serve import ServeProcess  # noqa: E402

KEY = "docs-key"


class AssetLinks(HTMLParser):
    """Every ``<script src>`` and ``<link href>`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.links: list[tuple[str, str]] = []  # (rel, href)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"])
        elif tag == "link" and values.get("href"):
            self.links.append((values.get("rel") or "", values["href"]))


def asset_links(html: str) -> AssetLinks:
    parser = AssetLinks()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServeProcess(str(tmp_path_factory.mktemp("serve-docs")), "--executor", "local", "--api-key", KEY) as running:
        yield running


def fetch_local(server: ServeProcess, url: str) -> requests.Response:
    parts = urlsplit(url)
    assert not parts.scheme and not parts.netloc and url.startswith("/"), f"{url} is not on this server"
    return requests.get(server.url + url, timeout=10)  # no key: the docs are public


def test_swagger_ui_loads_its_script_and_style_from_the_server(server):
    page = requests.get(f"{server.url}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "://" not in page.text, "the page names another host (a CDN)"
    links = asset_links(page.text)
    assert len(links.scripts) == 1
    script = fetch_local(server, links.scripts[0])
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text and len(script.content) > 500_000
    styles = [href for rel, href in links.links if rel == "stylesheet"]
    assert len(styles) == 1
    style = fetch_local(server, styles[0])
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert ".swagger-ui" in style.text
    icon = fetch_local(server, next(href for rel, href in links.links if "icon" in rel))
    assert icon.status_code == 200 and icon.content.startswith(b"\x89PNG")
    assert "url: '/openapi.json'" in page.text


def test_redoc_loads_its_script_from_the_server(server):
    page = requests.get(f"{server.url}/redoc", timeout=10)
    assert page.status_code == 200 and "://" not in page.text, "the page names another host (fonts or a CDN)"
    links = asset_links(page.text)
    assert len(links.scripts) == 1
    script = fetch_local(server, links.scripts[0])
    assert script.status_code == 200 and "javascript" in script.headers["content-type"] and "Redoc" in script.text


def test_docs_are_public_and_the_api_still_needs_its_key(server):
    for path in ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"):
        assert requests.get(f"{server.url}{path}", timeout=10).status_code == 200, path
    assert requests.get(f"{server.url}/tasks/0123456789abcdef", timeout=10).status_code == 401
    keyed = requests.get(f"{server.url}/tasks/0123456789abcdef", headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    assert keyed.status_code == 404


def test_the_public_asset_prefix_reaches_no_other_route(server):
    """``..`` under the public prefix is not normalised away into a keyed route, nor out of the assets folder."""
    for raw in ("/docs/assets/../../tasks/0123456789abcdef", "/docs/assets/../../../../../../etc/passwd",
                "/docs/assets/%2e%2e/%2e%2e/health"):  # fmt: skip
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", raw)  # sent as written (requests would resolve the dots)
        answer = connection.getresponse()
        body = answer.read()
        connection.close()
        assert answer.status == 404, (raw, answer.status, body[:200])
        assert b"root:" not in body and b"no task" not in body, (raw, body[:200])


def test_openapi_declares_the_bearer_key_so_swagger_ui_can_send_it(server):
    schema = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    schemes = schema["components"]["securitySchemes"]
    assert [s["type"] for s in schemes.values()] == ["http"] and next(iter(schemes.values()))["scheme"] == "bearer"
    name = next(iter(schemes))
    keyed = (("/file_parse", "post"), ("/tasks", "post"), ("/tasks/{task_id}", "get"),
             ("/tasks/{task_id}/result", "get"))  # fmt: skip
    for path, method in keyed:
        operation = schema["paths"][path][method]
        assert {name: []} in operation["security"], path
        # not a header parameter: Swagger UI drops an Authorization parameter and would send no key
        assert all(p["name"].lower() != "authorization" for p in operation.get("parameters", [])), path
    assert "security" not in schema["paths"]["/health"]["get"]
