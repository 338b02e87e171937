"""``docray serve``: a MinerU-compatible parsing API (``POST /file_parse``, async ``/tasks``) and a web page.

FastAPI + uvicorn (the ``serve`` extra).  Modules: :mod:`.config` (the server's settings), :mod:`.forms`
(MinerU's form fields -> a pipeline spec), :mod:`.store` (task state in SQLite), :mod:`.tasks` (the queue and
its workers), :mod:`.results` (MinerU-shaped JSON and ZIP), :mod:`.limits` (keys, rate, upload checks),
:mod:`.app` (the routes) and :mod:`.cli` (the command).
"""
