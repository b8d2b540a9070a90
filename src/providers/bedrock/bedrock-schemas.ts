import { z } from "zod";

/*
 * Shapes of what Bedrock Runtime sends back: the JSON payloads of the ConverseStream events, the
 * Converse (unary) response, and error bodies. Every object is loose: AWS adds fields (the `p`
 * padding Bedrock puts in every event, `metrics`, `trace`, `performanceConfig`, citations…),
 * none of which may turn a good answer into a protocol error.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
 */

/** Content block indexes: small non-negative integers. */
const blockIndex = z.number().int().nonnegative().max(4_294_967_295);

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_MessageStartEvent.html */
export const messageStartEventSchema = z.looseObject({ role: z.string() });

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlockStartEvent.html */
export const contentBlockStartEventSchema = z.looseObject({
  contentBlockIndex: blockIndex,
  start: z
    .looseObject({
      toolUse: z.looseObject({ toolUseId: z.string(), name: z.string() }).optional(),
    })
    .optional(),
});

/**
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlockDeltaEvent.html
 * `delta` is a union: `text`, `toolUse.input` (a fragment of the arguments' JSON text),
 * `reasoningContent`, `citation`… only the first two are read.
 */
export const contentBlockDeltaEventSchema = z.looseObject({
  contentBlockIndex: blockIndex,
  delta: z.looseObject({
    text: z.string().optional(),
    toolUse: z.looseObject({ input: z.string() }).optional(),
  }),
});

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlockStopEvent.html */
export const contentBlockStopEventSchema = z.looseObject({ contentBlockIndex: blockIndex });

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_MessageStopEvent.html */
export const messageStopEventSchema = z.looseObject({ stopReason: z.string() });

/**
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamMetadataEvent.html
 * `usage` is not validated here: usage we cannot trust is treated as missing (readBedrockUsage).
 */
export const metadataEventSchema = z.looseObject({ usage: z.unknown().optional() });

/** One content block of a Converse message. https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html */
const contentBlockSchema = z.looseObject({
  text: z.string().optional(),
  toolUse: z.looseObject({ toolUseId: z.string(), name: z.string(), input: z.unknown() }).optional(),
});

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax */
export const converseResponseSchema = z.looseObject({
  output: z.looseObject({
    message: z.looseObject({ role: z.string(), content: z.array(contentBlockSchema) }),
  }),
  stopReason: z.string(),
  usage: z.unknown().optional(),
});

/**
 * An AWS JSON error body: `{"message": …}` (restJson1, Bedrock's protocol), sometimes `Message`,
 * and, from some front ends, the error type as `__type` or `code`.
 * https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html#operation-error-serialization
 */
export const errorBodySchema = z.looseObject({
  message: z.string().optional(),
  Message: z.string().optional(),
  __type: z.string().optional(),
  code: z.string().optional(),
});
