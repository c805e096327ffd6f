/**
 * A guest's console output as lines, from its two channels, in the order
 * the lines completed:
 *
 * - the PV console ring, which xenconsoled reads: shown `[name] line`;
 * - console_io(CONSOLEIO_write), Xen's own log (earlyprintk=xen, Linux's
 *   early and panic output): shown as Xen prints a domU's,
 *   `(d<id>) line`, buffered per domain until a newline, with characters
 *   that are not printable dropped and lines of at most 255 characters
 *   (guest_console_write in xen/drivers/char/console.c).
 */
export type ConsoleLine = { dom: number; source: 'ring' | 'console_io'; text: string };

/** Xen's per-domain console_io buffer (struct domain_console.buf). */
const XEN_LINE = 255;
const printable = (c: number): boolean => (c >= 0x20 && c < 0x7f) || c === 0x09;

export class ConsoleLines {
  private readonly partial = new Map<string, string>();

  constructor(private readonly emit: (l: ConsoleLine) => void) {}

  /** Output `text` of domain `dom` on channel `source`; completed lines go to `emit`. */
  add(dom: number, source: ConsoleLine['source'], text: string): void {
    const key = `${dom}:${source}`;
    let cur = this.partial.get(key) ?? '';
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) {
        this.emit({ dom, source, text: source === 'ring' ? cur.replace(/\r$/, '') : cur });
        cur = '';
      } else if (source === 'ring') {
        cur += text[i];
      } else if (printable(c)) {
        cur += text[i];
        if (cur.length >= XEN_LINE) {
          this.emit({ dom, source, text: cur });
          cur = '';
        }
      }
    }
    this.partial.set(key, cur);
  }

  /** Emit every unfinished line (at the end of a run or a view). */
  flush(): void {
    for (const [key, cur] of this.partial) {
      if (cur === '') continue;
      const [dom, source] = key.split(':') as [string, ConsoleLine['source']];
      this.emit({ dom: Number(dom), source, text: source === 'ring' ? cur.replace(/\r$/, '') : cur });
    }
    this.partial.clear();
  }
}

/** How a line is shown: `[name] text` for the ring, `(d<id>) text` for console_io. */
export function consoleLineText(l: ConsoleLine, names: ReadonlyMap<number, string>): string {
  return l.source === 'console_io' ? `(d${l.dom}) ${l.text}` : `[${names.get(l.dom) ?? `d${l.dom}`}] ${l.text}`;
}

/** All lines of a sequence of console outputs, unfinished ones last. */
export function consoleLinesOf(outputs: Iterable<{ dom: number; source: ConsoleLine['source']; text: string }>): ConsoleLine[] {
  const out: ConsoleLine[] = [];
  const c = new ConsoleLines((l) => out.push(l));
  for (const o of outputs) c.add(o.dom, o.source, o.text);
  c.flush();
  return out;
}

type ConsoleEventish = { seq: number; dom: number; kind: string; source?: string; text?: string };

/**
 * The whole console line (one domain, one channel) that the output of event
 * `seq` is part of, from `events` (a window of a trace around `seq`, in
 * order): a console event holds a piece of a line (Linux's hvc writes 16
 * bytes at a time) and the diff shows the line. A piece ending in a newline
 * belongs to the line it ends. Null when `seq` is not a console event of
 * the window.
 */
export function lineAround(events: Iterable<ConsoleEventish>, seq: number): string | null {
  const all = [...events];
  const at = all.findIndex((e) => e.seq === seq);
  const t = all[at];
  if (t === undefined || t.kind !== 'console') return null;
  const same = all.filter((e) => e.kind === 'console' && e.dom === t.dom && e.source === t.source);
  const k = same.indexOf(t);
  let head = '';
  for (let i = k - 1; i >= 0; i--) {
    const text = same[i]!.text!;
    const nl = text.lastIndexOf('\n');
    if (nl >= 0) {
      head = text.slice(nl + 1) + head;
      break;
    }
    head = text + head;
  }
  let line = head;
  for (let i = k; i < same.length; i++) {
    const text = same[i]!.text!;
    const nl = text.indexOf('\n');
    if (nl >= 0) return (line + text.slice(0, nl)).replace(/\r$/, '');
    line += text;
  }
  return line.replace(/\r$/, '');
}
