import type { Detector } from "./detector.js";

/** Secret detectors, in the order they run. */
export const SECRET_DETECTORS: readonly Detector[] = [];
