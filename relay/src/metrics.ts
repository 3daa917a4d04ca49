import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The relay's Prometheus registry (prom-client), rendered at /metrics. One registry per relay, not
 * prom-client's global one, so several relays in one process (the tests) keep their series apart.
 *
 * Counters are incremented where things happen; series another object already counts (the
 * Salesforce connection's calls, the Pub/Sub subscriber's events) or that live in PostgreSQL (queue
 * depth, dead letters) are sampled when scraped. `value` reads a counter synchronously, for the
 * status page and tests that compare before and after.
 */
export type Labels = Record<string, string>;
export interface Sample {
  labels?: Labels;
  value: number;
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export class Metrics {
  readonly registry = new Registry();
  readonly #counts = new Map<string, Map<string, number>>();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A counter; the name should end in `_total`. Labels must be among `labelNames`. */
  counter(name: string, help: string, labelNames: string[] = []): (labels?: Labels, by?: number) => void {
    const counter = new Counter({ name, help, labelNames, registers: [this.registry] });
    const counts = new Map<string, number>();
    this.#counts.set(name, counts);
    return (labels = {}, by = 1) => {
      counter.inc(labels, by);
      const key = labelKey(labels);
      counts.set(key, (counts.get(key) ?? 0) + by);
    };
  }

  /** A counter kept by another object and read from `sample` at scrape time. */
  sampledCounter(name: string, help: string, labelNames: string[], sample: () => Sample[]): void {
    new Counter({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { labels = {}, value } of sample()) this.inc(labels, Number.isFinite(value) ? value : 0);
      },
    });
  }

  /** A gauge read from `sample` at scrape time (which may query the database). */
  gauge(
    name: string,
    help: string,
    sample: () => Sample[] | Promise<Sample[]>,
    labelNames: string[] = [],
  ): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        // A failed read (the database briefly away) leaves the series out of this scrape rather
        // than failing the whole page.
        const samples = await Promise.resolve()
          .then(sample)
          .catch(() => []);
        this.reset();
        for (const { labels = {}, value } of samples) this.set(labels, Number.isFinite(value) ? value : 0);
      },
    });
  }

  /** A histogram; `observe(labels, value)` adds one observation (seconds, for latencies). */
  histogram(
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames: string[] = [],
  ): (labels: Labels, value: number) => void {
    const histogram = new Histogram({
      name,
      help,
      buckets: [...buckets],
      labelNames,
      registers: [this.registry],
    });
    return (labels, value) => histogram.observe(labels, value);
  }

  /** The current value of a counter made with `counter`, 0 when never incremented. */
  value(name: string, labels: Labels = {}): number {
    return this.#counts.get(name)?.get(labelKey(labels)) ?? 0;
  }

  /** Every series in the Prometheus text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
