/**
 * Before the replay is open (a Linux trace takes seconds): gdb's packets are
 * acknowledged and kept, and while one waits for its reply a newline goes
 * out every second, so that gdb's two-second reply timeout never fires; none
 * before gdb has asked anything, none once the replay serves.
 */
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { frame } from './packet.js';
import { EarlyInput } from './server.js';

describe('EarlyInput', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('acknowledges and keeps packets, and keeps gdb waiting with a byte a second until taken', () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let sent = '';
    output.on('data', (b: Buffer) => void (sent += b.toString('latin1')));
    const early = new EarlyInput(input, output);
    vi.advanceTimersByTime(3000);
    expect(sent).toBe('');
    input.write(frame('qSupported:swbreak+'));
    expect(sent).toBe('+');
    vi.advanceTimersByTime(2500);
    expect(sent).toBe('+\n\n');
    expect(Buffer.concat(early.take()).toString()).toBe(frame('qSupported:swbreak+').toString());
    vi.advanceTimersByTime(5000);
    input.write(frame('vMustReplyEmpty'));
    expect(sent).toBe('+\n\n');
  });
});
