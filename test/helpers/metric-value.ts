import type { Counter, Gauge } from 'prom-client';

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
