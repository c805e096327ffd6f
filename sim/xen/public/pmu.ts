/**
 * public/pmu.h: HYPERVISOR_xenpmu_op(op, arg), the virtual PMU's control.
 * Only the sub-op numbers: a simulated Xen has its vPMU off (every op
 * answers -EOPNOTSUPP), so no argument struct is read.
 */
export const XENPMU_mode_get = 0;
export const XENPMU_mode_set = 1;
export const XENPMU_feature_get = 2;
export const XENPMU_feature_set = 3;
export const XENPMU_init = 4;
export const XENPMU_finish = 5;
export const XENPMU_lvtpc_set = 6;
export const XENPMU_flush = 7;
