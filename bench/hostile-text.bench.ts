// npm run bench:hostile-text — how long the shipped contract takes to decide a reply whose body is 50,000 characters
// of text made to be costly (markup never closed, references, marks, Markdown, look-alike letters), beside a reply of
// plain prose of the same length, in the same run. Each run reads a new string: nothing is served from a memo of the
// run before. A pattern the readings take in more than linear time shows here as a ratio far above the others (red
// team, 2026-12-07: `<!--` 12,000 times took 1.5 s to decide, and held the services for seconds per proposal).
import { join } from 'node:path';
import { maskDeep } from '@countersign/guardrails';
import { compileContract, DecisionInputs, evaluate, loadContractFile, ProposalInput } from '@countersign/policy';

const LENGTH = 50_000;
const RUNS = Number(process.env.BENCH_N ?? 7);
const compiled = compileContract(loadContractFile(join(__dirname, '../apps/policy-engine/contract/countersign.contract.yaml')));
const inputs: DecisionInputs = { killSwitch: 'on', degradationMode: 'normal', trustStackHealthy: true, autonomy: 'autonomous', now: new Date() };

const PLAIN = 'Thanks for waiting: your ticket is closed and the parcel left our depot this morning. ';
const HOSTILE: Record<string, string> = {
  'comment never closed': '<!--',
  'comments, each closed far on': '<!--' + 'x'.repeat(60),
  'bogus comment': '<!',
  'processing instruction': '<?',
  'tag never closed': '<a ',
  'attribute never closed': '<x y="',
  'inline tags': '<b>',
  'hidden elements': '<div hidden>',
  'numeric reference cut': '&#',
  'named reference cut': '&amp',
  'escape cut': '\\u',
  'combining marks': 'a\u0301',
  'Markdown emphasis': '*a',
  'Markdown links': '[x](',
  'spelled-out at': 'a (at) ',
  'look-alike letters': 'раураӏ ',
  'digits and spaces': '1 ',
  // The contract's own long patterns (2026.12.20): a value that may be a password, a blame that may lie with someone.
  'password-like values': 'use Ab1! ',
  'blame without an end': 'the blame for a ',
  'money words': 'drop the fee ',
  // Words that lead to a value, with no space for a value to end (red team, 2026-12-07: `pw-` took 5–12 s).
  'password words, no space': 'pw-',
  'use words, no space': 'use-',
  'codes, no space': 'otp:',
};

const body = (unit: string, run: number) => {
  const tail = ` run ${run}`;
  return unit.repeat(Math.ceil(LENGTH / unit.length)).slice(0, LENGTH - tail.length) + tail;
};
const proposal = (text: string): ProposalInput =>
  ({
    actionType: 'support.reply',
    target: 'ticket-1',
    parameters: { body: text },
    proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
    confidence: 0.95,
    tenant: 'acme',
    region: 'eu-west',
    context: {},
  }) as ProposalInput;

/** The median time (ms) to decide and to mask a reply of `unit` repeated, over `RUNS` runs of fresh strings. */
function measure(unit: string): { decide: number; mask: number } {
  const decide: number[] = [];
  const mask: number[] = [];
  for (let run = -2; run < RUNS; run++) {
    const p = proposal(body(unit, run + 100));
    const t0 = process.hrtime.bigint();
    evaluate(compiled, p, inputs);
    const t1 = process.hrtime.bigint();
    maskDeep(p);
    const t2 = process.hrtime.bigint();
    if (run >= 0) {
      decide.push(Number(t1 - t0) / 1e6);
      mask.push(Number(t2 - t1) / 1e6);
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
  return { decide: median(decide), mask: median(mask) };
}

const plain = measure(PLAIN);
process.stdout.write(
  `plain prose, ${LENGTH} characters: decided in ${plain.decide.toFixed(1)} ms, masked in ${plain.mask.toFixed(1)} ms (medians of ${RUNS})\n`,
);
let worst = { name: '', decide: 0, ratio: 0 };
for (const [name, unit] of Object.entries(HOSTILE)) {
  const m = measure(unit);
  const ratio = m.decide / plain.decide;
  if (ratio > worst.ratio) worst = { name, decide: m.decide, ratio };
  process.stdout.write(
    `${name.padEnd(30)} ${JSON.stringify(unit.slice(0, 12)).padEnd(16)} decided in ${m.decide.toFixed(1).padStart(7)} ms (${ratio.toFixed(1)}×), masked in ${m.mask.toFixed(1)} ms\n`,
  );
}
process.stdout.write(
  `ratio: the costliest hostile reply (${worst.name}) takes ${worst.ratio.toFixed(1)}× the time of plain prose of the same length to decide (${worst.decide.toFixed(1)} ms against ${plain.decide.toFixed(1)} ms, ${LENGTH} characters)\n`,
);
