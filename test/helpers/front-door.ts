import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { FRONT_DOOR_POLICY } from "./policies.js";
import { createTransports, type TransportSet } from "./rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "./switchyard.js";

export interface FrontDoor {
  readonly switchyard: TestSwitchyard;
  /** Clients of the router listener. */
  readonly transports: TransportSet;
  /** Clients of the operator listener (AdminService). */
  readonly operator: TransportSet;
}

/**
 * Registers hooks that start Switchyard on `policy` with a client of every transport kind, and
 * stop both: once for the suite ("all"), or around each test ("each", for tests that drain it).
 */
export function useFrontDoor(options: { policy?: string; per?: "all" | "each" } = {}): FrontDoor {
  let switchyard: TestSwitchyard | undefined;
  let transports: TransportSet | undefined;
  let operator: TransportSet | undefined;
  const [before, after] = options.per === "each" ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    switchyard = await startTestSwitchyard(options.policy ?? FRONT_DOOR_POLICY);
    transports = createTransports(switchyard.baseUrl);
    operator = createTransports(switchyard.operatorUrl);
  });
  after(async () => {
    transports?.close();
    operator?.close();
    await switchyard?.stop();
  });
  return {
    get switchyard() {
      if (!switchyard) throw new Error("the front door is not started (use it inside a test)");
      return switchyard;
    },
    get transports() {
      if (!transports) throw new Error("the front door is not started (use it inside a test)");
      return transports;
    },
    get operator() {
      if (!operator) throw new Error("the front door is not started (use it inside a test)");
      return operator;
    },
  };
}
