import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { RunningService, ServiceName, startServiceProcess } from '@countersign/testing';

/** The shared parts of the stack `infra/stack.sh` can kill -9 and start again. */
export const PARTS = ['kafka', 'redis', 'postgres', 'unleash'] as const;
export type Part = (typeof PARTS)[number];

export type Fault = { kind: 'service'; name: ServiceName } | { kind: 'stack'; part: Part };
export const faultName = (f: Fault) => (f.kind === 'service' ? f.name : f.part);

const ADDRESS: Record<Part, string> = { kafka: '127.0.0.1:19092', redis: '127.0.0.1:6379', postgres: '127.0.0.1:5432', unleash: '127.0.0.1:14242' };

/** What one fault did: when it struck, and how long until the part answered again (or why it did not). */
export interface FaultRecord {
  fault: string;
  at: number;
  downMs: number;
  backAfterMs?: number;
  /** Starts of a service that failed (it exited or never got ready) before one succeeded. */
  restarts?: number;
  error?: string;
}

interface Services {
  running: RunningService[];
  /** A service's settings as `startDistributed` started it (its own Kafka certificate included). */
  envOf: (name: ServiceName) => Record<string, string>;
}

/**
 * Kills -9 and restarts the services of one distributed run (same port, same environment, log appended) and the
 * shared stack's parts (through `infra/stack.sh kill|start`), and remembers what is down so that `restoreAll`
 * can always bring it back. Every kill of a shared part is announced on stderr first: tests running elsewhere
 * at that moment may fail.
 */
export class Faults {
  private readonly down = new Set<Part>();
  private readonly stopped = new Set<ServiceName>();
  /** Processes this harness killed (or stops at the end): their exit is no crash. */
  private readonly intended = new Set<number>();
  /** A service being started: a fault on it waits for that start first. */
  private readonly starting = new Map<ServiceName, Promise<void>>();
  private closing = false;
  readonly records: FaultRecord[] = [];
  /** Services that exited without being killed (a crash of their own): each was started again, as a supervisor would. */
  readonly crashes: FaultRecord[] = [];

  constructor(
    private readonly stack: Services,
    private readonly o: { root: string; logDir: string; log: (line: string) => void },
  ) {
    for (const svc of stack.running) this.watch(svc);
  }

  private service(name: ServiceName): RunningService {
    const svc = [...this.stack.running].reverse().find((s) => s.name === name);
    if (!svc) throw new Error(`no running ${name}`);
    return svc;
  }

  /** A service that dies by itself is logged, counted and started again (like systemd's Restart=always). */
  private watch(svc: RunningService) {
    svc.process.once('exit', (code, signal) => {
      if (this.closing || this.intended.has(svc.process.pid!)) return;
      const name = svc.name as ServiceName;
      const rec: FaultRecord = { fault: `${name} exited by itself (${code ?? signal})`, at: Date.now(), downMs: 0 };
      this.crashes.push(rec);
      this.o.log(`chaos: ${rec.fault}: starting it again; see ${svc.logFile}`);
      this.stopped.add(name);
      void this.startService(name, rec);
    });
  }

  /** Stops watching: the services are about to be stopped on purpose. */
  close() {
    this.closing = true;
  }

  /** kill -9 a service, wait `downMs`, start it again on the same port; resolves when it is ready. */
  async crashService(name: ServiceName, downMs: number): Promise<FaultRecord> {
    await this.starting.get(name);
    const svc = this.service(name);
    const rec: FaultRecord = { fault: `kill -9 ${name}`, at: Date.now(), downMs };
    this.o.log(`chaos: kill -9 ${name} (pid ${svc.process.pid})`);
    const exited = new Promise((r) => (svc.process.exitCode !== null || svc.process.signalCode !== null ? r(null) : svc.process.once('exit', r)));
    this.intended.add(svc.process.pid!);
    this.stopped.add(name);
    svc.process.kill('SIGKILL');
    await exited;
    await sleep(downMs);
    await this.startService(name, rec);
    this.records.push(rec);
    return rec;
  }

  private startService(name: ServiceName, rec?: FaultRecord): Promise<void> {
    const running = this.starting.get(name);
    if (running) return running;
    const start = this.startServiceOnce(name, rec).finally(() => this.starting.delete(name));
    this.starting.set(name, start);
    return start;
  }

  /**
   * Starts the service again on its port, as a supervisor would: a start that exits (say, because a dependency is
   * down) is tried again 2 s later, for up to 3 minutes; `rec.restarts` counts the extra starts.
   */
  private async startServiceOnce(name: ServiceName, rec?: FaultRecord) {
    const old = this.service(name);
    const port = Number(new URL(old.url).port);
    const until = Date.now() + 180_000;
    let lastError: Error | undefined;
    for (let attempt = 1; Date.now() < until; attempt++) {
      try {
        const svc = await startServiceProcess(name, this.stack.envOf(name), { port, logDir: this.o.logDir, instance: name, timeoutMs: 120_000 });
        const i = this.stack.running.indexOf(old);
        this.stack.running.splice(i, 1, svc);
        this.watch(svc);
        this.stopped.delete(name);
        if (rec) rec.backAfterMs = Date.now() - rec.at;
        return;
      } catch (e) {
        lastError = e as Error;
        if (rec) rec.restarts = (rec.restarts ?? 0) + 1;
        this.o.log(`chaos: ${name} did not start (attempt ${attempt}): ${lastError.message}`);
        await sleep(2_000);
      }
    }
    if (rec) rec.error = `${name} did not come back: ${lastError?.message}`;
  }

  /** kill -9 a shared part of the stack, keep it down `downMs`, start it again; resolves when it is ready. */
  async crashPart(part: Part, downMs: number): Promise<FaultRecord> {
    const rec: FaultRecord = { fault: `kill -9 ${part}`, at: Date.now(), downMs };
    this.o.log(`chaos: kill -9 ${part} (the shared one on ${ADDRESS[part]}; tests running elsewhere now may fail) for ${(downMs / 1000).toFixed(0)} s`);
    this.down.add(part);
    try {
      await this.stackScript(['kill', part]);
      await sleep(downMs);
      await this.startPart(part);
      rec.backAfterMs = Date.now() - rec.at;
    } catch (e) {
      rec.error = (e as Error).message;
    }
    this.records.push(rec);
    return rec;
  }

  private async startPart(part: Part) {
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.stackScript(['start', part]);
        this.down.delete(part);
        return;
      } catch (e) {
        lastError = e as Error;
        this.o.log(`chaos: ${part} did not start (attempt ${attempt}): ${lastError.message}`);
        await sleep(2_000);
      }
    }
    throw lastError;
  }

  /** Everything this run took down, back up: the shared parts first (the services need them), then the services. */
  async restoreAll(): Promise<string[]> {
    const problems: string[] = [];
    for (const part of [...this.down]) await this.startPart(part).catch((e: Error) => problems.push(`${part}: ${e.message}`));
    for (const name of [...this.stopped]) {
      const rec: FaultRecord = { fault: `restart ${name}`, at: Date.now(), downMs: 0 };
      await this.startService(name, rec);
      if (rec.error) problems.push(rec.error);
    }
    return problems;
  }

  /** `bash infra/stack.sh <args>`, its output to the log; rejects on a non-zero exit or after 4 minutes. */
  private stackScript(args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      // Its own session: what it starts (Kafka, Unleash, PostgreSQL) must not share the harness's process group and die
      // with it on a Ctrl-C or a timeout's kill of that group.
      const child = spawn('bash', [join(this.o.root, 'infra/stack.sh'), ...args], { cwd: this.o.root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let output = '';
      const collect = (b: Buffer) => {
        output += b.toString();
        for (const line of b.toString().split('\n')) if (line.trim()) this.o.log(`chaos:   ${line}`);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`infra/stack.sh ${args.join(' ')} exited with ${code ?? signal}: ${output.trim().split('\n').slice(-3).join(' | ')}`));
      });
    });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
