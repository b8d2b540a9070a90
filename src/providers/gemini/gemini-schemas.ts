import { z } from "zod";

/*
 * Wire shapes of the Gemini API's generateContent / streamGenerateContent, limited to what we send
 * and read. https://ai.google.dev/api/generate-content
 */

/** https://ai.google.dev/api/caching#Part (only the kinds we send). */
export type GeminiPart =
  | { text: string }
  /** Base64 bytes. https://ai.google.dev/api/caching#Blob */
  | { inlineData: { mimeType: string; data: string } }
  | {
      functionCall: { name: string; args: Record<string, unknown> };
      /** Opaque; see THOUGHT_SIGNATURE_SENTINEL in to-gemini-request.ts. */
      thoughtSignature?: string;
    }
  | { functionResponse: { name: string; response: Record<string, unknown> } };

/** https://ai.google.dev/api/caching#Content */
export interface GeminiContent {
  role: "user" | "model";
  parts: GeminiPart[];
}

/** https://ai.google.dev/api/caching#FunctionDeclaration */
export interface GeminiFunctionDeclaration {
  name: string;
  description: string;
  parameters?: Record<string, unknown>;
  parametersJsonSchema?: Record<string, unknown>;
}

/** https://ai.google.dev/api/generate-content#generationconfig */
export interface GeminiGenerationConfig {
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  stopSequences?: string[];
  responseMimeType?: "application/json";
  responseSchema?: Record<string, unknown>;
  responseJsonSchema?: Record<string, unknown>;
}

/** The body of POST models/{model}:streamGenerateContent. https://ai.google.dev/api/generate-content#request-body */
export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: { text: string }[] };
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[];
  generationConfig?: GeminiGenerationConfig;
}

/*
 * What comes back. Every object is loose: Google adds fields (safetyRatings, citationMetadata,
 * groundingMetadata, avgLogprobs, modelVersion, responseId, thoughtSignature…) that must never turn
 * a good answer into a protocol error.
 */

/** https://ai.google.dev/api/caching#Part */
const responsePartSchema = z.looseObject({
  text: z.string().nullish(),
  /** A thought summary (thinking models with includeThoughts): not part of the answer. */
  thought: z.boolean().nullish(),
  functionCall: z
    .looseObject({
      /** Newer models number their calls; older ones send none. */
      id: z.string().nullish(),
      name: z.string(),
      /** A Struct: always an object on the wire; absent for a call without arguments. */
      args: z.record(z.string(), z.unknown()).nullish(),
    })
    .nullish(),
});

/** https://ai.google.dev/api/generate-content#candidate */
const candidateSchema = z.looseObject({
  index: z.number().int().nonnegative().nullish(),
  content: z
    .looseObject({
      role: z.string().nullish(),
      parts: z.array(responsePartSchema).nullish(),
    })
    .nullish(),
  finishReason: z.string().nullish(),
});

/** https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse */
export const generateContentResponseSchema = z.looseObject({
  candidates: z.array(candidateSchema).nullish(),
  /** https://ai.google.dev/api/generate-content#PromptFeedback */
  promptFeedback: z.looseObject({ blockReason: z.string().nullish() }).nullish(),
  /** Not validated here: usage we cannot trust is treated as missing (readGeminiUsage). */
  usageMetadata: z.unknown().optional(),
  responseId: z.string().nullish(),
  modelVersion: z.string().nullish(),
});

export type GenerateContentResponse = z.output<typeof generateContentResponseSchema>;

/**
 * Google's error status, as every googleapis.com JSON API sends it:
 * `{"error":{"code":400,"message":"…","status":"INVALID_ARGUMENT","details":[…]}}`.
 * https://cloud.google.com/apis/design/errors#http_mapping
 */
export const googleErrorSchema = z.looseObject({
  error: z.looseObject({
    code: z.number().nullish(),
    message: z.string().nullish(),
    status: z.string().nullish(),
    details: z.array(z.unknown()).nullish(),
  }),
});
