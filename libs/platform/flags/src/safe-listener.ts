import type { FlagHealthListener } from './flag-reader';

/** A listener whose throw is swallowed: a broken listener must not stop the flags failing closed or recovering. */
export const safeListener =
  (listener?: FlagHealthListener): FlagHealthListener =>
  (health) => {
    try {
      listener?.(health);
    } catch {
      // see above
    }
  };
