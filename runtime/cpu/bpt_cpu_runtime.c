/*===- bpt_cpu_runtime.c - Runtime entry points of CPU programs ----------===*
 *
 * The few functions that code lowered by --bpt-cpu-pipeline may call besides
 * libc and libm. Compiled into every shared object the Python package
 * builds, so a compiled model needs no LLVM library at run time.
 *
 *===----------------------------------------------------------------------===*/

#include <stdint.h>
#include <string.h>

/* An unranked memref as the LLVM lowering passes it: the rank and a pointer
 * to the ranked descriptor {allocated, aligned, offset, sizes[rank],
 * strides[rank]}. */
typedef struct {
  int64_t rank;
  void *descriptor;
} UnrankedMemRef;

typedef struct {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t shape[]; /* sizes[rank], then strides[rank] */
} RankedHeader;

/* Copies a strided memref into another of the same shape (memref.copy). */
void memrefCopy(int64_t elemSize, UnrankedMemRef *src, UnrankedMemRef *dst) {
  int64_t rank = src->rank;
  RankedHeader *s = (RankedHeader *)src->descriptor;
  RankedHeader *d = (RankedHeader *)dst->descriptor;
  const int64_t *sizes = s->shape;
  const int64_t *sStrides = s->shape + rank;
  const int64_t *dStrides = d->shape + rank;
  char *sBase = s->aligned + s->offset * elemSize;
  char *dBase = d->aligned + d->offset * elemSize;

  int64_t count = 1;
  for (int64_t i = 0; i < rank; ++i)
    count *= sizes[i];
  if (count == 0)
    return;
  if (rank == 0) {
    memcpy(dBase, sBase, elemSize);
    return;
  }
  /* Copy along the innermost dimension in one memcpy when it is dense in
   * both; walk the outer dimensions with an index vector. */
  int64_t inner = sizes[rank - 1];
  int contiguous = sStrides[rank - 1] == 1 && dStrides[rank - 1] == 1;
  int64_t index[rank];
  memset(index, 0, sizeof(index));
  for (;;) {
    int64_t sOff = 0, dOff = 0;
    for (int64_t i = 0; i < rank - 1; ++i) {
      sOff += index[i] * sStrides[i];
      dOff += index[i] * dStrides[i];
    }
    if (contiguous) {
      memmove(dBase + dOff * elemSize, sBase + sOff * elemSize,
              inner * elemSize);
    } else {
      for (int64_t j = 0; j < inner; ++j)
        memmove(dBase + (dOff + j * dStrides[rank - 1]) * elemSize,
                sBase + (sOff + j * sStrides[rank - 1]) * elemSize, elemSize);
    }
    int64_t dim = rank - 2;
    while (dim >= 0 && ++index[dim] == sizes[dim])
      index[dim--] = 0;
    if (dim < 0)
      return;
  }
}
