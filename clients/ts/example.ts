// Runnable example: `npm start` in one shell, then `npm run example:ts` (SWITCHYARD_URL to point elsewhere).
import { AttemptOutcome, Role } from "../../gen/switchyard/v1/types_pb.js";
import { createSwitchyardClients, decisionOf } from "./switchyard-client.js";

const { router } = createSwitchyardClients({
  baseUrl: process.env.SWITCHYARD_URL ?? "http://127.0.0.1:50051",
});

const answer = await router.route({
  messages: [{ role: Role.USER, content: "Summarise our refund policy in one line." }],
  task: "chat",
  dataClass: "public",
});
console.log(`${answer.decision?.target}: ${answer.message?.content}`);
for (const attempt of answer.decision?.attempts ?? [])
  console.log(
    `  attempt ${attempt.target}: ${AttemptOutcome[attempt.outcome]} in ${attempt.latencyMs} ms ${attempt.message}`,
  );

process.stdout.write("stream: ");
for await (const event of router.stream({
  messages: [{ role: Role.USER, content: "My SSN is on file." }],
  dataClass: "pii",
})) {
  if (event.event.case === "delta") process.stdout.write(event.event.value.content);
  if (event.event.case === "done")
    console.log(
      `\n  served by ${event.event.value.decision?.target} (route ${event.event.value.decision?.route})`,
    );
}

try {
  await router.route({ messages: [{ role: Role.USER, content: "hi" }], dataClass: "no-such-class" });
} catch (error) {
  console.log(
    `refused as expected: ${(error as Error).message}; decision attached: ${decisionOf(error) !== undefined}`,
  );
}
