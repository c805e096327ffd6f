/**
 * Virtual disk names to device numbers, as libxl numbers them
 * (libxl__device_disk_dev_number): the xvd, hd, sd and dNpM forms, the
 * extended xvd numbering, plain numbers, and what it refuses.
 */
import { describe, expect, it } from 'vitest';
import { vdevNumber } from './vdev.js';

describe('vdevNumber', () => {
  it('numbers xvd disks and partitions as Linux blkfront decodes them', () => {
    expect(vdevNumber('xvda')).toBe((202 << 8) | 0);
    expect(vdevNumber('xvda')).toBe(51712);
    expect(vdevNumber('xvdb')).toBe(51728);
    expect(vdevNumber('xvda1')).toBe(51713);
    expect(vdevNumber('xvdp15')).toBe((202 << 8) | (15 << 4) | 15);
    expect(vdevNumber('d3p2')).toBe((202 << 8) | (3 << 4) | 2);
  });

  it('uses the extended form past 16 disks or 15 partitions', () => {
    expect(vdevNumber('xvdq')).toBe((1 << 28) | (16 << 8));
    expect(vdevNumber('xvdaa')).toBe((1 << 28) | (26 << 8));
    expect(vdevNumber('xvdab')).toBe((1 << 28) | (27 << 8));
    expect(vdevNumber('xvda16')).toBe((1 << 28) | 16);
    expect(vdevNumber('d100p0')).toBe((1 << 28) | (100 << 8));
  });

  it('numbers hd and sd disks, and takes plain numbers', () => {
    expect(vdevNumber('hda')).toBe(3 << 8);
    expect(vdevNumber('hdb2')).toBe((3 << 8) | (1 << 6) | 2);
    expect(vdevNumber('hdc')).toBe(22 << 8);
    expect(vdevNumber('sdb')).toBe((8 << 8) | (1 << 4));
    expect(vdevNumber('51712')).toBe(51712);
    expect(vdevNumber('0x10')).toBe(16);
  });

  it('refuses what libxl refuses', () => {
    for (const bad of ['xvd', 'xvda0', 'xvdA', 'vda', 'hde', 'hda64', 'sdq', 'sda16', 'd1p256', 'xvda01', '', 'disk']) expect(vdevNumber(bad), bad).toBe(-1);
  });
});
