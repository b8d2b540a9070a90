import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/** Leads a string decoded from bytes that were not UTF-8: an unpaired surrogate, which UTF-8 cannot encode. */
const NOT_UTF8 = "\uDC80";

let installed = false;

/**
 * Lets a protobuf string field that is not valid UTF-8 be reported by its field name. protobuf-es
 * refuses such a field with a bare "The encoded data was not valid for encoding utf-8" that names
 * nothing; with this, it decodes (lossily) with an unpaired surrogate in front instead, which no
 * valid UTF-8 can produce. The request checks (src/server/request-limits.ts) refuse any string
 * that is not well-formed Unicode, naming its field. Affects every protobuf-es decode in this
 * process; installing it twice is a no-op.
 */
export function reportInvalidUtf8ByField(): void {
  if (installed) return;
  installed = true;
  const base = getTextEncoding();
  configureTextEncoding({
    ...base,
    decodeUtf8(bytes, strict) {
      if (!strict) return base.decodeUtf8(bytes, false);
      try {
        return base.decodeUtf8(bytes, true);
      } catch {
        return NOT_UTF8 + base.decodeUtf8(bytes, false);
      }
    },
  });
}
