/**
 * Policies for the front-door suites (test/server, test/cli). Every provider is an in-process
 * mock or points at loopback; nothing leaves the machine.
 */

/** The variable FRONT_DOOR_POLICY's `openai` provider takes its key from; tests leave it unset. */
export const UNSET_KEY_VARIABLE = "SWITCHYARD_TEST_UNSET_OPENAI_KEY";

/**
 * - `chat` (task chat, data class public): primary `openai` is left out (its key variable is
 *   unset), fallback[0] `flaky` always answers 503, fallback[1] `local` answers
 *   "one two three four" — so a decision shows an ineligible candidate, a failed and a
 *   successful attempt.
 * - `doomed` (task doomed): every target fails (503 then 500), no degrade answer.
 * - `hang` (task hang): the target never answers (a hung upstream).
 * - `slow` (task slow): ten tokens 100 ms apart, about one second per stream.
 * - `default`: `local` answers everything else.
 */
export const FRONT_DOOR_POLICY = `
providers:
  openai:
    kind: openai-compatible
    base_url: http://127.0.0.1:9/v1
    api_key: \${${UNSET_KEY_VARIABLE}}
    hosted: true
  flaky:
    kind: mock
    hosted: false
    mock: { failure_rate: 1, failure: unavailable }
    breaker: { enabled: false }
  broken:
    kind: mock
    hosted: false
    mock: { failure_rate: 1, failure: server_error }
    breaker: { enabled: false }
  hung:
    kind: mock
    hosted: false
    mock: { failure_rate: 1, failure: timeout }
  slow:
    kind: mock
    hosted: false
    mock: { token_interval_ms: 100, reply: "t0 t1 t2 t3 t4 t5 t6 t7 t8 t9" }
  local:
    kind: mock
    hosted: false
    mock: { latency_ms: 1, token_interval_ms: 1, reply: "one two three four" }
    models:
      tiny: { input_usd_per_mtok: 1, output_usd_per_mtok: 2 }
routes:
  - name: chat
    match: { task: chat, data_class: public }
    primary: { provider: openai, model: gpt-4.1 }
    fallback:
      - { provider: flaky, model: big }
      - { provider: local, model: tiny }
    budgets: { max_latency_ms: 5000, first_token_ms: 2000, max_token_gap_ms: 1000 }
    retry: { max_attempts: 1 }
  - name: doomed
    match: { task: doomed }
    primary: { provider: flaky, model: big }
    fallback:
      - { provider: broken, model: big }
    retry: { max_attempts: 1 }
  - name: hang
    match: { task: hang }
    primary: { provider: hung, model: forever }
  - name: slow
    match: { task: slow }
    primary: { provider: slow, model: steady }
  - name: default
    primary: { provider: local, model: tiny }
`;

/** What `local/tiny` answers. */
export const LOCAL_REPLY = "one two three four";
