"""mongod configuration: the YAML file (/etc/mongod.conf) and the command line.

The stand-in knows the option tree of MongoDB Community's mongod.  Options it
acts on are listed in USED; every other option real mongod accepts is accepted
and reported as "ignored by the stand-in".  An option real mongod does not know
(a template typo, an Enterprise-only option, an option removed in the reported
version such as storage.journal.enabled since 6.1) stops start-up the way mongod
does: "Unrecognized option: x" on stderr and exit code 2 (BadOptions).
"""

import argparse
import sys

EXIT_BAD_OPTIONS = 2

# path -> type.  Types: int, double, bool, str, any (a value or a mapping of values).
# A trailing ".*" accepts any sub-key (setParameter, log components).
KNOWN_OPTIONS = {
    # systemLog
    "systemLog.verbosity": "int",
    "systemLog.quiet": "bool",
    "systemLog.traceAllExceptions": "bool",
    "systemLog.syslogFacility": "str",
    "systemLog.path": "str",
    "systemLog.logAppend": "bool",
    "systemLog.logRotate": "str",
    "systemLog.destination": "str",
    "systemLog.timeStampFormat": "str",
    "systemLog.component.*": "any",
    # processManagement
    "processManagement.fork": "bool",
    "processManagement.pidFilePath": "str",
    "processManagement.timeZoneInfo": "str",
    # cloud monitoring
    "cloud.monitoring.free.state": "str",
    "cloud.monitoring.free.tags": "str",
    # net
    "net.port": "int",
    "net.bindIp": "str",
    "net.bindIpAll": "bool",
    "net.maxIncomingConnections": "int",
    "net.wireObjectCheck": "bool",
    "net.ipv6": "bool",
    "net.listenBacklog": "int",
    "net.unixDomainSocket.enabled": "bool",
    "net.unixDomainSocket.pathPrefix": "str",
    "net.unixDomainSocket.filePermissions": "int",
    "net.tls.mode": "str",
    "net.tls.certificateKeyFile": "str",
    "net.tls.certificateKeyFilePassword": "str",
    "net.tls.certificateSelector": "str",
    "net.tls.clusterCertificateSelector": "str",
    "net.tls.clusterFile": "str",
    "net.tls.clusterPassword": "str",
    "net.tls.CAFile": "str",
    "net.tls.clusterCAFile": "str",
    "net.tls.CRLFile": "str",
    "net.tls.allowConnectionsWithoutCertificates": "bool",
    "net.tls.allowInvalidCertificates": "bool",
    "net.tls.allowInvalidHostnames": "bool",
    "net.tls.disabledProtocols": "str",
    "net.tls.FIPSMode": "bool",
    "net.tls.logVersions": "str",
    "net.tls.clusterAuthX509.attributes": "str",
    "net.tls.clusterAuthX509.extensionValue": "str",
    "net.ssl.sslOnNormalPorts": "bool",
    "net.ssl.mode": "str",
    "net.ssl.PEMKeyFile": "str",
    "net.ssl.PEMKeyPassword": "str",
    "net.ssl.certificateSelector": "str",
    "net.ssl.clusterCertificateSelector": "str",
    "net.ssl.clusterFile": "str",
    "net.ssl.clusterPassword": "str",
    "net.ssl.CAFile": "str",
    "net.ssl.clusterCAFile": "str",
    "net.ssl.CRLFile": "str",
    "net.ssl.allowConnectionsWithoutCertificates": "bool",
    "net.ssl.allowInvalidCertificates": "bool",
    "net.ssl.allowInvalidHostnames": "bool",
    "net.ssl.disabledProtocols": "str",
    "net.ssl.FIPSMode": "bool",
    "net.compression.compressors": "str",
    # security
    "security.keyFile": "str",
    "security.clusterAuthMode": "str",
    "security.authorization": "str",
    "security.transitionToAuth": "bool",
    "security.javascriptEnabled": "bool",
    "security.redactClientLogData": "bool",
    "security.clusterIpSourceAllowlist": "any",
    "security.sasl.hostName": "str",
    "security.sasl.serviceName": "str",
    "security.sasl.saslauthdSocketPath": "str",
    # setParameter: any server parameter
    "setParameter.*": "any",
    # storage
    "storage.dbPath": "str",
    "storage.journal.commitIntervalMs": "int",
    "storage.directoryPerDB": "bool",
    "storage.syncPeriodSecs": "double",
    "storage.engine": "str",
    "storage.oplogMinRetentionHours": "double",
    "storage.wiredTiger.engineConfig.cacheSizeGB": "double",
    "storage.wiredTiger.engineConfig.cacheSizePct": "double",
    "storage.wiredTiger.engineConfig.journalCompressor": "str",
    "storage.wiredTiger.engineConfig.directoryForIndexes": "bool",
    "storage.wiredTiger.engineConfig.zstdCompressionLevel": "int",
    "storage.wiredTiger.engineConfig.configString": "str",
    "storage.wiredTiger.collectionConfig.blockCompressor": "str",
    "storage.wiredTiger.collectionConfig.configString": "str",
    "storage.wiredTiger.indexConfig.prefixCompression": "bool",
    "storage.wiredTiger.indexConfig.configString": "str",
    # operationProfiling
    "operationProfiling.mode": "str",
    "operationProfiling.slowOpThresholdMs": "int",
    "operationProfiling.slowOpSampleRate": "double",
    "operationProfiling.filter": "any",
    # replication (replSetName: see replset.py) / sharding (accepted, not emulated)
    "replication.oplogSizeMB": "int",
    "replication.replSetName": "str",
    "replication.enableMajorityReadConcern": "bool",
    "sharding.clusterRole": "str",
    "sharding.archiveMovedChunks": "bool",
}

# Options real mongod dropped: (path, first version without it).
REMOVED_OPTIONS = {
    "storage.journal.enabled": (6, 1),
    "net.serviceExecutor": (5, 0),
    "storage.indexBuildRetry": (4, 4),
    "storage.mmapv1.preallocDataFiles": (4, 2),
    "storage.mmapv1.nsSize": (4, 2),
    "storage.mmapv1.quota.enforced": (4, 2),
    "storage.mmapv1.quota.maxFilesPerDB": (4, 2),
    "storage.mmapv1.smallFiles": (4, 2),
    "storage.mmapv1.journal.commitIntervalMs": (4, 2),
    "storage.mmapv1.journal.debugFlags": (4, 2),
    "storage.repairPath": (4, 2),
    "replication.secondaryIndexPrefetch": (4, 2),
}
REMOVED_TYPES = {"storage.journal.enabled": "bool"}

# Options the stand-in acts on; all other known options are logged as ignored.
USED = {
    "net.port", "net.bindIp", "net.bindIpAll", "net.ipv6",
    "storage.dbPath",
    "systemLog.destination", "systemLog.path", "systemLog.logAppend", "systemLog.logRotate",
    "systemLog.quiet",
    "security.authorization", "security.keyFile",
    "replication.replSetName",
    "processManagement.pidFilePath", "processManagement.timeZoneInfo",
    "processManagement.fork",
}

ENUMS = {
    "security.authorization": ("enabled", "disabled"),
    "systemLog.destination": ("file", "syslog"),
    "systemLog.logRotate": ("rename", "reopen"),
    "security.clusterAuthMode": ("keyFile", "sendKeyFile", "sendX509", "x509"),
    "operationProfiling.mode": ("off", "slowOp", "all"),
    "storage.engine": ("wiredTiger", "inMemory"),
}


class ConfigError(Exception):
    """Start-up must stop: message for stderr, exit code."""

    def __init__(self, message, exit_code=EXIT_BAD_OPTIONS):
        super().__init__(message)
        self.exit_code = exit_code


def _known_type(path, version):
    if path in REMOVED_OPTIONS:
        if version < REMOVED_OPTIONS[path]:
            return REMOVED_TYPES.get(path, "any")
        return None
    if path in KNOWN_OPTIONS:
        return KNOWN_OPTIONS[path]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        wildcard = ".".join(parts[:i]) + ".*"
        if wildcard in KNOWN_OPTIONS:
            return KNOWN_OPTIONS[wildcard]
    return None


def _is_prefix_of_known(path, version):
    prefix = path + "."
    names = list(KNOWN_OPTIONS) + [p for p, v in REMOVED_OPTIONS.items() if version < v]
    return any(name.startswith(prefix) for name in names)


def _coerce(path, kind, value):
    if kind == "any":
        return value
    if isinstance(value, (dict, list)):
        raise ConfigError('Error parsing option "%s" as %s: value is a %s' % (
            path, kind, "mapping" if isinstance(value, dict) else "sequence"))
    if kind == "int":
        if isinstance(value, bool):
            raise ConfigError('Error parsing option "%s" as int: Bad digit' % path)
        if isinstance(value, int):
            return value
        text = str(value).strip()
        try:
            return int(text, 10)
        except ValueError:
            raise ConfigError('Error parsing option "%s" as int: Bad digit "%s" while parsing %s'
                              % (path, next((c for c in text if not c.isdigit()), text), text)) from None
    if kind == "double":
        if isinstance(value, bool):
            raise ConfigError('Error parsing option "%s" as double' % path)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError('Error parsing option "%s" as double: %s' % (path, value)) from None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ConfigError('Error parsing option "%s" as bool: "%s" is not true or false'
                          % (path, value))
    if value is None:
        return ""
    return str(value) if not isinstance(value, bool) else ("true" if value else "false")


def flatten(tree, version, prefix=""):
    """YAML mapping -> {dotted.path: value}; raises ConfigError on unknown options."""
    flat = {}
    if not isinstance(tree, dict):
        raise ConfigError("Error parsing YAML config file: the top level must be a mapping")
    for key, value in tree.items():
        path = prefix + str(key)
        kind = _known_type(path, version)
        if kind is not None and (kind == "any" or not isinstance(value, dict)):
            flat[path] = _coerce(path, kind, value)
            continue
        if isinstance(value, dict) and _is_prefix_of_known(path, version):
            flat.update(flatten(value, version, path + "."))
            continue
        if kind is not None:
            flat[path] = _coerce(path, kind, value)
            continue
        raise ConfigError("Unrecognized option: %s" % _first_leaf(path, value))
    return flat


def _first_leaf(path, value):
    """mongod flattens the YAML tree and names the full dotted option."""
    while isinstance(value, dict) and value:
        key, value = next(iter(value.items()))
        path = "%s.%s" % (path, key)
    return path


def validate(flat):
    for path, allowed in ENUMS.items():
        if path in flat and flat[path] not in allowed:
            raise ConfigError("Bad value for %s: '%s' (expected one of: %s)"
                              % (path, flat[path], ", ".join(allowed)))
    port = flat.get("net.port")
    if port is not None and not 0 <= port <= 65535:
        raise ConfigError("BadValue: net.port must be between 0 and 65535")
    if flat.get("systemLog.destination") == "file" and not flat.get("systemLog.path"):
        raise ConfigError("BadValue: systemLog.path is required if systemLog.destination is to a file")
    if flat.get("systemLog.path") and flat.get("systemLog.destination") is None:
        raise ConfigError("BadValue: systemLog.destination is required if systemLog.path is set")


def nest(flat):
    tree = {}
    for path, value in flat.items():
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


class Config:
    """The effective options, as mongod would see them."""

    def __init__(self, flat, argv, config_path=None):
        self.flat = flat
        self.argv = list(argv)
        self.config_path = config_path

    def get(self, path, default=None):
        return self.flat.get(path, default)

    @property
    def port(self):
        return self.flat.get("net.port", 27017)

    @property
    def dbpath(self):
        return self.flat.get("storage.dbPath", "/data/db")

    @property
    def auth_enabled(self):
        # As in mongod, security.keyFile implies access control.
        return self.flat.get("security.authorization") == "enabled" \
            or bool(self.flat.get("security.keyFile"))

    @property
    def repl_set_name(self):
        return self.flat.get("replication.replSetName") or None

    def bind_addresses(self):
        if self.flat.get("net.bindIpAll"):
            addrs = ["0.0.0.0"]
            if self.flat.get("net.ipv6"):
                addrs.append("::")
            return addrs
        raw = self.flat.get("net.bindIp", "localhost")
        addrs = [a.strip() for a in str(raw).split(",") if a.strip()]
        return addrs or ["localhost"]

    def ignored_options(self):
        return sorted(p for p in self.flat if p not in USED)

    def parsed(self):
        """The 'parsed' document of getCmdLineOpts."""
        tree = nest(self.flat)
        if self.config_path:
            tree = dict({"config": self.config_path}, **tree)
        return tree


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ConfigError("Error parsing command line: %s\ntry 'mongod --help' for more information"
                          % message)


def _arg_parser():
    p = _Parser(prog="mongod", add_help=False, allow_abbrev=False)
    p.add_argument("-f", "--config")
    p.add_argument("--port")
    p.add_argument("--bind_ip")
    p.add_argument("--bind_ip_all", action="store_true", default=None)
    p.add_argument("--ipv6", action="store_true", default=None)
    p.add_argument("--dbpath")
    p.add_argument("--logpath")
    p.add_argument("--logappend", action="store_true", default=None)
    p.add_argument("--pidfilepath")
    p.add_argument("--timeZoneInfo")
    p.add_argument("--auth", action="store_true", default=None)
    p.add_argument("--noauth", action="store_true", default=None)
    p.add_argument("--fork", action="store_true", default=None)
    p.add_argument("--quiet", action="store_true", default=None)
    p.add_argument("--setParameter", action="append", default=[])
    p.add_argument("--replSet")
    p.add_argument("--keyFile")
    p.add_argument("--version", action="store_true")
    p.add_argument("-h", "--help", action="store_true")
    return p


def usage():
    return """Options (MongoDB stand-in -- a test double of mongod, not MongoDB):
  -f [ --config ] arg     configuration file specifying additional options
  --port arg              specify port number - 27017 by default
  --bind_ip arg           comma separated list of ip addresses to listen on
  --bind_ip_all           bind to all ip addresses
  --ipv6                  enable IPv6 support
  --dbpath arg            directory for datafiles - defaults to /data/db
  --logpath arg           log file to send write to instead of stdout
  --logappend             append to logpath instead of over-writing
  --pidfilepath arg       full path to pidfile
  --auth                  run with security
  --setParameter arg      set a configurable parameter (ignored by the stand-in)
  --version               show version information
Environment: MONGOD_STANDIN_READY_DELAY=N delays listening by N seconds.
"""


def load(argv, version):
    """Parse argv (without the program name) and the config file it names."""
    args = _arg_parser().parse_args(argv)
    if args.help or args.version:
        return args, None
    flat = {}
    config_path = args.config
    if config_path:
        try:
            import yaml
        except ImportError:  # pragma: no cover - packaging guarantees python3-yaml
            raise ConfigError("PyYAML is required to read %s" % config_path, 1) from None
        try:
            with open(config_path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise ConfigError("Error reading config file: %s" % exc.strerror) from None
        try:
            tree = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError("Error parsing YAML config file: %s" % exc) from None
        if tree is None:
            tree = {}
        flat = flatten(tree, version)
    cli = {}
    if args.port is not None:
        cli["net.port"] = _coerce("net.port", "int", args.port)
    if args.bind_ip is not None:
        cli["net.bindIp"] = args.bind_ip
    if args.bind_ip_all:
        cli["net.bindIpAll"] = True
    if args.ipv6:
        cli["net.ipv6"] = True
    if args.dbpath is not None:
        cli["storage.dbPath"] = args.dbpath
    if args.logpath is not None:
        cli["systemLog.path"] = args.logpath
        cli["systemLog.destination"] = "file"
    if args.logappend:
        cli["systemLog.logAppend"] = True
    if args.pidfilepath is not None:
        cli["processManagement.pidFilePath"] = args.pidfilepath
    if args.timeZoneInfo is not None:
        cli["processManagement.timeZoneInfo"] = args.timeZoneInfo
    if args.auth:
        cli["security.authorization"] = "enabled"
    if args.noauth:
        cli["security.authorization"] = "disabled"
    if args.fork:
        cli["processManagement.fork"] = True
    if args.quiet:
        cli["systemLog.quiet"] = True
    if args.replSet is not None:
        cli["replication.replSetName"] = args.replSet
    if args.keyFile is not None:
        cli["security.keyFile"] = args.keyFile
    for item in args.setParameter:
        name, _, value = item.partition("=")
        cli["setParameter." + name] = value
    flat.update(cli)  # the command line wins over the file, as in mongod
    if "net.bindIp" in flat and flat.get("net.bindIpAll"):
        # The docs: net.bindIp and net.bindIpAll are mutually exclusive.
        raise ConfigError("BadValue: net.bindIp and net.bindIpAll are mutually exclusive; "
                          "specify one or the other, but not both")
    validate(flat)
    return args, Config(flat, ["mongod"] + list(argv), config_path)


def fail(error):
    sys.stderr.write(str(error) + "\n")
    if "Unrecognized option" in str(error):
        sys.stderr.write("try 'mongod --help' for more information\n")
    sys.exit(error.exit_code)
