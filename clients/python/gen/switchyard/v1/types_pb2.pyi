from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ATTEMPT_OUTCOME_CANCELLED: AttemptOutcome
ATTEMPT_OUTCOME_FAILED: AttemptOutcome
ATTEMPT_OUTCOME_REFUSED: AttemptOutcome
ATTEMPT_OUTCOME_SKIPPED: AttemptOutcome
ATTEMPT_OUTCOME_SUCCEEDED: AttemptOutcome
ATTEMPT_OUTCOME_UNSPECIFIED: AttemptOutcome
DESCRIPTOR: _descriptor.FileDescriptor
ERROR_CLASS_AUTH: ErrorClass
ERROR_CLASS_CANCELLED: ErrorClass
ERROR_CLASS_CONNECT: ErrorClass
ERROR_CLASS_CONTENT_REFUSED: ErrorClass
ERROR_CLASS_CONTEXT_LENGTH: ErrorClass
ERROR_CLASS_INVALID_REQUEST: ErrorClass
ERROR_CLASS_OVERLOADED: ErrorClass
ERROR_CLASS_POLICY: ErrorClass
ERROR_CLASS_PROTOCOL: ErrorClass
ERROR_CLASS_RATE_LIMITED: ErrorClass
ERROR_CLASS_SERVER: ErrorClass
ERROR_CLASS_TIMEOUT: ErrorClass
ERROR_CLASS_UNSPECIFIED: ErrorClass
FINISH_REASON_CONTENT_FILTER: FinishReason
FINISH_REASON_DEGRADED: FinishReason
FINISH_REASON_LENGTH: FinishReason
FINISH_REASON_STOP: FinishReason
FINISH_REASON_TOOL_CALLS: FinishReason
FINISH_REASON_UNSPECIFIED: FinishReason
ROLE_ASSISTANT: Role
ROLE_SYSTEM: Role
ROLE_TOOL: Role
ROLE_UNSPECIFIED: Role
ROLE_USER: Role

class Attempt(_message.Message):
    __slots__ = ["budget_ms", "continues", "error_class", "first_token_ms", "hedge", "latency_ms", "message", "outcome", "redacted", "retry", "retry_after_ms", "retryable", "started_ms", "target", "usage"]
    BUDGET_MS_FIELD_NUMBER: _ClassVar[int]
    CONTINUES_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_MS_FIELD_NUMBER: _ClassVar[int]
    HEDGE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REDACTED_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    STARTED_MS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    budget_ms: float
    continues: bool
    error_class: ErrorClass
    first_token_ms: float
    hedge: bool
    latency_ms: float
    message: str
    outcome: AttemptOutcome
    redacted: int
    retry: int
    retry_after_ms: float
    retryable: bool
    started_ms: float
    target: str
    usage: Usage
    def __init__(self, target: _Optional[str] = ..., outcome: _Optional[_Union[AttemptOutcome, str]] = ..., latency_ms: _Optional[float] = ..., error_class: _Optional[_Union[ErrorClass, str]] = ..., message: _Optional[str] = ..., retryable: bool = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., redacted: _Optional[int] = ..., budget_ms: _Optional[float] = ..., retry: _Optional[int] = ..., hedge: bool = ..., retry_after_ms: _Optional[float] = ..., continues: bool = ..., started_ms: _Optional[float] = ..., first_token_ms: _Optional[float] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ["eligible", "reason", "role", "target"]
    ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    eligible: bool
    reason: str
    role: str
    target: str
    def __init__(self, target: _Optional[str] = ..., eligible: bool = ..., reason: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ["attempts", "call_id", "candidates", "cost_usd", "data_class", "data_class_reason", "declared_data_class", "degrade_rung", "degraded", "dry_run", "escalations", "estimated_cost_usd", "estimated_input_tokens", "findings", "max_tokens", "output_findings", "policy_version", "pool", "quota", "refusal", "route", "rule", "target", "task", "task_inferred", "tenant", "trace_id", "unpriced", "user", "withheld_tools"]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    DATA_CLASS_FIELD_NUMBER: _ClassVar[int]
    DATA_CLASS_REASON_FIELD_NUMBER: _ClassVar[int]
    DECLARED_DATA_CLASS_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    DEGRADE_RUNG_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    ESCALATIONS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_COST_USD_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FINDINGS_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TASK_INFERRED_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    UNPRICED_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_TOOLS_FIELD_NUMBER: _ClassVar[int]
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    call_id: str
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    cost_usd: float
    data_class: str
    data_class_reason: str
    declared_data_class: str
    degrade_rung: str
    degraded: bool
    dry_run: bool
    escalations: _containers.RepeatedScalarFieldContainer[str]
    estimated_cost_usd: float
    estimated_input_tokens: int
    findings: _containers.RepeatedCompositeFieldContainer[FindingSummary]
    max_tokens: int
    output_findings: _containers.RepeatedCompositeFieldContainer[FindingSummary]
    policy_version: str
    pool: str
    quota: str
    refusal: str
    route: str
    rule: str
    target: str
    task: str
    task_inferred: bool
    tenant: str
    trace_id: str
    unpriced: bool
    user: str
    withheld_tools: _containers.RepeatedCompositeFieldContainer[WithheldTool]
    def __init__(self, route: _Optional[str] = ..., rule: _Optional[str] = ..., data_class: _Optional[str] = ..., task: _Optional[str] = ..., policy_version: _Optional[str] = ..., trace_id: _Optional[str] = ..., target: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., degraded: bool = ..., declared_data_class: _Optional[str] = ..., tenant: _Optional[str] = ..., cost_usd: _Optional[float] = ..., max_tokens: _Optional[int] = ..., dry_run: bool = ..., call_id: _Optional[str] = ..., task_inferred: bool = ..., data_class_reason: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[FindingSummary, _Mapping]]] = ..., output_findings: _Optional[_Iterable[_Union[FindingSummary, _Mapping]]] = ..., withheld_tools: _Optional[_Iterable[_Union[WithheldTool, _Mapping]]] = ..., escalations: _Optional[_Iterable[str]] = ..., refusal: _Optional[str] = ..., degrade_rung: _Optional[str] = ..., pool: _Optional[str] = ..., estimated_input_tokens: _Optional[int] = ..., estimated_cost_usd: _Optional[float] = ..., quota: _Optional[str] = ..., unpriced: bool = ..., user: _Optional[str] = ...) -> None: ...

class FindingSummary(_message.Message):
    __slots__ = ["action", "count", "group", "kind", "rule"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    action: str
    count: int
    group: str
    kind: str
    rule: str
    def __init__(self, kind: _Optional[str] = ..., group: _Optional[str] = ..., count: _Optional[int] = ..., action: _Optional[str] = ..., rule: _Optional[str] = ...) -> None: ...

class GenerationParams(_message.Message):
    __slots__ = ["max_tokens", "stop", "temperature", "top_p"]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    max_tokens: int
    stop: _containers.RepeatedScalarFieldContainer[str]
    temperature: float
    top_p: float
    def __init__(self, max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., stop: _Optional[_Iterable[str]] = ..., top_p: _Optional[float] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ["detail", "url"]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    detail: str
    url: str
    def __init__(self, url: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ["content", "images", "name", "role", "tool_call_id", "tool_calls"]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    content: str
    images: _containers.RepeatedCompositeFieldContainer[Image]
    name: str
    role: Role
    tool_call_id: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    def __init__(self, role: _Optional[_Union[Role, str]] = ..., content: _Optional[str] = ..., name: _Optional[str] = ..., tool_call_id: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ...) -> None: ...

class QuotaExceeded(_message.Message):
    __slots__ = ["kind", "limit", "max", "retry_after_ms", "tenant", "used", "user"]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    kind: str
    limit: str
    max: float
    retry_after_ms: float
    tenant: str
    used: float
    user: str
    def __init__(self, limit: _Optional[str] = ..., kind: _Optional[str] = ..., tenant: _Optional[str] = ..., user: _Optional[str] = ..., max: _Optional[float] = ..., used: _Optional[float] = ..., retry_after_ms: _Optional[float] = ...) -> None: ...

class Tool(_message.Message):
    __slots__ = ["description", "name", "parameters"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    description: str
    name: str
    parameters: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ["arguments", "id", "name"]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    arguments: str
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ["cache_write_input_tokens", "cached_input_tokens", "cost_usd", "estimated", "input_tokens", "output_tokens"]
    CACHED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    cache_write_input_tokens: int
    cached_input_tokens: int
    cost_usd: float
    estimated: bool
    input_tokens: int
    output_tokens: int
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., estimated: bool = ..., cached_input_tokens: _Optional[int] = ..., cache_write_input_tokens: _Optional[int] = ...) -> None: ...

class WithheldTool(_message.Message):
    __slots__ = ["name", "reason"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AttemptOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ErrorClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
