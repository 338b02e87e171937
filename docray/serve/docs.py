"""``/docs`` (Swagger UI) and ``/redoc`` served without a CDN: their scripts and styles come from the files that the
``fastapi-offline`` package ships (Swagger UI 5, Redoc 2), mounted as static files, so the pages work offline.

FastAPI's documented way (its "Custom Docs UI Static Assets" how-to): the app is made with ``docs_url=None`` and
``redoc_url=None``, and these routes answer ``get_swagger_ui_html`` / ``get_redoc_html`` pointed at local URLs.
Only the package's static files are used, not its ``FastAPIOffline`` factory."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"  # under /docs: one public prefix for the API-key gate
ASSETS_PACKAGE = "fastapi_offline"
SWAGGER_JS, SWAGGER_CSS = "swagger-ui-bundle.js", "swagger-ui.css"
REDOC_JS, FAVICON = "redoc.standalone.js", "favicon.png"


def assets_dir() -> str:
    """The folder of Swagger UI's and Redoc's files inside the installed ``fastapi-offline`` package."""
    try:
        folder = resources.files(ASSETS_PACKAGE).joinpath("static")
    except ModuleNotFoundError as exc:
        raise ImportError("docray serve's /docs needs fastapi-offline (pip install 'docray[serve]')") from exc
    missing = [name for name in (SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON) if not folder.joinpath(name).is_file()]
    if missing:
        raise ImportError(f"{ASSETS_PACKAGE} ships no {', '.join(missing)} in {folder}: reinstall 'docray[serve]'")
    return str(folder)


def add_offline_docs(app: FastAPI) -> None:
    """Mount the assets and answer ``/docs``, its OAuth2 redirect and ``/redoc`` (the app has ``docs_url=None``)."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url

    def local(request: Request, path: str) -> str:
        return f"{request.scope.get('root_path', '')}{path}"

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=local(request, openapi_url), title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=local(request, oauth2_redirect_url) if oauth2_redirect_url else None,
            swagger_js_url=local(request, f"{ASSETS_URL}/{SWAGGER_JS}"),
            swagger_css_url=local(request, f"{ASSETS_URL}/{SWAGGER_CSS}"),
            swagger_favicon_url=local(request, f"{ASSETS_URL}/{FAVICON}"),
            swagger_ui_parameters=app.swagger_ui_parameters,
        )  # fmt: skip

    if oauth2_redirect_url:

        @app.get(oauth2_redirect_url, include_in_schema=False)
        def swagger_ui_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=local(request, openapi_url), title=f"{app.title} - ReDoc",
            redoc_js_url=local(request, f"{ASSETS_URL}/{REDOC_JS}"),
            redoc_favicon_url=local(request, f"{ASSETS_URL}/{FAVICON}"), with_google_fonts=False,
        )  # fmt: skip
