/**
 * Progress of long command-line work (`policy replay`, `audit verify`, `audit export`, `fuzz`), for a person watching a
 * terminal: one line on stderr, rewritten in place at most every `everyMs`. On anything that is not a terminal (a
 * pipe, a file, CI) it writes nothing at all, so scripted output stays exactly the results.
 */

/** Where progress goes: `process.stderr`, or a stand-in with the same two members (tests). */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface Progress {
  /** `done` units of `total` (when known) are finished; drawn when the last drawing is older than `everyMs`. */
  update(done: number, total?: number): void;
  /** The last state drawn, and the line ended; nothing when nothing was drawn. Call once, when the work ends or fails. */
  finish(): void;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** The shortest time between two drawings (ms). */
  everyMs?: number;
  now?: () => number;
}

/** Clears from the cursor to the end of the line (ANSI EL), so a shorter line leaves nothing of a longer one behind. */
const CLEAR_LINE = '\x1b[K';

/** Progress of `label` (e.g. `audit verify`): on a TTY a throttled line on stderr, elsewhere nothing. */
export function createProgress(label: string, { stream = process.stderr, everyMs = 100, now = Date.now }: ProgressOptions = {}): Progress {
  if (!stream.isTTY) return { update: () => undefined, finish: () => undefined };
  let drawnAt = -Infinity;
  let drawn = false;
  let last: { done: number; total?: number } | undefined;
  let lastDrawn: typeof last;
  const draw = () => {
    if (!last) return;
    const { done, total } = last;
    const share = total ? ` (${Math.min(100, Math.floor((done / total) * 100))} %)` : '';
    stream.write(`\r${label}: ${done.toLocaleString('en')}${total !== undefined ? ` / ${total.toLocaleString('en')}` : ''}${share}${CLEAR_LINE}`);
    drawn = true;
    lastDrawn = last;
  };
  return {
    update(done, total) {
      last = { done, total };
      const t = now();
      if (t - drawnAt < everyMs) return;
      drawnAt = t;
      draw();
    },
    finish() {
      if (last && (last.done !== lastDrawn?.done || last.total !== lastDrawn?.total)) draw();
      if (drawn) stream.write('\n');
      drawn = false;
      last = lastDrawn = undefined;
    },
  };
}
