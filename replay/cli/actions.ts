/**
 * `--action WHEN:DO:DOMAIN[:ARG]` (run, record): a toolstack action added
 * to the scenario's own, as its `actions` entries are written:
 *   WHEN    a virtual time (5ms, 2s, 250us, 100ns), event=N (after event N),
 *           or console=TEXT (when DOMAIN's console shows TEXT; TEXT may hold ':')
 *   DO      shutdown, reboot, sysrq, pause, unpause, destroy, block-detach,
 *           network-attach, network-detach
 *   DOMAIN  a domain of the scenario, by name
 *   ARG     sysrq: the key (one character); block-attach: VDEV=TARGET[,MODE]
 *           (xvdb=disk.img,r; TARGET as a scenario disk's); block-detach: the vdev (xvdb);
 *           network-detach: the device id or the MAC; network-attach
 *           (optional): xl's vif spec, bridge=B,mac=M,ip=A
 * DO is the last action name followed by a domain, so ARG may hold ':' (a MAC).
 * e.g. --action 2s:shutdown:linux, --action event=5000:sysrq:linux:s,
 * --action 'console=login\:':pause:linux, --action 5ms:block-detach:guest:xvdb,
 * --action 1s:network-attach:guest:bridge=xenbr0,mac=00:16:3e:00:00:02.
 */
import { ACTION_KINDS, ScenarioError, withActions, type ActionKind, type Scenario, type ScenarioAction } from '../../sim/scenario.js';
import { UsageError } from './errors.js';

const isKind = (s: string | undefined): s is ActionKind => s !== undefined && (ACTION_KINDS as readonly string[]).includes(s);
const FORM = 'WHEN:DO:DOMAIN[:ARG] (WHEN: a time such as 2s or 500ms, event=N, or console=TEXT; DO: ' + ACTION_KINDS.join(', ') + ')';
/** xl's vif spec keys network-attach takes. */
const VIF_KEYS = ['bridge', 'mac', 'ip'] as const;

/** One `--action` value as a scenario action (its domain not yet checked). */
export function parseAction(text: string): ScenarioAction {
  const parts = text.split(':');
  const n = parts.length;
  let cut = n - 2;
  while (cut >= 1 && !isKind(parts[cut])) cut--;
  if (cut < 1) throw new UsageError(`--action '${text}': expected ${FORM}`);
  const when = parts.slice(0, cut).join(':');
  const what = parts[cut] as ActionKind;
  const domain = parts[cut + 1]!;
  const arg = cut + 2 < n ? parts.slice(cut + 2).join(':') : undefined;
  let at: ScenarioAction['at'];
  if (when.startsWith('event=')) {
    const seq = Number(when.slice(6));
    if (!/^\d+$/.test(when.slice(6)) || !Number.isSafeInteger(seq)) throw new UsageError(`--action '${text}': event= needs a sequence number, got '${when.slice(6)}'`);
    at = { event: seq };
  } else if (when.startsWith('console=')) {
    if (when.length === 8) throw new UsageError(`--action '${text}': console= needs the text to wait for`);
    at = { console: when.slice(8) };
  } else at = when;
  return { at, do: what, domain, ...actionArg(text, what, arg) };
}

/** ARG as the fields of action `what` (the scenario's validation judges their values). */
function actionArg(text: string, what: ActionKind, arg: string | undefined): Partial<ScenarioAction> {
  if (what === 'network-attach') {
    const vif: Record<string, string> = {};
    for (const kv of arg === undefined || arg === '' ? [] : arg.split(',')) {
      const eq = kv.indexOf('=');
      const k = kv.slice(0, eq);
      if (eq < 0 || !(VIF_KEYS as readonly string[]).includes(k)) throw new UsageError(`--action '${text}': network-attach takes a vif spec of ${VIF_KEYS.map((x) => `${x}=`).join(', ')} separated by commas, got '${kv}'`);
      if (k in vif) throw new UsageError(`--action '${text}': ${k}= given twice`);
      vif[k] = kv.slice(eq + 1);
    }
    return { vif: vif as ScenarioAction['vif'] };
  }
  if (what === 'block-attach') {
    // VDEV=TARGET[,MODE], e.g. xvdb=disk.img,r
    const m = /^([^=,]+)=([^,]+)(?:,(.*))?$/.exec(arg ?? '');
    if (m === null) throw new UsageError(`--action '${text}': block-attach takes VDEV=TARGET[,MODE] (xvdb=disk.img,r), got '${arg ?? ''}'`);
    return { disk: { vdev: m[1]!, target: m[2]!, ...(m[3] !== undefined ? { mode: m[3] } : {}) } as ScenarioAction['disk'] };
  }
  if (arg === undefined) return {};
  if (what === 'block-detach') return { vdev: arg };
  if (what === 'network-detach') return /^\d+$/.test(arg) ? { devid: Number(arg) } : { mac: arg };
  if (what === 'sysrq') return { key: arg };
  throw new UsageError(`--action '${text}': ${what} takes no argument after the domain, got '${arg}'`);
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
      const why = e.message.replace(/^.*?: actions\.\d+(\.\w+)*: /, '');
      throw new UsageError(`--action '${v}': ${why}`);
    }
    out.push(a);
  }
  return out;
}
