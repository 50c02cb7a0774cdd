/**
 * `work`, or a rejection ("no answer within <ms> ms") once `ms` have passed
 * without it: for checks that must answer even when the database does not
 * (readiness, replica health, the trash counts of /metrics). The work itself
 * goes on; only the wait is bounded.
 */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
