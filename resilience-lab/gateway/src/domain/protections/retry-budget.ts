export interface RetryBudgetOptions {
  /** Tokens earned per original request: 0.1 means retries add at most ~10% load. */
  ratio: number;
  /** Most tokens the bucket holds, and what it starts with. */
  burst: number;
  /** Tokens trickled in per second, so a quiet gateway can still retry a rare failure. */
  minPerSecond: number;
}

/**
 * A token bucket for retries. Per-request retry limits multiply load during an outage (three
 * attempts each is 3x traffic on a supplier already failing); a budget shared by all requests
 * caps the extra load, so an outage cannot become a retry storm.
 */
export class RetryBudget {
  private readonly options: RetryBudgetOptions;
  private readonly capacity: number;
  private balance: number;
  private refilledAt = Date.now();

  constructor(options: RetryBudgetOptions) {
    this.options = options;
    this.capacity = Math.max(options.burst, 1);
    this.balance = options.burst;
  }

  onRequest(): void {
    this.deposit(this.options.ratio);
  }

  tryWithdraw(): boolean {
    this.deposit(0);
    if (this.balance < 1) return false;
    this.balance -= 1;
    return true;
  }

  /** The balance as of now: an idle gateway's budget refills by the trickle, requests or not. */
  get tokens(): number {
    this.deposit(0);
    return this.balance;
  }

  private deposit(amount: number): void {
    const now = Date.now();
    const trickle = ((now - this.refilledAt) / 1000) * this.options.minPerSecond;
    this.refilledAt = now;
    this.balance = Math.min(this.capacity, this.balance + amount + trickle);
  }
}
