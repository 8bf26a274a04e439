import { createProgress, ProgressStream } from './progress';

// real: the progress helper; fake: the streams (a terminal and a pipe that record what is written) and the clock.
const stream = (isTTY: boolean) => {
  const written: string[] = [];
  const s: ProgressStream & { written: string[] } = { isTTY, written, write: (text: string) => written.push(text) };
  return s;
};

describe('createProgress', () => {
  it('on a terminal, draws one line in place, at most every `everyMs`, and ends it with the last state', () => {
    const tty = stream(true);
    let t = 0;
    const progress = createProgress('audit verify', { stream: tty, everyMs: 100, now: () => t });
    // 20,001 updates within 200 ms: three drawings, not 20,001.
    for (let done = 0; done <= 20_000; done++) {
      t = Math.floor(done / 100);
      progress.update(done, 20_000);
    }
    progress.update(20_000, 20_000); // the same state again, too soon: not drawn
    progress.finish();
    expect(tty.written).toEqual([
      '\raudit verify: 0 / 20,000 (0 %)\x1b[K',
      '\raudit verify: 10,000 / 20,000 (50 %)\x1b[K',
      '\raudit verify: 20,000 / 20,000 (100 %)\x1b[K',
      '\n',
    ]);
  });

  it('finishing draws the last state when the throttle held it back', () => {
    const tty = stream(true);
    const progress = createProgress('audit export', { stream: tty, everyMs: 100, now: () => 0 });
    progress.update(1, 3);
    progress.update(3, 3);
    progress.finish();
    expect(tty.written).toEqual(['\raudit export: 1 / 3 (33 %)\x1b[K', '\raudit export: 3 / 3 (100 %)\x1b[K', '\n']);
  });

  it('without a total, shows the count alone', () => {
    const tty = stream(true);
    const progress = createProgress('policy replay', { stream: tty });
    progress.update(1000);
    progress.finish();
    expect(tty.written).toEqual(['\rpolicy replay: 1,000\x1b[K', '\n']);
  });

  it('writes nothing at all when stderr is not a terminal (a pipe, a file, CI)', () => {
    const pipe = stream(false);
    let t = 0;
    const progress = createProgress('audit export', { stream: pipe, now: () => (t += 1000) });
    for (let done = 0; done <= 5; done++) progress.update(done, 5);
    progress.finish();
    expect(pipe.written).toEqual([]);
  });

  it('finishing without an update writes nothing, even on a terminal', () => {
    const tty = stream(true);
    createProgress('fuzz', { stream: tty }).finish();
    expect(tty.written).toEqual([]);
  });
});
