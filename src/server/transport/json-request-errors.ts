import {
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescOneof,
  protoInt64,
  ScalarType,
} from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { isPlainObject } from "../../core/json.js";
import { didYouMean, nearest } from "../../core/suggest.js";
import { showInvisible } from "../../core/text.js";

/**
 * Why a JSON request does not decode, said the way the caller wrote it.
 *
 * `path` is a JSON path into the request as sent, without a root marker: field keys as the caller
 * spelled them (JSON name or proto name), `[i]` for list items, `["key"]` for map entries and for
 * keys that are not plain identifiers (JSON-quoted, so quotes and control characters are escaped).
 * It is "" when the problem is the request itself (not an object).
 * `reason` never carries more than ~40 characters of any value the caller sent.
 */
export interface JsonRequestError {
  readonly path: string;
  readonly reason: string;
}

/**
 * Why protobuf-es would refuse to decode `json` as a message of `schema` with
 * `fromJson(schema, json, { ignoreUnknownFields: false })`, or undefined when it would decode it.
 * The first problem in the order protobuf-es reads (JavaScript's key order), with its path.
 *
 * Follows the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/) as protobuf-es 2
 * implements it, leniencies included, so that the two agree on every input: this explains a
 * refusal, it adds no rules of its own. Without a type registry, as the server decodes:
 * `google.protobuf.Any` must be `{}` and `[extension]` keys are unknown.
 *
 * `json` is what `JSON.parse` produced (depth already bounded by the JSON guard); the walk
 * recurses along it, reads each value once, and spells out a path only for the problem it reports.
 * Never throws. Duplicate keys in the text are invisible here (`JSON.parse` keeps the last one);
 * `fromJsonString` refuses them.
 */
export function findJsonRequestError(schema: DescMessage, json: unknown): JsonRequestError | undefined {
  const found = checkMessage(schema, json);
  if (found === undefined) return undefined;
  const path = found.at.reverse().join("");
  return { path: path.startsWith(".") ? path.slice(1) : path, reason: found.reason };
}

/** `params.maxTokens: must be …`, or the bare reason when it concerns the whole request. */
export function formatJsonRequestError(error: JsonRequestError): string {
  return error.path === "" ? error.reason : `${error.path}: ${error.reason}`;
}

/** A problem and where it is: path segments innermost first, added on the way back up. */
interface Found {
  readonly reason: string;
  readonly at: string[];
}
type Problem = Found | undefined;

function problem(reason: string): Found {
  return { reason, at: [] };
}

function under(segment: string, found: Found): Found {
  found.at.push(segment);
  return found;
}

const INT32_RANGE = "from -2147483648 to 2147483647";
const UINT32_RANGE = "from 0 to 4294967295";
const INT64_RANGE = "from -9223372036854775808 to 9223372036854775807";
const UINT64_RANGE = "from 0 to 18446744073709551615";
const TIMESTAMP_MS_MIN = Date.parse("0001-01-01T00:00:00Z");
const TIMESTAMP_MS_MAX = Date.parse("9999-12-31T23:59:59Z");
// ±10,000 years, as google/protobuf/duration.proto bounds it.
const DURATION_SECONDS_MAX = 315576000000;
/** How much of a caller's value or key a reason or path may repeat. */
const ECHO_LIMIT = 40;
/** How many enum value names a reason lists. */
const LISTED_ENUM_VALUES = 24;

function checkMessage(desc: DescMessage, json: unknown): Problem {
  if (desc.typeName.startsWith("google.protobuf.")) {
    const wkt = checkWellKnown(desc, json);
    if (wkt !== "not a well-known type") return wkt;
  }
  if (!isPlainObject(json)) return problem(`expected an object, got ${describe(json)}`);
  const { byKey, jsonNames } = fieldsOf(desc);
  const seen = new Map<DescField, string>();
  const oneofSeen = new Map<DescOneof, string>();
  for (const key of Object.keys(json)) {
    const found = checkMember(byKey.get(key), key, json[key], seen, oneofSeen, jsonNames);
    if (found !== undefined) return under(member(key), found);
  }
  return undefined;
}

function checkMember(
  field: DescField | undefined,
  key: string,
  value: unknown,
  seen: Map<DescField, string>,
  oneofSeen: Map<DescOneof, string>,
  jsonNames: readonly string[],
): Problem {
  if (field === undefined) return problem(`unknown field${didYouMean(key, jsonNames)}`);
  const first = seen.get(field);
  // The same field by its JSON name and its proto name; protobuf-es counts a null one too.
  if (first !== undefined) return problem(`same field as ${quote(first)}; set it once`);
  seen.set(field, key);
  const { oneof } = field;
  if (oneof !== undefined) {
    // protobuf-es skips a null scalar member, but counts a null message or enum member as set.
    if (value === null && field.fieldKind === "scalar") return undefined;
    const other = oneofSeen.get(oneof);
    if (other !== undefined) {
      const members = oneof.fields.map((m) => m.jsonName).join(", ");
      return problem(`conflicts with ${quote(other)}: only one of ${members} may be set`);
    }
    oneofSeen.set(oneof, key);
  }
  return checkField(field, value);
}

function checkField(field: DescField, value: unknown): Problem {
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
    case "message":
      // null means "unset", except where null is itself a value (Value, NullValue).
      if (value === null && !nullIsValue(field)) return undefined;
      return checkSingle(field, value);
    case "list":
      if (value === null) return undefined;
      if (!Array.isArray(value)) return problem(`expected an array, got ${describe(value)}`);
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const found =
          item === null && !nullIsValue(field)
            ? problem("null is not allowed in a list")
            : checkSingle(field, item);
        if (found !== undefined) return under(`[${i}]`, found);
      }
      return undefined;
    case "map":
      return checkMap(field, value);
  }
}

function checkMap(field: DescField & { fieldKind: "map" }, value: unknown): Problem {
  if (value === null) return undefined;
  if (!isPlainObject(value)) return problem(`expected an object, got ${describe(value)}`);
  // Keys as protobuf-es canonicalises them, so "1" and "01" are one entry of a map<int32, …>.
  const seen = new Map<unknown, string>();
  for (const key of Object.keys(value)) {
    const found = checkMapEntry(field, key, value[key], seen);
    if (found !== undefined) return under(`[${quote(key)}]`, found);
  }
  return undefined;
}

function checkMapEntry(
  field: DescField & { fieldKind: "map" },
  key: string,
  value: unknown,
  seen: Map<unknown, string>,
): Problem {
  const canonical = mapKeyOf(field.mapKey, key);
  const first = seen.get(canonical);
  if (first !== undefined) return problem(`duplicate key: same as ${quote(first)}`);
  seen.set(canonical, key);
  const keyProblem = checkMapKey(field.mapKey, canonical);
  if (keyProblem !== undefined) return problem(`invalid key: ${keyProblem}`);
  if (value === null && !nullIsValue(field)) return problem("null is not allowed as a map value");
  return checkSingle(field, value);
}

/** One value of a field's element type: the field itself, a list item or a map value. */
function checkSingle(field: DescField, value: unknown): Problem {
  if (field.message !== undefined) return checkMessage(field.message, value);
  if (field.enum !== undefined) return checkEnum(field.enum, value);
  if (field.scalar !== undefined) return checkScalar(field.scalar, value);
  return undefined;
}

function nullIsValue(field: DescField): boolean {
  return (
    field.message?.typeName === "google.protobuf.Value" ||
    field.enum?.typeName === "google.protobuf.NullValue"
  );
}

function checkEnum(desc: DescEnum, value: unknown): Problem {
  if (value === null) return undefined;
  if (typeof value === "string") {
    if (desc.values.some((v) => v.name === value || v.jsonName === value)) return undefined;
    const match = nearestValueName(desc, value);
    const hint = match === undefined ? "" : `; did you mean ${quote(match)}?`;
    return problem(`unknown value ${quote(value)} (valid: ${listed(desc)}${hint})`);
  }
  if (typeof value === "number" && Number.isInteger(value)) {
    if (desc.open) {
      if (value >= -2147483648 && value <= 2147483647) return undefined;
      return problem(`must be a whole number ${INT32_RANGE}, got ${describe(value)}`);
    }
    // A closed (proto2) enum takes only the numbers it declares.
    if (desc.values.some((v) => v.number === value)) return undefined;
    return problem(`unknown value ${value} (valid: ${listed(desc)})`);
  }
  return problem(`expected a value name (${listed(desc)}) or its number, got ${describe(value)}`);
}

function checkScalar(type: ScalarType, value: unknown): Problem {
  const reason = scalarProblem(type, value);
  return reason === undefined ? undefined : problem(reason);
}

/** The value name `text` likely meant, also when written without the shared prefix ("user"). */
function nearestValueName(desc: DescEnum, text: string): string | undefined {
  const names = desc.values.map((v) => v.name);
  const match = nearest(text, names);
  const prefix = desc.sharedPrefix?.length ?? 0;
  if (match !== undefined || prefix === 0) return match;
  const shortNames = names.map((name) => name.slice(prefix));
  const short = nearest(text, shortNames);
  return short === undefined ? undefined : names[shortNames.indexOf(short)];
}

/** The names worth offering; the zero `…_UNSPECIFIED` placeholder is valid but never meant. */
function listed(desc: DescEnum): string {
  const names = desc.values
    .filter((v) => !(v.number === 0 && v.name.endsWith("_UNSPECIFIED")))
    .map((v) => v.name);
  if (names.length <= LISTED_ENUM_VALUES) return names.join(", ");
  return `${names.slice(0, LISTED_ENUM_VALUES).join(", ")}, … ${names.length - LISTED_ENUM_VALUES} more`;
}

/** Why `value` is not a JSON `type`, or undefined when it is one. Mirrors protobuf-es' parse and check. */
function scalarProblem(type: ScalarType, value: unknown): string | undefined {
  switch (type) {
    case ScalarType.STRING:
      if (typeof value !== "string") return `expected a string, got ${describe(value)}`;
      return value.isWellFormed() ? undefined : "not valid UTF-8 (contains an unpaired surrogate)";
    case ScalarType.BOOL:
      return typeof value === "boolean" ? undefined : `expected true or false, got ${describe(value)}`;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return int32Problem(value, -2147483648, 2147483647, INT32_RANGE);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return int32Problem(value, 0, 4294967295, UINT32_RANGE);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return int64Problem(value, false);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return int64Problem(value, true);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return floatProblem(value, type === ScalarType.FLOAT);
    case ScalarType.BYTES:
      return bytesProblem(value);
  }
}

function int32Problem(value: unknown, min: number, max: number, range: string): string | undefined {
  const number = typeof value === "string" ? numericString(value) : value;
  if (typeof number === "number" && Number.isInteger(number) && number >= min && number <= max)
    return undefined;
  return `must be a whole number ${range}, got ${describe(value)}`;
}

/**
 * A number from a string the way protobuf-es reads one: `Number()` on a non-empty string without
 * surrounding whitespace (so "1e3" and "0x10" pass, as they do there), else undefined.
 */
function numericString(value: string): number | undefined {
  if (value === "" || value.trim().length !== value.length) return undefined;
  const number = Number(value);
  return Number.isNaN(number) ? undefined : number;
}

function int64Problem(value: unknown, unsigned: boolean): string | undefined {
  const range = unsigned ? UINT64_RANGE : INT64_RANGE;
  if (typeof value === "number" || (typeof value === "string" && value.length > 0)) {
    // protobuf-es' own parse, so what BigInt() tolerates (whitespace, "0x…") is tolerated here too.
    try {
      if (unsigned) protoInt64.uParse(value);
      else protoInt64.parse(value);
      return undefined;
    } catch {
      // Not an integer, or out of range: the same answer for the caller.
    }
  }
  return `must be a whole number ${range}, got ${describe(value)}`;
}

function floatProblem(value: unknown, float32: boolean): string | undefined {
  if (value === "NaN" || value === "Infinity" || value === "-Infinity") return undefined;
  const number =
    typeof value === "number" && Number.isFinite(value)
      ? value
      : typeof value === "string"
        ? finiteNumericString(value)
        : undefined;
  if (number === undefined)
    return `expected a number (or "NaN", "Infinity", "-Infinity"), got ${describe(value)}`;
  if (float32 && !Number.isFinite(Math.fround(number)))
    return `out of range for a 32-bit float (largest ±3.4028235e38), got ${describe(value)}`;
  return undefined;
}

function finiteNumericString(value: string): number | undefined {
  const number = numericString(value);
  return number !== undefined && Number.isFinite(number) ? number : undefined;
}

function bytesProblem(value: unknown): string | undefined {
  if (typeof value === "string") {
    try {
      base64Decode(value);
      return undefined;
    } catch {
      // Reported below, with the value.
    }
  }
  return `expected base64 or base64url, got ${describe(value)}`;
}

/** The key as protobuf-es reads it for duplicate detection; the input when it does not read. */
function mapKeyOf(type: ScalarType, key: string): unknown {
  switch (type) {
    case ScalarType.BOOL:
      return key === "true" ? true : key === "false" ? false : key;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return numericString(key) ?? key;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return /^-?0+$/.test(key) ? "0" : key.replace(/^(-?)0+(?=\d)/, "$1");
    default:
      return key;
  }
}

function checkMapKey(type: ScalarType, key: unknown): string | undefined {
  switch (type) {
    case ScalarType.BOOL:
      return typeof key === "boolean" ? undefined : `must be "true" or "false"`;
    case ScalarType.STRING:
      return typeof key === "string" && key.isWellFormed()
        ? undefined
        : "not valid UTF-8 (contains an unpaired surrogate)";
    default:
      // Integer keys: the path already shows the key, so the reason only says what it must be.
      return scalarProblem(type, key) === undefined ? undefined : `must be a whole number ${rangeOf(type)}`;
  }
}

function rangeOf(type: ScalarType): string {
  switch (type) {
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return UINT32_RANGE;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return INT64_RANGE;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return UINT64_RANGE;
    default:
      return INT32_RANGE;
  }
}

/** "not a well-known type" for messages that use the ordinary object mapping. */
function checkWellKnown(desc: DescMessage, json: unknown): Problem | "not a well-known type" {
  switch (desc.typeName) {
    case "google.protobuf.Any":
      return checkAny(json);
    case "google.protobuf.Timestamp":
      return checkTimestamp(json);
    case "google.protobuf.Duration":
      return checkDuration(json);
    case "google.protobuf.FieldMask":
      return checkFieldMask(json);
    case "google.protobuf.Struct":
      if (!isPlainObject(json)) return problem(`expected an object, got ${describe(json)}`);
      return checkJsonValue(json);
    case "google.protobuf.ListValue":
      if (!Array.isArray(json)) return problem(`expected an array, got ${describe(json)}`);
      return checkJsonValue(json);
    case "google.protobuf.Value":
      return checkJsonValue(json);
  }
  const valueField = desc.fields[0];
  if (!isWrapperDesc(desc) || valueField?.scalar === undefined) return "not a well-known type";
  // A wrapper is its scalar; null is its zero value (where a null field is not already "unset").
  if (json === null) return undefined;
  return checkScalar(valueField.scalar, json);
}

function checkAny(json: unknown): Problem {
  if (!isPlainObject(json)) return problem(`expected an object, got ${describe(json)}`);
  if (Object.keys(json).length === 0) return undefined;
  const typeUrl = json["@type"];
  if (typeof typeUrl !== "string" || typeUrl === "")
    return under(member("@type"), problem("must name the packed message type"));
  // No type registry when requests are decoded, so no packed type can be resolved.
  return under(member("@type"), problem(`unsupported type ${quote(typeUrl)}`));
}

function checkTimestamp(json: unknown): Problem {
  if (typeof json === "string") {
    // The pattern and arithmetic of protobuf-es' timestampFromJson, so both accept the same strings.
    const m = json.match(
      /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(?:Z|([+-][0-9][0-9]:[0-9][0-9]))$/,
    );
    const ms =
      m === null ? Number.NaN : Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8] ?? "Z"}`);
    if (ms >= TIMESTAMP_MS_MIN && ms <= TIMESTAMP_MS_MAX) return undefined;
    if (!Number.isNaN(ms))
      return problem(`must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, got ${describe(json)}`);
  }
  return problem(`expected an RFC 3339 timestamp such as "2025-01-31T12:00:00Z", got ${describe(json)}`);
}

function checkDuration(json: unknown): Problem {
  if (typeof json === "string") {
    // Unanchored at the end, as protobuf-es' durationFromJson is: "1sec" reads as 1s there.
    const m = json.match(/^(-?[0-9]+)(?:\.([0-9]+))?s/);
    if (m !== null) {
      const seconds = Number(m[1]);
      if (seconds <= DURATION_SECONDS_MAX && seconds >= -DURATION_SECONDS_MAX) return undefined;
      return problem(`must be within ±${DURATION_SECONDS_MAX}s (10,000 years), got ${describe(json)}`);
    }
  }
  return problem(`expected seconds with an "s" suffix such as "1.5s", got ${describe(json)}`);
}

function checkFieldMask(json: unknown): Problem {
  if (typeof json !== "string")
    return problem(`expected comma-separated field paths such as "a,b.c", got ${describe(json)}`);
  if (json !== "" && json.split(",").some((p) => p.includes("_")))
    return problem(`field paths must be lowerCamelCase, got ${describe(json)}`);
  return undefined;
}

/** google.protobuf.Value takes any JSON; only something JSON.parse never makes is refused. */
function checkJsonValue(json: unknown): Problem {
  switch (typeof json) {
    case "string":
    case "number":
    case "boolean":
      return undefined;
    case "object": {
      if (json === null) return undefined;
      if (Array.isArray(json)) {
        for (let i = 0; i < json.length; i++) {
          const found = checkJsonValue(json[i]);
          if (found !== undefined) return under(`[${i}]`, found);
        }
        return undefined;
      }
      for (const [key, value] of Object.entries(json)) {
        const found = checkJsonValue(value);
        if (found !== undefined) return under(`[${quote(key)}]`, found);
      }
      return undefined;
    }
    default:
      return problem(`expected a JSON value, got ${describe(json)}`);
  }
}

interface FieldIndex {
  /** Each field under its proto name and its JSON name, as protobuf-es accepts both. */
  readonly byKey: ReadonlyMap<string, DescField>;
  readonly jsonNames: readonly string[];
}

const fieldIndexes = new WeakMap<DescMessage, FieldIndex>();

function fieldsOf(desc: DescMessage): FieldIndex {
  let index = fieldIndexes.get(desc);
  if (index === undefined) {
    const byKey = new Map<string, DescField>();
    for (const field of desc.fields) byKey.set(field.name, field).set(field.jsonName, field);
    index = { byKey, jsonNames: desc.fields.map((field) => field.jsonName) };
    fieldIndexes.set(desc, index);
  }
  return index;
}

/** The path segment of an object member: `.name`, or `["…"]` for a key that is not a plain name. */
function member(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) && key.length <= ECHO_LIMIT ? `.${key}` : `[${quote(key)}]`;
}

/** A JSON string literal of at most ECHO_LIMIT characters of `text` (then "…"). */
function quote(text: string): string {
  let head = text.length <= ECHO_LIMIT ? text : text.slice(0, ECHO_LIMIT);
  // Do not leave half of a surrogate pair at the cut.
  if (head !== text && /[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  // What the caller sent is shown, escaped where it would be invisible or reorder the message.
  return `"${showInvisible(JSON.stringify(`${head}${head === text ? "" : "…"}`).slice(1, -1))}"`;
}

/** A caller's value for a reason: strings quoted and cut, containers by kind only. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
    case "boolean":
      return String(value);
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}
