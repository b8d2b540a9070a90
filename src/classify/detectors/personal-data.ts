import { dateOfBirthDetector } from "./date-of-birth.js";
import type { Detector } from "./detector.js";
import { emailDetector } from "./email.js";
import { ibanDetector } from "./iban.js";
import { ipAddressDetector } from "./ip-address.js";
import { nationalIdDetector } from "./national-id.js";
import { paymentCardDetector } from "./payment-card.js";
import { phoneNumberDetector } from "./phone-number.js";
import { usSsnDetector } from "./us-ssn.js";

/** Personal data detectors, in the order they run. */
export const PERSONAL_DATA_DETECTORS: readonly Detector[] = [
  emailDetector,
  phoneNumberDetector,
  paymentCardDetector,
  ibanDetector,
  usSsnDetector,
  ipAddressDetector,
  dateOfBirthDetector,
  nationalIdDetector,
];
