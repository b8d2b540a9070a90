import type { Detector } from "./detector.js";
import { PERSONAL_DATA_DETECTORS } from "./personal-data.js";
import { SECRET_DETECTORS } from "./secrets.js";

/** Every detector classify runs. A new detector is a module and a line in its group's list. */
export const DETECTORS: readonly Detector[] = [...SECRET_DETECTORS, ...PERSONAL_DATA_DETECTORS];
