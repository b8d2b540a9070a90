import { anthropicApiKey, openaiApiKey } from "./ai-provider-keys.js";
import { awsAccessKeyId, googleApiKey } from "./cloud-keys.js";
import { githubToken, gitlabToken } from "./code-host-tokens.js";
import type { Detector } from "./detector.js";
import { jwt } from "./jwt.js";
import { slackToken } from "./slack.js";
import { stripeKey } from "./stripe.js";

/**
 * Detectors of formats a vendor defines (a prefix, a structure): a value one of them recognises
 * is reported under its kind, so the generic detectors (generic_secret, connection_string's
 * password) leave it alone.
 */
export const VENDOR_DETECTORS: readonly Detector[] = [
  awsAccessKeyId,
  googleApiKey,
  githubToken,
  gitlabToken,
  slackToken,
  stripeKey,
  openaiApiKey,
  anthropicApiKey,
  jwt,
];

/** True when a vendor detector finds a value in `text` (a token or a password on its own). */
export function isVendorFormat(text: string): boolean {
  return VENDOR_DETECTORS.some((detector) => detector.find(text).length > 0);
}
