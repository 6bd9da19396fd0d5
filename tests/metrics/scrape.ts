import parsePrometheusTextFormat, { type PrometheusFamily, type PrometheusSample } from "parse-prometheus-text-format";

/** /metrics as a Prometheus server reads it: the text format parsed into metric families. */
export class Scrape {
  constructor(readonly families: PrometheusFamily[]) {}

  static parse(text: string): Scrape {
    return new Scrape(parsePrometheusTextFormat(text));
  }

  family(name: string): PrometheusFamily | undefined {
    return this.families.find((f) => f.name === name);
  }

  /** The samples of `name` whose labels include `labels`. */
  samples(name: string, labels: Record<string, string> = {}): PrometheusSample[] {
    return (this.family(name)?.metrics ?? []).filter((sample) =>
      Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value)
    );
  }

  /** The value of the one sample of `name` with `labels`; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const [sample, more] = this.samples(name, labels);
    if (more) throw new Error(`${name} ${JSON.stringify(labels)} matches several samples`);
    return sample?.value === undefined ? undefined : Number(sample.value);
  }

  /** A histogram's observation count. */
  count(name: string, labels: Record<string, string> = {}): number | undefined {
    const [sample] = this.samples(name, labels);
    return sample?.count === undefined ? undefined : Number(sample.count);
  }
}
