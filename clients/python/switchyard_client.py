"""Typed Python client for Switchyard: the same helper as clients/ts and clients/go.

    client = SwitchyardClient("127.0.0.1:50051", tenant="acme", deadline=60)
    answer = client.route(messages=[user("Summarise our refund policy.")], task="chat")

Every call raises SwitchyardError (gRPC status code, message, and the routing decision when the
call got as far as routing). Needs grpcio and protobuf (Debian: python3-grpcio, python3-protobuf).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, Optional

import grpc
from google.protobuf import any_pb2

# The generated modules import each other as `switchyard.v1.*` (their proto paths), so the folder
# holding them must be importable as a root.
_GENERATED = Path(__file__).resolve().parent / "gen"
if str(_GENERATED) not in sys.path:
    sys.path.insert(0, str(_GENERATED))

from switchyard.v1 import router_pb2, router_pb2_grpc, types_pb2  # noqa: E402

RouteRequest = router_pb2.RouteRequest
RouteResponse = router_pb2.RouteResponse
StreamRequest = router_pb2.StreamRequest
StreamResponse = router_pb2.StreamResponse
ClassifyRequest = router_pb2.ClassifyRequest
ClassifyResponse = router_pb2.ClassifyResponse
Decision = types_pb2.Decision
Message = types_pb2.Message
Role = types_pb2.Role

DEFAULT_DEADLINE_SECONDS = 60.0
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


def user(content: str) -> types_pb2.Message:
    """A user turn, the message most requests start with."""
    return types_pb2.Message(role=types_pb2.ROLE_USER, content=content)


class SwitchyardError(Exception):
    """A failed call: `code` (grpc.StatusCode), `message` (the server's), and `decision`
    (switchyard.v1.Decision, or None for a request refused before routing)."""

    def __init__(self, code: grpc.StatusCode, message: str, decision: Optional[types_pb2.Decision] = None):
        super().__init__(f"[{code.name.lower()}] {message}")
        self.code = code
        self.message = message
        self.decision = decision

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "SwitchyardError":
        call: grpc.Call = error  # type: ignore[assignment]  # every RpcError grpcio raises for a call is one
        trailers = call.trailing_metadata() or ()
        details = next((value for key, value in trailers if key == _STATUS_DETAILS_KEY), None)
        return cls(call.code(), call.details() or "", _decision_in_status(details) if details else None)


class SwitchyardClient:
    """A connection to a Switchyard server. `address` is host:port (cleartext h2c) unless a
    `channel` is given (e.g. grpc.secure_channel); `tenant` is sent with every request that names
    none; `api_key` (the tenant's key, when the policy declares keys) as `authorization: Bearer` on
    every call; `deadline` (seconds) bounds each call, a whole stream included, unless the call gives its own.
    Usable as a context manager (closes the channel)."""

    def __init__(
        self,
        address: str,
        tenant: str = "",
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        channel: Optional[grpc.Channel] = None,
        api_key: str = "",
    ):
        self.tenant = tenant
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self.deadline = deadline
        self.channel = channel if channel is not None else grpc.insecure_channel(address)
        self.router = router_pb2_grpc.RouterServiceStub(self.channel)

    def route(
        self, request: Optional[RouteRequest] = None, *, deadline: Optional[float] = None, **fields
    ) -> RouteResponse:
        """Answers one request (a RouteRequest, or its fields as keywords)."""
        try:
            return self.router.Route(
                self._prepare(RouteRequest, request, fields),
                timeout=self._timeout(deadline),
                metadata=self._metadata,
            )
        except grpc.RpcError as error:
            raise SwitchyardError.from_rpc_error(error) from None

    def stream(
        self, request: Optional[StreamRequest] = None, *, deadline: Optional[float] = None, **fields
    ) -> Iterator[StreamResponse]:
        """Answers one request as StreamResponse events (`event.WhichOneof("event")`: decision, delta,
        attempt, budget); the last is `done`, carrying the decision. Raises SwitchyardError, also
        when the stream ends without `done` (it was cut short). Closing the iterator cancels the call."""
        call = self.router.Stream(
            self._prepare(StreamRequest, request, fields),
            timeout=self._timeout(deadline),
            metadata=self._metadata,
        )
        done = False
        try:
            for event in call:
                done = done or event.WhichOneof("event") == "done"
                yield event
        except grpc.RpcError as error:
            raise SwitchyardError.from_rpc_error(error) from None
        finally:
            # A caller that stops early must not leave the call (and the provider's billing) running.
            call.cancel()
        if not done:
            raise SwitchyardError(grpc.StatusCode.INTERNAL, "the stream ended without its done event")

    def classify(
        self, request: Optional[ClassifyRequest] = None, *, deadline: Optional[float] = None, **fields
    ) -> ClassifyResponse:
        """What the request is and where it would go (a dry run: nothing is sent)."""
        try:
            return self.router.Classify(
                self._prepare(ClassifyRequest, request, fields),
                timeout=self._timeout(deadline),
                metadata=self._metadata,
            )
        except grpc.RpcError as error:
            raise SwitchyardError.from_rpc_error(error) from None

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "SwitchyardClient":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _prepare(self, message_type, request, fields):
        if request is None:
            request = message_type(**fields)
        elif fields:
            raise TypeError("pass a request or its fields as keywords, not both")
        if not request.tenant and self.tenant:
            # A copy: the caller's request may be reused for another tenant.
            request = message_type.FromString(request.SerializeToString())
            request.tenant = self.tenant
        return request

    def _timeout(self, deadline: Optional[float]) -> float:
        return self.deadline if deadline is None else deadline


def _decision_in_status(status: bytes) -> Optional[types_pb2.Decision]:
    """The Decision among a google.rpc.Status's details. Only field 3 (`repeated google.protobuf.Any
    details`) is needed and Debian ships no google.rpc package for Python, so the Status is read
    from the wire here rather than from a generated module."""
    for number, value in _length_delimited_fields(status):
        if number != 3:
            continue
        detail = any_pb2.Any.FromString(value)
        if detail.Is(types_pb2.Decision.DESCRIPTOR):
            decision = types_pb2.Decision()
            detail.Unpack(decision)
            return decision
    return None


def _length_delimited_fields(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(field number, bytes) of each length-delimited field; varints are skipped (Status.code)."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, position = _varint(data, position)
        elif wire_type == 2:
            length, position = _varint(data, position)
            yield number, data[position : position + length]
            position += length
        else:
            raise ValueError(f"unexpected wire type {wire_type} in google.rpc.Status")


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(data):
            raise ValueError("truncated varint in google.rpc.Status")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


__all__ = [
    "ClassifyRequest",
    "ClassifyResponse",
    "Decision",
    "Message",
    "Role",
    "RouteRequest",
    "RouteResponse",
    "StreamRequest",
    "StreamResponse",
    "SwitchyardClient",
    "SwitchyardError",
    "user",
]
