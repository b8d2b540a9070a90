// Runnable example: `npm start` in one shell, then `npm run example:ts` (SWITCHYARD_URL to point elsewhere).
import { Code } from "@connectrpc/connect";
import { AttemptOutcome, Role } from "../../gen/switchyard/v1/types_pb.js";
import { createSwitchyardClient, SwitchyardError } from "./switchyard-client.js";

const client = createSwitchyardClient({
  baseUrl: process.env.SWITCHYARD_URL ?? "http://127.0.0.1:50051",
  tenant: "example",
  // The tenant's key, needed when the policy declares tenant keys.
  ...(process.env.SWITCHYARD_API_KEY && { apiKey: process.env.SWITCHYARD_API_KEY }),
  deadlineMs: 30_000,
});

const answer = await client.route({
  messages: [{ role: Role.USER, content: "Summarise our refund policy in one line." }],
  task: "chat",
  dataClass: "public",
});
console.log(`${answer.decision?.target} (tenant ${answer.decision?.tenant}): ${answer.message?.content}`);
for (const attempt of answer.decision?.attempts ?? [])
  console.log(
    `  attempt ${attempt.target}: ${AttemptOutcome[attempt.outcome]} in ${attempt.latencyMs.toFixed(0)} ms ${attempt.message}`,
  );

process.stdout.write("stream: ");
for await (const event of client.stream({
  messages: [{ role: Role.USER, content: "My SSN is on file." }],
  dataClass: "pii",
})) {
  if (event.case === "delta") process.stdout.write(event.value.content);
  if (event.case === "done")
    console.log(`\n  served by ${event.value.decision?.target} (route ${event.value.decision?.route})`);
}

try {
  await client.route({
    messages: [{ role: Role.USER, content: "deploy with key AKIAIOSFODNN7EXAMPLE" }],
    task: "chat",
  });
  throw new Error("expected the request carrying a secret to be refused");
} catch (error) {
  if (!(error instanceof SwitchyardError)) throw error;
  console.log(`refused as expected: ${Code[error.code]} ${error.rawMessage}`);
  if (error.decision)
    console.log(
      `  decision: route "${error.decision.route}", refusal "${error.decision.refusal}", trace ${error.decision.traceId}`,
    );
}
