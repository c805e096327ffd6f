/**
 * The shape of a struct descriptor in this folder (types only, no values).
 *
 * A descriptor is a frozen object literal named after the upstream struct
 * tag (or typedef, when upstream has only a `_t` typedef). Its keys are:
 *
 * - `size`: sizeof the struct, in bytes, on x86-64.
 * - one key per field, the upstream field name, holding its byte offset.
 *   Nested struct/union members are flattened with `_`
 *   (`start_info.console.domU.mfn` is `console_domU_mfn`); members of a
 *   union share an offset.
 * - `<field>_stride`: for an array field, the size of one element (the
 *   field's own key is the offset of element 0).
 * - `<field>_sizeof`: the size of the whole field, where a reader needs it
 *   (char buffers, bitmaps).
 * - a field that upstream calls `size` is spelled `size_`, because `size`
 *   is taken by the struct size.
 *
 * Field widths are given in a comment next to each field, as the C type.
 * sim/xen/public/layout.test.ts checks every key against gcc's view of the
 * installed Xen headers.
 */
export type StructLayout = { readonly size: number } & { readonly [field: string]: number };
