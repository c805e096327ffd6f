/**
 * `--action WHEN:DO:DOMAIN[:KEY]` (run, record): a toolstack action added
 * to the scenario's own, as its `actions` entries are written:
 *   WHEN    a virtual time (5ms, 2s, 250us, 100ns), event=N (after event N),
 *           or console=TEXT (when DOMAIN's console shows TEXT; TEXT may hold ':')
 *   DO      shutdown, reboot, sysrq, pause, unpause, destroy
 *   DOMAIN  a domain of the scenario, by name
 *   KEY     sysrq's key (one character)
 * e.g. --action 2s:shutdown:linux, --action event=5000:sysrq:linux:s,
 * --action 'console=login\:':pause:linux.
 */
import { ACTION_KINDS, ScenarioError, withActions, type ActionKind, type Scenario, type ScenarioAction } from '../../sim/scenario.js';
import { UsageError } from './errors.js';

const isKind = (s: string | undefined): s is ActionKind => s !== undefined && (ACTION_KINDS as readonly string[]).includes(s);
const FORM = 'WHEN:DO:DOMAIN[:KEY] (WHEN: a time such as 2s or 500ms, event=N, or console=TEXT; DO: ' + ACTION_KINDS.join(', ') + ')';

/** One `--action` value as a scenario action (its domain not yet checked). */
export function parseAction(text: string): ScenarioAction {
  const parts = text.split(':');
  const n = parts.length;
  let cut: number;
  if (n >= 3 && isKind(parts[n - 2])) cut = n - 2;
  else if (n >= 4 && isKind(parts[n - 3])) cut = n - 3;
  else throw new UsageError(`--action '${text}': expected ${FORM}`);
  const when = parts.slice(0, cut).join(':');
  const [what, domain, key] = parts.slice(cut) as [ActionKind, string, string | undefined];
  let at: ScenarioAction['at'];
  if (when.startsWith('event=')) {
    const seq = Number(when.slice(6));
    if (!/^\d+$/.test(when.slice(6)) || !Number.isSafeInteger(seq)) throw new UsageError(`--action '${text}': event= needs a sequence number, got '${when.slice(6)}'`);
    at = { event: seq };
  } else if (when.startsWith('console=')) {
    if (when.length === 8) throw new UsageError(`--action '${text}': console= needs the text to wait for`);
    at = { console: when.slice(8) };
  } else at = when;
  return { at, do: what, domain, ...(key !== undefined ? { key } : {}) };
}

/** The `--action` values, checked against scenario `s` (domains, times, sysrq keys): a UsageError names the one at fault. */
export function actionOptions(values: string[] | undefined, s: Scenario): ScenarioAction[] {
  const out: ScenarioAction[] = [];
  for (const v of values ?? []) {
    const a = parseAction(v);
    try {
      withActions(s, [a]);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      const why = e.message.replace(/^.*?: actions\.\d+(\.\w+)?: /, '');
      throw new UsageError(`--action '${v}': ${why}`);
    }
    out.push(a);
  }
  return out;
}
