import type { ImageRef } from "../core/types.js";
import { ProviderError } from "./provider-error.js";

/** The image types every provider that takes images takes. */
export const IMAGE_MEDIA_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"] as const;
export type ImageMediaType = (typeof IMAGE_MEDIA_TYPES)[number];

const DATA_URL = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/]*={0,2})$/;

/**
 * An inline image's type and base64 data, from its `data:` URL; undefined for an image by
 * https URL, which only some wires take (the front doors let no other form through).
 */
export function inlineImage(image: ImageRef): { mediaType: ImageMediaType; data: string } | undefined {
  const match = DATA_URL.exec(image.url);
  if (!match) return undefined;
  return { mediaType: match[1] as ImageMediaType, data: match[2] ?? "" };
}

/**
 * An image as a wire that takes images inline only wants it (Gemini, Bedrock and Ollama fetch no
 * URLs): its type and base64 data.
 *
 * @throws ProviderError class "invalid_request", marked retryable, for an image by URL.
 *   The request is valid (the front door took it) and other targets take URLs (OpenAI-compatible,
 *   Anthropic): only this target cannot, so the call moves on to the next target instead of
 *   ending. The class keeps it from being retried on the same target (src/execute/retry.ts) and
 *   from counting against its breaker; when no target of the route takes it, the route's degrade
 *   ladder applies as after any failure of its targets. The message names the wire only, never
 *   the URL (a signed URL can carry a key).
 */
export function inlineImageOnly(image: ImageRef, wire: string): { mediaType: ImageMediaType; data: string } {
  const inline = inlineImage(image);
  if (inline) return inline;
  throw new ProviderError("invalid_request", `${wire} takes images inline only (data: URLs)`, {
    retryable: true,
  });
}

/**
 * Whether `url` is an image this router takes: an inline `data:` URL of a known type with a
 * payload, or an https URL naming a public host. A provider (or, for a self-hosted server, a
 * fetcher inside our network) fetches a URL: loopback, link-local (cloud metadata) and private
 * addresses, single-label names and plain http are refused, so a caller cannot make one fetch them.
 */
export function isImageUrl(url: string): boolean {
  const inline = DATA_URL.exec(url);
  if (inline) return (inline[2] ?? "").length > 0 && (inline[2] ?? "").length % 4 === 0;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== "https:" || parsed.username !== "" || parsed.password !== "") return false;
  const host = parsed.hostname;
  // An IP literal (v6 in brackets, or four numbers) or a name with no dot names no public host here.
  if (host.startsWith("[") || /^[\d.]+$/.test(host) || !host.includes(".")) return false;
  return !/(?:^|\.)(?:localhost|local|internal|localdomain)$/i.test(host);
}
