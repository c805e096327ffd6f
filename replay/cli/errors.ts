/** An error caused by the user's input: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parse a positive integer option, or throw a UsageError naming the option. */
export function positiveInt(name: string, value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer, got '${value}'`);
  return n;
}

/** `--image name=path` pairs: which image a domain runs instead of the one a trace names. */
export function imageOverrides(list: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--image expects name=path, got '${item}'`);
    m.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return m;
}
