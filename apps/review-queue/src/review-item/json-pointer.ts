/** One reference token of a JSON pointer (RFC 6901), unescaped: `~1` is `/`, `~0` is `~`. */
export const pointerToken = (raw: string): string => raw.replace(/~1/g, '/').replace(/~0/g, '~');

/** The value at a JSON pointer (RFC 6901), own properties only, or undefined. */
export function valueAtPointer(value: unknown, pointer: string): unknown {
  let v = value;
  for (const raw of pointer.split('/').slice(1)) {
    const key = pointerToken(raw);
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
