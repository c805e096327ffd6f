/**
 * public/io/protocols.h: values of a frontend's "protocol" xenstore node,
 * naming the ABI its ring structs use.
 */
export const XEN_IO_PROTO_ABI_X86_32 = 'x86_32-abi';
export const XEN_IO_PROTO_ABI_X86_64 = 'x86_64-abi';
export const XEN_IO_PROTO_ABI_ARM = 'arm-abi';
