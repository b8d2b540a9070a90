import { createRegistry, type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ServerReflection as ReflectionV1 } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import type { ServerReflection as ReflectionV1alpha } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/**
 * gRPC server reflection (https://github.com/grpc/grpc/blob/master/doc/server-reflection.md),
 * served as ordinary Connect services since connect-es ships none. v1 is what `buf curl` and
 * current grpcurl speak; v1alpha is what grpcurl 1.8.x speaks. Both have the same messages, so
 * one implementation answers both.
 *
 * Descriptors come from the generated code (each file embeds its FileDescriptorProto). On one
 * stream a file is sent once: a later answer carries only imports not yet sent.
 */
export function createReflectionServices(services: DescService[]): {
  v1: ServiceImpl<typeof ReflectionV1>;
  v1alpha: ServiceImpl<typeof ReflectionV1alpha>;
} {
  const index = createReflectionIndex(services);
  const serverReflectionInfo = async function* (requests: AsyncIterable<ReflectionRequest>) {
    const sent = new Set<string>();
    for await (const request of requests) yield answer(index, request, sent);
  };
  return {
    v1: { serverReflectionInfo },
    v1alpha: { serverReflectionInfo },
  };
}

/** The request shape shared by grpc.reflection.v1 and v1alpha. */
interface ReflectionRequest {
  host: string;
  messageRequest:
    | { case: "fileByFilename"; value: string }
    | { case: "fileContainingSymbol"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: "allExtensionNumbersOfType"; value: string }
    | { case: "listServices"; value: string }
    | { case: undefined; value?: undefined };
}

interface ReflectionIndex {
  services: string[];
  fileByName(name: string): DescFile | undefined;
  fileBySymbol(symbol: string): DescFile | undefined;
  extensionNumbers(typeName: string): number[] | undefined;
  fileByExtension(typeName: string, number: number): DescFile | undefined;
}

function createReflectionIndex(services: DescService[]): ReflectionIndex {
  // Keyed by the file's full name ("switchyard/v1/types.proto"), which is what clients ask
  // for; DescFile.name drops the ".proto" suffix.
  const files = new Map<string, DescFile>();
  const addFile = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const dependency of file.dependencies) addFile(dependency);
  };
  for (const service of services) addFile(service.file);
  const registry = createRegistry(...files.values());

  return {
    services: services.map((service) => service.typeName),
    fileByName: (name) => files.get(name),
    fileBySymbol(symbol) {
      const found = registry.get(symbol);
      if (found) return found.file;
      // A method: "package.Service.Method".
      const cut = symbol.lastIndexOf(".");
      const service = cut > 0 ? registry.getService(symbol.slice(0, cut)) : undefined;
      if (service?.methods.some((method) => method.name === symbol.slice(cut + 1))) return service.file;
      // A field or enum value is not a symbol reflection resolves; grpcurl asks for their parents.
      return undefined;
    },
    extensionNumbers(typeName) {
      const message = registry.getMessage(typeName);
      if (!message) return undefined;
      const numbers: number[] = [];
      for (const desc of registry)
        if (desc.kind === "extension" && desc.extendee.typeName === typeName) numbers.push(desc.number);
      return numbers;
    },
    fileByExtension(typeName, number) {
      const message = registry.getMessage(typeName);
      return message ? registry.getExtensionFor(message, number)?.file : undefined;
    },
  };
}

function answer(index: ReflectionIndex, request: ReflectionRequest, sent: Set<string>) {
  const base = { validHost: request.host, originalRequest: request };
  const notFound = (what: string) =>
    ({
      ...base,
      messageResponse: { case: "errorResponse", value: { errorCode: 5, errorMessage: `${what} not found` } },
    }) as const;
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? ({
          ...base,
          messageResponse: {
            case: "fileDescriptorResponse",
            value: { fileDescriptorProto: withImports(file, sent) },
          },
        } as const)
      : notFound(what);

  const message = request.messageRequest;
  switch (message.case) {
    case "fileByFilename":
      return files(index.fileByName(message.value), `file "${message.value}"`);
    case "fileContainingSymbol":
      return files(index.fileBySymbol(message.value), `symbol "${message.value}"`);
    case "fileContainingExtension":
      return files(
        index.fileByExtension(message.value.containingType, message.value.extensionNumber),
        `extension ${message.value.extensionNumber} of "${message.value.containingType}"`,
      );
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(message.value);
      if (!numbers) return notFound(`type "${message.value}"`);
      return {
        ...base,
        messageResponse: {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: message.value, extensionNumber: numbers },
        },
      } as const;
    }
    case "listServices":
      return {
        ...base,
        messageResponse: {
          case: "listServicesResponse",
          value: { service: index.services.map((name) => ({ name })) },
        },
      } as const;
    case undefined:
      return {
        ...base,
        messageResponse: { case: "errorResponse", value: { errorCode: 3, errorMessage: "empty request" } },
      } as const;
    default:
      return message satisfies never;
  }
}

/** The file first (clients expect it there), then its transitive imports not yet sent on this stream. */
function withImports(file: DescFile, sent: Set<string>): Uint8Array[] {
  const out: Uint8Array[] = [toBinary(FileDescriptorProtoSchema, file.proto)];
  sent.add(file.name);
  const visit = (dependency: DescFile) => {
    if (sent.has(dependency.name)) return;
    sent.add(dependency.name);
    out.push(toBinary(FileDescriptorProtoSchema, dependency.proto));
    for (const next of dependency.dependencies) visit(next);
  };
  for (const dependency of file.dependencies) visit(dependency);
  return out;
}
