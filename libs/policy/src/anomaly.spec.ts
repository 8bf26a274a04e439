import { contractLaneOf, observeAgentStats } from './agent-stats';
import { anomalyOf, AgentWindowStats } from './anomaly';
import { ContractError, parseContract } from './contract';
import type { AnomalyRule } from './contract.types';
import { compileContract, evaluate } from './evaluate';
import { InMemoryAgentStats } from './in-memory-agent-stats';
import { compiledProjectContract, OPEN_INPUTS, PROJECT_CONTRACT, proposalOf } from './spec-fixtures';
import { readFileSync } from 'node:fs';

// real: anomalyOf, evaluate, the project's contract, the in-process agent statistics, contract validation; fake: nothing.

const rule = (over: Partial<AnomalyRule>): AnomalyRule => ({
  id: 'r',
  kind: 'confidence-rise',
  shortWindowSeconds: 300,
  baselineWindowSeconds: 86_400,
  minCount: 20,
  onDetect: 'review',
  ...over,
});
/** An agent's windows: `n` proposals now at mean confidence `mean` (share `share` autonomous), `bn` before at `bmean`/`bshare`. */
const stats = (n: number, mean: number, share: number, bn: number, bmean: number, bshare: number): AgentWindowStats => ({
  short: { count: n, confidenceSum: n * mean, autonomous: Math.round(n * share), seconds: 300 },
  baseline: { count: bn, confidenceSum: bn * bmean, autonomous: Math.round(bn * bshare), seconds: 86_100 },
});

describe('anomaly rules', () => {
  describe('confidence-rise', () => {
    const r = rule({ by: 0.15, ceiling: 0.97 });
    it('fires when the short mean exceeds the baseline by more than `by`, naming the numbers', () => {
      expect(anomalyOf(r, 'support.reply', stats(30, 0.9, 1, 500, 0.7, 0.5))).toBe(
        'mean confidence rose from 0.7 (500 proposals over the 86100 s before) to 0.9 (30 proposals in the last 300 s), more than 0.15',
      );
    });
    it('stays quiet on a rise of exactly `by` (float sums do not tip it) and below', () => {
      expect(anomalyOf(r, 'support.reply', stats(20, 0.85, 1, 500, 0.7, 0.5))).toBeUndefined();
      expect(anomalyOf(r, 'support.reply', stats(30, 0.8, 1, 500, 0.7, 0.5))).toBeUndefined();
    });
    it('fires above the ceiling even without a baseline ("suspiciously sure")', () => {
      expect(anomalyOf(r, 'support.reply', stats(20, 0.99, 1, 0, 0, 0))).toBe(
        'mean confidence 0.99 (20 proposals in the last 300 s) is above the ceiling 0.97',
      );
    });
    it('cold start: a rise from a baseline of fewer than baselineMinCount (minCount by default) does not fire', () => {
      expect(anomalyOf(r, 'support.reply', stats(30, 0.9, 1, 19, 0.5, 0.5))).toBeUndefined();
      expect(anomalyOf({ ...r, baselineMinCount: 10 }, 'support.reply', stats(30, 0.9, 1, 19, 0.5, 0.5))).toMatch(/rose from 0.5/);
    });
    it('min count: three proposals (or nineteen) are not a trend, however sure', () => {
      expect(anomalyOf(r, 'support.reply', stats(3, 1, 1, 500, 0.5, 0.5))).toBeUndefined();
      expect(anomalyOf(r, 'support.reply', stats(19, 1, 1, 500, 0.5, 0.5))).toBeUndefined();
    });
    it('counts only the action types it names; no statistics is no finding', () => {
      expect(anomalyOf({ ...r, actionTypes: ['support.refund'] }, 'support.reply', stats(30, 0.99, 1, 0, 0, 0))).toBeUndefined();
      expect(anomalyOf(r, 'support.reply', undefined)).toBeUndefined();
    });
  });

  describe('autonomous-share-rise', () => {
    const r = rule({ kind: 'autonomous-share-rise', by: 0.3 });
    it('fires when the share of autonomous proposals rises by more than `by`', () => {
      expect(anomalyOf(r, 'support.reply', stats(20, 0.7, 1, 200, 0.7, 0.5))).toBe(
        'share of autonomous proposals rose from 0.5 (200 proposals over the 86100 s before) to 1 (20 proposals in the last 300 s), more than 0.3',
      );
    });
    it('stays quiet on a smaller rise, below min count and on a cold start', () => {
      expect(anomalyOf(r, 'support.reply', stats(20, 0.7, 0.75, 200, 0.7, 0.5))).toBeUndefined();
      expect(anomalyOf(r, 'support.reply', stats(10, 0.7, 1, 200, 0.7, 0.1))).toBeUndefined();
      expect(anomalyOf(r, 'support.reply', stats(40, 0.7, 1, 5, 0.7, 0))).toBeUndefined();
    });
    it('a ceiling fires on a cold start too', () => {
      expect(anomalyOf({ ...r, ceiling: 0.95 }, 'support.reply', stats(40, 0.7, 1, 0, 0, 0))).toMatch(
        /share of autonomous proposals 1 .* above the ceiling 0.95/,
      );
    });
  });

  describe('volume-rise', () => {
    const r = rule({ kind: 'volume-rise', factor: 10 });
    it('fires when the short rate is at least `factor` times the baseline rate', () => {
      // 60 in 5 min = 12/min against 287 over 86,100 s = 0.2/min.
      expect(anomalyOf(r, 'support.reply', stats(60, 0.7, 1, 287, 0.7, 1))).toBe(
        '12 proposals per minute (60 proposals in the last 300 s) are 60 times the baseline of 0.2 per minute (287 proposals over the 86100 s before), at least 10 times',
      );
    });
    it('stays quiet below the factor, below min count and on a cold start', () => {
      expect(anomalyOf(r, 'support.reply', stats(20, 0.7, 1, 10_000, 0.7, 1))).toBeUndefined();
      expect(anomalyOf(r, 'support.reply', stats(19, 0.7, 1, 20, 0.7, 1))).toBeUndefined();
      expect(anomalyOf(r, 'support.reply', stats(200, 0.7, 1, 3, 0.7, 1))).toBeUndefined();
    });
    it('an absolute ceiling per minute fires on a cold start', () => {
      expect(anomalyOf({ ...r, ceilingPerMinute: 30 }, 'support.reply', stats(200, 0.7, 1, 0, 0, 0))).toMatch(
        /^40 proposals per minute .* ceiling of 30 per minute$/,
      );
    });
  });

  describe('in evaluate', () => {
    const reply = proposalOf('support.reply', { body: 'On its way.' }, { confidence: 0.99 });
    it('sends a proposal that trips a rule to review, audited in rulesFired and reasons', () => {
      const d = evaluate(compiledProjectContract, reply, { ...OPEN_INPUTS, agentStats: { 'confidence-rise': stats(30, 0.99, 1, 500, 0.7, 0.6) } });
      expect(d.lane).toBe('review');
      expect(d.rulesFired).toContain('anomaly:confidence-rise');
      expect(d.reasons).toContain(
        'anomaly:confidence-rise: mean confidence rose from 0.7 (500 proposals over the 86100 s before) to 0.99 (30 proposals in the last 300 s), more than 0.15',
      );
      expect(d.review?.requiredRoles).toEqual(['reviewer']);
    });
    it('never makes a decision less strict: a prohibited proposal stays prohibited', () => {
      const d = evaluate(compiledProjectContract, proposalOf('shell.exec', { cmd: 'ls' }), {
        ...OPEN_INPUTS,
        agentStats: { 'confidence-rise': stats(30, 0.99, 1, 500, 0.7, 0.6) },
      });
      expect(d.lane).toBe('prohibited');
    });
    it('is quiet without statistics (the policy CLI) and under ordinary ones', () => {
      expect(evaluate(compiledProjectContract, reply, OPEN_INPUTS).lane).toBe('autonomous');
      const calm = { 'confidence-rise': stats(30, 0.75, 0.5, 500, 0.7, 0.5), 'autonomous-share-rise': stats(30, 0.75, 0.5, 500, 0.7, 0.5) };
      expect(evaluate(compiledProjectContract, reply, { ...OPEN_INPUTS, agentStats: calm }).lane).toBe('autonomous');
    });
  });

  describe('observeAgentStats', () => {
    it('counts each proposal once per rule under its agent, with the lane the contract alone gives it', async () => {
      const store = new InMemoryAgentStats();
      const at = OPEN_INPUTS.now;
      const reply = proposalOf('support.reply', { body: 'hi' }, { confidence: 0.9 });
      // Autonomy off would send it to review; the contract alone lets it run on its own.
      expect(contractLaneOf(compiledProjectContract, reply, { now: at })).toBe('autonomous');
      const first = await observeAgentStats(compiledProjectContract, reply, 'a-1', true, store, at);
      expect(Object.keys(first).sort()).toEqual(['autonomous-share-rise', 'confidence-rise', 'volume-rise']);
      expect(first['confidence-rise'].short).toMatchObject({ count: 1, confidenceSum: 0.9, autonomous: 1 });
      const again = await observeAgentStats(compiledProjectContract, reply, 'a-1', true, store, at);
      expect(again['confidence-rise'].short.count).toBe(1);
      const otherAgent = proposalOf(
        'support.reply',
        { body: 'hi' },
        { proposer: { agentId: 'ops-agent', model: { name: 'x', version: '1' }, promptTemplateVersion: 'v' } },
      );
      expect((await observeAgentStats(compiledProjectContract, otherAgent, 'a-2', false, store, at))['confidence-rise'].short.count).toBe(1);
    });
  });

  describe('contract validation', () => {
    const base = readFileSync(PROJECT_CONTRACT, 'utf8');
    const withRule = (yaml: string) => base.replace(/^anomalies:\n/m, `anomalies:\n  - ${yaml}\n`);
    const problem = (yaml: string) => {
      try {
        parseContract(withRule(yaml), 'c.yaml');
        return 'valid';
      } catch (e) {
        return (e as ContractError).message;
      }
    };
    it('the project contract has default rules', () => {
      expect(compiledProjectContract.contract.anomalies?.map((r) => r.id)).toEqual(['confidence-rise', 'autonomous-share-rise', 'volume-rise']);
    });
    it('refuses unknown action types, a short baseline, thresholds of another kind, none at all, and a repeated id', () => {
      const ok = '{ id: x, kind: confidence-rise, shortWindowSeconds: 300, baselineWindowSeconds: 3600, minCount: 20';
      expect(problem(`${ok}, by: 0.1, onDetect: review }`)).toBe('valid');
      expect(problem(`${ok}, by: 0.1, actionTypes: [nope], onDetect: review }`)).toMatch(/anomalies\[0\] \(x\)\.actionTypes: unknown action type nope/);
      expect(problem(`${ok.replace('3600', '500')}, by: 0.1, onDetect: review }`)).toMatch(/at least twice the short window/);
      expect(problem(`${ok}, by: 0.1, factor: 3, onDetect: review }`)).toMatch(/factor is not a threshold of a confidence-rise rule/);
      expect(problem(`${ok}, onDetect: review }`)).toMatch(/needs by, ceiling or both/);
      expect(problem(`${ok}, by: 0.1, onDetect: lenient }`)).toMatch(/onDetect/);
      expect(problem(`${ok.replace('id: x', 'id: volume-rise').replace('confidence-rise', 'volume-rise')}, factor: 3, onDetect: review }`)).toMatch(
        /another entry of anomalies is called volume-rise/,
      );
    });
    it('an action type an anomaly can send to review needs review settings', () => {
      const noReview = base.replace(/(ticket\.tag:[\s\S]*?)\n {6}review: \{[^}]*\} \}/, '$1 }');
      expect(noReview).not.toBe(base);
      expect(() => compileContract(parseContract(noReview, 'c.yaml'))).toThrow(/actions\.ticket\.tag: an action that can reach review needs review settings/);
    });
  });
});
