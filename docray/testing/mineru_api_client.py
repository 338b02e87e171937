"""The mineru-api client of ``../shared/seeds/003_*.txt`` (section 四 and the Python client after it), transcribed.

``parse_file`` builds its request exactly as the seed's script does (the same multipart field ``files`` with
``application/octet-stream``, the same form fields as strings, ``lang_list`` overwritten per language as the
script does, ``output_dir`` sent) and saves what it gets back the same way: ``<stem>_debug.json`` (the whole
answer), ``<name>.md``, ``<name>_middle.json``, ``<name>_model_output.json``, ``<name>_content_list.json``, or
``<stem>_results.zip``.  Only ``API_URL`` is a parameter here (the script's global), and it returns the status
code and the files it wrote so tests can check them; prints are left out.
"""

from __future__ import annotations

import json
import pathlib
from typing import Optional

import requests


def parse_file(
    file_path: pathlib.Path,
    output_dir: str,
    api_url: str,
    lang_list: Optional[list[str]] = None,
    backend: str = "vlm-transformers",
    parse_method: str = "auto",
    formula_enable: bool = False,
    table_enable: bool = True,
    server_url: Optional[str] = None,
    return_md: bool = True,
    return_middle_json: bool = False,
    return_model_output: bool = False,
    return_content_list: bool = False,
    return_images: bool = False,
    response_format_zip: bool = False,
    start_page_id: int = 0,
    end_page_id: int = 0,
    headers: Optional[dict[str, str]] = None,  # not in the seed: an API key for servers that ask for one
) -> tuple[int, list[pathlib.Path]]:
    written: list[pathlib.Path] = []
    output_path = pathlib.Path(output_dir)
    output_path.mkdir(exist_ok=True)
    file_output_dir = output_path / file_path.stem
    file_output_dir.mkdir(exist_ok=True)
    files = [("files", (file_path.name, open(file_path, "rb"), "application/octet-stream"))]
    try:
        data = {
            "output_dir": str(file_output_dir),
            "backend": backend,
            "parse_method": parse_method,
            "formula_enable": str(formula_enable).lower(),
            "table_enable": str(table_enable).lower(),
            "return_md": str(return_md).lower(),
            "return_middle_json": str(return_middle_json).lower(),
            "return_model_output": str(return_model_output).lower(),
            "return_content_list": str(return_content_list).lower(),
            "return_images": str(return_images).lower(),
            "response_format_zip": str(response_format_zip).lower(),
            "start_page_id": str(start_page_id),
            "end_page_id": str(end_page_id),
        }
        if lang_list:
            for lang in lang_list:  # the seed's "fix": each language overwrites the last
                data["lang_list"] = lang
        if server_url:
            data["server_url"] = server_url
        response = requests.post(api_url, files=files, data=data, headers=headers)
        if response.status_code != 200:
            return response.status_code, written
        if response_format_zip:
            zip_filename = file_output_dir / f"{file_path.stem}_results.zip"
            zip_filename.write_bytes(response.content)
            return response.status_code, [zip_filename]
        result = response.json()
        debug_filename = file_output_dir / f"{file_path.stem}_debug.json"
        debug_filename.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        written.append(debug_filename)
        if "results" in result and result["results"]:
            for filename, file_result in result["results"].items():
                if "md_content" in file_result:
                    md_filename = file_output_dir / f"{filename}.md"
                    md_filename.write_text(file_result["md_content"], encoding="utf-8")
                    written.append(md_filename)
                for flag, key, suffix in (
                    (return_middle_json, "middle_json", "_middle.json"),
                    (return_model_output, "model_output", "_model_output.json"),
                    (return_content_list, "content_list", "_content_list.json"),
                ):
                    if flag and key in file_result:
                        json_filename = file_output_dir / f"{filename}{suffix}"
                        json_filename.write_text(json.dumps(file_result[key], ensure_ascii=False, indent=2), encoding="utf-8")
                        written.append(json_filename)
        return response.status_code, written
    finally:
        for file_info in files:
            if hasattr(file_info[1][1], "close"):
                file_info[1][1].close()
