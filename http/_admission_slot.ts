// A granted request slot. It holds its owner only until released, so a
// second release() does nothing, and calls back one function shared by all
// slots of an owner (no closure per admission).

import type { Admission } from "./load_shed_types.ts";

/** Frees the slot in its owner; `admittedAt` is NaN for an untimed slot. */
export type ReleaseFn<O extends object> = (
  owner: O,
  admittedAt: number,
) => void;

/** The {@linkcode Admission} a load shedder hands out. */
export class Slot<O extends object> implements Admission {
  readonly admitted = true as const;
  readonly priority: string;
  readonly queuedMs: number;
  #owner: O | undefined;
  #release: ReleaseFn<O>;
  #admittedAt: number;
  constructor(
    owner: O,
    priority: string,
    queuedMs: number,
    admittedAt: number,
    release: ReleaseFn<O>,
  ) {
    this.#owner = owner;
    this.priority = priority;
    this.queuedMs = queuedMs;
    this.#admittedAt = admittedAt;
    this.#release = release;
  }
  release(): void {
    const owner = this.#owner;
    if (owner === undefined) return;
    this.#owner = undefined;
    this.#release(owner, this.#admittedAt);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}
