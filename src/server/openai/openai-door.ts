import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { PolicyStore } from "../../config/policy-store.js";
import { CallEndedError, UnauthenticatedError } from "../../core/errors.js";
import { AUTO_MODEL, nameableModels } from "../../core/policy.js";
import type { CallContext, Caller, Decision, StreamEvent } from "../../core/types.js";
import { authenticatedTenant } from "../../identify/authenticate.js";
import type { Pipeline } from "../../pipeline/pipeline.js";
import { endCallSpan, type Tracing } from "../../telemetry/tracing.js";
import { checkRequestLimits } from "../request-limits.js";
import { type CallIdentity, identifyCall } from "../rpc/call-identity.js";
import type { DoorCall, HttpDoor, NodeRequest } from "../transport/http-door.js";
import type { ServerLimits } from "../transport/server-limits.js";
import { type ChatCall, paramName, parseChatRequest, toChatCall } from "./chat-request.js";
import { answeringModel, type CompletionIdentity, toChunk, toCompletion } from "./chat-response.js";
import { type OpenAiError, openAiError, toOpenAiError } from "./openai-errors.js";
import { readJsonBody } from "./read-json-body.js";

export interface OpenAiDoorDeps {
  pipeline: Pipeline;
  policies: PolicyStore;
  logger: Logger;
  /** Opens each call's span (its children hang from the pipeline's steps). */
  tracing: Tracing;
}

const CHAT_COMPLETIONS = "/v1/chat/completions";
const MODELS = "/v1/models";

/**
 * The OpenAI-compatible front door, on the router's port beside gRPC and Connect: `POST
 * /v1/chat/completions` (unary and SSE) and `GET /v1/models`, mapped onto the same pipeline and
 * request limits as RouterService. Answers and errors are in OpenAI's shapes; the decision comes
 * back in `x-switchyard-*` headers and in full from AdminService by trace or call id.
 */
export function createOpenAiDoor(deps: OpenAiDoorDeps, limits: ServerLimits): HttpDoor {
  const log = deps.logger.child({ component: "openai-door" });
  return {
    handles: (path) => path === "/v1" || path.startsWith("/v1/"),
    handle(request, nodeResponse, door) {
      // HTTP/2's compat response has every method the door uses, with the same signatures.
      const response = nodeResponse as ServerResponse;
      serve(request, response, door).catch((error: unknown) => {
        // Whatever escaped is a bug: end the exchange rather than leave the caller waiting.
        log.error({ err: error, path: door.path }, "OpenAI door failed");
        if (!response.headersSent) writeError(response, openAiError(500, "server_error", "internal error"));
        else response.destroy();
      });
    },
  };

  async function serve(request: NodeRequest, response: ServerResponse, door: DoorCall): Promise<void> {
    const { path } = door;
    if (path === CHAT_COMPLETIONS) {
      if (request.method !== "POST") return methodNotAllowed(response, "POST");
      return chat(request, response, door);
    }
    if (path === MODELS || path.startsWith(`${MODELS}/`)) {
      if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed(response, "GET");
      return models(request, response, path === MODELS ? undefined : path.slice(MODELS.length + 1));
    }
    writeError(
      response,
      openAiError(
        404,
        "invalid_request_error",
        "unknown request URL (this door serves POST /v1/chat/completions and GET /v1/models)",
        {
          code: "unknown_url",
        },
      ),
    );
  }

  /**
   * `GET /v1/models`: `auto`, the routes, and the models routes match by name. Under a policy
   * that authenticates calls, only to a caller that could make one (it lists the policy's names).
   */
  function models(request: NodeRequest, response: ServerResponse, id: string | undefined): void {
    const policy = deps.policies.current();
    try {
      authenticatedTenant(callerOf(request), policy.auth);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      writeError(response, toOpenAiError(error, { logger: log, traceId: "", params: (field) => field }));
      return;
    }
    const created = Math.floor(policy.loadedAt.getTime() / 1000);
    const { routes, models } = nameableModels(policy);
    const listed = [AUTO_MODEL, ...routes, ...models].map((model) => ({
      id: model,
      object: "model",
      created,
      owned_by: "switchyard",
    }));
    if (id === undefined) {
      writeJson(response, 200, { object: "list", data: listed });
      return;
    }
    let wanted: string;
    try {
      wanted = decodeURIComponent(id);
    } catch {
      wanted = id;
    }
    const found = listed.find((model) => model.id === wanted);
    if (found) {
      writeJson(response, 200, found);
      return;
    }
    writeError(
      response,
      openAiError(
        404,
        "invalid_request_error",
        `unknown model (this router serves: ${listed.map((model) => model.id).join(", ")})`,
        { param: "model", code: "model_not_found" },
      ),
    );
  }

  async function chat(request: NodeRequest, response: ServerResponse, door: DoorCall): Promise<void> {
    const identity = identifyCall(
      deps.tracing,
      "POST /v1/chat/completions",
      (name) => header(request, name),
      {
        "http.request.method": "POST",
        "http.route": "/v1/chat/completions",
      },
    );
    let failed: string | undefined;
    try {
      await answerChat(request, response, door, identity, (error) => {
        failed = error instanceof Error ? error.name : typeof error;
      });
    } finally {
      const status = response.statusCode;
      // A stream that failed after its first token answered 200 and said so in an error event.
      const type = failed ?? (status >= 400 ? String(status) : undefined);
      endCallSpan(identity.span, {
        attributes: { "http.response.status_code": status },
        ...(type !== undefined && {
          error: { type, description: String(status), serverFault: status >= 500 || status < 400 },
        }),
      });
    }
  }

  async function answerChat(
    request: NodeRequest,
    response: ServerResponse,
    door: DoorCall,
    identity: CallIdentity,
    noteFailure: (error: unknown) => void,
  ): Promise<void> {
    // The body is read before the call counts as in flight: a drain does not wait for a caller
    // still uploading (the listener cuts it at the end), as connect's calls start once parsed.
    const body = await readJsonBody(request, {
      maxBytes: limits.maxBodyBytes,
      maxDepth: limits.maxJsonDepth,
    });
    if (body.kind === "gone") return;
    if (body.kind === "refused") return writeError(response, body.error, identity);
    const release = door.enter();
    if (!release)
      return writeError(
        response,
        openAiError(503, "server_error", "server is shutting down; retry on another replica", {
          code: "shutting_down",
        }),
        identity,
      );
    let parsed: ChatCall | undefined;
    let call: CallContext | undefined;
    const failureOf = (error: unknown) => {
      noteFailure(error);
      return toOpenAiError(error, {
        logger: log,
        traceId: identity.traceId,
        params: (field) => paramName(parsed, field),
        callEnded: call?.signal.aborted ? call.signal.reason : undefined,
      });
    };
    try {
      parsed = toChatCall(parseChatRequest(body.json), request.rawHeaders);
      checkRequestLimits(parsed.request);
      call = callContext(request, identity, response, door, parsed.stream ? door.watchStall() : undefined);
      if (parsed.stream) await streamChat(parsed, call, response, failureOf);
      else await unaryChat(parsed, call, response);
    } catch (error) {
      const failure = failureOf(error);
      if (!callerGone(response)) writeError(response, failure, identity);
    } finally {
      release();
    }
  }

  /**
   * The call's signal: aborted when the caller goes away (its connection or stream closes before
   * the door ended the answer), the server's longest deadline passes, the server shuts down, or (a
   * stream) the caller stops reading; the reason says which, as for the gRPC door.
   */
  function callContext(
    request: NodeRequest,
    identity: CallIdentity,
    response: ServerResponse,
    door: DoorCall,
    stalled: AbortSignal | undefined,
  ): CallContext {
    const controller = new AbortController();
    const end = (reason: CallEndedError) => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    const deadline = performance.now() + limits.maxDeadlineMs;
    const deadlineTimer = setTimeout(
      () => end(new CallEndedError("deadline", "the call's deadline passed")),
      limits.maxDeadlineMs,
    );
    deadlineTimer.unref();
    const onShutdown = () => end(new CallEndedError("shutdown", "the server is shutting down"));
    if (door.shutdown.aborted) onShutdown();
    else door.shutdown.addEventListener("abort", onShutdown, { once: true });
    response.once("close", () => {
      // writableEnded turns true only when the door ended the answer: an HTTP/2 stream reset by
      // the caller reports writableFinished as true.
      if (!response.writableEnded) end(new CallEndedError("cancelled", "the caller cancelled the call"));
      clearTimeout(deadlineTimer);
      door.shutdown.removeEventListener("abort", onShutdown);
    });
    stalled?.addEventListener("abort", () => end(stalled.reason as CallEndedError), { once: true });
    return { ...identity, signal: controller.signal, deadline, caller: callerOf(request) };
  }

  async function unaryChat(parsed: ChatCall, call: CallContext, response: ServerResponse): Promise<void> {
    const result = await deps.pipeline.route(parsed.request, call);
    const model = answeringModel(result.decision.target, parsed.request.model ?? AUTO_MODEL);
    writeJson(
      response,
      200,
      toCompletion(result, completionIdentity(call), model),
      decisionHeaders(call, result.decision),
    );
  }

  /**
   * SSE in OpenAI's semantics: nothing is written until the first token (a failure before it
   * fails over unseen, or becomes an HTTP error); each token goes out as it comes; a failure after
   * the first token ends the stream with an error event and no `[DONE]`; `[DONE]` follows a real
   * finish only. The headers go with the first token, so the attempts they list are those before it.
   *
   * A caller reading slower than the answer comes holds it back: once the response's buffer is
   * full the next event is not asked for until it drains, so the pipeline and the upstream pause
   * with the caller (as the gRPC door's Stream does) rather than the server buffering the rest of
   * the answer. The gap budget counts from when the next part is asked for, so the wait is not
   * the provider's; a caller that stops reading altogether is cut by the write-stall watch.
   */
  async function streamChat(
    parsed: ChatCall,
    call: CallContext,
    response: ServerResponse,
    failureOf: (error: unknown) => OpenAiError,
  ): Promise<void> {
    const identity = completionIdentity(call);
    const asked = parsed.request.model ?? AUTO_MODEL;
    let decision: Decision | undefined;
    const attempts: Decision["attempts"] = [];
    let model = asked;
    const send = async (chunk: object): Promise<void> => {
      if (!response.write(`data: ${JSON.stringify(chunk)}\n\n`)) await drained(response, call.signal);
    };
    /** Headers and the first chunk: the decision so far, as the first token came. */
    const open = (delta: Extract<StreamEvent, { type: "delta" }> | undefined, final?: Decision) => {
      const so =
        final ??
        (decision && {
          ...decision,
          target: delta?.target ?? "",
          degradeRung: delta?.degradeRung ?? "",
          attempts,
        });
      response.writeHead(200, {
        ...decisionHeaders(call, so),
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
      });
    };
    try {
      for await (const event of deps.pipeline.stream(parsed.request, call)) {
        switch (event.type) {
          case "decision":
            decision = event.decision;
            break;
          case "attempt":
            attempts.push(event.attempt);
            break;
          case "delta": {
            model = answeringModel(event.target, asked);
            const first = !response.headersSent;
            if (first) open(event);
            await send(
              toChunk(identity, model, parsed.includeUsage, {
                delta: {
                  ...(first && { role: "assistant" as const }),
                  ...(event.content !== "" && { content: event.content }),
                  toolCalls: event.toolCalls,
                },
              }),
            );
            break;
          }
          case "done":
            if (!response.headersSent) {
              // An answer with no tokens at all (an empty completion).
              open(undefined, event.decision);
              await send(
                toChunk(identity, model, parsed.includeUsage, { delta: { role: "assistant", content: "" } }),
              );
            }
            await send(toChunk(identity, model, parsed.includeUsage, { finishReason: event.finishReason }));
            if (parsed.includeUsage) await send(toChunk(identity, model, true, { usage: event.usage }));
            response.end("data: [DONE]\n\n");
            break;
          case "budget":
            break;
        }
      }
    } catch (error) {
      if (!response.headersSent) throw error;
      // Tokens already reached the caller: say it failed, so no client takes the cut answer for a whole one.
      const failure = failureOf(error);
      if (!callerGone(response)) response.end(`data: ${JSON.stringify(failure.body)}\n\n`);
    }
  }
}

function completionIdentity(call: CallContext): CompletionIdentity {
  return { id: `chatcmpl-${call.callId}`, created: Math.floor(Date.now() / 1000) };
}

/**
 * The decision in brief, for `curl -i`: the rest is in AdminService under the trace and call id.
 * `x-switchyard-attempts` is an RFC 8941 list: `"p/m";outcome=failed;error=server, "p/m2";outcome=succeeded`.
 */
function decisionHeaders(
  identity: Pick<CallIdentity, "traceId" | "callId">,
  decision: Decision | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {
    "x-switchyard-trace-id": identity.traceId,
    "x-switchyard-call-id": identity.callId,
    // The SDKs keep this as the response's request id.
    "x-request-id": identity.callId,
  };
  if (!decision) return headers;
  headers["x-switchyard-route"] = headerValue(decision.route);
  if (decision.target !== "") headers["x-switchyard-target"] = headerValue(decision.target);
  headers["x-switchyard-attempts"] = decision.attempts
    .map(
      (attempt) =>
        `"${headerValue(attempt.target).replace(/["\\]/g, "\\$&")}";outcome=${attempt.outcome}${attempt.errorClass ? `;error=${attempt.errorClass}` : ""}`,
    )
    .join(", ");
  if (decision.degradeRung !== "") headers["x-switchyard-degraded"] = headerValue(decision.degradeRung);
  return headers;
}

/** Names from the policy as a header can carry them: anything but printable ASCII percent-encoded. */
function headerValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

function writeError(response: ServerResponse, error: OpenAiError, identity?: CallIdentity): void {
  const headers = { ...(identity && decisionHeaders(identity, error.decision)), ...error.headers };
  writeJson(response, error.status, error.body, headers);
}

function writeJson(
  response: ServerResponse,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent || callerGone(response)) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
  });
  response.end(text);
}

function methodNotAllowed(response: ServerResponse, allowed: string): void {
  writeError(
    response,
    openAiError(405, "invalid_request_error", `this URL takes ${allowed} only`, {
      code: "method_not_allowed",
      headers: { allow: allowed },
    }),
  );
}

/**
 * Whether nobody is left to answer: the connection (HTTP/1.1) or the stream (HTTP/2) is gone.
 * HTTP/2's compat response has no `destroyed` of its own; its stream does.
 */
/**
 * Resolves when `response` has room again (its buffer drained), or when waiting no longer matters:
 * the response closed, or the call ended (the caller left, a deadline, the write-stall watch).
 */
function drained(response: ServerResponse, signal: AbortSignal): Promise<void> {
  if (signal.aborted || callerGone(response)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    response.once("drain", done);
    response.once("close", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

function callerGone(response: ServerResponse): boolean {
  const stream = (response as { stream?: { destroyed: boolean } }).stream;
  return stream ? stream.destroyed : response.destroyed;
}

/** The caller as the identify step reads it: its headers, under the names the policy in force gives. */
function callerOf(request: NodeRequest): Caller {
  return { kind: "remote", header: (name) => header(request, name) };
}

function header(request: NodeRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
