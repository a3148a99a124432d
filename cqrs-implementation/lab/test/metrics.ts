/** Reads one sample from a service's Prometheus text at /metrics (0 when absent). */
export async function metric(serviceUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const sample = labels ? `${name}{${labels}}` : name;
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
