/**
 * Shared counters for what must hold across calls and, with Redis, across processes and
 * replicas: budgets, rate limits, breaker state. Every operation is atomic on its key. Counters
 * live in fixed windows: a counter is created at 0 by its first write and disappears `windowMs`
 * after that write, so a per-day budget is a key per day with a one-day window.
 *
 * Amounts are counted in millionths, exactly: every amount and limit is rounded to six decimals
 * (a dollar counter is exact to the micro-dollar, so ten adds of 0.1 make 1, not
 * 0.9999999999999999), and a counter holds at most ±9,007,199,254 (2^53 millionths). Both stores
 * keep integers, so a counter in Redis and one in memory agree to the last digit; money kept in
 * picodollars (core/money.ts) is passed as dollars or micro-dollars.
 *
 * Implementations: memory/ (one process, the default) and redis/ (several replicas).
 */
export interface StateStore {
  /**
   * Adds `amount` (may be negative: a settlement returning part of a reservation) to `key` and
   * returns the new value. A shared store that cannot be reached keeps the amount and applies it
   * once it is back (see the implementation for what it returns meanwhile).
   */
  add(key: StateKey, amount: number, windowMs: number): Promise<number>;
  /**
   * `add` for each item, in one step (a call's settlements: one script, one request); returns
   * each counter's value after. Keys are distinct and share their scope, as for reserveAll.
   */
  addAll(items: readonly AddItem[]): Promise<number[]>;
  /**
   * Adds `amount` only if the result stays at or below `limit`; either way returns the value
   * after the operation. The check-and-add is one atomic step, so concurrent reservations can
   * never together pass the limit.
   */
  reserve(key: StateKey, amount: number, limit: number, windowMs: number): Promise<Reservation>;
  /**
   * Reserves every item or none, in one atomic step: the amounts are added only if every
   * counter stays at or below its limit, so concurrent calls reserving on several counters never
   * hold part of what they asked for (a call refused on one counter takes nothing from the
   * others, even for an instant). Keys are distinct and share their scope (one tenant's
   * counters): Redis Cluster runs one script on one slot.
   */
  reserveAll(items: readonly ReserveItem[]): Promise<Reservations>;
  /**
   * Sets `key` to the larger of its value and `value`, and keeps it at least `windowMs` from now
   * (the later of its expiry and now + `windowMs`); returns the value after. Unlike add and
   * reserve, this moves the window: it keeps a deadline (breaker state shared by replicas: "open
   * until"), which must outlive the latest writer's period, not the first's. A shared store that
   * cannot be reached behaves as for get.
   */
  raise(key: StateKey, value: number, windowMs: number): Promise<number>;
  /** The current value; 0 for a key never written or expired. */
  get(key: StateKey): Promise<number>;
  close(): Promise<void>;
}

export interface Reservation {
  granted: boolean;
  value: number;
}

export interface AddItem {
  key: StateKey;
  amount: number;
  windowMs: number;
}

export interface ReserveItem {
  key: StateKey;
  amount: number;
  limit: number;
  windowMs: number;
}

export interface Reservations {
  granted: boolean;
  /** Each item's counter after: with its amount when granted, as it stands when refused. */
  values: number[];
  /** When refused: the first item whose amount would take its counter past its limit. */
  refusedAt?: number;
}

/**
 * A counter's name, made only by `stateKey`, so every caller says whose counter it is: the
 * `scope` (a tenant, or a target for breaker state) is the part Redis Cluster hashes, so all of
 * one tenant's counters live on one slot.
 */
export type StateKey = string & { readonly __stateKey: unique symbol };

/**
 * `{scope}:part:part…`, e.g. `stateKey("acme", "usd", "day", "2026-11-30")` is
 * `{acme}:usd:day:2026-11-30`. `{`, `}`, `:` and `%` inside a scope or part are %-escaped, so
 * the braces always delimit the whole scope (the Redis Cluster hash tag) and no two different
 * lists of parts make the same key.
 */
export function stateKey(scope: string, ...parts: string[]): StateKey {
  return [`{${escapePart(scope)}}`, ...parts.map(escapePart)].join(":") as StateKey;
}

function escapePart(text: string): string {
  return text.replace(/[%:{}]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Throws RangeError when a key comes twice in one batch: each is checked against its limit on its
 * own, so a repeated key would not be checked for the two amounts together.
 */
export function distinctKeys(items: ReadonlyArray<{ key: StateKey }>): void {
  const seen = new Set<StateKey>();
  for (const { key } of items) {
    if (seen.has(key)) throw new RangeError(`state key ${key} comes twice in one batch`);
    seen.add(key);
  }
}

/** Throws RangeError for a window that is not a finite, non-negative number of milliseconds. */
export function checkWindow(windowMs: number): void {
  if (!(Number.isFinite(windowMs) && windowMs >= 0 && windowMs <= Number.MAX_SAFE_INTEGER))
    throw new RangeError(`state window out of range: ${windowMs} ms`);
}

const UNITS_PER_ONE = 1_000_000;

/** `amount` in whole millionths; throws RangeError for an amount that is not finite or too large. */
export function toUnits(amount: number): number {
  const units = Math.round(amount * UNITS_PER_ONE);
  if (!Number.isSafeInteger(units))
    throw new RangeError(
      `state amount out of range: ${amount} (at most ±${Number.MAX_SAFE_INTEGER / UNITS_PER_ONE})`,
    );
  // Math.round(-0.4) is -0.
  return units === 0 ? 0 : units;
}

export function fromUnits(units: number): number {
  return units / UNITS_PER_ONE;
}
