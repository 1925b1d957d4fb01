"""The web app's files as the API serves them: from this origin only, under a strict Content-Security-Policy,
with no inline script or style and no way for data to become markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from chalicelib.settings import PROJECT_DIR

FILES = PROJECT_DIR / "chalicelib" / "webapp"


def test_the_page_is_at_app_slash_and_app_moves_there(api):
    moved = api.get("/app")
    assert moved.status == 308 and moved.headers["Location"] == "app/"
    page = api.get("/app/")
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="main.js">' in page.text


def test_every_answer_carries_the_strict_policy(api):
    for name in ("", "main.js", "app.css", "chart.umd.min.js"):
        answer = api.get(f"/app/{name}")
        assert answer.status == 200, name
        policy = dict(
            part.strip().split(" ", 1) for part in answer.headers["Content-Security-Policy"].split(";")
        )
        assert policy["default-src"] == "'self'"
        assert "unsafe-inline" not in answer.headers["Content-Security-Policy"]
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert api.get("/app/main.js").headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert api.get("/app/app.css").headers["Content-Type"] == "text/css; charset=utf-8"


def test_only_the_apps_own_files_are_served(api):
    for name in ("nope.js", "webapp.py", "..%2Fsettings.py", "%2e%2e"):
        answer = api.get(f"/app/{name}")
        assert answer.status == 404, name
        assert answer.body["error"]["code"] == "not_found"


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.inline.append("an inline script")
        if tag == "style" or "style" in names or any(name.startswith("on") for name in names):
            self.inline.append(f"inline style or handler on <{tag}>")


def test_the_page_has_no_inline_script_style_or_handler():
    markup = _Markup()
    markup.feed((FILES / "index.html").read_text(encoding="utf-8"))
    assert markup.inline == []


def test_the_scripts_never_turn_text_into_markup_or_code():
    risky = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(")
    for script in FILES.glob("*.js"):
        if script.name == "chart.umd.min.js":
            continue
        assert not risky.search(script.read_text(encoding="utf-8")), script.name


def test_the_app_talks_to_the_api_only_through_its_one_client():
    for script in FILES.glob("*.js"):
        if script.name in ("api.js", "chart.umd.min.js"):
            continue
        assert "fetch(" not in script.read_text(encoding="utf-8"), script.name
