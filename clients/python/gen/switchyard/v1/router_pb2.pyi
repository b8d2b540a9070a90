from switchyard.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

BUDGET_STEP_FIRST_TOKEN: BudgetStep
BUDGET_STEP_TOKEN_GAP: BudgetStep
BUDGET_STEP_TOTAL: BudgetStep
BUDGET_STEP_UNSPECIFIED: BudgetStep
DESCRIPTOR: _descriptor.FileDescriptor

class BudgetEvent(_message.Message):
    __slots__ = ["elapsed_ms", "exceeded", "limit_ms", "step"]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    EXCEEDED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_MS_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    elapsed_ms: float
    exceeded: bool
    limit_ms: float
    step: BudgetStep
    def __init__(self, step: _Optional[_Union[BudgetStep, str]] = ..., elapsed_ms: _Optional[float] = ..., limit_ms: _Optional[float] = ..., exceeded: bool = ...) -> None: ...

class ClassifyRequest(_message.Message):
    __slots__ = ["approved_tools", "data_class", "eval", "labels", "messages", "params", "task", "tenant", "tools", "user"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    APPROVED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    DATA_CLASS_FIELD_NUMBER: _ClassVar[int]
    EVAL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    approved_tools: _containers.RepeatedScalarFieldContainer[str]
    data_class: str
    eval: bool
    labels: _containers.ScalarMap[str, str]
    messages: _containers.RepeatedCompositeFieldContainer[_types_pb2.Message]
    params: _types_pb2.GenerationParams
    task: str
    tenant: str
    tools: _containers.RepeatedCompositeFieldContainer[_types_pb2.Tool]
    user: str
    def __init__(self, messages: _Optional[_Iterable[_Union[_types_pb2.Message, _Mapping]]] = ..., task: _Optional[str] = ..., data_class: _Optional[str] = ..., tenant: _Optional[str] = ..., user: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., params: _Optional[_Union[_types_pb2.GenerationParams, _Mapping]] = ..., tools: _Optional[_Iterable[_Union[_types_pb2.Tool, _Mapping]]] = ..., eval: bool = ..., approved_tools: _Optional[_Iterable[str]] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ["data_class", "decision", "entities", "task"]
    DATA_CLASS_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    data_class: str
    decision: _types_pb2.Decision
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    task: str
    def __init__(self, task: _Optional[str] = ..., data_class: _Optional[str] = ..., entities: _Optional[_Iterable[_Union[Entity, _Mapping]]] = ..., decision: _Optional[_Union[_types_pb2.Decision, _Mapping]] = ...) -> None: ...

class Delta(_message.Message):
    __slots__ = ["content", "tool_calls"]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    content: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCallDelta]
    def __init__(self, content: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCallDelta, _Mapping]]] = ...) -> None: ...

class Done(_message.Message):
    __slots__ = ["decision", "finish_reason", "usage"]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    decision: _types_pb2.Decision
    finish_reason: _types_pb2.FinishReason
    usage: _types_pb2.Usage
    def __init__(self, finish_reason: _Optional[_Union[_types_pb2.FinishReason, str]] = ..., usage: _Optional[_Union[_types_pb2.Usage, _Mapping]] = ..., decision: _Optional[_Union[_types_pb2.Decision, _Mapping]] = ...) -> None: ...

class Entity(_message.Message):
    __slots__ = ["end", "field", "group", "kind", "message_index", "score", "start"]
    END_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_INDEX_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    end: int
    field: str
    group: str
    kind: str
    message_index: int
    score: float
    start: int
    def __init__(self, kind: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., score: _Optional[float] = ..., group: _Optional[str] = ..., message_index: _Optional[int] = ..., field: _Optional[str] = ...) -> None: ...

class RouteRequest(_message.Message):
    __slots__ = ["approved_tools", "data_class", "eval", "labels", "messages", "params", "task", "tenant", "tools", "user"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    APPROVED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    DATA_CLASS_FIELD_NUMBER: _ClassVar[int]
    EVAL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    approved_tools: _containers.RepeatedScalarFieldContainer[str]
    data_class: str
    eval: bool
    labels: _containers.ScalarMap[str, str]
    messages: _containers.RepeatedCompositeFieldContainer[_types_pb2.Message]
    params: _types_pb2.GenerationParams
    task: str
    tenant: str
    tools: _containers.RepeatedCompositeFieldContainer[_types_pb2.Tool]
    user: str
    def __init__(self, messages: _Optional[_Iterable[_Union[_types_pb2.Message, _Mapping]]] = ..., task: _Optional[str] = ..., data_class: _Optional[str] = ..., tenant: _Optional[str] = ..., user: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., params: _Optional[_Union[_types_pb2.GenerationParams, _Mapping]] = ..., tools: _Optional[_Iterable[_Union[_types_pb2.Tool, _Mapping]]] = ..., eval: bool = ..., approved_tools: _Optional[_Iterable[str]] = ...) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ["decision", "finish_reason", "message", "usage"]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    decision: _types_pb2.Decision
    finish_reason: _types_pb2.FinishReason
    message: _types_pb2.Message
    usage: _types_pb2.Usage
    def __init__(self, message: _Optional[_Union[_types_pb2.Message, _Mapping]] = ..., finish_reason: _Optional[_Union[_types_pb2.FinishReason, str]] = ..., usage: _Optional[_Union[_types_pb2.Usage, _Mapping]] = ..., decision: _Optional[_Union[_types_pb2.Decision, _Mapping]] = ...) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ["approved_tools", "data_class", "eval", "labels", "messages", "params", "task", "tenant", "tools", "user"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    APPROVED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    DATA_CLASS_FIELD_NUMBER: _ClassVar[int]
    EVAL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    approved_tools: _containers.RepeatedScalarFieldContainer[str]
    data_class: str
    eval: bool
    labels: _containers.ScalarMap[str, str]
    messages: _containers.RepeatedCompositeFieldContainer[_types_pb2.Message]
    params: _types_pb2.GenerationParams
    task: str
    tenant: str
    tools: _containers.RepeatedCompositeFieldContainer[_types_pb2.Tool]
    user: str
    def __init__(self, messages: _Optional[_Iterable[_Union[_types_pb2.Message, _Mapping]]] = ..., task: _Optional[str] = ..., data_class: _Optional[str] = ..., tenant: _Optional[str] = ..., user: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., params: _Optional[_Union[_types_pb2.GenerationParams, _Mapping]] = ..., tools: _Optional[_Iterable[_Union[_types_pb2.Tool, _Mapping]]] = ..., eval: bool = ..., approved_tools: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamResponse(_message.Message):
    __slots__ = ["attempt", "budget", "decision", "delta", "done"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    attempt: _types_pb2.Attempt
    budget: BudgetEvent
    decision: _types_pb2.Decision
    delta: Delta
    done: Done
    def __init__(self, decision: _Optional[_Union[_types_pb2.Decision, _Mapping]] = ..., delta: _Optional[_Union[Delta, _Mapping]] = ..., attempt: _Optional[_Union[_types_pb2.Attempt, _Mapping]] = ..., budget: _Optional[_Union[BudgetEvent, _Mapping]] = ..., done: _Optional[_Union[Done, _Mapping]] = ...) -> None: ...

class ToolCallDelta(_message.Message):
    __slots__ = ["arguments_delta", "id", "index", "name"]
    ARGUMENTS_DELTA_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    arguments_delta: str
    id: str
    index: int
    name: str
    def __init__(self, index: _Optional[int] = ..., id: _Optional[str] = ..., name: _Optional[str] = ..., arguments_delta: _Optional[str] = ...) -> None: ...

class BudgetStep(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
