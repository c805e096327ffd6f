/**
 * Virtual disk names, as xl's disk configuration spells them ("xvda",
 * "xvdb3", "hda", "sdb", "d0p1", or a number), and the device number the
 * toolstack gives them: the xenstore device id of device/vbd/<devid> and
 * the frontend's "virtual-device" (libxl__device_disk_dev_number):
 * - xvdX[N] with disk index <= 15 and partition <= 15: (202 << 8) | (disk << 4) | partition;
 *   larger ones use the extended form (1 << 28) | (disk << 8) | partition;
 *   "d<disk>p<partition>" is the same numbering;
 * - hdX[N] (disks 0-3, partitions <= 63): ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | partition;
 * - sdX[N] (disks 0-15, partitions <= 15): (8 << 8) | (disk << 4) | partition;
 * - a plain number is taken as the device number.
 * Disk letters count like spreadsheet columns: a..z, aa..zz, ...
 */

/** XENVBD_MAJOR, the xvd block major of Linux's blkfront. */
const XVD_MAJOR = 202;
const IDE0_MAJOR = 3;
const IDE1_MAJOR = 22;
const SCSI_DISK0_MAJOR = 8;
const EXTENDED = 1 << 28;

/** "<prefix><letters>[<partition>]" -> [disk, partition] within the limits, or null. */
function letters(name: string, prefix: string, maxDisk: number, maxPart: number): [number, number] | null {
  if (!name.startsWith(prefix)) return null;
  const m = /^([a-z]+)([1-9][0-9]*)?$/.exec(name.slice(prefix.length));
  if (m === null) return null;
  let disk = -1;
  for (const c of m[1]!) {
    disk = (disk + 1) * 26 + (c.charCodeAt(0) - 97);
    if (disk > maxDisk) return null;
  }
  const part = m[2] === undefined ? 0 : Number(m[2]);
  return part > maxPart ? null : [disk, part];
}

/** The device number of a virtual disk name, or -1 when the toolstack would refuse it. */
export function vdevNumber(vdev: string): number {
  const dp = /^d([0-9]+)p([0-9]+)$/.exec(vdev);
  const xvd = dp !== null ? [Number(dp[1]), Number(dp[2])] : letters(vdev, 'xvd', (1 << 20) - 1, 255);
  if (xvd !== null && xvd[0]! < 1 << 20 && xvd[1]! < 256) {
    const [disk, part] = xvd as [number, number];
    return disk <= 15 && part <= 15 ? (XVD_MAJOR << 8) | (disk << 4) | part : EXTENDED | (disk << 8) | part;
  }
  if (/^(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(vdev)) {
    const n = Number(vdev.startsWith('0x') ? vdev : vdev.startsWith('0') && vdev.length > 1 ? `0o${vdev.slice(1)}` : vdev);
    return n <= 0x7fffffff ? n : -1;
  }
  const hd = letters(vdev, 'hd', 3, 63);
  if (hd !== null) return ((hd[0] < 2 ? IDE0_MAJOR : IDE1_MAJOR) << 8) | ((hd[0] & 1) << 6) | hd[1];
  const sd = letters(vdev, 'sd', 15, 15);
  if (sd !== null) return (SCSI_DISK0_MAJOR << 8) | (sd[0] << 4) | sd[1];
  return -1;
}

/**
 * A disk `target` naming a block device of a Linux dom0 (`/dev/loopN`,
 * `/dev/ramN`), which dom0's own init sets up: its major and minor (what
 * the block hotplug script writes as physical-device), or null for an image file.
 */
export function dom0BlockDevice(target: string): { major: number; minor: number } | null {
  const m = /^\/dev\/(loop|ram)(\d{1,3})$/.exec(target);
  return m === null ? null : { major: m[1] === 'loop' ? 7 : 1, minor: Number(m[2]) };
}
