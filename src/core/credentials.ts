import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Secrets callers present (tenant API keys, the operator token) are compared as SHA-256 digests
 * in constant time: neither a key nor its length leaks by timing, and the policy may hold the
 * digest alone (`sha256:<hex>`), never the key.
 */

/** The SHA-256 digest of a presented or configured secret (32 bytes). */
export function credentialDigest(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** Whether two digests are equal, in time that does not depend on where they differ. */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The entry of `known` whose digest is `presented`'s, looking at every entry whatever matched
 * (so the time taken says nothing of which one, or whether any, did); undefined when none.
 */
export function findByDigest<T extends { digest: Uint8Array }>(
  presented: string,
  known: Iterable<T>,
): T | undefined {
  const digest = credentialDigest(presented);
  let found: T | undefined;
  for (const entry of known) if (sameDigest(digest, entry.digest) && found === undefined) found = entry;
  return found;
}

/** The credential of an `authorization: Bearer <credential>` header value; undefined for any other. */
export function bearerCredential(authorization: string | undefined): string | undefined {
  return /^Bearer +(\S+)$/i.exec(authorization ?? "")?.[1];
}
