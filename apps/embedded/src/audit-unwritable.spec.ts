import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { TOPICS } from '@countersign/contracts';
import { call, eventually } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: the embedded mode in this process, its audit file on this machine's file system made immutable (`chattr +i`,
// as root: what a full disk or a read-only mount does to a write, without filling the disk); fake: nothing.
// Disk probe, 2026-12-05: while the audit file could not be written, actions executed, /readyz said ready, and each
// audit entry was dead-lettered, its dead letter failed too and was skipped: the entries were lost for good.
jest.setTimeout(240_000);
const example = (f: string) => JSON.parse(readFileSync(join(__dirname, '../examples', f), 'utf8'));
const chattr = (flag: '+i' | '-i', file: string) => execFileSync('chattr', [flag, file]);

describe('no audit, no action: while the audit file cannot be written', () => {
  it('nothing executes, /readyz says why, and once it can be written again every entry is recorded and the action runs', async () => {
    const home = mkdtempSync(join(tmpdir(), 'embedded-audit-unwritable-'));
    const running = await startEmbedded({ home, port: 0, logger: pino({ level: 'silent' }) });
    const file = join(home, 'audit', 'audit.jsonl');
    const agent = readFileSync(join(home, 'tokens', 'agent'), 'utf8');
    const status = async (id: string) => ((await call('GET', `${running.url}/v1/actions/${id}`, undefined, agent)).body as { status: string }).status;
    const propose = async (f: string, target: string) => {
      const res = await call('POST', `${running.url}/v1/proposals`, { ...example(f), target }, agent);
      expect(res.status).toBe(202);
      return (res.body as { actionId: string }).actionId;
    };
    let immutable = false;
    try {
      // The audit log holds entries, then cannot take more.
      const before = await propose('refund-small.json', 'order-9100');
      await eventually(async () => expect(await status(before)).toBe('executed'));
      chattr('+i', file);
      immutable = true;
      // A proposal that executes nothing finds the file unwritable first (its entries are the first to fail).
      const prohibited = await propose('legal-statement.json', 'ticket-9101');
      const notReady = await eventually(async () => {
        const res = await call('GET', `${running.url}/readyz`);
        expect(res.status).toBe(503);
        return res.body as { checks: Record<string, string> };
      });
      expect(notReady.checks['audit-log']).toMatch(
        /^the audit log cannot be written: EPERM: operation not permitted, open '.*audit\.jsonl'; nothing executes until it can$/,
      );
      // Decided to run, and held: no effect reaches the target while its entries cannot be recorded.
      const held = await propose('refund-small.json', 'order-9102');
      // Held, and it says why (red team, 2026-12-08: it read `autonomous`, and `waiting` said the executor may have stopped).
      const view = await eventually(async () => {
        const v = (await call('GET', `${running.url}/v1/actions/${held}`, undefined, agent)).body as { status: string; reasonCode?: string; reason?: string };
        expect(v).toMatchObject({ status: 'held', reasonCode: 'audit-unavailable' });
        return v;
      });
      expect(JSON.stringify(view)).toMatch(/the audit trail cannot record \(.*EPERM.*\): held until it can/);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(running.sink.effects.filter((e) => e.actionId === held)).toHaveLength(0);
      // Writable again: the entries held back are recorded, none lost, and the action runs, once.
      chattr('-i', file);
      immutable = false;
      await eventually(async () => expect(await status(held)).toBe('executed'), 60_000);
      expect(running.sink.effects.filter((e) => e.actionId === held)).toHaveLength(1);
      await eventually(async () => expect((await call('GET', `${running.url}/readyz`)).status).toBe(200));
      await eventually(() => {
        const entries = readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).entry as { actionId: string; eventType: string });
        const types = (id: string) => entries.filter((e) => e.actionId === id).map((e) => e.eventType);
        expect(types(prohibited)).toEqual(expect.arrayContaining([TOPICS.actionProposed, TOPICS.policyDecided]));
        expect(types(held)).toEqual(expect.arrayContaining([TOPICS.actionProposed, TOPICS.policyDecided, TOPICS.actionExecuted]));
        expect(entries.some((e) => e.eventType.startsWith('unverified.') || e.eventType.endsWith('.dlq'))).toBe(false);
      }, 60_000);
    } finally {
      if (immutable) chattr('-i', file);
      await running.close();
    }
  });
});
