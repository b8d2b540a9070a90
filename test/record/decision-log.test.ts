import { createDecisionLog } from "../../src/record/decision-log.js";
import { describeDecisionLog } from "../helpers/decision-log-spec.js";

describeDecisionLog("createDecisionLog", ({ capacity, perTrace }) => createDecisionLog(capacity, perTrace));
