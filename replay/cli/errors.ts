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
