import { METRIC_DEFINITIONS, Metrics, parsePrometheusText } from '@countersign/metrics';
import { SlaMetrics } from './sla-metrics';

// real: SlaMetrics, a prom-client registry (the process's Metrics); fake: the contract (its SLA classes only).
describe('SlaMetrics', () => {
  const scrape = async (metrics: Metrics) => parsePrometheusText(await metrics.render());

  it("shows each contract class's SLA in seconds, and the clock's counters at 0 for each class", async () => {
    const metrics = new Metrics('review-queue', METRIC_DEFINITIONS, { defaultMetrics: false });
    new SlaMetrics(metrics, { slaClasses: { urgent: 300, standard: 14_400 } }).onModuleInit();
    const samples = await scrape(metrics);
    const of = (name: string) =>
      samples
        .filter((s) => s.name === name)
        .map((s) => [s.labels.sla_class, s.value])
        .sort();
    expect(of('countersign_review_sla_seconds')).toEqual([
      ['standard', 14_400],
      ['urgent', 300],
    ]);
    expect(of('countersign_review_items_expired_total')).toEqual([
      ['standard', 0],
      ['urgent', 0],
    ]);
    expect(of('countersign_review_items_escalated_total')).toEqual([
      ['standard', 0],
      ['urgent', 0],
    ]);
  });

  it('follows the running contract: an approved change of the SLA classes shows at the next scrape', async () => {
    const metrics = new Metrics('review-queue', METRIC_DEFINITIONS, { defaultMetrics: false });
    const contract = { slaClasses: { urgent: 300, standard: 14_400 } as Record<string, number> };
    new SlaMetrics(metrics, contract).onModuleInit();
    contract.slaClasses = { urgent: 420, soon: 900 };
    await scrape(metrics);
    const sla = (await scrape(metrics)).filter((s) => s.name === 'countersign_review_sla_seconds').map((s) => [s.labels.sla_class, s.value]);
    expect(sla.sort()).toEqual([
      ['soon', 900],
      ['urgent', 420],
    ]);
    const expired = (await scrape(metrics)).filter((s) => s.name === 'countersign_review_items_expired_total').map((s) => s.labels.sla_class);
    expect(expired).toContain('soon');
  });

  it('shows nothing without a contract', async () => {
    const metrics = new Metrics('review-queue', METRIC_DEFINITIONS, { defaultMetrics: false });
    new SlaMetrics(metrics).onModuleInit();
    expect((await scrape(metrics)).filter((s) => s.name.startsWith('countersign_review_'))).toEqual([]);
  });
});
