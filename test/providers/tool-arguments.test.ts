import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/providers/provider-error.js";
import { argumentsText } from "../../src/providers/tool-arguments.js";

describe("argumentsText", () => {
  it("is the JSON text of arguments a wire sent as a value", () => {
    expect(argumentsText({ city: "Paris", days: [1, 2] })).toBe('{"city":"Paris","days":[1,2]}');
  });

  it("fails as protocol for arguments nested past what JSON.stringify can walk", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    const error = (() => {
      try {
        argumentsText(deep);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).errorClass).toBe("protocol");
  });
});
