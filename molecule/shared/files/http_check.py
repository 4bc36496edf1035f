#!/usr/bin/env python3
"""HTTP(S) checks the verify playbook runs on a client host (standard library only).

Each sub-command prints one JSON object on stdout and exits 0 when it could run at all; the
playbook asserts on the JSON. TLS is verified against the test certificate given with --ca.

  get URL [--host-header H]     status, headers (every value of a repeated header in
                                headers_all), body (first 64 KiB) of one request
  login URL USER                admin login: GET the form, POST it with the CSRF token; reads
                                the password from the environment variable ADMIN_PASSWORD
  raw HOST PORT HOSTHEADER      plain HTTP request with a foreign Host header: what comes back
  tls HOST PORT SNI             TLS handshake with a given server name: accepted or refused
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request


def context(ca):
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    return ctx


def opener(ca, jar=None):
    handlers = [urllib.request.HTTPSHandler(context=context(ca))]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    return urllib.request.build_opener(*handlers)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url, ca, method="GET", data=None, headers=None, jar=None, follow=True):
    handlers = [urllib.request.HTTPSHandler(context=context(ca))]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    if not follow:
        handlers.append(NoRedirect())
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        response = urllib.request.build_opener(*handlers).open(request, timeout=15)
    except urllib.error.HTTPError as exc:
        response = exc
    body = response.read(65536)
    headers_all = {}
    for name, value in response.headers.items():
        headers_all.setdefault(name.lower(), []).append(value)
    return {
        "status": response.status if hasattr(response, "status") else response.code,
        "headers": {k.lower(): v for k, v in response.headers.items()},
        "headers_all": headers_all,
        "url": response.geturl(),
        "body": body.decode("utf-8", "replace"),
    }


def cmd_get(args):
    return fetch(args.url, args.ca, headers={"Host": args.host_header} if args.host_header else None)


def cmd_login(args):
    jar = http.cookiejar.CookieJar()
    form = fetch(args.url, args.ca, jar=jar)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form["body"])
    if not match:
        return {"error": "no CSRF token in the login form", "form_status": form["status"]}
    data = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": match.group(1),
            "username": args.user,
            "password": os.environ["ADMIN_PASSWORD"],
            "next": "/admin/",
        }
    ).encode()
    posted = fetch(
        args.url,
        args.ca,
        method="POST",
        data=data,
        jar=jar,
        follow=False,
        headers={"Referer": args.url, "Content-Type": "application/x-www-form-urlencoded"},
    )
    index = fetch(urllib.parse.urljoin(args.url, "/admin/"), args.ca, jar=jar)
    return {
        "form_status": form["status"],
        "post_status": posted["status"],
        "post_location": posted["headers"].get("location", ""),
        "index_status": index["status"],
        "index_url": index["url"],
        "index_title": (re.search(r"<title>(.*?)</title>", index["body"], re.S) or [None, ""])[1].strip(),
        "recent_actions": "Recent actions" in index["body"],
        "cookies": sorted(cookie.name for cookie in jar),
    }


def cmd_raw(args):
    request = f"GET / HTTP/1.1\r\nHost: {args.host_header}\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection((args.host, args.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    answer = b"".join(chunks).decode("utf-8", "replace")
    return {"bytes": len(answer), "answer": answer[:500]}


def cmd_tls(args):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((args.host, args.port), timeout=10) as sock:
            with ctx.wrap_socket(sock, server_hostname=args.sni) as tls:
                if args.host_header:
                    request = f"GET / HTTP/1.1\r\nHost: {args.host_header}\r\nConnection: close\r\n\r\n"
                    tls.sendall(request.encode())
                    data = b""
                    try:
                        while True:
                            chunk = tls.recv(65536)
                            if not chunk:
                                break
                            data += chunk
                    except (ssl.SSLError, ConnectionResetError):
                        pass
                    return {"handshake": True, "bytes": len(data), "answer": data[:500].decode("utf-8", "replace")}
                return {"handshake": True}
    except ssl.SSLError as exc:
        return {"handshake": False, "error": str(exc)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ca", default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    get = sub.add_parser("get")
    get.add_argument("url")
    get.add_argument("--host-header", default="")
    login = sub.add_parser("login")
    login.add_argument("url")
    login.add_argument("user")
    raw = sub.add_parser("raw")
    raw.add_argument("host")
    raw.add_argument("port", type=int)
    raw.add_argument("host_header")
    tls = sub.add_parser("tls")
    tls.add_argument("host")
    tls.add_argument("port", type=int)
    tls.add_argument("sni")
    tls.add_argument("--host-header", default="")
    args = parser.parse_args()
    result = globals()["cmd_" + args.command](args)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
