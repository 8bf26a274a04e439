// real: the audit consumer's handler map, the topic registry; fake: the chain (records appends).
import type { AuditEntry } from '@countersign/audit-chain';
import { ALL_TOPICS, AUDIT_LOG_OWN_TOPICS, dlqTopic, TOPICS } from '@countersign/contracts';
import type { AuditChainService } from '../chain/audit-chain.service';
import { AUDITED_TOPICS, AuditConsumer } from './audit.consumer';

/** The log's pseudonym key in these tests (a real log makes 32 random bytes: `AuditLogRepository.pseudonymKey`). */
const PSEUDONYM_KEY = Buffer.alloc(32, 7);

describe('what the audit writer reads from the bus', () => {
  it("reads every topic but the tree heads it publishes and the log's own topics, which it appends itself (a copy on the bus is a forgery)", () => {
    const handled = Object.keys(
      new AuditConsumer({ append: async (e: AuditEntry) => void e, pseudonymKey: async () => PSEUDONYM_KEY } as unknown as AuditChainService, {
        decisions: [],
        reviewQueue: [],
        outcomes: [],
      })['handlers'](),
    );
    expect([...handled].sort()).toEqual([...AUDITED_TOPICS].sort());
    for (const own of [TOPICS.treeHeadPublished, TOPICS.logRecovered, TOPICS.logStopped, TOPICS.logResumed]) {
      expect(handled).not.toContain(own);
      // Their dead letters are read, as every dead letter is (the ACLs give the audit writer all of them).
      expect(handled).toContain(dlqTopic(own));
    }
    expect(AUDITED_TOPICS).toHaveLength(ALL_TOPICS.length - 1 - AUDIT_LOG_OWN_TOPICS.size);
  });
});
