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

/**
 * Every literal the vendor detectors anchor on (a value without one is no vendor's), so most
 * values are cleared by one regex test instead of every detector. Keep in step with the list.
 */
const VENDOR_ANCHORS = /A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|IPA|NPA|NVA|Iza)|_|gl|GR13|xox|xapp|k\.com\/|k-|eyJ/;

/** True when a vendor detector finds a value in `text` (a token or a password on its own). */
export function isVendorFormat(text: string): boolean {
  return VENDOR_ANCHORS.test(text) && VENDOR_DETECTORS.some((detector) => detector.find(text).length > 0);
}

/**
 * Values whose vendor publishes them by design, which no detector should flag: Stripe's
 * publishable keys (`pk_live_…`, `pk_test_…`) are embedded in web pages and apps.
 */
export function isPublicByDesign(text: string): boolean {
  return text.startsWith("pk_live_") || text.startsWith("pk_test_");
}
