import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ServerReflection,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { nextOf, type Pushable, pushable } from "../../helpers/pushable.js";
import { createTransports, type TransportSet } from "../../helpers/rpc.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";

let switchyard: TestSwitchyard;
let transports: TransportSet;
let operator: TransportSet;

beforeAll(async () => {
  switchyard = await startTestSwitchyard(MINIMAL_POLICY);
  transports = createTransports(switchyard.baseUrl);
  operator = createTransports(switchyard.operatorUrl);
});

afterAll(async () => {
  transports?.close();
  operator?.close();
  await switchyard?.stop();
});

/** One ServerReflectionInfo stream (to the router listener, or the operator's): ask, read, ask again. */
function openReflection(listener: "router" | "operator" = "router") {
  const requests: Pushable<ServerReflectionRequest> = pushable();
  const client = createClient(
    ServerReflection,
    (listener === "router" ? transports : operator).get("gRPC over h2c (binary)"),
  );
  const responses = client.serverReflectionInfo(requests)[Symbol.asyncIterator]();
  return {
    async ask(messageRequest: ServerReflectionRequest["messageRequest"]): Promise<ServerReflectionResponse> {
      requests.push(create(ServerReflectionRequestSchema, { host: "localhost", messageRequest }));
      return nextOf(responses);
    },
    async close() {
      requests.end();
      const rest = await responses.next();
      expect(rest.done).toBe(true);
    },
  };
}

/** The FileDescriptorProtos of a file_descriptor_response, decoded. */
function filesOf(response: ServerReflectionResponse) {
  const answer = response.messageResponse;
  if (answer.case !== "fileDescriptorResponse")
    throw new Error(`expected file descriptors, got ${answer.case}: ${JSON.stringify(answer.value)}`);
  return answer.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
}

describe("grpc.reflection.v1alpha.ServerReflection", () => {
  it("lists what each listener serves: RouterService or AdminService, Health and both reflection services", async () => {
    const stream = openReflection();
    const response = await stream.ask({ case: "listServices", value: "" });
    expect(response.validHost).toBe("localhost");
    expect(response.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "" });
    const answer = response.messageResponse;
    expect(answer.case).toBe("listServicesResponse");
    const names = answer.case === "listServicesResponse" ? answer.value.service.map((s) => s.name) : [];
    expect(names.sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "switchyard.v1.RouterService",
    ]);
    await stream.close();
    const operatorStream = openReflection("operator");
    const operatorAnswer = (await operatorStream.ask({ case: "listServices", value: "" })).messageResponse;
    const operatorNames =
      operatorAnswer.case === "listServicesResponse" ? operatorAnswer.value.service.map((s) => s.name) : [];
    expect(operatorNames.sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "switchyard.v1.AdminService",
    ]);
    await operatorStream.close();
  });

  it("resolves a service to its file, sent first, followed by every file it imports", async () => {
    const stream = openReflection();
    const files = filesOf(
      await stream.ask({ case: "fileContainingSymbol", value: "switchyard.v1.RouterService" }),
    );
    expect(files[0]?.name).toBe("switchyard/v1/router.proto");
    // router.proto imports types.proto, which imports struct.proto: the import is transitive.
    expect(files[0]?.dependency).toEqual(["switchyard/v1/types.proto"]);
    expect(files.map((f) => f.name).sort()).toEqual([
      "google/protobuf/struct.proto",
      "switchyard/v1/router.proto",
      "switchyard/v1/types.proto",
    ]);
    expect(files[0]?.service.map((s) => s.name)).toEqual(["RouterService"]);
    expect(
      files.find((f) => f.name === "switchyard/v1/types.proto")?.messageType.map((m) => m.name),
    ).toContain("Decision");
    await stream.close();
  });

  it("resolves a request type on a fresh stream with its imports too", async () => {
    const stream = openReflection();
    const files = filesOf(
      await stream.ask({ case: "fileContainingSymbol", value: "switchyard.v1.RouteRequest" }),
    );
    expect(files[0]?.name).toBe("switchyard/v1/router.proto");
    expect(files[0]?.messageType.map((m) => m.name)).toContain("RouteRequest");
    expect(files.map((f) => f.name)).toEqual(
      expect.arrayContaining(["switchyard/v1/types.proto", "google/protobuf/struct.proto"]),
    );
    await stream.close();
  });

  it("does not send an import again on the same stream", async () => {
    const stream = openReflection();
    const first = filesOf(
      await stream.ask({ case: "fileContainingSymbol", value: "switchyard.v1.RouterService" }),
    );
    expect(first.map((f) => f.name)).toContain("switchyard/v1/types.proto");

    // router.proto itself is what was asked for, so it comes again; its imports do not.
    const again = filesOf(
      await stream.ask({ case: "fileContainingSymbol", value: "switchyard.v1.RouteRequest" }),
    );
    expect(again.map((f) => f.name)).toEqual(["switchyard/v1/router.proto"]);

    await stream.close();

    // On the operator's listener: admin.proto shares types.proto (already sent) and adds
    // timestamp.proto (not yet sent).
    const operatorStream = openReflection("operator");
    const types = filesOf(
      await operatorStream.ask({ case: "fileContainingSymbol", value: "switchyard.v1.Decision" }),
    );
    expect(types.map((f) => f.name)).toEqual(["switchyard/v1/types.proto", "google/protobuf/struct.proto"]);
    const admin = filesOf(
      await operatorStream.ask({ case: "fileContainingSymbol", value: "switchyard.v1.AdminService" }),
    );
    expect(admin.map((f) => f.name)).toEqual([
      "switchyard/v1/admin.proto",
      "google/protobuf/timestamp.proto",
    ]);
    await operatorStream.close();
  });

  it("resolves methods and file names as well as types", async () => {
    const stream = openReflection();
    const method = filesOf(
      await stream.ask({ case: "fileContainingSymbol", value: "switchyard.v1.RouterService.Route" }),
    );
    expect(method[0]?.name).toBe("switchyard/v1/router.proto");
    const byName = filesOf(await stream.ask({ case: "fileByFilename", value: "switchyard/v1/types.proto" }));
    expect(byName.map((f) => f.name)).toEqual(["switchyard/v1/types.proto"]);
    await stream.close();
  });

  it("answers an unknown symbol with error_response NOT_FOUND and keeps the stream usable", async () => {
    const stream = openReflection();
    const response = await stream.ask({ case: "fileContainingSymbol", value: "switchyard.v1.NoSuchThing" });
    const answer = response.messageResponse;
    expect(answer.case).toBe("errorResponse");
    if (answer.case === "errorResponse") {
      expect(answer.value.errorCode).toBe(5);
      expect(answer.value.errorMessage).toContain("switchyard.v1.NoSuchThing");
    }
    const unknownFile = (await stream.ask({ case: "fileByFilename", value: "nope.proto" })).messageResponse;
    expect(unknownFile.case === "errorResponse" && unknownFile.value.errorCode).toBe(5);

    const files = filesOf(
      await stream.ask({ case: "fileContainingSymbol", value: "switchyard.v1.RouterService" }),
    );
    expect(files[0]?.name).toBe("switchyard/v1/router.proto");
    await stream.close();
  });
});
