import { type ProviderError, protocolError } from "../provider-error.js";
import type { StreamPart } from "../types.js";
import type { HttpResponse } from "./http-client.js";
import { classifyTransportError, type ResponseHeaders } from "./http-errors.js";
import { disposeBody, isSuccessStatus, mediaType, parseJson, readText } from "./response-body.js";

/** The most of an error body read to classify it: enough for any provider's error JSON. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** The most of a whole JSON answer read where a stream was asked for. */
const MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;

/** What one wire's answers are: how it fails, streams, and answers whole. */
export interface WireAnswer {
  /** "an event stream", "NDJSON": what was asked for, for messages. */
  streamName: string;
  /** Content types read as the stream, besides JSON; undefined: any. */
  streamTypes?: readonly string[];
  /** The provider's error for a non-2xx answer, from its (bounded) body text. */
  classifyHttpError(status: number, headers: ResponseHeaders, text: string): ProviderError;
  /**
   * The parts of a whole JSON answer where a stream was asked for: a server that ignored
   * streaming, or an error envelope in a 200 (thrown, classified).
   */
  fromJson(json: unknown): Iterable<StreamPart>;
  /** The stream body as parts, ending with exactly one response-end, or throwing. */
  decode(body: AsyncIterable<Uint8Array>): AsyncIterable<StreamPart>;
}

/**
 * One upstream call's answer as stream parts, the same for every wire: a non-2xx status is the
 * wire's classified error; a JSON body is replayed; otherwise the body is decoded as it arrives.
 * Whatever the transport throws meanwhile is classified (`signal`'s reason says why a call was
 * cut); the body is disposed of when the parts end, are abandoned or fail: its socket is reused
 * only when the answer was complete.
 */
export async function* streamingAnswer(
  response: HttpResponse,
  signal: AbortSignal,
  wire: WireAnswer,
): AsyncGenerator<StreamPart, void> {
  let answered = false;
  try {
    if (!isSuccessStatus(response.statusCode)) {
      const { text } = await readText(response.body, MAX_ERROR_BODY_BYTES);
      throw wire.classifyHttpError(response.statusCode, response.headers, text);
    }
    const type = mediaType(response.headers);
    if (type === "application/json") {
      const read = await readText(response.body, MAX_JSON_BODY_BYTES);
      if (read.truncated) throw protocolError("upstream answer exceeds the size limit");
      yield* wire.fromJson(parseJson(read.text, `upstream answer is neither ${wire.streamName} nor JSON`));
      return;
    }
    if (wire.streamTypes !== undefined && !wire.streamTypes.includes(type))
      throw protocolError(`upstream answer is not ${wire.streamName}`, { contentType: type });
    // destroyOnReturn: false leaves what happens to the body to disposeBody, not to the iterator
    // being returned early.
    for await (const part of wire.decode(response.body.iterator({ destroyOnReturn: false }))) {
      if (part.type === "response-end") answered = true;
      yield part;
    }
  } catch (err) {
    throw classifyTransportError(err, "body", signal);
  } finally {
    disposeBody(response.body, { answered, signal });
  }
}
