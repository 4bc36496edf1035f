#!/usr/bin/env python3
"""Log in to the Django admin with a real browser and check that the admin index is shown, styled.

Headless Chromium and chromedriver come from Debian's packages (chromium, chromium-driver);
selenium (PyPI, pinned in requirements.txt) drives them. See tests/browser/README.md.

    ADMIN_PASSWORD=... admin_login.py --base-url http://127.0.0.1:8080 --user admin
    ADMIN_PASSWORD=... admin_login.py --base-url https://web1 --insecure \
        --host-resolver-rules 'MAP web1 10.89.0.5' --screenshot /tmp/admin.png

The password is read from an environment variable (--password-env, default ADMIN_PASSWORD), never
from the command line. On success a JSON summary goes to stdout and the exit status is 0; on a
failure the script says what it saw (HTTP status, title, heading, Django's CSRF failure text) on
stderr, prints the same JSON summary with "ok": false, and exits 1. A usage error exits 2; a
browser or time-limit error exits 3.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
from urllib.parse import urljoin

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BROWSER = 0, 1, 2, 3

# The admin's own stylesheet; manifest storage (hashed names) spells it base.<hash>.css.
BASE_CSS = re.compile(r"/admin/css/base(\.[0-9a-f]{6,})?\.css(\?.*)?$")

# Collected in the page: what a person would see, and whether the admin stylesheet is applied.
# Browser defaults are read from an element of the same kind in a blank iframe, so the check
# does not depend on the admin's colours or on the Django version.
PAGE_STATE_JS = r"""
const nav = performance.getEntriesByType('navigation')[0] || {};
const text = (sel) => { const e = document.querySelector(sel); return e ? e.innerText.trim() : null; };
const pick = (cs) => ({display: cs.display, backgroundColor: cs.backgroundColor, color: cs.color,
                       paddingTop: cs.paddingTop, fontFamily: cs.fontFamily});
const state = {
  url: location.href,
  status: nav.responseStatus === undefined ? null : nav.responseStatus,
  title: document.title,
  h1: text('h1'),
  body: document.body ? document.body.innerText.slice(0, 2000) : '',
  userTools: text('#user-tools'),
  // textContent: the admin shows the name in capitals (text-transform), innerText would too.
  userName: (document.querySelector('#user-tools strong') || {}).textContent || null,
  siteName: text('#site-name'),
  loginForm: !!document.querySelector('form#login-form, input[name=password]'),
  stylesheets: [],
  header: null,
  defaults: null,
};
for (const sheet of document.styleSheets) {
  let rules = null;
  try { rules = sheet.cssRules ? sheet.cssRules.length : 0; } catch (e) { rules = -1; }
  state.stylesheets.push({href: sheet.href, rules: rules});
}
const header = document.querySelector('#header');
if (header) {
  const frame = document.createElement('iframe');
  frame.style.display = 'none';
  document.body.appendChild(frame);
  const blank = frame.contentDocument;
  const plain = blank.createElement('div');
  blank.body.appendChild(plain);
  state.header = pick(getComputedStyle(header));
  state.body_style = pick(getComputedStyle(document.body));
  state.defaults = pick(frame.contentWindow.getComputedStyle(plain));
  state.default_body = pick(frame.contentWindow.getComputedStyle(blank.body));
  frame.remove();
}
return state;
"""


class TimeLimit(Exception):
    """The total time limit (--max-seconds) was reached."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base-url", default="http://127.0.0.1:8080",
                   help="site root, e.g. http://127.0.0.1:8080 or https://web1 (default: %(default)s)")
    p.add_argument("--user", default="admin", help="admin user name (default: %(default)s)")
    p.add_argument("--password-env", default="ADMIN_PASSWORD", metavar="NAME",
                   help="environment variable that holds the password (default: %(default)s)")
    p.add_argument("--host-resolver-rules", metavar="RULES",
                   help="Chromium --host-resolver-rules, e.g. 'MAP web1 10.89.0.5'")
    p.add_argument("--insecure", action="store_true",
                   help="accept a self-signed or otherwise untrusted certificate (acceptInsecureCerts)")
    p.add_argument("--expect-title", default="Site administration",
                   help="text the admin index title contains (default: %(default)s)")
    p.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the last page here")
    p.add_argument("--page-timeout", type=float, default=30.0,
                   help="seconds for one page load (default: %(default)s)")
    p.add_argument("--max-seconds", type=int, default=120,
                   help="total time limit, browser start included (default: %(default)s)")
    p.add_argument("--chromium", default="/usr/bin/chromium", help="browser binary (default: %(default)s)")
    p.add_argument("--chromedriver", default="/usr/bin/chromedriver",
                   help="driver binary (default: %(default)s)")
    args = p.parse_args(argv)
    if args.max_seconds <= 0 or args.page_timeout <= 0:
        p.error("--max-seconds and --page-timeout must be positive")
    if not re.match(r"^https?://[^/]+", args.base_url):
        p.error(f"--base-url must be an http:// or https:// URL, got {args.base_url!r}")
    return args


def make_driver(args: argparse.Namespace, held: dict):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
        # Only the site under test is contacted: no proxy, no Google services, no updates.
        "--no-proxy-server", "--no-first-run", "--no-default-browser-check", "--disable-sync",
        "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
        "--disable-extensions", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
        "--metrics-recording-only", "--no-pings", "--disable-features=OptimizationHints,MediaRouter",
    ):
        options.add_argument(flag)
    if args.host_resolver_rules:
        options.add_argument(f"--host-resolver-rules={args.host_resolver_rules}")
    options.accept_insecure_certs = bool(args.insecure)
    options.page_load_strategy = "normal"
    # A driver path given here means Selenium Manager never runs (it would download drivers).
    # The driver (and the browser it starts) get a process group of their own, so that the time
    # limit can end them all.
    service = Service(executable_path=args.chromedriver, popen_kw={"start_new_session": True})
    held["service"] = service
    driver = webdriver.Chrome(options=options, service=service)
    held["driver"] = driver
    driver.set_page_load_timeout(args.page_timeout)
    driver.set_script_timeout(args.page_timeout)
    return driver


def page_state(driver) -> dict:
    return driver.execute_script(PAGE_STATE_JS)


def wait_loaded(driver, old_url: str, timeout: float) -> None:
    """Wait until the form post has led to a new, fully loaded document."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ready = driver.execute_script("return document.readyState")
            marker = driver.execute_script("return window.__adminLoginMarker === undefined")
        except Exception:  # noqa: BLE001 - the document is being replaced
            ready, marker = None, False
        if ready == "complete" and marker:
            return
        time.sleep(0.1)
    raise TimeoutError(f"no new page within {timeout:g} s after submitting the form (was {old_url})")


def styled_problems(state: dict) -> list[str]:
    """What says the admin stylesheet is not applied (empty when it is)."""
    problems = []
    sheets = [s for s in state.get("stylesheets") or [] if s.get("href") and BASE_CSS.search(s["href"])]
    if not sheets:
        hrefs = [s.get("href") for s in state.get("stylesheets") or []]
        problems.append(f"the admin stylesheet base.css is not in document.styleSheets (have {hrefs})")
    elif not any((s.get("rules") or 0) > 0 for s in sheets):
        problems.append(f"the admin stylesheet is linked but has no rules loaded: {sheets}")
    header, defaults = state.get("header"), state.get("defaults")
    if not header or not defaults:
        problems.append("the page has no #header element")
    else:
        same = [k for k in ("display", "backgroundColor", "paddingTop") if header[k] == defaults[k]]
        if same:
            problems.append(f"#header keeps the browser defaults for {same}: {header}")
        if state.get("body_style", {}).get("fontFamily") == state.get("default_body", {}).get("fontFamily"):
            problems.append(f"body keeps the default font {state['body_style']['fontFamily']!r}")
    return problems


def describe(state: dict) -> list[str]:
    """Human lines about a page: status, title, heading, and Django's failure text if any."""
    lines = [f"url: {state.get('url')}", f"status: {state.get('status')}",
             f"title: {state.get('title')!r}", f"h1: {state.get('h1')!r}"]
    body = state.get("body") or ""
    for line in body.splitlines():
        line = line.strip()
        if line and re.search(r"CSRF|Origin checking|Referer|Forbidden|trusted origins|"
                              r"correct username|Please enter|error|ERR_|not private|reached|working", line, re.I):
            lines.append(f"page says: {line}")
    if state.get("loginForm"):
        lines.append("the login form is still shown")
    return lines


def run(args: argparse.Namespace, password: str, report: dict, held: dict) -> list[str]:
    """Drive the browser; return the failures (empty on success). Fills report as it goes."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    login_url = urljoin(args.base_url.rstrip("/") + "/", "admin/login/?next=/admin/")
    started = time.monotonic()
    driver = make_driver(args, held)
    report["browser"] = driver.capabilities.get("browserVersion")
    report["browser_start_s"] = round(time.monotonic() - started, 2)
    try:
        driver.get(login_url)
    except WebDriverException as exc:
        return [f"cannot open {login_url}: {exc.msg or exc}".strip()]
    before = page_state(driver)
    report["login_page"] = {k: before.get(k) for k in ("url", "status", "title")}
    if before.get("status") not in (None, 200) or not driver.find_elements(By.NAME, "password"):
        return ["the login page did not show a login form"] + describe(before)

    driver.find_element(By.NAME, "username").send_keys(args.user)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.execute_script("window.__adminLoginMarker = 1")
    driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    wait_loaded(driver, before.get("url"), args.page_timeout)

    state = page_state(driver)
    report["index"] = {k: state.get(k) for k in ("url", "status", "title", "userName", "siteName")}
    report["stylesheets"] = [s for s in state.get("stylesheets") or [] if s.get("href")]
    report["header_style"] = state.get("header")
    report["default_style"] = state.get("defaults")

    failures = []
    if state.get("status") not in (None, 200):
        failures.append(f"the answer to the login was HTTP {state.get('status')}, not 200")
    if args.expect_title not in (state.get("title") or ""):
        failures.append(f"the title is {state.get('title')!r}, not the admin index ({args.expect_title!r})")
    if (state.get("userName") or "").lower() != args.user.lower():
        failures.append(f"#user-tools does not name {args.user!r} as logged in: {state.get('userTools')!r}")
    if not failures:
        failures += styled_problems(state)
    if failures:
        failures += describe(state)
    return failures


def finish(args: argparse.Namespace, held: dict, report: dict, timed_out: bool) -> None:
    """Save the screenshot and close the browser; after the time limit, kill it outright."""
    driver = held.get("driver")
    if driver is not None and not timed_out:
        signal.alarm(20)  # a bound for the clean-up too
        try:
            if args.screenshot:
                driver.save_screenshot(args.screenshot)
                report["screenshot"] = args.screenshot
            driver.quit()
        except Exception as exc:  # noqa: BLE001 - clean-up must not hide the result
            report["cleanup_error"] = f"{type(exc).__name__}: {exc}"
        finally:
            signal.alarm(0)
    process = getattr(held.get("service"), "process", None)
    if process is not None and process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    password = os.environ.get(args.password_env)
    if not password:
        print(f"admin-login: the environment variable {args.password_env} (the password of "
              f"{args.user!r}) is not set or empty", file=sys.stderr)
        return EXIT_USAGE
    for path in (args.chromium, args.chromedriver):
        if not os.access(path, os.X_OK):
            print(f"admin-login: {path} is missing: apt-get install chromium chromium-driver "
                  "(make host-deps installs them)", file=sys.stderr)
            return EXIT_USAGE
    try:
        import selenium  # noqa: F401
    except ImportError:
        print("admin-login: selenium is not installed: run it with the project virtualenv "
              "(.venv/bin/python, make venv)", file=sys.stderr)
        return EXIT_USAGE

    def on_alarm(signum, frame):  # noqa: ARG001
        raise TimeLimit(f"the total time limit of {args.max_seconds} s was reached")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.max_seconds)
    started = time.monotonic()
    report: dict = {"ok": False, "base_url": args.base_url, "user": args.user}
    held: dict = {}
    timed_out = False
    try:
        failures = run(args, password, report, held)
        code = EXIT_FAILED if failures else EXIT_OK
    except TimeLimit as exc:
        failures, code, timed_out = [str(exc)], EXIT_BROWSER, True
    except Exception as exc:  # noqa: BLE001 - selenium/driver errors: report them, exit non-zero
        failures, code = [f"{type(exc).__name__}: {getattr(exc, 'msg', None) or exc}".strip()], EXIT_BROWSER
    finally:
        signal.alarm(0)
    finish(args, held, report, timed_out)
    report["seconds"] = round(time.monotonic() - started, 2)
    report["ok"] = not failures
    if failures:
        report["failures"] = failures
        print(f"admin-login: FAIL logging in to {args.base_url} as {args.user!r}:", file=sys.stderr)
        for line in failures:
            print(f"admin-login:   {line}", file=sys.stderr)
    # Never echo the password, even if a page did.
    print(json.dumps(report, indent=2).replace(password, "********"))
    return code


if __name__ == "__main__":
    sys.exit(main())
