"""Structured log lines in the format of mongod 4.4+.

Each line is one JSON document:
{"t":{"$date":"2024-05-01T10:00:00.000+00:00"},"s":"I","c":"NETWORK","id":23016,
 "ctx":"listener","msg":"Waiting for connections","attr":{"port":27017,"ssl":"off"}}
"""

import datetime
import json
import os
import sys
import threading


def _now():
    return datetime.datetime.now(datetime.timezone.utc).astimezone()


def _date(dt):
    text = dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (dt.microsecond // 1000)
    offset = dt.strftime("%z") or "+0000"
    return text + offset[:3] + ":" + offset[3:]


def _default(value):
    if isinstance(value, datetime.datetime):
        return {"$date": _date(value if value.tzinfo else value.replace(
            tzinfo=datetime.timezone.utc))}
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


class Logger:
    """Writes mongod-style JSON lines to a file or to stdout."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stream = sys.stdout
        self._path = None
        self._rotate_mode = "rename"

    def open_file(self, path, append, rotate_mode="rename"):
        """Open systemLog.path like mongod: append, or move the old file aside."""
        self._path = path
        self._rotate_mode = rotate_mode
        if not append and os.path.exists(path):
            os.rename(path, path + "." + _now().strftime("%Y-%m-%dT%H-%M-%S"))
        self._stream = open(path, "a", encoding="utf-8", buffering=1)

    def rotate(self):
        """SIGUSR1 / logRotate: rename the file (or just reopen it) and go on."""
        if not self._path:
            return
        with self._lock:
            old = self._stream
            if self._rotate_mode == "rename" and os.path.exists(self._path):
                os.rename(self._path, self._path + "." + _now().strftime("%Y-%m-%dT%H-%M-%S"))
            self._stream = open(self._path, "a", encoding="utf-8", buffering=1)
            old.close()

    def log(self, severity, component, log_id, msg, ctx="main", **attr):
        entry = {"t": {"$date": _date(_now())}, "s": severity, "c": component,
                 "id": log_id, "ctx": ctx, "msg": msg}
        if attr:
            entry["attr"] = attr
        line = json.dumps(entry, default=_default, separators=(",", ":"))
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (OSError, ValueError):
                pass

    def info(self, component, log_id, msg, ctx="main", **attr):
        self.log("I", component, log_id, msg, ctx, **attr)

    def warning(self, component, log_id, msg, ctx="main", **attr):
        self.log("W", component, log_id, msg, ctx, **attr)

    def error(self, component, log_id, msg, ctx="main", **attr):
        self.log("E", component, log_id, msg, ctx, **attr)

    def close(self):
        with self._lock:
            if self._stream not in (sys.stdout, sys.stderr):
                self._stream.close()
                self._stream = sys.stdout


LOG = Logger()
