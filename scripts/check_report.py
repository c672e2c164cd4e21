#!/usr/bin/env python3
"""Opens a `tokenize-corpus report` page in headless Chromium and fails on what a reader would see go wrong.

Checks: no console message (errors, CSP violations: the page forbids every source but itself, so anything it
would fetch shows there), no network request made by the page (Chromium's net log, requests keyed to the
file:// page), every chart present with marks drawn, a screenshot written. Standard library only.

usage: check_report.py REPORT.html --screenshot OUT.png [--chart ID ...] [--chromium PATH]
exit 0 when the page is sound, 1 with one line per problem otherwise.
"""
import argparse
import html.parser
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile


class Charts(html.parser.HTMLParser):
    """Chart ids and their data-marks counts, and every URL-bearing attribute of the rendered DOM."""

    def __init__(self):
        super().__init__()
        self.marks = {}
        self.urls = []
        self.csp = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "chart" in (a.get("class") or "").split():
            self.marks[a.get("id")] = int(a.get("data-marks") or 0)
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = a.get("content")
        for name in ("src", "href", "srcset", "poster", "data"):
            if a.get(name):
                self.urls.append((tag, name, a[name]))


def chromium(binary, url, *flags):
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0", *flags, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def page_requests(netlog_path):
    """URLs the page itself asked for (Chromium's own update and time checks are keyed to no page)."""
    with open(netlog_path) as f:
        log = json.load(f)
    names = {value: key for key, value in log["constants"]["logEventTypes"].items()}
    urls = set()
    for event in log["events"]:
        params = event.get("params") or {}
        if names.get(event["type"]) == "URL_REQUEST_START_JOB" and params.get("network_isolation_key", "").startswith("file://"):
            if not params.get("url", "").startswith(("file:", "data:")):
                urls.add(params["url"])
    return sorted(urls)


def check(report, screenshot, charts, binary):
    problems = []
    url = pathlib.Path(report).resolve().as_uri()
    with tempfile.TemporaryDirectory() as tmp:
        netlog = os.path.join(tmp, "net.json")
        dom = chromium(binary, url, f"--log-net-log={netlog}", "--virtual-time-budget=5000", "--dump-dom")
        if dom.returncode != 0:
            problems.append(f"chromium exited {dom.returncode}: {dom.stderr.strip().splitlines()[-1:]}")
        for line in dom.stderr.splitlines():
            if ":CONSOLE" in line:
                problems.append("console: " + re.sub(r"^\[[^\]]*\] ", "", line))
        for request in page_requests(netlog) if os.path.exists(netlog) else []:
            problems.append(f"network request by the page: {request}")
        shot = chromium(binary, url, f"--screenshot={os.path.abspath(screenshot)}", "--window-size=1100,2400")
        for line in shot.stderr.splitlines():
            if ":CONSOLE" in line:
                problems.append("console (screenshot run): " + re.sub(r"^\[[^\]]*\] ", "", line))
    parser = Charts()
    parser.feed(dom.stdout)
    if not dom.stdout.strip():
        problems.append("no DOM: the page did not load")
    if parser.csp is None or "default-src 'none'" not in parser.csp:
        problems.append("no Content-Security-Policy with default-src 'none': the page could fetch without showing it")
    for tag, name, value in parser.urls:
        if not value.startswith(("data:", "#")):
            problems.append(f"<{tag} {name}> points outside the page: {value[:80]}")
    for chart in charts:
        if chart not in parser.marks:
            problems.append(f"chart {chart} missing")
        elif parser.marks[chart] == 0:
            problems.append(f"chart {chart} has nothing drawn")
    if not os.path.exists(screenshot) or os.path.getsize(screenshot) < 10_000:
        problems.append(f"no screenshot at {screenshot}")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--chart", action="append", default=[], help="a chart id that must be drawn (repeat)")
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args()
    problems = check(args.report, args.screenshot, args.chart, args.chromium)
    for problem in problems:
        print(f"{args.report}: {problem}")
    if not problems:
        print(f"{args.report}: sound ({len(args.chart)} charts drawn, no console message, no request); screenshot {args.screenshot}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
