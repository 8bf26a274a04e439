/** A flag's state as Countersign reads it: `unknown` (never seen, no data yet, or an unreadable source) always fails closed. */
export type FlagState = 'on' | 'off' | 'unknown';

export interface FlagContext {
  tenant?: string;
  region?: string;
  actionType?: string;
}

/** The flags port: kill switches and autonomy levels, read synchronously on the hot path. */
export interface FlagReader {
  state(name: string, context?: FlagContext): FlagState;
  /** The variant name for a flag (autonomy levels), or undefined when off or unknown. */
  variant(name: string, context?: FlagContext): string | undefined;
  /** Resolves once flag data is loaded (from the server, a backup, or the bootstrap file). */
  ready(timeoutMs?: number): Promise<boolean>;
  /**
   * Whether flag data is loaded now. While it is not, every flag reads `unknown` for a reason that passes
   * (the source is not reached yet, or unusable): a caller retries rather than refuse for good. Once it is,
   * `unknown` means the flag does not exist, and refusing is final.
   */
  loaded(): boolean;
  /** Why flags are not loaded (for /readyz and logs); undefined once they are. */
  notLoadedReason(): string | undefined;
  close(): Promise<void>;
}

/** The kill-switch flag of an action type: on means the executor may execute it. */
export const executionFlagName = (prefix: string, actionType: string) => `${prefix}${actionType}`;

/**
 * A change in a flag source's health. `failed`: the source cannot be read or parsed, and while
 * `failClosed` every flag reads `unknown` (kill switches stop execution). `recovered`: good data again.
 */
export interface FlagSourceHealth {
  status: 'failed' | 'recovered';
  /** Which source (the file's path, or the Unleash URL). */
  flagSource: string;
  reason: string;
  failClosed: boolean;
}

/**
 * Told of every health change of a flag source. The composition root wires it to the logger and the bus
 * (the flags lib knows neither); it must not throw, and a throw is ignored.
 */
export type FlagHealthListener = (health: FlagSourceHealth) => void;

/** The readiness check of a service that reads flags: ready once flag data is loaded; otherwise it says why. */
export const flagsReadiness = (flags: FlagReader) => ({
  name: 'flags',
  check: async (): Promise<boolean> => {
    const why = flags.notLoadedReason();
    if (why) throw new Error(why);
    return true;
  },
});
