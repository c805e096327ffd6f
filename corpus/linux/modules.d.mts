/** Types for modules.mjs (plain JS: corpus/kernels.mjs runs without a TypeScript loader). */
export const WANTED_MODULES: string[];
export const DOM0_MODULES: string[];
export const LOAD_LIST: string;
export const DOM0_LOAD_LIST: string;
export function modinfo(ko: string | Buffer): Map<string, string>;
export function moduleName(file: string): string;
export function loadOrder(wanted: string[], files: Map<string, string>, depends: (path: string) => string[]): string[];
export function dependsOf(path: string): string[];
