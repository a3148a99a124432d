/**
 * Reads one sample from a service's Prometheus text at /metrics. A label set not observed yet
 * reads 0 (prom-client shows a labelled child only once it is used), but a metric the service
 * does not declare at all is an error: a renamed metric must fail the checks that read it, not
 * turn every "nothing happened" into a pass.
 */
export async function metric(serviceUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const sample = labels ? `${name}{${labels}}` : name;
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  if (line) return Number(line.slice(sample.length + 1));
  // A histogram's samples are named after its family plus _bucket, _count or _sum.
  const family = name.replace(/_(bucket|count|sum)$/, '');
  if (!text.includes(`\n# TYPE ${name} `) && !text.includes(`\n# TYPE ${family} `))
    throw new Error(`${serviceUrl}/metrics declares no metric ${name}`);
  return 0;
}
