/**
 * Shared counters for what must hold across calls and, with Redis, across processes and
 * replicas: budgets, rate limits, breaker state. Every operation is atomic on its key. Counters
 * live in fixed windows: a counter is created at 0 by its first write and disappears `windowMs`
 * after that write, so a per-day budget is a key per day with a one-day window.
 *
 * Implementations: memory/ (one process, the default) and, for several replicas, Redis.
 */
export interface StateStore {
  /** Adds `amount` (may be negative) to `key` and returns the new value. */
  add(key: string, amount: number, windowMs: number): Promise<number>;
  /**
   * Adds `amount` only if the result stays at or below `limit`; either way returns the value
   * after the operation. The check-and-add is one atomic step, so concurrent reservations can
   * never together pass the limit.
   */
  reserve(key: string, amount: number, limit: number, windowMs: number): Promise<Reservation>;
  /** The current value; 0 for a key never written or expired. */
  get(key: string): Promise<number>;
  close(): Promise<void>;
}

export interface Reservation {
  granted: boolean;
  value: number;
}
