import { TOPICS } from '@countersign/contracts';
import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { auditEvent, auditLogContract } from './audit-log.contract';
import { PgAuditLogRepository } from './audit-log.repository';

// real: PostgreSQL, with the owner role for the schema and the restricted audit role for appends; fake: nothing.
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function setup() {
  const db = await createTestDatabase('audit');
  const owner = createPgPool(db.url, 2);
  await PgAuditLogRepository.migrate(owner, 'countersign_audit');
  const service: Pool = createPgPool(db.urlFor(process.env.AUDIT_DATABASE_URL!), 2);
  cleanups.push(async () => {
    await owner.end();
    await service.end();
    await db.drop();
  });
  return { owner, service, log: new PgAuditLogRepository(service) };
}

auditLogContract('postgres', async () => (await setup()).log);

describe('the audit table is append-only', () => {
  it('refuses UPDATE and DELETE for the service role', async () => {
    const { service, log } = await setup();
    await log.append(TOPICS.policyDecided, auditEvent('e1', 'a1'));
    await expect(service.query(`UPDATE audit_events SET data = '{}'::jsonb`)).rejects.toThrow(/permission denied|append-only/);
    await expect(service.query('DELETE FROM audit_events')).rejects.toThrow(/permission denied|append-only/);
    await expect(service.query('TRUNCATE audit_events')).rejects.toThrow(/permission denied|append-only/);
    expect((await log.query({ actionId: 'a1' })).map((e) => e.data)).toEqual([{ lane: 'review' }]);
  });

  it('refuses UPDATE and DELETE even for the owner, by trigger', async () => {
    const { owner, log } = await setup();
    await log.append(TOPICS.policyDecided, auditEvent('e1', 'a1'));
    await expect(owner.query(`UPDATE audit_events SET data = '{}'::jsonb`)).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(owner.query('DELETE FROM audit_events')).rejects.toThrow(/append-only: DELETE refused/);
    await expect(owner.query('TRUNCATE audit_events')).rejects.toThrow(/append-only: TRUNCATE refused/);
  });
});
