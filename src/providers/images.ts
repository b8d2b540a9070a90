import type { ImageRef } from "../core/types.js";

/** The image types every provider that takes images takes. */
export const IMAGE_MEDIA_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"] as const;
export type ImageMediaType = (typeof IMAGE_MEDIA_TYPES)[number];

const DATA_URL = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/]*={0,2})$/;

/**
 * An inline image's type and base64 data, from its `data:` URL; undefined for an image by
 * http(s) URL, which only some wires take (the front doors let no other form through).
 */
export function inlineImage(image: ImageRef): { mediaType: ImageMediaType; data: string } | undefined {
  const match = DATA_URL.exec(image.url);
  if (!match) return undefined;
  return { mediaType: match[1] as ImageMediaType, data: match[2] ?? "" };
}

/** Whether `url` is an image this router takes: an http(s) URL or an inline `data:` URL of a known type. */
export function isImageUrl(url: string): boolean {
  if (DATA_URL.test(url)) return true;
  if (!/^https?:\/\//i.test(url)) return false;
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}
