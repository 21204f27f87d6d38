import type { Counter, Gauge, Histogram } from 'prom-client';

/** The current value of one labelled series (0 when it has never been touched). */
export async function metricValue(
  metric: Counter<string> | Gauge<string>,
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  const series = values.find((value) =>
    Object.entries(labels).every(([name, wanted]) => String(value.labels[name]) === wanted),
  );
  return series?.value ?? 0;
}

/** How many observations one labelled series of a histogram has, and their sum (0 and 0 when none). */
export async function histogramTotals(
  metric: Histogram<string>,
  labels: Record<string, string> = {},
): Promise<{ count: number; sum: number }> {
  const { values } = await metric.get();
  const matches = (value: (typeof values)[number]) =>
    Object.entries(labels).every(([name, wanted]) => String(value.labels[name]) === wanted);
  const total = (suffix: string) => values.find((value) => value.metricName?.endsWith(suffix) && matches(value))?.value ?? 0;
  return { count: total('_count'), sum: total('_sum') };
}
