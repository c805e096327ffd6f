/**
 * public/io/console.h: the PV console page (start_info.console.domU.mfn),
 * two byte rings with free-running u32 indices; a byte at index i lives at
 * buf[i & (sizeof(buf) - 1)] (MASK_XENCONS_IDX).
 *
 * - out (guest -> console backend): the guest writes bytes at out_prod
 *   while out_prod - out_cons < 2048, write barrier, then stores out_prod
 *   and kicks the console event channel. The backend reads
 *   [out_cons, out_prod) (after a read barrier) and then stores out_cons.
 * - in (console backend -> guest): the same with roles swapped: the
 *   backend writes bytes and in_prod, the guest advances in_cons.
 * The producer index store is the publication point; the consumer index
 * store is what frees space. Either side kicks the event channel after
 * moving an index the other side may be waiting on.
 */
export const xencons_interface = {
  size: 3088,
  in: 0, // char[1024], backend-written
  in_sizeof: 1024,
  out: 1024, // char[2048], guest-written
  out_sizeof: 2048,
  in_cons: 3072, // u32, guest-written
  in_prod: 3076, // u32, backend-written
  out_cons: 3080, // u32, backend-written
  out_prod: 3084, // u32, guest-written
} as const;
