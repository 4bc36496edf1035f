"""Configuration parsing like mongod: /etc/mongod.conf YAML, command line, refusals."""

import json
import os
import subprocess
import sys

import pytest
from conftest import STANDIN_DIR

OFFICIAL_DEFAULT_CONF = """# mongod.conf
storage:
  dbPath: {dbpath}
systemLog:
  destination: file
  logAppend: true
  path: {log}
net:
  port: {port}
  bindIp: 127.0.0.1
processManagement:
  timeZoneInfo: /usr/share/zoneinfo
"""


def run_standin(args, env=None, timeout=30):
    full_env = dict(os.environ, PYTHONPATH=str(STANDIN_DIR))
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "mongod_standin"] + args, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def write_conf(tmp_path, extra="", **fmt):
    (tmp_path / "db").mkdir(exist_ok=True)
    text = OFFICIAL_DEFAULT_CONF.format(dbpath=tmp_path / "db", log=tmp_path / "mongod.log",
                                        port=fmt.get("port", 27999)) + extra
    path = tmp_path / "mongod.conf"
    path.write_text(text)
    return path


@pytest.mark.parametrize("extra,option", [
    ("storage:\n  jounral:\n    enabled: true\n", "storage.jounral.enabled"),
    ("net:\n  bindIP: 0.0.0.0\n", "net.bindIP"),
    ("nonsense: 1\n", "nonsense"),
    ("security:\n  enableEncryption: true\n", "security.enableEncryption"),
])
def test_unknown_option_refused_with_exit_2(tmp_path, extra, option):
    conf = write_conf(tmp_path)
    text = conf.read_text()
    # merge the extra section into the file (duplicate top-level keys are not YAML)
    section = extra.split(":")[0]
    if section + ":" in text:
        body = extra.split("\n", 1)[1]
        text = text.replace(section + ":\n", section + ":\n" + body, 1)
    else:
        text += extra
    conf.write_text(text)
    result = run_standin(["--config", str(conf)])
    assert result.returncode == 2, result.stderr
    assert "Unrecognized option: %s" % option in result.stderr


@pytest.mark.parametrize("version", ["8.0.0", "7.0.0"])
def test_storage_journal_enabled_removed_since_6_1(tmp_path, version):
    conf = write_conf(tmp_path)
    conf.write_text(conf.read_text().replace(
        "storage:\n", "storage:\n  journal:\n    enabled: true\n", 1))
    result = run_standin(["--config", str(conf)], env={"MONGOD_STANDIN_VERSION": version})
    assert result.returncode == 2
    assert "Unrecognized option: storage.journal.enabled" in result.stderr


def test_storage_journal_enabled_accepted_by_6_0(standin_factory):
    standin = standin_factory(config={"storage": {"journal": {"enabled": True}}},
                              version="6.0.0")
    with standin.client() as client:
        assert client.server_info()["version"] == "6.0.0"
    assert "storage.journal.enabled" in standin.read_log()


def test_ignored_options_are_logged_and_used_ones_applied(standin_factory):
    standin = standin_factory(config={
        "storage": {"journal": {"commitIntervalMs": 100}, "directoryPerDB": True,
                    "wiredTiger": {"engineConfig": {"cacheSizeGB": 0.25,
                                                    "journalCompressor": "zstd"}}},
        "systemLog": {"verbosity": 1, "logRotate": "reopen"},
        "net": {"maxIncomingConnections": 100},
        "operationProfiling": {"mode": "slowOp", "slowOpThresholdMs": 50},
        "replication": {"oplogSizeMB": 128},
        "setParameter": {"enableLocalhostAuthBypass": True, "diagnosticDataCollectionEnabled":
                         False},
        "processManagement": {"timeZoneInfo": "/usr/share/zoneinfo"},
    })
    lines = [json.loads(line) for line in standin.read_log().splitlines()]
    ignored = {line["attr"]["option"] for line in lines
               if line["msg"] == "Option ignored by the stand-in"}
    assert {"storage.journal.commitIntervalMs", "storage.directoryPerDB",
            "storage.wiredTiger.engineConfig.cacheSizeGB",
            "storage.wiredTiger.engineConfig.journalCompressor", "systemLog.verbosity",
            "net.maxIncomingConnections", "operationProfiling.mode",
            "operationProfiling.slowOpThresholdMs", "replication.oplogSizeMB",
            "setParameter.diagnosticDataCollectionEnabled"} <= ignored
    assert "net.port" not in ignored and "storage.dbPath" not in ignored
    waiting = [line for line in lines if line["msg"] == "Waiting for connections"]
    assert waiting and waiting[0]["attr"]["port"] == standin.port
    assert waiting[0]["id"] == 23016 and waiting[0]["c"] == "NETWORK" and waiting[0]["s"] == "I"
    assert "$date" in waiting[0]["t"]
    with standin.client() as client:
        parsed = client.admin.command("getCmdLineOpts")["parsed"]
    assert parsed["net"]["port"] == standin.port
    assert parsed["storage"]["wiredTiger"]["engineConfig"]["cacheSizeGB"] == 0.25
    assert parsed["config"] == str(standin.config_path)


def test_bind_ip_list_with_hostname(standin_factory):
    standin = standin_factory(config={"net": {"bindIp": "localhost,127.0.0.1"}})
    with standin.client() as client:
        assert client.admin.command("ping")["ok"] == 1.0
    listening = [json.loads(line) for line in standin.read_log().splitlines()
                 if '"Listening on"' in line]
    assert listening and listening[0]["attr"]["address"] == "127.0.0.1"


def test_bad_values_refused(tmp_path):
    conf = write_conf(tmp_path)
    conf.write_text(conf.read_text().replace("port: 27999", "port: abc"))
    result = run_standin(["--config", str(conf)])
    assert result.returncode == 2 and 'Error parsing option "net.port" as int' in result.stderr
    conf = write_conf(tmp_path, "security:\n  authorization: yes-please\n")
    result = run_standin(["--config", str(conf)])
    assert result.returncode == 2 and "security.authorization" in result.stderr
    conf.write_text("storage: [unclosed\n")
    result = run_standin(["--config", str(conf)])
    assert result.returncode == 2 and "Error parsing YAML config file" in result.stderr


def test_fork_refused(tmp_path):
    conf = write_conf(tmp_path)
    conf.write_text(conf.read_text().replace("processManagement:\n",
                                             "processManagement:\n  fork: true\n"))
    result = run_standin(["--config", str(conf)])
    assert result.returncode == 2 and "fork" in result.stderr
    result = run_standin(["--fork", "--dbpath", str(tmp_path)])
    assert result.returncode == 2
    result = run_standin(["--no-such-flag"])
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


def test_command_line_options(standin_factory, tmp_path):
    standin = standin_factory(start=False)
    (tmp_path / "cli").mkdir()
    standin.command = lambda: [sys.executable, "-m", "mongod_standin", "--port",
                               str(standin.port), "--bind_ip", "127.0.0.1", "--dbpath",
                               str(tmp_path / "cli"), "--logpath", str(standin.logpath),
                               "--auth"]
    standin.write_config = lambda text=None: None
    standin.start()
    with standin.client() as client:
        import pymongo
        with pytest.raises(pymongo.errors.OperationFailure) as err:
            client.admin.command("listDatabases")
        assert err.value.code == 13
    assert standin.stop() == 0


def test_version_flag():
    result = run_standin(["--version"])
    assert result.returncode == 0 and result.stdout.startswith("db version v8.0.0")
    result = run_standin(["--version"], env={"MONGOD_STANDIN_VERSION": "7.0.0"})
    assert result.stdout.startswith("db version v7.0.0")


def test_sigusr1_rotates_the_log(standin):
    import signal
    import time
    standin.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    rotated = []
    while time.monotonic() < deadline and not rotated:
        rotated = [p for p in standin.logpath.parent.iterdir()
                   if p.name.startswith("mongod.log.")]
        time.sleep(0.1)
    assert rotated, "no rotated log file"
    with standin.client() as client:
        client.admin.command("ping")
    assert "Log rotation initiated" in standin.read_log()
