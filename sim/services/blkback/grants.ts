/**
 * blkback's grant mappings for request data (xen_blkbk_map / _unmap in
 * Linux's drivers/block/xen-blkback/blkback.c): every page a request names
 * by grant reference is mapped through the grant-table code (dom0's
 * device mapping), used, and unmapped when the request is done, unless it
 * is a persistent grant.
 *
 * Persistent grants (negotiated: the backend writes feature-persistent=1,
 * the frontend too): a grant is mapped read-write the first time it is
 * seen and kept, per ring, until the ring disconnects; later requests
 * naming the same reference use the kept mapping (the frontend promises
 * not to revoke or reuse it). At most MAX_PGRANTS per ring, as Linux's
 * max_persistent_grants; past that, grants are mapped per request. Without
 * persistent grants, pages the backend only reads (writes to disk,
 * indirect segment pages) are mapped read-only.
 */
import type { Dom0Env, GrantMap } from '../backend.js';

/** Linux blkback's default max_persistent_grants per ring. */
export const MAX_PGRANTS = 1056;

/** A page of a request: its reference, mapping, and whether that mapping is kept. */
export type SegPage = { gref: number; map: GrantMap; persistent: boolean };

export type GrantCtx = { env: Dom0Env; fe: number; persistent: boolean; pgrants: Map<number, GrantMap> };

/**
 * Map every reference in `grefs`; `ro`: the backend only reads them. On
 * any failure, what was mapped per request is unmapped again and the
 * failing GNTST_* code is returned.
 */
export function mapPages(g: GrantCtx, grefs: number[], ro: boolean): SegPage[] | number {
  const out: SegPage[] = [];
  let failed = 0;
  for (const gref of grefs) {
    const kept = g.persistent ? g.pgrants.get(gref) : undefined;
    if (kept !== undefined) {
      out.push({ gref, map: kept, persistent: true });
      continue;
    }
    const m = g.env.mapGrant(g.fe, gref, ro && !g.persistent);
    if (typeof m === 'number') {
      failed = m;
      continue;
    }
    const keep = g.persistent && g.pgrants.size < MAX_PGRANTS;
    if (keep) g.pgrants.set(gref, m);
    out.push({ gref, map: m, persistent: keep });
  }
  if (failed === 0) return out;
  unmapPages(g, out);
  return failed;
}

/** Unmap what a request mapped for itself (persistent grants stay). */
export function unmapPages(g: GrantCtx, pages: SegPage[]): void {
  for (const p of pages) if (!p.persistent) g.env.unmapGrant(p.map);
}

/** Every persistent grant of a ring goes (xen_blkbk_free_caches at disconnect). */
export function freePersistent(g: GrantCtx): void {
  for (const m of g.pgrants.values()) g.env.unmapGrant(m);
  g.pgrants.clear();
}
