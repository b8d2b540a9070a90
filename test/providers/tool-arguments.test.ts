import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/providers/provider-error.js";
import { argumentsObject, argumentsText } from "../../src/providers/tool-arguments.js";

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

describe("argumentsObject", () => {
  it("is the object a wire that takes arguments as a value sends; '' is none", () => {
    expect(argumentsObject('{"city":"Paris"}', "gemini")).toEqual({ city: "Paris" });
    expect(argumentsObject("", "gemini")).toEqual({});
  });

  it("refuses arguments that are JSON but not an object, retryably (a wire that takes them may serve)", () => {
    for (const args of ["[1]", "3", '"text"', "null"]) {
      let error: unknown;
      try {
        argumentsObject(args, "bedrock");
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({
        errorClass: "invalid_request",
        retryable: true,
        message: "bedrock takes tool-call arguments as a JSON object only",
      });
    }
  });
});
