/*===- bpt_tensor_map.h - Reading and checking a TMA tensor map request ---===*
 *
 * `nvgpu.tma.create.descriptor` lowers to a call of
 * mgpuTensorMapEncodeTiledMemref(rank, descriptor, data type, interleave,
 * swizzle, L2 promotion, out-of-bounds fill, box sizes): the memref's
 * descriptor (allocated and aligned pointers, offset, sizes, strides, all
 * outermost first) and the box, also outermost first. This reads that
 * request into the driver's order (innermost first, strides in bytes) and
 * checks it against the rules of cuTensorMapEncodeTiled, so that the real
 * runtime and the dry run (no GPU) refuse the same requests with the same
 * message. Header only: each runtime includes it once.
 *===----------------------------------------------------------------------===*/

#ifndef BPT_RUNTIME_CUDA_BPT_TENSOR_MAP_H
#define BPT_RUNTIME_CUDA_BPT_TENSOR_MAP_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
  uint32_t rank;
  uint32_t elementBytes;
  char *address;          /* the first element */
  uint64_t dims[5];       /* innermost first */
  uint64_t strides[5];    /* bytes, of dims 1.. (the driver's globalStrides) */
  uint32_t box[5];        /* innermost first */
} BptTensorMapRequest;

/* CUtensorMapDataType -> bytes per element (0: unknown). */
static uint32_t bptTensorMapElementBytes(int64_t dataType) {
  static const uint32_t bytes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4};
  if (dataType < 0 || dataType >= (int64_t)(sizeof bytes / sizeof *bytes))
    return 0;
  return bytes[dataType];
}

/* Bytes of a swizzle span (CUtensorMapSwizzle: none, 32B, 64B, 128B). */
static uint32_t bptTensorMapSwizzleBytes(int64_t swizzle) {
  return swizzle == 1 ? 32 : swizzle == 2 ? 64 : swizzle == 3 ? 128 : 0;
}

/* Reads the request; on a violation writes why into `why` and returns 0. */
static int bptTensorMapRead(BptTensorMapRequest *r, int64_t rank,
                            void *descriptor, int64_t dataType,
                            int64_t swizzle, const int64_t *boxDims,
                            char *why, size_t whySize) {
  if (rank < 1 || rank > 5) {
    snprintf(why, whySize, "rank %lld (1 to 5)", (long long)rank);
    return 0;
  }
  r->rank = (uint32_t)rank;
  r->elementBytes = bptTensorMapElementBytes(dataType);
  if (!r->elementBytes) {
    snprintf(why, whySize, "unknown data type %lld", (long long)dataType);
    return 0;
  }
  /* {allocated, aligned, offset, sizes[rank], strides[rank]} */
  char **pointers = (char **)descriptor;
  const int64_t *ints = (const int64_t *)(pointers + 2);
  int64_t offset = ints[0];
  const int64_t *sizes = ints + 1, *strides = ints + 1 + rank;
  r->address = pointers[1] + offset * (int64_t)r->elementBytes;
  if ((uintptr_t)r->address % 16) {
    snprintf(why, whySize, "first element at %p is not 16-byte aligned",
             (void *)r->address);
    return 0;
  }
  if (strides[rank - 1] != 1) {
    snprintf(why, whySize, "innermost stride %lld (must be 1)",
             (long long)strides[rank - 1]);
    return 0;
  }
  uint32_t span = bptTensorMapSwizzleBytes(swizzle);
  for (int64_t i = 0; i < rank; ++i) {
    int64_t d = rank - 1 - i; /* the memref's dimension */
    if (sizes[d] < 1) {
      snprintf(why, whySize, "dimension %lld has size %lld", (long long)d,
               (long long)sizes[d]);
      return 0;
    }
    if (boxDims[d] < 1 || boxDims[d] > 256) {
      snprintf(why, whySize, "box size %lld of dimension %lld (1 to 256)",
               (long long)boxDims[d], (long long)d);
      return 0;
    }
    r->dims[i] = (uint64_t)sizes[d];
    r->box[i] = (uint32_t)boxDims[d];
    if (i > 0) {
      int64_t bytes = strides[d] * (int64_t)r->elementBytes;
      if (bytes <= 0 || bytes % 16 || bytes >= (1ll << 40)) {
        snprintf(why, whySize,
                 "stride of dimension %lld is %lld bytes (a positive "
                 "multiple of 16 below 2^40)",
                 (long long)d, (long long)bytes);
        return 0;
      }
      r->strides[i - 1] = (uint64_t)bytes;
    }
  }
  if (span && r->box[0] * r->elementBytes > span) {
    snprintf(why, whySize,
             "the box's rows are %u bytes, more than the %u-byte swizzle",
             r->box[0] * r->elementBytes, span);
    return 0;
  }
  if ((r->box[0] * r->elementBytes) % 16) {
    snprintf(why, whySize, "the box's rows are %u bytes (a multiple of 16)",
             r->box[0] * r->elementBytes);
    return 0;
  }
  return 1;
}

#endif /* BPT_RUNTIME_CUDA_BPT_TENSOR_MAP_H */
