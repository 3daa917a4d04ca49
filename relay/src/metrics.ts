/**
 * A small metrics registry rendered in the Prometheus text format at /metrics. Counters are
 * incremented where things happen; gauges are sampled from live objects when scraped.
 */
export type Labels = Record<string, string>;

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
  sample?: () => Array<{ labels?: Labels; value: number }>;
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class Metrics {
  readonly #families = new Map<string, Family>();

  counter(name: string, help: string): (labels?: Labels, by?: number) => void {
    const family = this.#family(name, help, 'counter');
    return (labels = {}, by = 1) => {
      const key = labelKey(labels);
      const entry = family.values.get(key) ?? { labels, value: 0 };
      entry.value += by;
      family.values.set(key, entry);
    };
  }

  /** A gauge read from `sample` at scrape time. */
  gauge(name: string, help: string, sample: () => Array<{ labels?: Labels; value: number }>): void {
    this.#family(name, help, 'gauge').sample = sample;
  }

  value(name: string, labels: Labels = {}): number {
    return this.#families.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.#families) {
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
      const samples = family.sample ? family.sample() : [...family.values.values()];
      for (const { labels = {}, value } of samples) {
        const rendered = Object.entries(labels)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(',');
        lines.push(`${name}${rendered ? `{${rendered}}` : ''} ${Number.isFinite(value) ? value : 0}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  #family(name: string, help: string, type: Family['type']): Family {
    let family = this.#families.get(name);
    if (!family) {
      family = { help, type, values: new Map() };
      this.#families.set(name, family);
    }
    return family;
  }
}
