"""Wire-level behaviour: OP_QUERY handshake, OP_MSG flags and sections, hello fields."""

import socket
import struct
import time

import bson
import pytest
from pymongo.errors import OperationFailure

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013


class Wire:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.rid = 0

    def close(self):
        self.sock.close()

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def recv(self):
        header = self._recv_exact(16)
        length, rid, response_to, op = struct.unpack("<iiii", header)
        return rid, response_to, op, self._recv_exact(length - 16)

    def op_query(self, ns, doc):
        self.rid += 1
        body = struct.pack("<i", 0) + ns.encode() + b"\0" + struct.pack("<ii", 0, -1) + \
            bson.encode(doc)
        self.sock.sendall(struct.pack("<iiii", 16 + len(body), self.rid, 0, OP_QUERY) + body)
        _, response_to, op, payload = self.recv()
        assert op == OP_REPLY and response_to == self.rid
        flags, cursor_id, start, count = struct.unpack_from("<iqii", payload)
        assert count == 1
        return bson.decode(payload[20:])

    def op_msg(self, doc, flags=0, sequences=None, checksum=False, expect_reply=True):
        self.rid += 1
        body = struct.pack("<I", flags | (1 if checksum else 0)) + b"\0" + bson.encode(doc)
        for ident, docs in (sequences or {}).items():
            payload = ident.encode() + b"\0" + b"".join(bson.encode(d) for d in docs)
            body += b"\x01" + struct.pack("<i", 4 + len(payload)) + payload
        if checksum:
            body += b"\0\0\0\0"
        self.sock.sendall(struct.pack("<iiii", 16 + len(body), self.rid, 0, OP_MSG) + body)
        if not expect_reply:
            return None
        return self.read_msg()[0]

    def read_msg(self):
        rid, response_to, op, payload = self.recv()
        assert op == OP_MSG
        (flags,) = struct.unpack_from("<I", payload)
        assert payload[4] == 0
        return bson.decode(payload[5:]), flags, rid, response_to


@pytest.fixture
def wire(standin):
    connection = Wire(standin.port)
    yield connection
    connection.close()


def test_op_query_is_master_handshake(wire):
    reply = wire.op_query("admin.$cmd", {"isMaster": 1, "helloOk": True,
                                          "compression": ["zlib", "snappy"],
                                          "client": {"driver": {"name": "test", "version": "0"}}})
    assert reply["ismaster"] is True and reply["helloOk"] is True
    assert reply["maxWireVersion"] == 25 and reply["minWireVersion"] == 0
    assert reply["maxBsonObjectSize"] == 16777216 and reply["maxMessageSizeBytes"] == 48000000
    assert reply["maxWriteBatchSize"] == 100000 and reply["readOnly"] is False
    assert reply["logicalSessionTimeoutMinutes"] == 30
    assert isinstance(reply["connectionId"], int) and "localTime" in reply
    assert "compression" not in reply
    wrapped = wire.op_query("admin.$cmd", {"$query": {"ismaster": 1}, "$readPreference":
                                           {"mode": "primaryPreferred"}})
    assert wrapped["ismaster"] is True


def test_op_query_other_commands_unsupported_like_mongod(wire):
    reply = wire.op_query("admin.$cmd", {"ping": 1})
    assert reply["ok"] == 0 and reply["code"] == 352
    reply = wire.op_query("app.things", {"x": 1})
    assert reply["ok"] == 0


def test_op_msg_checksum_and_document_sequences(wire):
    assert wire.op_msg({"ping": 1, "$db": "admin"}, checksum=True)["ok"] == 1.0
    reply = wire.op_msg({"insert": "seq", "$db": "app", "ordered": True},
                        sequences={"documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}]})
    assert reply == {"n": 3, "ok": 1.0}
    reply = wire.op_msg({"update": "seq", "$db": "app"},
                        sequences={"updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 1}}}]})
    assert reply["n"] == 1 and reply["nModified"] == 1
    reply = wire.op_msg({"delete": "seq", "$db": "app"},
                        sequences={"deletes": [{"q": {"_id": 3}, "limit": 1}]})
    assert reply["n"] == 1
    reply = wire.op_msg({"find": "seq", "$db": "app", "filter": {}})
    assert reply["cursor"]["firstBatch"] == [{"_id": 1, "a": 1}, {"_id": 2}]
    assert wire.op_msg({"ping": 1})["code"] == 40571     # no $db


def test_op_msg_more_to_come_gets_no_reply(wire):
    wire.op_msg({"insert": "w0", "$db": "app", "writeConcern": {"w": 0}},
                flags=2, sequences={"documents": [{"_id": "fire-and-forget"}]},
                expect_reply=False)
    reply = wire.op_msg({"find": "w0", "$db": "app", "filter": {}})
    assert reply["cursor"]["firstBatch"] == [{"_id": "fire-and-forget"}]


def test_awaitable_and_exhaust_hello(wire):
    first = wire.op_msg({"hello": 1, "$db": "admin"})
    topology = first["topologyVersion"]
    assert first["isWritablePrimary"] is True and topology["counter"] == 0
    started = time.monotonic()
    reply = wire.op_msg({"hello": 1, "$db": "admin", "topologyVersion": topology,
                         "maxAwaitTimeMS": 600})
    assert time.monotonic() - started >= 0.5 and reply["isWritablePrimary"] is True
    wire.rid += 1
    request_id = wire.rid
    doc = {"hello": 1, "$db": "admin", "topologyVersion": topology, "maxAwaitTimeMS": 300}
    body = struct.pack("<I", 1 << 16) + b"\0" + bson.encode(doc)
    wire.sock.sendall(struct.pack("<iiii", 16 + len(body), request_id, 0, OP_MSG) + body)
    reply1, flags1, rid1, to1 = wire.read_msg()
    reply2, flags2, rid2, to2 = wire.read_msg()
    assert flags1 & 2 and flags2 & 2                 # moreToCome: the server streams
    assert to1 == request_id and to2 == rid1
    assert reply2["isWritablePrimary"] is True


def test_hello_sasl_supported_mechs(auth_standin):
    connection = Wire(auth_standin.port)
    try:
        reply = connection.op_msg({"hello": 1, "$db": "admin",
                                   "saslSupportedMechs": "admin.siteRootAdmin"})
        assert reply["saslSupportedMechs"] == ["SCRAM-SHA-1", "SCRAM-SHA-256"]
        reply = connection.op_msg({"hello": 1, "$db": "admin",
                                   "saslSupportedMechs": "admin.nobody"})
        assert "saslSupportedMechs" not in reply
    finally:
        connection.close()


def test_version_7_0_reports_wire_21(standin_factory):
    standin = standin_factory(version="7.0.0")
    with standin.client() as client:
        info = client.admin.command("buildInfo")
        assert info["version"] == "7.0.0" and info["versionArray"] == [7, 0, 0, 0]
        assert client.admin.command("hello")["maxWireVersion"] == 21
        assert client.admin.command("getParameter", featureCompatibilityVersion=1)[
            "featureCompatibilityVersion"] == {"version": "7.0"}


def test_server_status_and_build_info(standin):
    with standin.client() as client:
        status = client.admin.command("serverStatus")
        assert status["process"] == "mongod" and status["version"] == "8.0.0"
        assert status["pid"] > 0 and status["uptime"] >= 0
        assert status["connections"]["current"] >= 1 and "host" in status
        info = client.admin.command("buildInfo")
        assert info["versionArray"] == [8, 0, 0, 0] and info["ok"] == 1.0
        assert client.admin.command("ping") == {"ok": 1.0}
        assert client.admin.command("endSessions", [])["ok"] == 1.0
        with pytest.raises(OperationFailure) as err:
            client.app.command("getCmdLineOpts")
        assert err.value.code == 13
        was = client.admin.command("setParameter", 1, logLevel=1)
        assert was["was"] == 0
        assert client.admin.command("getParameter", 1, logLevel=1)["logLevel"] == 1
