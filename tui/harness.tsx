/**
 * Test harness for the TUI: renders the App over a trace file with
 * ink-testing-library at a fixed size, without colour, and presses keys,
 * waiting a tick after the render and after each key (ink applies input
 * asynchronously).
 */
import { render } from 'ink-testing-library';
import { TraceReader } from '../trace/reader.js';
import { App, type AppProps } from './app.js';
import { TimelineSource } from './source.js';

export const KEY = {
  up: '\u001B[A', down: '\u001B[B', pageUp: '\u001B[5~', pageDown: '\u001B[6~', home: '\u001B[H', end: '\u001B[F',
  enter: '\r', tab: '\t', esc: '\u001B', backspace: '\u007F',
} as const;

export const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

/**
 * After a key: wait for ink to write the next frame (React may split its
 * work across macrotasks on a loaded machine), or give up after `ms` when
 * the key changes nothing on screen.
 */
function nextFrame(stdout: NodeJS.EventEmitter & { frames: string[] }, ms = 150): Promise<void> {
  const before = stdout.frames.length;
  return new Promise((resolve) => {
    const t0 = setInterval(() => {
      if (stdout.frames.length > before) done();
    }, 2);
    const t1 = setTimeout(() => done(), ms);
    const done = (): void => {
      clearInterval(t0);
      clearTimeout(t1);
      setTimeout(resolve, 2);
    };
  });
}

/**
 * Write `data` to a rendered app's stdin and wait for the frames it causes:
 * the first (or none within 150 ms), then any that follow 20 ms or less
 * apart (keys arriving in one read apply one by one).
 */
export async function writeKeys(r: { stdin: { write(s: string): void }; stdout: unknown }, data: string): Promise<void> {
  const out = r.stdout as NodeJS.EventEmitter & { frames: string[] };
  const wait = nextFrame(out);
  r.stdin.write(data);
  await wait;
  for (let n = -1; n !== out.frames.length; ) {
    n = out.frames.length;
    await new Promise((res) => setTimeout(res, 20));
  }
}

export type Harness = {
  source: TimelineSource;
  frame(): string;
  lines(): string[];
  status(): string;
  press(...keys: string[]): Promise<void>;
  /** wait until no line says `seeking...` and the status bar no longer ends in `...` (the replay behind the state panes loads and runs asynchronously) */
  settled(): Promise<void>;
  /** type text then Enter (for the / f : prompts) */
  type(text: string): Promise<void>;
  rerender(props: Partial<AppProps>): Promise<void>;
  unmount(): void;
};

export async function openApp(path: string, props: Partial<AppProps> = {}): Promise<Harness> {
  const source = props.source ?? new TimelineSource(TraceReader.open(path));
  const all: AppProps = { columns: 80, rows: 12, colour: false, seekDelay: 0, ...props, source };
  const r = render(<App {...all} />);
  await tick();
  const frame = (): string => r.lastFrame() ?? '';
  const h: Harness = {
    source,
    frame,
    lines: () => frame().split('\n'),
    status: () => frame().split('\n').at(-1)!.trimEnd(),
    press: async (...keys) => {
      for (const k of keys) {
        const wait = nextFrame(r.stdout as never);
        r.stdin.write(k);
        await wait;
      }
    },
    type: async (text) => h.press(...text, KEY.enter),
    settled: async () => {
      // Until no pane is seeking and the status bar no longer says something is under way ("...").
      for (let i = 0; i < 1000 && frame().split('\n').some((l, k, all) => l.startsWith('seeking...') || (k === all.length - 1 && l.trimEnd().endsWith('...'))); i++) await tick();
      await tick();
    },
    rerender: async (p) => {
      r.rerender(<App {...all} {...p} />);
      await tick();
    },
    unmount: () => r.unmount(),
  };
  return h;
}
