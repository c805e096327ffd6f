/**
 * The domid of each domain of a scenario, in scenario order: 0 for the
 * `dom0` one, the others 1, 2, ... in order (as xl numbers the domains it
 * creates). Apart from scenario.ts so that readers of a trace header get it
 * without loading the scenario schema (zod).
 */
export function domainIds(domains: ReadonlyArray<{ dom0?: boolean }>): number[] {
  let next = 1;
  return domains.map((d) => (d.dom0 === true ? 0 : next++));
}
