/*===- bpt_cuda_dryrun.c - The GPU entry points, without a GPU -----------===*
 *
 * The same `mgpu*` and `bptCuda*` entry points as bpt_cuda_runtime.c, for
 * running a compiled GPU program's host code on a machine with no GPU: no
 * kernel runs and no device memory exists (allocations are addresses that
 * are never dereferenced; copies and launches are counted and dropped), so
 * the results are meaningless, but every allocation, free, copy and launch
 * happens in the order and with the sizes the program makes them. What it
 * measures: the peak of device memory the program's own allocations hold
 * at once (the inputs, allocated through bptCudaAlloc, are not counted) and
 * the number of kernel launches. `bpt.gpu.build(..., dry_run=True)` links
 * it instead of the real runtime; bench/gpu/memory.py uses it.
 * BPT_DRYRUN_TRACE=1 prints every allocation, free and launch.
 *===----------------------------------------------------------------------===*/

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bpt_tensor_map.h"

#define BPT_EXPORT __attribute__((visibility("default")))

/* Live allocations: address -> size (linear search; programs hold few). */
typedef struct {
  uintptr_t address;
  uint64_t size;
  bool counted;
} Allocation;

static Allocation *live;
static size_t liveCount, liveCapacity;
static uintptr_t nextAddress = 0x100000000ull;
static uint64_t used, high, launches, tensorMaps, streams, syncs;

/* BPT_DRYRUN_TRACE=1 prints every allocation, free and launch. */
static bool tracing(void) {
  static int on = -1;
  if (on < 0) {
    const char *env = getenv("BPT_DRYRUN_TRACE");
    on = env && *env && *env != '0';
  }
  return on;
}

static void *allocate(uint64_t size, bool counted) {
  if (liveCount == liveCapacity) {
    liveCapacity = liveCapacity ? 2 * liveCapacity : 64;
    live = realloc(live, liveCapacity * sizeof *live);
    if (!live) {
      fprintf(stderr, "bpt-cuda-dryrun: out of host memory\n");
      exit(3);
    }
  }
  uintptr_t address = nextAddress;
  nextAddress += (size + 511) / 256 * 256; /* aligned, never adjacent */
  live[liveCount++] = (Allocation){address, size, counted};
  if (tracing())
    fprintf(stderr, "bpt-cuda-dryrun: alloc %#lx %llu%s\n",
            (unsigned long)address, (unsigned long long)size,
            counted ? "" : " (input)");
  if (counted) {
    used += size;
    if (used > high)
      high = used;
  }
  return (void *)address;
}

static void release(void *ptr) {
  if (!ptr)
    return;
  for (size_t i = 0; i < liveCount; ++i)
    if (live[i].address == (uintptr_t)ptr) {
      if (tracing())
        fprintf(stderr, "bpt-cuda-dryrun: free %p %llu\n", ptr,
                (unsigned long long)live[i].size);
      if (live[i].counted)
        used -= live[i].size;
      live[i] = live[--liveCount];
      return;
    }
  fprintf(stderr, "bpt-cuda-dryrun: free of %p, which is not allocated\n",
          ptr);
  exit(3);
}

/* Streams: handles of their own, checked on every use (an operation on a
 * stream already destroyed, or never made, is an error: the real runtime
 * would hand the driver a dangling handle). */
enum { kMaxStreams = 64 };
static uintptr_t liveStreams[kMaxStreams];
static int liveStreamCount;
static uintptr_t nextStream = 0x5000;

static int streamIndex(void *stream) {
  for (int i = 0; i < liveStreamCount; ++i)
    if (liveStreams[i] == (uintptr_t)stream)
      return i;
  return -1;
}

static void checkStream(void *stream, const char *what) {
  if (streamIndex(stream) < 0) {
    fprintf(stderr, "bpt-cuda-dryrun: %s on stream %p, which is not alive\n",
            what, stream);
    exit(3);
  }
}

BPT_EXPORT void *mgpuModuleLoad(void *data, size_t size) {
  (void)data, (void)size;
  return (void *)1;
}
BPT_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel) {
  (void)data, (void)optLevel;
  return (void *)1;
}
BPT_EXPORT void mgpuModuleUnload(void *module) { (void)module; }
BPT_EXPORT void *mgpuModuleGetFunction(void *module, const char *name) {
  (void)module, (void)name;
  return (void *)1;
}
BPT_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                 intptr_t gridY, intptr_t gridZ,
                                 intptr_t blockX, intptr_t blockY,
                                 intptr_t blockZ, int32_t smem, void *stream,
                                 void **params, void **extra,
                                 size_t paramsCount) {
  (void)function, (void)params, (void)extra, (void)paramsCount;
  checkStream(stream, "launch");
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0) {
    fprintf(stderr, "bpt-cuda-dryrun: launch of an empty grid (%ld, %ld, "
                    "%ld), which CUDA refuses\n",
            (long)gridX, (long)gridY, (long)gridZ);
    exit(3);
  }
  // The most any GPU lets a block have: 1024 threads, 227 KiB of shared
  // memory (sm_90, opted in; 163 KiB on sm_80).
  if (blockX * blockY * blockZ > 1024 || smem < 0 || smem > 227 * 1024) {
    fprintf(stderr,
            "bpt-cuda-dryrun: launch of blocks of %ld threads with "
            "%d bytes of dynamic shared memory, which CUDA refuses\n",
            (long)(blockX * blockY * blockZ), (int)smem);
    exit(3);
  }
  ++launches;
  if (tracing())
    fprintf(stderr, "bpt-cuda-dryrun: launch (%ld, %ld, %ld)\n", (long)gridX,
            (long)gridY, (long)gridZ);
}
BPT_EXPORT void mgpuLaunchClusterKernel(
    void *function, intptr_t clusterX, intptr_t clusterY, intptr_t clusterZ,
    intptr_t gridX, intptr_t gridY, intptr_t gridZ, intptr_t blockX,
    intptr_t blockY, intptr_t blockZ, int32_t smem, void *stream,
    void **params, void **extra, size_t paramsCount) {
  (void)clusterX, (void)clusterY, (void)clusterZ;
  mgpuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                   smem, stream, params, extra, paramsCount);
}
BPT_EXPORT void *mgpuStreamCreate(void) {
  if (liveStreamCount == kMaxStreams) {
    fprintf(stderr, "bpt-cuda-dryrun: more than %d streams alive at once\n",
            kMaxStreams);
    exit(3);
  }
  liveStreams[liveStreamCount++] = nextStream;
  ++streams;
  return (void *)nextStream++;
}
BPT_EXPORT void mgpuStreamDestroy(void *stream) {
  checkStream(stream, "destroy");
  int i = streamIndex(stream);
  liveStreams[i] = liveStreams[--liveStreamCount];
}
BPT_EXPORT void mgpuStreamSynchronize(void *stream) {
  checkStream(stream, "synchronize");
  ++syncs;
}
BPT_EXPORT void mgpuStreamWaitEvent(void *stream, void *event) {
  (void)stream, (void)event;
}
BPT_EXPORT void *mgpuEventCreate(void) { return (void *)1; }
BPT_EXPORT void mgpuEventDestroy(void *event) { (void)event; }
BPT_EXPORT void mgpuEventSynchronize(void *event) { (void)event; }
BPT_EXPORT void mgpuEventRecord(void *event, void *stream) {
  (void)event, (void)stream;
}
BPT_EXPORT void *mgpuMemAlloc(uint64_t size, void *stream, bool hostShared) {
  (void)hostShared;
  checkStream(stream, "allocation");
  return allocate(size, true);
}
BPT_EXPORT void mgpuMemFree(void *ptr, void *stream) {
  checkStream(stream, "free");
  release(ptr);
}
BPT_EXPORT void mgpuMemcpy(void *dst, void *src, size_t size, void *stream) {
  (void)dst, (void)src, (void)size;
  checkStream(stream, "copy");
}
BPT_EXPORT void mgpuMemset32(void *dst, unsigned value, size_t count,
                             void *stream) {
  (void)dst, (void)value, (void)count;
  checkStream(stream, "memset");
}
BPT_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                             void *stream) {
  (void)dst, (void)value, (void)count;
  checkStream(stream, "memset");
}

/* Checks the request as the real runtime does (the dry run's use: a
 * program whose TMA operands break the driver's rules fails here too). */
BPT_EXPORT void *mgpuTensorMapEncodeTiledMemref(
    int64_t rank, void *descriptor, int64_t dataType, int64_t interleave,
    int64_t swizzle, int64_t l2Promotion, int64_t oobFill, int64_t *boxDims) {
  (void)interleave, (void)l2Promotion, (void)oobFill;
  BptTensorMapRequest r;
  char why[160];
  if (!bptTensorMapRead(&r, rank, descriptor, dataType, swizzle, boxDims, why,
                        sizeof why)) {
    fprintf(stderr, "bpt-cuda-dryrun: cannot make a TMA tensor map: %s\n",
            why);
    exit(3);
  }
  ++tensorMaps;
  if (tracing())
    fprintf(stderr, "bpt-cuda-dryrun: tensor map of %p, box %u x %u\n",
            (void *)r.address, r.box[1], r.box[0]);
  return (void *)0x1000;
}

BPT_EXPORT int bptCudaDeviceCount(void) { return 1; }
BPT_EXPORT void *bptCudaAlloc(uint64_t size) { return allocate(size, false); }
BPT_EXPORT void bptCudaFree(void *ptr) { release(ptr); }
BPT_EXPORT void bptCudaCopyToDevice(void *dst, const void *src,
                                    uint64_t size) {
  (void)dst, (void)src, (void)size;
}
/* The results of a dry run are zeros. */
BPT_EXPORT void bptCudaCopyToHost(void *dst, const void *src, uint64_t size) {
  (void)src;
  for (uint64_t i = 0; i < size; ++i)
    ((char *)dst)[i] = 0;
}
BPT_EXPORT void bptCudaSynchronize(void) {}
BPT_EXPORT uint64_t bptCudaPeakBytes(void) { return high; }
BPT_EXPORT void bptCudaResetPeak(void) { high = used; }
/* Kernel launches since the process started. */
BPT_EXPORT uint64_t bptCudaLaunches(void) { return launches; }
BPT_EXPORT uint64_t bptCudaTensorMaps(void) { return tensorMaps; }
/* Streams made, and host waits for one (each a round trip to a GPU). */
BPT_EXPORT uint64_t bptCudaStreams(void) { return streams; }
BPT_EXPORT uint64_t bptCudaStreamSyncs(void) { return syncs; }
/* Bytes the program's allocations hold now (0 after a call that freed
 * everything but its results, once those are freed). */
BPT_EXPORT uint64_t bptCudaUsedBytes(void) { return used; }
