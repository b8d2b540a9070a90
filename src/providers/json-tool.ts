import type { ResponseFormat, ToolSpec } from "../core/types.js";

/** The tool's name, unless the caller offers a tool of that name (then `json_answer_2`, …). */
export const JSON_TOOL_NAME = "json_answer";

/**
 * JSON output on the wires that have no JSON mode (Anthropic, Bedrock Converse): the model is
 * given one more tool, forced or among the caller's, whose input schema is the requested one
 * (an object of any shape for `json_object`), and the input it writes is the answer. Each adapter
 * puts this tool in its wire's shape and turns its input back into the answer's text.
 */
export function jsonAnswerTool(
  format: ResponseFormat,
  tools: readonly ToolSpec[],
): { name: string; description: string; schema: Record<string, unknown> } {
  const taken = new Set(tools.map((tool) => tool.name));
  let name = JSON_TOOL_NAME;
  for (let n = 2; taken.has(name); n += 1) name = `${JSON_TOOL_NAME}_${n}`;
  const what = format.type === "json_schema" ? ` (${format.name})` : "";
  return {
    name,
    description: `Give your final answer${what} as this tool's input: a JSON object that fits its schema.`,
    schema: format.type === "json_schema" ? objectSchema(format.schema) : { type: "object" },
  };
}

/** A tool's input schema as Anthropic and Bedrock take it: one that says it describes an object. */
export function objectSchema(schema: Record<string, unknown>): Record<string, unknown> {
  return "type" in schema ? schema : { type: "object", ...schema };
}
