/** Whether `value` is a JSON object (not null, not an array): what parsed JSON is read as. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
