"""Browser helpers: Debian's headless chromium driven by Selenium, a same-site crawler and full-page
screenshots. Uses /usr/bin/chromium and /usr/bin/chromedriver as installed (never downloads one)."""

from __future__ import annotations

import heapq
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTH, HEIGHT = 1366, 900
# Links to these are downloads, not pages: fetched over HTTP for their status, never opened.
NOT_HTML = (".csv", ".json", ".jsonld", ".ttl", ".nt", ".nq", ".trig", ".rdf", ".xml", ".rq", ".zip", ".pdf")
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what chromium sends for a page
LINKS_JS = "return [...document.querySelectorAll('a[href]')].map(a => [a.href, a.hasAttribute('download')])"


def chromium_missing() -> str | None:
    """Why the browser cannot start here, or None."""
    gone = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    return f"{' and '.join(gone)} missing (apt-get install chromium chromium-driver)" if gone else None


@contextmanager
def browser() -> Iterator[WebDriver]:
    """Headless chromium with its console log kept (read it with console_errors)."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={WIDTH},{HEIGHT}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path keeps Selenium Manager (which would download a driver) out of it.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        driver.set_window_size(WIDTH, HEIGHT)
        yield driver
    finally:
        driver.quit()


def console_errors(driver: WebDriver) -> list[str]:
    """SEVERE console entries since the last call (reading the log empties it)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def http_get(url: str) -> tuple[int, str]:
    """Status and Content-Type of a plain GET (WebDriver cannot tell the status). It sends the
    browser's Accept header: the service negotiates (/soa is HTML to a browser, JSON to */*)."""
    request = urllib.request.Request(url, headers={"Accept": ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            r.read()
            return r.status, r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", "")


@dataclass
class Page:
    url: str
    depth: int  # clicks from the start page
    source: str  # the page whose link led here ("" for the start page)
    status: int
    errors: list[str] = field(default_factory=list)  # SEVERE console messages
    opened: bool = False  # loaded in the browser (False: checked over HTTP only)


@dataclass
class Crawl:
    pages: dict[str, Page]
    unvisited: list[str]  # same-site URLs found but left out because of the page cap (at least these)


def crawl(base_url: str, depth: int = 3, max_pages: int = 400, driver: WebDriver | None = None) -> Crawl:
    """Breadth-first from `/`: every same-site link up to `depth` clicks away, each URL once."""
    if driver is None:
        with browser() as own:
            return crawl(base_url, depth, max_pages, own)
    site = urlsplit(base_url).netloc
    start = urljoin(base_url, "/")
    pages: dict[str, Page] = {}
    # Breadth first; within a depth the first link to each path goes first (then the second ...), so a
    # crawl that hits the cap has still opened every kind of page it found, not 400 of one kind.
    queued, per_path = {start}, Counter[str]()
    todo: list[tuple[int, int, int, str, str, bool]] = [(0, 0, 0, start, "", False)]
    unvisited: list[str] = []
    while todo:
        level, _, _, url, source, download = heapq.heappop(todo)
        if len(pages) >= max_pages:
            unvisited.append(url)
            continue
        status, ctype = http_get(url)
        page = pages[url] = Page(url, level, source, status)
        if download or status != 200 or "html" not in ctype:
            continue  # a file or a failed page: its status is all there is to check
        console_errors(driver)  # drop entries left from the previous page
        driver.get(url)
        page.opened, page.errors = True, console_errors(driver)
        if level == depth:
            continue
        for href, has_download in driver.execute_script(LINKS_JS):
            link = urldefrag(href).url  # a #fragment is the same page
            parts = urlsplit(link)
            if parts.scheme not in ("http", "https") or parts.netloc != site or link in queued:
                continue  # mailto:, javascript:, other sites, seen already
            queued.add(link)
            per_path[parts.path] += 1
            download = has_download or parts.path.lower().endswith(NOT_HTML)
            heapq.heappush(todo, (level + 1, per_path[parts.path], len(queued), link, url, download))
    return Crawl(pages, unvisited)


def screenshot(driver: WebDriver, url: str, path: Path) -> Path:
    """A full-page PNG of `url`: the window is made as tall as the page for the shot."""
    driver.get(url)
    height = driver.execute_script("return document.body.scrollHeight")
    # The window size includes the browser's frame, even headless: add it so the viewport fits the page.
    frame = driver.execute_script("return window.outerHeight - window.innerHeight")
    driver.set_window_size(WIDTH, max(HEIGHT, int(height) + int(frame)))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, HEIGHT)
    return path
