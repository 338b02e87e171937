"""Secrets in configs and command lines: typed so they never reach a file docray writes.

Config fields that hold secrets use the types here instead of plain ``str`` / ``dict``:

* :data:`SecretText` (a pydantic ``SecretStr``): a password or API key; ``repr`` and JSON show ``**********``;
* :data:`SecretOptions` (a mapping such as fsspec ``storage_options`` or HTTP headers): JSON shows the keys, each
  value whose key looks secret (``key``, ``secret``, ``token``, ``password``, ``authorization`` ...) masked and
  credentials in URL values removed;
* :data:`CredentialUrl` (a URL such as a VLM ``server_url``): JSON shows it without ``user:password@``.

Every file docray writes from a config (``run.json``, ``_docray/pipeline.json``) is a JSON dump, so these types
redact it wherever it is written.  The one place a config travels *with* its secrets is to the workers that run it
(:func:`docray.pipelines.ray_adapter.map_kwargs`), which dumps with :data:`REVEAL`.  Command lines (``argv`` in
``run.json``) go through :func:`redact_argv`, free text (messages, logs) through :func:`redact_text`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, PlainSerializer, SecretStr, SerializationInfo

MASK = "**********"
REVEAL: dict[str, bool] = {"reveal_secrets": True}  # model_dump(..., context=REVEAL): secrets in clear (workers only)

# a mapping key whose value is a secret (fsspec/s3fs/botocore options, HTTP headers, MinerU's config keys)
_SECRET_KEY = re.compile(r"(secret|passw|pwd|token|api[-_]?key|access[-_]?key|private|credential|authori[sz]ation|"
                         r"session|signature|^key$|_key$|^ak$|^sk$|cookie)", re.IGNORECASE)  # fmt: skip
# scheme://user:password@host  (and scheme://token@host)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s@:]*(?::[^/\s@]*)?)@")
# query parameters that carry credentials (pre-signed URLs, API keys in the query)
_SECRET_QUERY = re.compile(
    r"(?P<name>[?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|sig|token|access_token|"
    r"api[-_]?key|key|password)=)[^&#\s]*",
    re.IGNORECASE,
)
# command-line flags whose next value (or =value) is a secret
SECRET_FLAGS = ("--password", "--api-key")


def _revealed(info: SerializationInfo | None) -> bool:
    context = getattr(info, "context", None)
    return bool(context and context.get("reveal_secrets"))


def redact_url(url: str) -> str:
    """``url`` without credentials: ``https://user:pass@host/x?token=t`` -> ``https://***@host/x?token=***``."""
    if not isinstance(url, str):
        return url
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}***@", url)
    return _SECRET_QUERY.sub(lambda m: f"{m['name']}***", text)


def redact_text(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Free text with URL credentials removed and each of ``secrets`` (known secret values) masked."""
    text = redact_url(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def redact_mapping(value: Any) -> Any:
    """A JSON-like value with secret-looking keys' values masked and URL credentials removed (recursively)."""
    if isinstance(value, dict):
        return {
            k: (MASK if isinstance(k, str) and _SECRET_KEY.search(k) and v not in (None, "") else redact_mapping(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact_mapping(v) for v in value]
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, str):
        return redact_url(value)
    return value


def redact_argv(argv: list[str]) -> list[str]:
    """A command line with secret flag values (``--password X``, ``--set render.password=X``) and URL credentials masked."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        flag, eq, _value = arg.partition("=")
        if flag in SECRET_FLAGS:
            if eq:
                out.append(f"{flag}={MASK}")
            else:
                out.append(arg)
                hide_next = True
            continue
        key, eq, _value = arg.partition("=")  # --set STAGE.KEY=VALUE values
        if eq and "." in key and _SECRET_KEY.search(key.rsplit(".", 1)[-1]):
            out.append(f"{key}={MASK}")
            continue
        out.append(redact_url(arg))
    return out


def _secret_text(value: SecretStr, info: SerializationInfo) -> str:
    return value.get_secret_value() if _revealed(info) else MASK


def _secret_options(value: dict[str, Any], info: SerializationInfo) -> dict[str, Any]:
    return value if _revealed(info) else redact_mapping(value)


def _credential_url(value: str | None, info: SerializationInfo) -> str | None:
    return value if value is None or _revealed(info) else redact_url(value)


SecretText = Annotated[SecretStr, PlainSerializer(_secret_text, return_type=str, when_used="json")]
SecretOptions = Annotated[dict[str, Any], PlainSerializer(_secret_options, when_used="json")]
CredentialUrl = Annotated[str, PlainSerializer(_credential_url, when_used="json")]


def secret_fields(model: type[BaseModel] | BaseModel) -> set[str]:
    """The names of a model's fields typed :data:`SecretText` or :data:`SecretOptions` (alone, optional or in a
    container): what no record and no fingerprint may depend on."""
    cls = model if isinstance(model, type) else type(model)
    return {name for name, info in cls.model_fields.items() if _is_secret_type(info.annotation, info.metadata)}


def _is_secret_type(annotation: Any, metadata: list[Any] = ()) -> bool:
    if any(isinstance(m, PlainSerializer) and m.func in (_secret_text, _secret_options) for m in metadata):
        return True
    if annotation is SecretStr:
        return True
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        return _is_secret_type(inner, extra)
    return any(_is_secret_type(arg) for arg in get_args(annotation))


def secret_value(value: SecretStr | str | None) -> str | None:
    """The clear text of a :data:`SecretText` (or a plain string), None for None."""
    if value is None:
        return None
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)
