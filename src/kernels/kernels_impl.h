/* kernels_impl.h: the kernels' private interface, for their tests and benchmarks.
 *
 * The small-M product (kern_gemm_nn_small_*) picks its instruction set at every call:
 * the highest of AVX-512F, AVX2 + FMA and the scalar reference that both the CPU and the
 * cap allow. Every choice gives the same bits; the cap lets a test run each of them. */
#ifndef ENGRAM_KERNELS_IMPL_H
#define ENGRAM_KERNELS_IMPL_H

enum { KERN_ISA_REF = 0, KERN_ISA_AVX2 = 1, KERN_ISA_AVX512 = 2 };

/* The instruction set kern_gemm_nn_small_* uses now (KERN_ISA_*). */
int kern_gemm_small_isa(void);

/* Caps the small product's instruction set at `cap` (KERN_ISA_*; KERN_ISA_AVX512, the
 * default, lets the CPU decide). Not thread-safe: call it outside parallel regions. */
void kern_gemm_small_cap_isa(int cap);

#endif
