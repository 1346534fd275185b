"""The static site in target/: index.html, the runner's own script and style (package data,
copied as they are), and the project's document as a script that sets `window.DOCS`, so
the page opens from disk (file://) with nothing fetched. `runner docs serve` serves the
folder on localhost."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
from pathlib import Path

from runner.errors import OptionError, ProjectError

STATIC = Path(__file__).parent / "static"
FILES = ("index.html", "docs.js", "docs.css")
DATA = "docs_data.js"


def write_site(target: Path, document: dict) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(STATIC / name, target / name)
    text = json.dumps(document, separators=(",", ":"), default=str)
    # inside a <script>: "</" could end it early
    text = text.replace("</", "<\\/")
    tmp = target / (DATA + ".tmp")
    tmp.write_text("window.DOCS = " + text + ";\n", encoding="utf-8")
    os.replace(tmp, target / DATA)
    return target / "index.html"


def serve(target: Path, port: int = 8080, host: str = "127.0.0.1",
          on_ready=None) -> None:
    """Serve target/ until interrupted."""
    if not (target / "index.html").exists():
        raise ProjectError(f"there is no site in {target}.",
                           hint="run 'runner docs generate' first.")
    handler = functools.partial(_Quiet, directory=str(target))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise OptionError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}).",
                          hint="pass another --port, e.g. --port 8081.") from None
    if on_ready:
        on_ready(f"http://{host}:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):   # noqa: A002 - the base class's name
        pass
