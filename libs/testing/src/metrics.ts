import { parsePrometheusText, Sample } from '@countersign/metrics';
import { testFetch } from './https-client';

export { parsePrometheusText, sampleSum, type Sample } from '@countersign/metrics';

/** Scrapes `<url>/metrics` with a bearer token; throws unless it answers 200. */
export async function scrapeMetrics(url: string, token: string): Promise<Sample[]> {
  const res = await testFetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text.slice(0, 300)}`);
  return parsePrometheusText(text);
}
