import { create, createFileRegistry, type DescMessage, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { protoCamelCase } from "@bufbuild/protobuf/reflect";
import {
  AnySchema,
  BytesValueSchema,
  DurationSchema,
  type FieldDescriptorProto,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  FieldMaskSchema,
  FileDescriptorProtoSchema,
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  Int64ValueSchema,
  ListValueSchema,
  StructSchema,
  TimestampSchema,
  UninterpretedOptionSchema,
  ValueSchema,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { GetDecisionRequestSchema } from "../../../gen/switchyard/v1/admin_pb.js";
import { RouteRequestSchema, StreamRequestSchema } from "../../../gen/switchyard/v1/router_pb.js";
import {
  findJsonRequestError,
  formatJsonRequestError,
  type JsonRequestError,
} from "../../../src/server/transport/json-request-errors.js";

/** What the server does with a parsed body: protobuf-es' own decoder, unknown fields refused. */
function decodes(schema: DescMessage, json: unknown): boolean {
  try {
    fromJson(schema, json as JsonValue, { ignoreUnknownFields: false });
    return true;
  } catch {
    return false;
  }
}

function errorOf(schema: DescMessage, json: unknown): string | undefined {
  const error = findJsonRequestError(schema, json);
  return error === undefined ? undefined : formatJsonRequestError(error);
}

// A message with every kind of field the JSON mapping knows, for what Switchyard's own requests
// do not have (64-bit integers, bytes, oneofs, integer and bool map keys, well-known types).
const T = FieldDescriptorProto_Type;
const REPEATED = FieldDescriptorProto_Label.REPEATED;

function field(name: string, number: number, type: FieldDescriptorProto_Type, more: object = {}) {
  return {
    name,
    number,
    type,
    label: FieldDescriptorProto_Label.OPTIONAL,
    jsonName: protoCamelCase(name),
    ...more,
  };
}
const message = (name: string, number: number, typeName: string, more: object = {}) =>
  field(name, number, T.MESSAGE, { typeName, ...more });
const mapField = (name: string, number: number, entry: string) =>
  field(name, number, T.MESSAGE, { label: REPEATED, typeName: `.probe.v1.Probe.${entry}` });
const mapEntry = (name: string, key: FieldDescriptorProto_Type, value: Partial<FieldDescriptorProto>) => ({
  name,
  field: [field("key", 1, key), { ...field("value", 2, T.STRING), ...value }],
  options: { mapEntry: true },
});

const probeFile = create(FileDescriptorProtoSchema, {
  name: "probe/v1/probe.proto",
  package: "probe.v1",
  syntax: "proto3",
  dependency: [
    "google/protobuf/any.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/wrappers.proto",
  ],
  enumType: [
    {
      name: "Color",
      value: [
        { name: "COLOR_UNSPECIFIED", number: 0 },
        { name: "COLOR_RED", number: 1 },
        { name: "COLOR_GREEN", number: 2 },
      ],
    },
  ],
  messageType: [
    {
      name: "Probe",
      field: [
        field("i32", 1, T.INT32),
        field("s32", 2, T.SINT32),
        field("u32", 3, T.UINT32),
        field("f32", 4, T.FIXED32),
        field("i64", 5, T.INT64),
        field("u64", 6, T.UINT64),
        field("s64", 7, T.SINT64),
        field("f64", 8, T.FIXED64),
        field("sf64", 9, T.SFIXED64),
        field("flt", 10, T.FLOAT),
        field("dbl", 11, T.DOUBLE),
        field("flag", 12, T.BOOL),
        field("text", 13, T.STRING),
        field("data", 14, T.BYTES),
        field("color", 15, T.ENUM, { typeName: ".probe.v1.Color" }),
        field("nums", 16, T.INT32, { label: REPEATED }),
        field("colors", 17, T.ENUM, { label: REPEATED, typeName: ".probe.v1.Color" }),
        message("children", 18, ".probe.v1.Probe", { label: REPEATED }),
        message("values", 19, ".google.protobuf.Value", { label: REPEATED }),
        message("wrapped", 20, ".google.protobuf.Int32Value", { label: REPEATED }),
        mapField("by_int32", 21, "ByInt32Entry"),
        mapField("by_int64", 22, "ByInt64Entry"),
        mapField("by_uint64", 23, "ByUint64Entry"),
        mapField("by_bool", 24, "ByBoolEntry"),
        mapField("by_name", 25, "ByNameEntry"),
        mapField("color_by_name", 26, "ColorByNameEntry"),
        mapField("child_by_name", 27, "ChildByNameEntry"),
        mapField("bytes_by_name", 28, "BytesByNameEntry"),
        field("word", 29, T.STRING, { oneofIndex: 0 }),
        message("nested", 30, ".probe.v1.Probe", { oneofIndex: 0 }),
        field("tint", 31, T.ENUM, { typeName: ".probe.v1.Color", oneofIndex: 0 }),
        field("count", 32, T.INT64, { oneofIndex: 0 }),
        message("at", 33, ".google.protobuf.Timestamp"),
        message("span", 34, ".google.protobuf.Duration"),
        message("mask", 35, ".google.protobuf.FieldMask"),
        message("meta", 36, ".google.protobuf.Struct"),
        message("anything", 37, ".google.protobuf.Value"),
        message("list", 38, ".google.protobuf.ListValue"),
        message("packed", 39, ".google.protobuf.Any"),
        message("big", 40, ".google.protobuf.Int64Value"),
        message("small", 41, ".google.protobuf.UInt32Value"),
        message("blob", 42, ".google.protobuf.BytesValue"),
        message("label", 43, ".google.protobuf.StringValue"),
        message("ratio", 44, ".google.protobuf.FloatValue"),
        field("nothing", 45, T.ENUM, { typeName: ".google.protobuf.NullValue" }),
        message("child", 46, ".probe.v1.Probe"),
        field("sf32", 47, T.SFIXED32),
        // A custom json_name: both it and the proto name are accepted.
        field("renamed", 48, T.STRING, { jsonName: "alias" }),
        field("maybe", 49, T.STRING, { oneofIndex: 1, proto3Optional: true }),
      ],
      nestedType: [
        mapEntry("ByInt32Entry", T.INT32, {}),
        mapEntry("ByInt64Entry", T.INT64, {}),
        mapEntry("ByUint64Entry", T.UINT64, {}),
        mapEntry("ByBoolEntry", T.BOOL, {}),
        mapEntry("ByNameEntry", T.STRING, { type: T.MESSAGE, typeName: ".google.protobuf.Value" }),
        mapEntry("ColorByNameEntry", T.STRING, { type: T.ENUM, typeName: ".probe.v1.Color" }),
        mapEntry("ChildByNameEntry", T.STRING, { type: T.MESSAGE, typeName: ".probe.v1.Probe" }),
        mapEntry("BytesByNameEntry", T.STRING, { type: T.BYTES }),
      ],
      oneofDecl: [{ name: "choice" }, { name: "_maybe" }],
    },
  ],
});
const wkts = [
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
];
const ProbeSchema = (() => {
  const registry = createFileRegistry(probeFile, (name) => wkts.find((file) => file.proto.name === name));
  const desc = registry.getMessage("probe.v1.Probe");
  if (desc === undefined) throw new Error("probe.v1.Probe did not build");
  return desc;
})();

/** A Probe with every field set to something valid. */
const VALID_PROBE = {
  i32: -5,
  s32: "7",
  u32: 4294967295,
  f32: 1e3,
  i64: "-9223372036854775808",
  u64: "18446744073709551615",
  s64: 12,
  f64: "0",
  sf64: -1,
  flt: 1.5,
  dbl: "-Infinity",
  flag: true,
  text: "hé",
  data: "aGk=",
  color: "COLOR_RED",
  nums: [1, "2", 3],
  colors: ["COLOR_GREEN", 1],
  children: [{ text: "a" }, { children: [{ i32: 1 }] }],
  values: [null, 1, "x", { a: [true] }],
  wrapped: [1, "2"],
  byInt32: { "1": "a", "-2": "b" },
  byInt64: { "9223372036854775807": "a" },
  byUint64: { "18446744073709551615": "a" },
  byBool: { true: "a", false: "b" },
  byName: { a: null, b: { c: [1] } },
  colorByName: { a: "COLOR_RED", b: 2 },
  childByName: { a: { flag: false } },
  bytesByName: { a: "-_8" },
  word: "w",
  at: "2025-01-31T12:00:00.5+01:00",
  span: "-1.25s",
  mask: "a.b,cD",
  meta: { x: [1, { y: null }] },
  anything: [1, "a"],
  list: [null, {}],
  packed: {},
  big: "-3",
  small: 3,
  blob: "AAAA",
  label: "l",
  ratio: "NaN",
  nothing: null,
  child: { u32: 1, child: { color: 2 } },
  sf32: -1,
  alias: "r",
  maybe: "m",
};

const VALID_ROUTE = {
  messages: [
    { role: "ROLE_SYSTEM", content: "be brief" },
    {
      role: "ROLE_ASSISTANT",
      content: "",
      toolCalls: [{ id: "c1", name: "lookup", arguments: "{}" }],
    },
    { role: "ROLE_TOOL", toolCallId: "c1", content: "42", name: "lookup" },
  ],
  task: "chat",
  dataClass: "public",
  tenant: "acme",
  user: "u1",
  labels: { team: "search" },
  params: { maxTokens: 256, temperature: 0.2, stop: ["END"], topP: 1 },
  tools: [{ name: "lookup", description: "find", parameters: { type: "object", properties: { q: {} } } }],
  eval: false,
};

describe("findJsonRequestError", () => {
  describe("on Switchyard's requests", () => {
    it("finds nothing wrong with a request that decodes, by JSON names or proto names", () => {
      expect(findJsonRequestError(RouteRequestSchema, VALID_ROUTE)).toBeUndefined();
      expect(findJsonRequestError(StreamRequestSchema, VALID_ROUTE)).toBeUndefined();
      const snake = {
        messages: [{ role: 4, tool_call_id: "c1", tool_calls: [] }],
        data_class: "public",
        params: { max_tokens: "12", top_p: "0.5", temperature: "NaN" },
      };
      expect(findJsonRequestError(RouteRequestSchema, snake)).toBeUndefined();
      expect(
        findJsonRequestError(GetDecisionRequestSchema, { traceId: "0af7651916cd43dd8448eb211c80319c" }),
      ).toBe(undefined);
    });

    it("names the field by its JSON path, as the caller wrote it", () => {
      const cases: [unknown, string][] = [
        [
          { params: { maxTokens: -1 } },
          "params.maxTokens: must be a whole number from 0 to 4294967295, got -1",
        ],
        [
          { params: { max_tokens: 4294967296 } },
          "params.max_tokens: must be a whole number from 0 to 4294967295, got 4294967296",
        ],
        [
          { params: { maxTokens: 1.5 } },
          "params.maxTokens: must be a whole number from 0 to 4294967295, got 1.5",
        ],
        [
          { messages: [{}, {}, { rol: "ROLE_USER" }] },
          'messages[2].rol: unknown field (did you mean "role"?)',
        ],
        [{ labels: { team: 1 } }, 'labels["team"]: expected a string, got 1'],
        [
          { messages: [{ role: "ROLE_USR" }] },
          'messages[0].role: unknown value "ROLE_USR" (valid: ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL; did you mean "ROLE_USER"?)',
        ],
        [
          { messages: [{ role: "user" }] },
          'messages[0].role: unknown value "user" (valid: ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL; did you mean "ROLE_USER"?)',
        ],
        [
          { messages: [{ role: true }] },
          "messages[0].role: expected a value name (ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL) or its number, got true",
        ],
        [
          { messages: [{ toolCalls: [{ id: "a", arguments: { q: 1 } }] }] },
          "messages[0].toolCalls[0].arguments: expected a string, got an object",
        ],
        [{ dataClas: "pii" }, 'dataClas: unknown field (did you mean "dataClass"?)'],
        [{ data_clas: "pii" }, 'data_clas: unknown field (did you mean "dataClass"?)'],
        [{ budget: 1 }, "budget: unknown field"],
        [
          { messages: [{ role: "bot" }] },
          'messages[0].role: unknown value "bot" (valid: ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL)',
        ],
        [{ params: { stop: "END" } }, 'params.stop: expected an array, got "END"'],
        [{ params: { stop: ["a", 1] } }, "params.stop[1]: expected a string, got 1"],
        [
          { params: { temperature: "hot" } },
          'params.temperature: expected a number (or "NaN", "Infinity", "-Infinity"), got "hot"',
        ],
        [{ eval: "true" }, 'eval: expected true or false, got "true"'],
        [{ tools: [{ parameters: [] }] }, "tools[0].parameters: expected an object, got an array"],
        [{ labels: ["team"] }, "labels: expected an object, got an array"],
        [{ messages: {} }, "messages: expected an array, got an object"],
        [{ params: 5 }, "params: expected an object, got 5"],
      ];
      for (const [json, expected] of cases) {
        expect(decodes(RouteRequestSchema, json)).toBe(false);
        expect(errorOf(RouteRequestSchema, json)).toBe(expected);
      }
      expect(errorOf(GetDecisionRequestSchema, { traceId: 5 })).toBe("traceId: expected a string, got 5");
    });

    it("refuses a request that is not an object, with an empty path", () => {
      for (const json of [[], null, "hi", 1, true])
        expect(findJsonRequestError(RouteRequestSchema, json)?.path).toBe("");
      expect(findJsonRequestError(RouteRequestSchema, [])).toEqual({
        path: "",
        reason: "expected an object, got an array",
      });
      expect(errorOf(RouteRequestSchema, "hi")).toBe('expected an object, got "hi"');
    });

    it("refuses a field set by both of its names", () => {
      expect(errorOf(RouteRequestSchema, { dataClass: "a", data_class: "b" })).toBe(
        'data_class: same field as "dataClass"; set it once',
      );
      expect(errorOf(RouteRequestSchema, { data_class: null, dataClass: "b" })).toBe(
        'dataClass: same field as "data_class"; set it once',
      );
    });

    it("takes null as unset for a field, but not as a list item or map value", () => {
      const unset = {
        messages: null,
        task: null,
        labels: null,
        params: null,
        eval: null,
        tools: [{ parameters: null }],
      };
      expect(findJsonRequestError(RouteRequestSchema, unset)).toBeUndefined();
      expect(errorOf(RouteRequestSchema, { messages: [null] })).toBe(
        "messages[0]: null is not allowed in a list",
      );
      expect(errorOf(RouteRequestSchema, { params: { stop: [null] } })).toBe(
        "params.stop[0]: null is not allowed in a list",
      );
      expect(errorOf(RouteRequestSchema, { labels: { team: null } })).toBe(
        'labels["team"]: null is not allowed as a map value',
      );
    });

    it("takes any JSON in a google.protobuf.Struct", () => {
      const parameters = { type: "object", n: 1.5, nested: [null, [true, { deep: "x" }]], empty: {} };
      expect(findJsonRequestError(RouteRequestSchema, { tools: [{ parameters }] })).toBeUndefined();
    });
  });

  describe("on scalars, enums, maps, oneofs and well-known types", () => {
    it("finds nothing wrong with a message that uses every kind of field", () => {
      expect(decodes(ProbeSchema, VALID_PROBE)).toBe(true);
      expect(findJsonRequestError(ProbeSchema, VALID_PROBE)).toBeUndefined();
    });

    it("says the range of 64-bit integers, taken as numbers or strings", () => {
      expect(errorOf(ProbeSchema, { i64: "9223372036854775808" })).toBe(
        'i64: must be a whole number from -9223372036854775808 to 9223372036854775807, got "9223372036854775808"',
      );
      expect(errorOf(ProbeSchema, { u64: -1 })).toBe(
        "u64: must be a whole number from 0 to 18446744073709551615, got -1",
      );
      expect(errorOf(ProbeSchema, { f64: "1.5" })).toBe(
        'f64: must be a whole number from 0 to 18446744073709551615, got "1.5"',
      );
      expect(errorOf(ProbeSchema, { s32: "2147483648" })).toBe(
        's32: must be a whole number from -2147483648 to 2147483647, got "2147483648"',
      );
    });

    it("takes floats as numbers, numeric strings or the three special strings, within float32 range", () => {
      expect(findJsonRequestError(ProbeSchema, { flt: "Infinity", dbl: "1e308" })).toBeUndefined();
      expect(errorOf(ProbeSchema, { flt: 1e39 })).toBe(
        "flt: out of range for a 32-bit float (largest ±3.4028235e38), got 1e+39",
      );
      expect(errorOf(ProbeSchema, { dbl: " 1" })).toBe(
        'dbl: expected a number (or "NaN", "Infinity", "-Infinity"), got " 1"',
      );
    });

    it("takes bytes as base64 or base64url", () => {
      expect(findJsonRequestError(ProbeSchema, { data: "-_-_", blob: "+/+/", bytesByName: { a: "" } })).toBe(
        undefined,
      );
      expect(errorOf(ProbeSchema, { data: "a*b" })).toBe('data: expected base64 or base64url, got "a*b"');
      expect(errorOf(ProbeSchema, { bytesByName: { k: 1 } })).toBe(
        'bytesByName["k"]: expected base64 or base64url, got 1',
      );
    });

    it("refuses a string that is not valid UTF-8", () => {
      expect(errorOf(ProbeSchema, { text: "a\uD800" })).toBe(
        "text: not valid UTF-8 (contains an unpaired surrogate)",
      );
    });

    it("checks integer and bool map keys, and keys that are one key once read", () => {
      expect(errorOf(ProbeSchema, { byInt32: { x: "a" } })).toBe(
        'byInt32["x"]: invalid key: must be a whole number from -2147483648 to 2147483647',
      );
      expect(errorOf(ProbeSchema, { byUint64: { "-1": "a" } })).toBe(
        'byUint64["-1"]: invalid key: must be a whole number from 0 to 18446744073709551615',
      );
      expect(errorOf(ProbeSchema, { byBool: { yes: "a" } })).toBe(
        'byBool["yes"]: invalid key: must be "true" or "false"',
      );
      expect(errorOf(ProbeSchema, { byInt32: { "1": "a", "1.0": "b" } })).toBe(
        'byInt32["1.0"]: duplicate key: same as "1"',
      );
      expect(errorOf(ProbeSchema, { byInt64: { "7": "a", "007": "b" } })).toBe(
        'byInt64["007"]: duplicate key: same as "7"',
      );
    });

    it("names enum values, and refuses numbers a closed enum does not declare", () => {
      expect(errorOf(ProbeSchema, { colors: ["COLOR_RED", "color_gren"] })).toBe(
        'colors[1]: unknown value "color_gren" (valid: COLOR_RED, COLOR_GREEN; did you mean "COLOR_GREEN"?)',
      );
      expect(errorOf(ProbeSchema, { color: 2147483648 })).toBe(
        "color: must be a whole number from -2147483648 to 2147483647, got 2147483648",
      );
      // Proto3 enums are open: an undeclared number is kept.
      expect(findJsonRequestError(ProbeSchema, { color: 7 })).toBeUndefined();
      expect(errorOf(FieldDescriptorProtoSchema, { name: "f", type: 99 })).toMatch(
        /^type: unknown value 99 \(valid: TYPE_DOUBLE, TYPE_FLOAT, .*, TYPE_SINT64\)$/,
      );
    });

    it("allows one member of a oneof, a null scalar member not counting", () => {
      expect(errorOf(ProbeSchema, { word: "a", count: "1" })).toBe(
        'count: conflicts with "word": only one of word, nested, tint, count may be set',
      );
      expect(findJsonRequestError(ProbeSchema, { word: null, count: "1" })).toBeUndefined();
      // protobuf-es counts a null message or enum member as set; agreeing with it.
      expect(errorOf(ProbeSchema, { nested: null, count: "1" })).toBe(
        'count: conflicts with "nested": only one of word, nested, tint, count may be set',
      );
      // A proto3 `optional` field is not a oneof for the caller.
      expect(findJsonRequestError(ProbeSchema, { maybe: "m", word: "w" })).toBeUndefined();
    });

    it("takes null as a value where it is one: Value, NullValue, and a wrapper on its own", () => {
      const json = { values: [null], byName: { a: null }, anything: null, nothing: null, list: [null] };
      expect(findJsonRequestError(ProbeSchema, json)).toBeUndefined();
      expect(findJsonRequestError(ValueSchema, null)).toBeUndefined();
      expect(findJsonRequestError(Int64ValueSchema, null)).toBeUndefined();
      expect(errorOf(ProbeSchema, { wrapped: [1, null] })).toBe("wrapped[1]: null is not allowed in a list");
      expect(errorOf(TimestampSchema, null)).toBe(
        'expected an RFC 3339 timestamp such as "2025-01-31T12:00:00Z", got null',
      );
    });

    it("reads well-known types in their JSON forms", () => {
      const cases: [unknown, string][] = [
        [
          { at: "yesterday" },
          'at: expected an RFC 3339 timestamp such as "2025-01-31T12:00:00Z", got "yesterday"',
        ],
        [
          { at: "2025-13-01T00:00:00Z" },
          'at: expected an RFC 3339 timestamp such as "2025-01-31T12:00:00Z", got "2025-13-01T00:00:00Z"',
        ],
        [{ span: "5m" }, 'span: expected seconds with an "s" suffix such as "1.5s", got "5m"'],
        [{ span: 5 }, 'span: expected seconds with an "s" suffix such as "1.5s", got 5'],
        [
          { span: "315576000001s" },
          'span: must be within ±315576000000s (10,000 years), got "315576000001s"',
        ],
        [{ mask: "a_b" }, 'mask: field paths must be lowerCamelCase, got "a_b"'],
        [{ mask: ["a"] }, 'mask: expected comma-separated field paths such as "a,b.c", got an array'],
        [{ meta: "x" }, 'meta: expected an object, got "x"'],
        [{ list: {} }, "list: expected an array, got an object"],
        [
          { big: "x" },
          'big: must be a whole number from -9223372036854775808 to 9223372036854775807, got "x"',
        ],
        [{ small: -1 }, "small: must be a whole number from 0 to 4294967295, got -1"],
        [{ label: 1 }, "label: expected a string, got 1"],
        [
          { packed: { "@type": "type.googleapis.com/probe.v1.Probe" } },
          'packed["@type"]: unsupported type "type.googleapis.com/probe.v1.Probe"',
        ],
        [{ packed: { value: 1 } }, 'packed["@type"]: must name the packed message type'],
        [{ nothing: "NULL" }, 'nothing: unknown value "NULL" (valid: NULL_VALUE)'],
      ];
      for (const [json, expected] of cases) {
        expect(decodes(ProbeSchema, json)).toBe(false);
        expect(errorOf(ProbeSchema, json)).toBe(expected);
      }
      expect(errorOf(DurationSchema, "1")).toBe(
        'expected seconds with an "s" suffix such as "1.5s", got "1"',
      );
      expect(errorOf(StructSchema, [])).toBe("expected an object, got an array");
    });

    it("walks nested and repeated messages of descriptor.proto (proto2)", () => {
      const file = {
        name: "a.proto",
        messageType: [
          {
            name: "A",
            field: [
              { name: "x", number: 1 },
              { name: "y", number: "2", lable: 1 },
            ],
          },
        ],
      };
      expect(errorOf(FileDescriptorProtoSchema, file)).toBe(
        'messageType[0].field[1].lable: unknown field (did you mean "label"?)',
      );
      expect(errorOf(UninterpretedOptionSchema, { name: [{ namePart: "a", isExtension: "no" }] })).toBe(
        'name[0].isExtension: expected true or false, got "no"',
      );
    });
  });

  describe("never echoes much of what it was sent", () => {
    it("cuts long values in reasons to about 40 characters", () => {
      const huge = "x".repeat(100_000);
      const reason = findJsonRequestError(RouteRequestSchema, { params: { maxTokens: huge } })?.reason ?? "";
      expect(reason).toBe(`must be a whole number from 0 to 4294967295, got "${"x".repeat(40)}…"`);
      const role = findJsonRequestError(RouteRequestSchema, { messages: [{ role: huge }] })?.reason ?? "";
      expect(role.length).toBeLessThan(150);
    });

    it("cuts long keys in paths", () => {
      const key = "k".repeat(100_000);
      expect(findJsonRequestError(RouteRequestSchema, { labels: { [key]: 1 } })?.path).toBe(
        `labels["${"k".repeat(40)}…"]`,
      );
      expect(findJsonRequestError(RouteRequestSchema, { [key]: 1 })?.path).toBe(`["${"k".repeat(40)}…"]`);
    });

    it("JSON-escapes keys with quotes or control characters in paths", () => {
      expect(findJsonRequestError(RouteRequestSchema, { labels: { 'te"am\n': 1 } })).toEqual({
        path: 'labels["te\\"am\\n"]',
        reason: "expected a string, got 1",
      });
      expect(findJsonRequestError(RouteRequestSchema, { params: { "a\u0000b": 1 } })?.path).toBe(
        'params["a\\u0000b"]',
      );
      expect(findJsonRequestError(RouteRequestSchema, { "data class": "x" })?.path).toBe('["data class"]');
    });
  });

  describe("agrees with protobuf-es' fromJson", () => {
    // Values that sit on the edges of the JSON mapping, substituted at every position of a valid
    // message: fromJson must throw exactly when findJsonRequestError finds something.
    // biome-ignore format: a table reads better packed
    const VALUES: unknown[] = [
      null, true, false, 0, -1, 1.5, -0, 1e3, 2 ** 31, 2 ** 32, -(2 ** 31) - 1, 2 ** 53, 1e20, 1e39, 1e300,
      "", " ", " 1", "1 ", "1", "-1", "01", "1.0", "1.5", "1e3", "0x10", "+5", "-0", "4294967296",
      "9223372036854775808", "18446744073709551616", "NaN", "Infinity", "-Infinity", "nan", "true",
      "AAAA", "AAAAA", "a-_b", "a+/b", "a b", "A===", "x*",
      "COLOR_RED", "color_red", "ROLE_USER", "NULL_VALUE", "TYPE_INT32",
      "2025-01-31T12:00:00Z", "2025-02-30T00:00:00Z", "0000-01-01T00:00:00Z", "2025-01-31T24:00:00Z",
      "1s", "-0.5s", "1.5sec", "315576000000.9s", "-315576000001s", "a.b", "a_b", "\uD800",
      [], [null], [1, "2"], [{}], ["COLOR_RED"], {}, { a: null }, { a: 1 }, { text: "x" }, { "@type": "" },
    ];
    // Keys to add: unknown ones, integer and bool map keys, the other name of a field already set,
    // and other members of a oneof already set.
    // biome-ignore format: a table reads better packed
    const KEYS = [
      "x", "i32", "I32", "by_int32", "byInt32", "text", "", "1", "01", "-1", "1.5", " 1", "0x10", "true", "TRUE",
      "-0", "4294967296", "9223372036854775808", "18446744073709551615", "\uD800", "__proto__", "@type", "[ext]",
      "data_class", "tool_call_id", "max_tokens", "top_p", "json_name", "count", "tint", "nested", "renamed",
    ];

    /** Every way to change one spot of `json`: replace a value, or add a key to an object. */
    function* mutations(json: unknown): Generator<unknown> {
      if (Array.isArray(json)) {
        for (let i = 0; i < json.length; i++) {
          for (const value of VALUES) yield json.map((item, j) => (j === i ? value : item));
          for (const inner of mutations(json[i])) yield json.map((item, j) => (j === i ? inner : item));
        }
      } else if (typeof json === "object" && json !== null) {
        const entries = Object.entries(json);
        // defineProperty, so that "__proto__" becomes an own key as JSON.parse makes it.
        const withEntry = (key: string, value: unknown) => {
          const copy: Record<string, unknown> = {};
          const put = (k: string, v: unknown) =>
            Object.defineProperty(copy, k, {
              value: v,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          for (const [k, v] of entries) put(k, k === key ? value : v);
          if (!Object.hasOwn(copy, key)) put(key, value);
          return copy;
        };
        for (const [key, current] of entries) {
          for (const value of VALUES) yield withEntry(key, value);
          for (const inner of mutations(current)) yield withEntry(key, inner);
        }
        const sample = entries[0]?.[1] ?? "v";
        for (const key of KEYS) if (!Object.hasOwn(json, key)) yield withEntry(key, sample);
      }
    }

    /** Both decoders on every change of `base`; where they disagree, what we said and the input. */
    function compare(schema: DescMessage, base: unknown) {
      const disagreements: string[] = [];
      let decoded = 0;
      let refused = 0;
      for (const json of [...VALUES, ...mutations(base)]) {
        let error: JsonRequestError | undefined;
        try {
          error = findJsonRequestError(schema, json);
        } catch (thrown) {
          disagreements.push(`threw ${String(thrown)} on ${JSON.stringify(json)}`);
          continue;
        }
        const ok = decodes(schema, json);
        if (ok) decoded++;
        else refused++;
        if (ok !== (error === undefined))
          disagreements.push(
            `${error ? formatJsonRequestError(error) : "no error"} on ${JSON.stringify(json)}`,
          );
        if (disagreements.length >= 10) break;
      }
      return { disagreements, decoded, refused };
    }

    // Both answers, often: a table where everything fails (or passes) would prove nothing.
    it("on every one-spot change of a RouteRequest", () => {
      const { disagreements, decoded, refused } = compare(RouteRequestSchema, VALID_ROUTE);
      expect(disagreements).toEqual([]);
      expect(decoded).toBeGreaterThan(1000);
      expect(refused).toBeGreaterThan(1000);
    });

    it("on every one-spot change of a message with every kind of field", () => {
      const { disagreements, decoded, refused } = compare(ProbeSchema, VALID_PROBE);
      expect(disagreements).toEqual([]);
      expect(decoded).toBeGreaterThan(2000);
      expect(refused).toBeGreaterThan(2000);
    });

    it("on every one-spot change of a oneof whose members are null", () => {
      const { disagreements, decoded, refused } = compare(ProbeSchema, { word: null, tint: null, i32: 1 });
      expect(disagreements).toEqual([]);
      expect(decoded).toBeGreaterThan(10);
      expect(refused).toBeGreaterThan(10);
    });

    it("on every one-spot change of well-known types on their own", () => {
      for (const [schema, json] of [
        [TimestampSchema, "2025-01-31T12:00:00Z"],
        [DurationSchema, "1s"],
        [FieldMaskSchema, "a.b"],
        [StructSchema, { a: [1, { b: null }] }],
        [ValueSchema, [{ a: 1 }]],
        [ListValueSchema, [1, "a"]],
        [AnySchema, {}],
        [BytesValueSchema, "AAAA"],
        [Int64ValueSchema, "1"],
      ] as const) {
        expect(findJsonRequestError(schema, json)).toBeUndefined();
        expect(compare(schema, json).disagreements, schema.typeName).toEqual([]);
      }
    });

    it("on every one-spot change of a FileDescriptorProto (proto2, closed enums, nesting)", () => {
      const file = {
        name: "a.proto",
        package: "a",
        messageType: [
          {
            name: "A",
            field: [{ name: "x", number: 1, label: "LABEL_OPTIONAL", type: 5, jsonName: "x" }],
            oneofDecl: [{ name: "o" }],
          },
        ],
        options: { javaPackage: "a", optimizeFor: "SPEED", uninterpretedOption: [{ positiveIntValue: "1" }] },
      };
      const { disagreements, decoded, refused } = compare(FileDescriptorProtoSchema, file);
      expect(disagreements).toEqual([]);
      expect(decoded).toBeGreaterThan(300);
      expect(refused).toBeGreaterThan(300);
    });
  });
});
