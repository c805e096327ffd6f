/**
 * Module resolve hook, registered by tui/cli.tsx before it imports Ink:
 * Ink takes one function, `throttle`, from `es-toolkit/compat`, whose index
 * re-exports that library's whole compat layer, about 415 modules. Loaded
 * through tsx's hooks, those modules cost a few hundred milliseconds of the
 * TUI's start; the module that defines `throttle` (and its few imports) is
 * what Ink uses anyway. Only Ink's own import is redirected; should a later
 * Ink take more from that index, linking fails at once, loudly (and
 * tui/e2e.test.ts runs the real binary).
 *
 * Plain JavaScript: hooks run on the loader thread, before any transpiler.
 */
export async function resolve(specifier, context, next) {
  if (specifier === 'es-toolkit/compat' && context.parentURL !== undefined && /\/node_modules\/ink\/build\/ink\.js$/.test(context.parentURL)) {
    const compat = await next(specifier, context);
    return { ...compat, url: new URL('./function/throttle.mjs', compat.url).href };
  }
  return next(specifier, context);
}
