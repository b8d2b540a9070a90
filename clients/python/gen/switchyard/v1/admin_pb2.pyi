from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchyard.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

BREAKER_STATE_CLOSED: BreakerState
BREAKER_STATE_HALF_OPEN: BreakerState
BREAKER_STATE_OPEN: BreakerState
BREAKER_STATE_UNSPECIFIED: BreakerState
DESCRIPTOR: _descriptor.FileDescriptor
RELOAD_OUTCOME_APPLIED: ReloadOutcome
RELOAD_OUTCOME_REFUSED: ReloadOutcome
RELOAD_OUTCOME_UNCHANGED: ReloadOutcome
RELOAD_OUTCOME_UNSPECIFIED: ReloadOutcome
TARGET_STATE_AVAILABLE: TargetState
TARGET_STATE_BREAKER_OPEN: TargetState
TARGET_STATE_COOLING: TargetState
TARGET_STATE_DISABLED: TargetState
TARGET_STATE_OUT_OF_SERVICE: TargetState
TARGET_STATE_UNSPECIFIED: TargetState

class CallChange(_message.Message):
    __slots__ = ["after", "before", "what"]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    WHAT_FIELD_NUMBER: _ClassVar[int]
    after: str
    before: str
    what: str
    def __init__(self, what: _Optional[str] = ..., before: _Optional[str] = ..., after: _Optional[str] = ...) -> None: ...

class GetDecisionRequest(_message.Message):
    __slots__ = ["call_id", "trace_id"]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    trace_id: str
    def __init__(self, trace_id: _Optional[str] = ..., call_id: _Optional[str] = ...) -> None: ...

class GetDecisionResponse(_message.Message):
    __slots__ = ["decision", "outcome", "recorded_at", "trace_decisions"]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    TRACE_DECISIONS_FIELD_NUMBER: _ClassVar[int]
    decision: _types_pb2.Decision
    outcome: str
    recorded_at: _timestamp_pb2.Timestamp
    trace_decisions: _containers.RepeatedCompositeFieldContainer[RecordedDecision]
    def __init__(self, decision: _Optional[_Union[_types_pb2.Decision, _Mapping]] = ..., recorded_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., trace_decisions: _Optional[_Iterable[_Union[RecordedDecision, _Mapping]]] = ..., outcome: _Optional[str] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetPolicyResponse(_message.Message):
    __slots__ = ["data_classes", "detection", "last_reload", "loaded_at", "route_rules", "routes", "source", "tenants", "version", "warnings"]
    DATA_CLASSES_FIELD_NUMBER: _ClassVar[int]
    DETECTION_FIELD_NUMBER: _ClassVar[int]
    LAST_RELOAD_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    ROUTE_RULES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TENANTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    data_classes: _containers.RepeatedCompositeFieldContainer[PolicyDataClass]
    detection: _containers.RepeatedCompositeFieldContainer[PolicyDetectRule]
    last_reload: PolicyReload
    loaded_at: _timestamp_pb2.Timestamp
    route_rules: _containers.RepeatedCompositeFieldContainer[PolicyRoute]
    routes: _containers.RepeatedScalarFieldContainer[str]
    source: str
    tenants: _containers.RepeatedScalarFieldContainer[str]
    version: str
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, version: _Optional[str] = ..., source: _Optional[str] = ..., loaded_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., routes: _Optional[_Iterable[str]] = ..., warnings: _Optional[_Iterable[str]] = ..., last_reload: _Optional[_Union[PolicyReload, _Mapping]] = ..., tenants: _Optional[_Iterable[str]] = ..., data_classes: _Optional[_Iterable[_Union[PolicyDataClass, _Mapping]]] = ..., detection: _Optional[_Iterable[_Union[PolicyDetectRule, _Mapping]]] = ..., route_rules: _Optional[_Iterable[_Union[PolicyRoute, _Mapping]]] = ...) -> None: ...

class GetSpendRequest(_message.Message):
    __slots__ = ["bucket_seconds", "since", "tenant", "until", "user"]
    BUCKET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    bucket_seconds: int
    since: _timestamp_pb2.Timestamp
    tenant: str
    until: _timestamp_pb2.Timestamp
    user: str
    def __init__(self, tenant: _Optional[str] = ..., since: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., bucket_seconds: _Optional[int] = ..., user: _Optional[str] = ...) -> None: ...

class GetSpendResponse(_message.Message):
    __slots__ = ["buckets", "calls", "cost_usd", "tenant", "user"]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[SpendBucket]
    calls: int
    cost_usd: float
    tenant: str
    user: str
    def __init__(self, tenant: _Optional[str] = ..., buckets: _Optional[_Iterable[_Union[SpendBucket, _Mapping]]] = ..., cost_usd: _Optional[float] = ..., calls: _Optional[int] = ..., user: _Optional[str] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ["tenant", "user"]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    user: str
    def __init__(self, tenant: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ["limited", "limits", "tenant", "user"]
    LIMITED_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    limited: bool
    limits: _containers.RepeatedCompositeFieldContainer[LimitUsage]
    tenant: str
    user: str
    def __init__(self, tenant: _Optional[str] = ..., user: _Optional[str] = ..., limited: bool = ..., limits: _Optional[_Iterable[_Union[LimitUsage, _Mapping]]] = ...) -> None: ...

class LatencyPercentiles(_message.Message):
    __slots__ = ["p50_ms", "p95_ms", "p99_ms", "samples"]
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P95_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    samples: int
    def __init__(self, p50_ms: _Optional[float] = ..., p95_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ..., samples: _Optional[int] = ...) -> None: ...

class LimitUsage(_message.Message):
    __slots__ = ["kind", "limit", "max", "remaining", "resets_in_ms", "used"]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    RESETS_IN_MS_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    kind: str
    limit: str
    max: float
    remaining: float
    resets_in_ms: float
    used: float
    def __init__(self, limit: _Optional[str] = ..., kind: _Optional[str] = ..., max: _Optional[float] = ..., used: _Optional[float] = ..., remaining: _Optional[float] = ..., resets_in_ms: _Optional[float] = ...) -> None: ...

class ListDecisionsRequest(_message.Message):
    __slots__ = ["limit", "route", "since", "target", "tenant", "until", "user"]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    limit: int
    route: str
    since: _timestamp_pb2.Timestamp
    target: str
    tenant: str
    until: _timestamp_pb2.Timestamp
    user: str
    def __init__(self, tenant: _Optional[str] = ..., route: _Optional[str] = ..., since: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[int] = ..., target: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class ListDecisionsResponse(_message.Message):
    __slots__ = ["decisions", "truncated"]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[RecordedDecision]
    truncated: bool
    def __init__(self, decisions: _Optional[_Iterable[_Union[RecordedDecision, _Mapping]]] = ..., truncated: bool = ...) -> None: ...

class ListTargetsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListTargetsResponse(_message.Message):
    __slots__ = ["targets"]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedCompositeFieldContainer[TargetStatus]
    def __init__(self, targets: _Optional[_Iterable[_Union[TargetStatus, _Mapping]]] = ...) -> None: ...

class PolicyDataClass(_message.Message):
    __slots__ = ["may_leave", "name", "regions"]
    MAY_LEAVE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    may_leave: bool
    name: str
    regions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., may_leave: bool = ..., regions: _Optional[_Iterable[str]] = ...) -> None: ...

class PolicyDetectRule(_message.Message):
    __slots__ = ["action", "kind", "redaction_form", "source"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REDACTION_FORM_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    action: str
    kind: str
    redaction_form: str
    source: str
    def __init__(self, kind: _Optional[str] = ..., action: _Optional[str] = ..., redaction_form: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class PolicyIssue(_message.Message):
    __slots__ = ["message", "path"]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    message: str
    path: str
    def __init__(self, path: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class PolicyReload(_message.Message):
    __slots__ = ["at", "issues", "outcome", "trigger", "version"]
    AT_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    issues: _containers.RepeatedScalarFieldContainer[str]
    outcome: ReloadOutcome
    trigger: str
    version: str
    def __init__(self, at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., trigger: _Optional[str] = ..., outcome: _Optional[_Union[ReloadOutcome, str]] = ..., version: _Optional[str] = ..., issues: _Optional[_Iterable[str]] = ...) -> None: ...

class PolicyRoute(_message.Message):
    __slots__ = ["data_classes", "name", "rule"]
    DATA_CLASSES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    data_classes: _containers.RepeatedScalarFieldContainer[str]
    name: str
    rule: str
    def __init__(self, name: _Optional[str] = ..., rule: _Optional[str] = ..., data_classes: _Optional[_Iterable[str]] = ...) -> None: ...

class RecordedDecision(_message.Message):
    __slots__ = ["decision", "outcome", "recorded_at"]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    decision: _types_pb2.Decision
    outcome: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, decision: _Optional[_Union[_types_pb2.Decision, _Mapping]] = ..., recorded_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[str] = ...) -> None: ...

class ReplayPolicyRequest(_message.Message):
    __slots__ = ["fail_on", "limit", "policy_yaml", "route", "since", "tenant", "until"]
    FAIL_ON_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    POLICY_YAML_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    fail_on: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    policy_yaml: str
    route: str
    since: _timestamp_pb2.Timestamp
    tenant: str
    until: _timestamp_pb2.Timestamp
    def __init__(self, policy_yaml: _Optional[str] = ..., since: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., tenant: _Optional[str] = ..., route: _Optional[str] = ..., limit: _Optional[int] = ..., fail_on: _Optional[_Iterable[str]] = ...) -> None: ...

class ReplayPolicyResponse(_message.Message):
    __slots__ = ["calls", "issues", "totals", "truncated", "valid", "version", "violations", "warnings"]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    calls: _containers.RepeatedCompositeFieldContainer[ReplayedCall]
    issues: _containers.RepeatedCompositeFieldContainer[PolicyIssue]
    totals: ReplayTotals
    truncated: bool
    valid: bool
    version: str
    violations: _containers.RepeatedCompositeFieldContainer[ReplayViolation]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, valid: bool = ..., issues: _Optional[_Iterable[_Union[PolicyIssue, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ..., version: _Optional[str] = ..., calls: _Optional[_Iterable[_Union[ReplayedCall, _Mapping]]] = ..., totals: _Optional[_Union[ReplayTotals, _Mapping]] = ..., violations: _Optional[_Iterable[_Union[ReplayViolation, _Mapping]]] = ..., truncated: bool = ...) -> None: ...

class ReplayTotals(_message.Message):
    __slots__ = ["changed", "changed_by_kind", "estimated_cost_after_usd", "estimated_cost_before_usd", "not_replayable", "replayed"]
    class ChangedByKindEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CHANGED_BY_KIND_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_COST_AFTER_USD_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_COST_BEFORE_USD_FIELD_NUMBER: _ClassVar[int]
    NOT_REPLAYABLE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    changed: int
    changed_by_kind: _containers.ScalarMap[str, int]
    estimated_cost_after_usd: float
    estimated_cost_before_usd: float
    not_replayable: int
    replayed: int
    def __init__(self, replayed: _Optional[int] = ..., changed: _Optional[int] = ..., changed_by_kind: _Optional[_Mapping[str, int]] = ..., not_replayable: _Optional[int] = ..., estimated_cost_before_usd: _Optional[float] = ..., estimated_cost_after_usd: _Optional[float] = ...) -> None: ...

class ReplayViolation(_message.Message):
    __slots__ = ["call_ids", "detail", "rule"]
    CALL_IDS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    call_ids: _containers.RepeatedScalarFieldContainer[str]
    detail: str
    rule: str
    def __init__(self, rule: _Optional[str] = ..., detail: _Optional[str] = ..., call_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ReplayedCall(_message.Message):
    __slots__ = ["call_id", "changes", "gained_hosted", "recorded_at", "tenant", "trace_id"]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    GAINED_HOSTED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    changes: _containers.RepeatedCompositeFieldContainer[CallChange]
    gained_hosted: _containers.RepeatedScalarFieldContainer[str]
    recorded_at: _timestamp_pb2.Timestamp
    tenant: str
    trace_id: str
    def __init__(self, call_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., tenant: _Optional[str] = ..., recorded_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., changes: _Optional[_Iterable[_Union[CallChange, _Mapping]]] = ..., gained_hosted: _Optional[_Iterable[str]] = ...) -> None: ...

class ReturnTargetToServiceRequest(_message.Message):
    __slots__ = ["target"]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    target: str
    def __init__(self, target: _Optional[str] = ...) -> None: ...

class ReturnTargetToServiceResponse(_message.Message):
    __slots__ = ["target", "was_out_of_service"]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    WAS_OUT_OF_SERVICE_FIELD_NUMBER: _ClassVar[int]
    target: TargetStatus
    was_out_of_service: bool
    def __init__(self, target: _Optional[_Union[TargetStatus, _Mapping]] = ..., was_out_of_service: bool = ...) -> None: ...

class SpendBucket(_message.Message):
    __slots__ = ["calls", "cost_usd", "start"]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    calls: int
    cost_usd: float
    start: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cost_usd: _Optional[float] = ..., calls: _Optional[int] = ...) -> None: ...

class TakeTargetOutOfServiceRequest(_message.Message):
    __slots__ = ["reason", "target"]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    reason: str
    target: str
    def __init__(self, target: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class TakeTargetOutOfServiceResponse(_message.Message):
    __slots__ = ["target"]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    target: TargetStatus
    def __init__(self, target: _Optional[_Union[TargetStatus, _Mapping]] = ...) -> None: ...

class TargetStatus(_message.Message):
    __slots__ = ["attempt", "breaker", "breaker_since", "cooled_until", "first_token", "hosted", "in_flight", "input_usd_per_mtok", "kind", "latency_ms", "model", "output_usd_per_mtok", "p95_first_token_ms", "provider", "reason", "recent_calls", "recent_failure_rate", "region", "state", "target"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    BREAKER_SINCE_FIELD_NUMBER: _ClassVar[int]
    COOLED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HOSTED_FIELD_NUMBER: _ClassVar[int]
    INPUT_USD_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_USD_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    P95_FIRST_TOKEN_MS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECENT_CALLS_FIELD_NUMBER: _ClassVar[int]
    RECENT_FAILURE_RATE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    attempt: LatencyPercentiles
    breaker: BreakerState
    breaker_since: _timestamp_pb2.Timestamp
    cooled_until: _timestamp_pb2.Timestamp
    first_token: LatencyPercentiles
    hosted: bool
    in_flight: int
    input_usd_per_mtok: float
    kind: str
    latency_ms: float
    model: str
    output_usd_per_mtok: float
    p95_first_token_ms: float
    provider: str
    reason: str
    recent_calls: int
    recent_failure_rate: float
    region: str
    state: TargetState
    target: str
    def __init__(self, target: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., kind: _Optional[str] = ..., hosted: bool = ..., region: _Optional[str] = ..., state: _Optional[_Union[TargetState, str]] = ..., reason: _Optional[str] = ..., input_usd_per_mtok: _Optional[float] = ..., output_usd_per_mtok: _Optional[float] = ..., breaker: _Optional[_Union[BreakerState, str]] = ..., breaker_since: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., recent_failure_rate: _Optional[float] = ..., recent_calls: _Optional[int] = ..., cooled_until: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., in_flight: _Optional[int] = ..., latency_ms: _Optional[float] = ..., p95_first_token_ms: _Optional[float] = ..., first_token: _Optional[_Union[LatencyPercentiles, _Mapping]] = ..., attempt: _Optional[_Union[LatencyPercentiles, _Mapping]] = ...) -> None: ...

class ReloadOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class TargetState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BreakerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
