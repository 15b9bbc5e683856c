/** Settled options of a {@linkcode LineBatcher}. */
export interface LineBatcherConfig {
  flushIntervalMs: number;
  batchSize: number;
  maxBufferSize: number;
  closeStream: boolean;
  onError: (error: unknown) => void;
}

/**
 * Collects text and writes it to a stream in batches: once `batchSize`
 * characters wait, else after `flushIntervalMs`; one write at a time.
 */
export class LineBatcher {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #encoder = new TextEncoder();
  #intervalMs: number;
  #batchSize: number;
  #maxBufferSize: number;
  #closeStream: boolean;
  #onError: (error: unknown) => void;
  // One string per batch: appending, then encoding once per batch, measured
  // half the cost per line of encodeInto() into a reused buffer.
  #pending = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing = false;
  #written: Promise<void> = Promise.resolve();
  #draining = 0;
  #dropped = 0;
  #failed = false;
  #disposed: Promise<void> | null = null;

  constructor(stream: WritableStream<Uint8Array>, config: LineBatcherConfig) {
    this.#intervalMs = config.flushIntervalMs;
    this.#batchSize = config.batchSize;
    this.#maxBufferSize = config.maxBufferSize;
    this.#closeStream = config.closeStream;
    this.#onError = config.onError;
    // Throws a TypeError if the stream is locked.
    this.#writer = stream.getWriter();
  }

  /** Queues text; drops it (counted, reported) past `maxBufferSize`. */
  add(text: string): void {
    if (this.#failed || this.#disposed !== null) {
      this.#dropped++;
      return;
    }
    if (this.#pending.length + text.length > this.#maxBufferSize) {
      this.#dropped++;
      return;
    }
    this.#pending += text;
    if (this.#writing) return; // the running write loop takes it
    if (this.#pending.length >= this.#batchSize) this.#startWrite();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#onTimer, this.#intervalMs);
    }
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    if (!this.#writing && this.#pending.length > 0) this.#startWrite();
  };

  #startWrite(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#writing = true;
    this.#written = this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const text = this.#pending;
        this.#pending = "";
        await this.#writer.write(this.#encoder.encode(text));
        // A small remainder waits for the timer so that writes stay large.
        const more = this.#draining > 0 || this.#disposed !== null ||
          this.#pending.length >= this.#batchSize;
        if (!more) break;
      }
    } catch (error) {
      this.#failed = true;
      this.#pending = "";
      this.#report(error);
    } finally {
      this.#writing = false;
      this.#reportDrops();
      if (this.#pending.length > 0 && this.#timer === undefined) {
        this.#timer = setTimeout(this.#onTimer, this.#intervalMs);
      }
    }
  }

  #reportDrops(): void {
    if (this.#dropped === 0 || this.#failed) return;
    const count = this.#dropped;
    this.#dropped = 0;
    this.#report(
      new Error(
        `Dropped ${count} access lines: more than ${this.#maxBufferSize} characters were waiting`,
      ),
    );
  }

  /** Calls onError; one that throws must not break the write loop. */
  #report(error: unknown): void {
    try {
      this.#onError(error);
    } catch (hookError) {
      console.error("Access log sink onError failed:", hookError, error);
    }
  }

  /** Writes everything queued so far. */
  async drain(): Promise<void> {
    this.#draining++;
    try {
      while (this.#writing || this.#pending.length > 0) {
        if (!this.#writing) this.#startWrite();
        await this.#written;
      }
    } finally {
      this.#draining--;
    }
  }

  /** Writes everything queued, closes the stream if told to, unlocks it. */
  dispose(): Promise<void> {
    this.#disposed ??= this.#close();
    return this.#disposed;
  }

  async #close(): Promise<void> {
    try {
      await this.drain();
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      if (this.#closeStream && !this.#failed) {
        try {
          await this.#writer.close();
        } catch (error) {
          this.#report(error);
        }
      }
    } finally {
      this.#writer.releaseLock();
    }
  }
}
