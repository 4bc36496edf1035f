"""MongoDB wire protocol framing: OP_MSG, OP_QUERY (for the handshake) and OP_REPLY."""

import struct

import bson
from bson.codec_options import CodecOptions

OP_REPLY = 1
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013

FLAG_CHECKSUM_PRESENT = 1 << 0
FLAG_MORE_TO_COME = 1 << 1
FLAG_EXHAUST_ALLOWED = 1 << 16

MAX_MESSAGE_SIZE = 48000000
MAX_BSON_SIZE = 16 * 1024 * 1024

_HEADER = struct.Struct("<iiii")

try:  # pymongo >= 4.3: keep dates outside datetime's range instead of failing
    from bson.codec_options import DatetimeConversion
    CODEC = CodecOptions(document_class=dict, tz_aware=False,
                         datetime_conversion=DatetimeConversion.DATETIME_AUTO)
except ImportError:  # pragma: no cover
    CODEC = CodecOptions(document_class=dict, tz_aware=False)


class ProtocolError(Exception):
    """The peer sent something that is not a valid message: close the connection."""


class Message:
    """A decoded request."""

    def __init__(self, request_id, op_code):
        self.request_id = request_id
        self.op_code = op_code
        self.flags = 0
        self.body = None            # the command document
        self.sequences = {}         # OP_MSG kind-1 sections: identifier -> [documents]
        self.collection = None      # OP_QUERY fullCollectionName
        self.number_to_return = 0

    @property
    def more_to_come(self):
        return bool(self.flags & FLAG_MORE_TO_COME)

    @property
    def exhaust_allowed(self):
        return bool(self.flags & FLAG_EXHAUST_ALLOWED)


def read_exact(sock, size):
    chunks = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError()
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message(sock):
    """Read one request from the socket; EOFError when the peer has closed."""
    header = read_exact(sock, 16)
    length, request_id, _response_to, op_code = _HEADER.unpack(header)
    if length < 16 or length > MAX_MESSAGE_SIZE:
        raise ProtocolError("invalid message length %d" % length)
    payload = read_exact(sock, length - 16)
    return parse(request_id, op_code, payload)


def _cstring(data, pos):
    end = data.index(b"\x00", pos)
    return data[pos:end].decode("utf-8"), end + 1


def _decode_one(data, pos):
    (size,) = struct.unpack_from("<i", data, pos)
    if size < 5 or pos + size > len(data):
        raise ProtocolError("invalid BSON document length")
    return bson.decode(bytes(data[pos:pos + size]), CODEC), pos + size


def parse(request_id, op_code, payload):
    msg = Message(request_id, op_code)
    try:
        if op_code == OP_MSG:
            _parse_op_msg(msg, payload)
        elif op_code == OP_QUERY:
            _parse_op_query(msg, payload)
        elif op_code == OP_COMPRESSED:
            raise ProtocolError("OP_COMPRESSED received but no compressor was negotiated")
        else:
            raise ProtocolError("unsupported opcode %d" % op_code)
    except (ValueError, struct.error, bson.errors.BSONError) as exc:
        raise ProtocolError("malformed message: %s" % exc) from None
    return msg


def _parse_op_msg(msg, payload):
    (msg.flags,) = struct.unpack_from("<I", payload, 0)
    end = len(payload)
    if msg.flags & FLAG_CHECKSUM_PRESENT:
        end -= 4  # CRC-32C trailer: tolerated, not verified
    required = msg.flags & 0xFFFF & ~(FLAG_CHECKSUM_PRESENT | FLAG_MORE_TO_COME)
    if required:
        raise ProtocolError("unknown required OP_MSG flag bits 0x%x" % required)
    pos = 4
    while pos < end:
        kind = payload[pos]
        pos += 1
        if kind == 0:
            if msg.body is not None:
                raise ProtocolError("OP_MSG with more than one body section")
            msg.body, pos = _decode_one(payload, pos)
        elif kind == 1:
            (size,) = struct.unpack_from("<i", payload, pos)
            section_end = pos + size
            ident, doc_pos = _cstring(payload, pos + 4)
            docs = []
            while doc_pos < section_end:
                doc, doc_pos = _decode_one(payload, doc_pos)
                docs.append(doc)
            msg.sequences.setdefault(ident, []).extend(docs)
            pos = section_end
        else:
            raise ProtocolError("unknown OP_MSG section kind %d" % kind)
    if msg.body is None:
        raise ProtocolError("OP_MSG without a body section")


def _parse_op_query(msg, payload):
    (msg.flags,) = struct.unpack_from("<i", payload, 0)
    msg.collection, pos = _cstring(payload, 4)
    _skip, msg.number_to_return = struct.unpack_from("<ii", payload, pos)
    pos += 8
    query, pos = _decode_one(payload, pos)
    # Drivers may wrap the command: {$query: {...}, $readPreference: ...}
    if "$query" in query:
        query = query["$query"]
    msg.body = query


def _header(length, request_id, response_to, op_code):
    return _HEADER.pack(length, request_id, response_to, op_code)


def build_op_msg(request_id, response_to, doc, more_to_come=False):
    body = bson.encode(doc, codec_options=CODEC)
    flags = FLAG_MORE_TO_COME if more_to_come else 0
    payload = struct.pack("<I", flags) + b"\x00" + body
    return _header(16 + len(payload), request_id, response_to, OP_MSG) + payload


def build_op_reply(request_id, response_to, doc):
    body = bson.encode(doc, codec_options=CODEC)
    payload = struct.pack("<iqii", 0, 0, 0, 1) + body
    return _header(16 + len(payload), request_id, response_to, OP_REPLY) + payload


def build_op_reply_error(request_id, response_to, errmsg, code):
    """Legacy query failure (QueryFailure flag + $err document)."""
    body = bson.encode({"$err": errmsg, "code": code, "ok": 0.0})
    payload = struct.pack("<iqii", 2, 0, 0, 1) + body
    return _header(16 + len(payload), request_id, response_to, OP_REPLY) + payload


def encoded_size(doc):
    return len(bson.encode(doc, codec_options=CODEC))
