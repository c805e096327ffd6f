// The "newc" cpio format Linux unpacks as an initramfs (the kernel's
// Documentation/driver-api/early-userspace/buffer-format.rst), written
// byte-reproducibly: inode numbers in entry order, owner root, mtime 0.

/**
 * Entries: { name, mode, data?, rdev? } with `mode` including the file type
 * (0o100000 file, 0o040000 directory, 0o020000 character device, 0o120000
 * symbolic link, whose data is its target) and `rdev` = [major, minor] for
 * devices. Returns the archive with its trailer.
 */
export function cpioNewc(entries) {
  const parts = [];
  let size = 0;
  const push = (b) => {
    parts.push(b);
    size += b.length;
  };
  const pad4 = () => {
    if (size % 4) push(Buffer.alloc(4 - (size % 4)));
  };
  const all = [...entries, { name: 'TRAILER!!!', mode: 0, data: Buffer.alloc(0) }];
  all.forEach((e, k) => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`, 'utf8');
    const [maj, min] = e.rdev ?? [0, 0];
    const isTrailer = e.name === 'TRAILER!!!';
    const fields = [isTrailer ? 0 : k + 1, e.mode, 0, 0, (e.mode & 0o170000) === 0o040000 ? 2 : 1, 0, data.length, 0, 0, maj, min, name.length, 0];
    push(Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`, 'latin1'));
    push(name);
    pad4();
    push(data);
    pad4();
  });
  return Buffer.concat(parts, size);
}
