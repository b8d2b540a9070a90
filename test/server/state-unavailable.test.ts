import { Code } from "@connectrpc/connect";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { StateUnavailableError } from "../../src/core/errors.js";
import { toOpenAiError } from "../../src/server/openai/openai-errors.js";
import { toConnectError } from "../../src/server/rpc/connect-errors.js";

describe("StateUnavailableError at the front doors", () => {
  const error = new StateUnavailableError({ cause: new Error("Redis at redis://cache:6379 is unreachable") });
  const logger = pino({ level: "silent" });

  it("is UNAVAILABLE over gRPC, saying nothing of where the store is", () => {
    const status = toConnectError(error, logger, "trace", new AbortController().signal);
    expect(status.code).toBe(Code.Unavailable);
    expect(status.rawMessage).toBe(error.message);
    expect(status.rawMessage).not.toContain("redis");
  });

  it("is a 503 server_error at the OpenAI door", () => {
    expect(toOpenAiError(error, { logger, traceId: "trace", params: (field) => field })).toMatchObject({
      status: 503,
      body: { error: { type: "server_error", code: "state_unavailable", message: error.message } },
    });
  });
});
