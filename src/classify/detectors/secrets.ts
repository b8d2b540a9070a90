import { anthropicApiKey, openaiApiKey } from "./ai-provider-keys.js";
import { awsAccessKeyId, awsSecretAccessKey, googleApiKey } from "./cloud-keys.js";
import { githubToken, gitlabToken } from "./code-host-tokens.js";
import { connectionString } from "./connection-string.js";
import type { Detector } from "./detector.js";
import { highEntropyToken } from "./high-entropy-token.js";
import { jwt } from "./jwt.js";
import { passwordAssignment } from "./password-assignment.js";
import { privateKey } from "./private-key.js";
import { slackToken } from "./slack.js";
import { stripeKey } from "./stripe.js";

/**
 * Secret detectors, in the order they run. Vendor formats score 1 (0.8–0.9 where the format is
 * shared or the value is an identity), context-decided ones less, so where findings overlap the
 * scanner keeps the vendor's kind; the generic detector also leaves vendor tokens alone.
 */
export const SECRET_DETECTORS: readonly Detector[] = [
  privateKey,
  awsAccessKeyId,
  awsSecretAccessKey,
  googleApiKey,
  githubToken,
  gitlabToken,
  slackToken,
  stripeKey,
  openaiApiKey,
  anthropicApiKey,
  jwt,
  connectionString,
  passwordAssignment,
  highEntropyToken,
];
