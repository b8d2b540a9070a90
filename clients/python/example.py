"""Runnable example: `npm start` in one shell, then `/usr/bin/python3 clients/python/example.py`
(SWITCHYARD_ADDRESS to point elsewhere; the shipped policy in config/switchyard.yaml)."""

import os
import sys

from switchyard_client import SwitchyardClient, SwitchyardError, types_pb2, user

address = os.environ.get("SWITCHYARD_ADDRESS", "127.0.0.1:50051")

# SWITCHYARD_API_KEY: the tenant's key, needed when the policy declares tenant keys.
with SwitchyardClient(address, tenant="example", deadline=30, api_key=os.environ.get("SWITCHYARD_API_KEY", "")) as client:
    answer = client.route(messages=[user("Summarise our refund policy in one line.")], task="chat", data_class="public")
    print(f"{answer.decision.target} (tenant {answer.decision.tenant}): {answer.message.content}")
    for attempt in answer.decision.attempts:
        outcome = types_pb2.AttemptOutcome.Name(attempt.outcome)
        print(f"  attempt {attempt.target}: {outcome} in {attempt.latency_ms:.0f} ms {attempt.message}")

    print("stream: ", end="")
    for event in client.stream(messages=[user("My SSN is on file.")], data_class="pii"):
        kind = event.WhichOneof("event")
        if kind == "delta":
            print(event.delta.content, end="", flush=True)
        elif kind == "done":
            print(f"\n  served by {event.done.decision.target} (route {event.done.decision.route})")

    try:
        client.route(messages=[user("deploy with key AKIAIOSFODNN7EXAMPLE")], task="chat")
        sys.exit("expected the request carrying a secret to be refused")
    except SwitchyardError as error:
        print(f"refused as expected: {error.code.name} {error.message}")
        if error.decision is not None:
            decision = error.decision
            print(f'  decision: route "{decision.route}", refusal "{decision.refusal}", trace {decision.trace_id}')
