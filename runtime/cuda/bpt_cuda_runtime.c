/*===- bpt_cuda_runtime.c - The GPU entry points of compiled bpt programs -===*
 *
 * MLIR's GPU-to-LLVM lowering turns gpu.binary, gpu.launch_func, gpu.alloc,
 * gpu.memcpy and gpu.wait into calls to `mgpu*` functions. Debian's MLIR
 * ships no library that provides them, so this is ours: a small C layer
 * over the CUDA driver API (libcuda only; no CUDA runtime, no LLVM), so a
 * compiled program runs on any machine with an NVIDIA driver.
 *
 * One context (the primary context of device BPT_CUDA_DEVICE, default 0) is
 * made current on first use. Every driver error ends the process with a
 * message naming the call and the error: a compiled program has no way to
 * recover, and a silent failure would read garbage results.
 *
 * Also exported for hosts and benchmarks: bptCudaDeviceCount, bptCudaAlloc /
 * bptCudaFree / bptCudaCopyToDevice / bptCudaCopyToHost, event timing, and
 * the peak of the device pool's use (bptCudaPeakBytes / bptCudaResetPeak).
 *===----------------------------------------------------------------------===*/

#include <cuda.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpt_tensor_map.h"

#define BPT_EXPORT __attribute__((visibility("default")))

static void bptDescribe(CUresult r, char *buf, size_t size) {
  const char *name = NULL, *text = NULL;
  if (cuGetErrorName(r, &name) != CUDA_SUCCESS || !name)
    name = "unknown error";
  if (cuGetErrorString(r, &text) != CUDA_SUCCESS || !text)
    text = "no description (is this the driver stub, without a GPU?)";
  snprintf(buf, size, "%s, code %d (%s)", name, (int)r, text);
}

static void bptCheck(CUresult r, const char *call) {
  if (r == CUDA_SUCCESS)
    return;
  char what[256];
  bptDescribe(r, what, sizeof what);
  fprintf(stderr, "bpt-cuda-runtime: %s failed: %s\n", call, what);
  exit(3);
}
#define CHECK(call) bptCheck((call), #call)

static CUcontext bptContext;

/* Makes the primary context of the chosen device current (once per thread;
 * the context is created once per process). */
static void bptInit(void) {
  if (!bptContext) {
    CHECK(cuInit(0));
    int count = 0;
    CHECK(cuDeviceGetCount(&count));
    // One GPU per MPI rank on a node unless a device is named.
    const char *env = getenv("BPT_CUDA_DEVICE");
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    int ordinal = env ? atoi(env) : local && count ? atoi(local) % count : 0;
    if (ordinal < 0 || ordinal >= count) {
      fprintf(stderr, "bpt-cuda-runtime: device %d requested, %d present\n",
              ordinal, count);
      exit(3);
    }
    CUdevice device;
    CHECK(cuDeviceGet(&device, ordinal));
    CHECK(cuDevicePrimaryCtxRetain(&bptContext, device));
    CHECK(cuCtxSetCurrent(bptContext));
    // Stream-ordered allocations from the device's pool, which keeps freed
    // memory for reuse instead of returning it at every synchronisation:
    // buffers of a ring step or a query block come and go at little cost,
    // and freeing one does not synchronise the device (cuMemFree would,
    // and would wait for transfers in flight on other streams).
    CUmemoryPool pool;
    CHECK(cuDeviceGetDefaultMemPool(&pool, device));
    cuuint64_t keep = UINT64_MAX;
    CHECK(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                                &keep));
  }
  CHECK(cuCtxSetCurrent(bptContext));
}

/* The context of the compiled program, current on this thread (for the
 * NCCL layer, runtime/nccl, which must use the same device). */
BPT_EXPORT CUcontext bptCudaContext(void) {
  bptInit();
  return bptContext;
}

BPT_EXPORT void mgpuSetDefaultDevice(int32_t device) {
  if (bptContext) {
    fprintf(stderr, "bpt-cuda-runtime: mgpuSetDefaultDevice(%d) after the "
                    "context was created\n", device);
    exit(3);
  }
  char buf[16];
  snprintf(buf, sizeof buf, "%d", device);
  setenv("BPT_CUDA_DEVICE", buf, 1);
}

/* --- Modules and launches ---------------------------------------------- */

/* Why the driver could not be initialised, when it could not: modules are
 * loaded by a constructor when the program or library is loaded, so a
 * machine without a GPU must not end the process there; the first launch
 * reports it instead. */
static char bptNoDevice[320];

static int bptTryInit(void) {
  CUresult r = cuInit(0);
  int count = 0;
  if (r == CUDA_SUCCESS)
    r = cuDeviceGetCount(&count);
  if (r != CUDA_SUCCESS) {
    char what[256];
    bptDescribe(r, what, sizeof what);
    snprintf(bptNoDevice, sizeof bptNoDevice, "cuInit failed: %s", what);
    return 0;
  }
  if (count == 0) {
    snprintf(bptNoDevice, sizeof bptNoDevice, "no CUDA device");
    return 0;
  }
  return 1;
}

BPT_EXPORT CUmodule mgpuModuleLoad(void *data, size_t size) {
  (void)size;
  if (!bptContext && !bptTryInit())
    return NULL;
  bptInit();
  CUmodule module;
  CHECK(cuModuleLoadData(&module, data));
  return module;
}

BPT_EXPORT CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  if (!bptContext && !bptTryInit())
    return NULL;
  bptInit();
  CUmodule module;
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {(void *)(intptr_t)optLevel};
  CHECK(cuModuleLoadDataEx(&module, data, 1, options, values));
  return module;
}

BPT_EXPORT void mgpuModuleUnload(CUmodule module) {
  if (module)
    CHECK(cuModuleUnload(module));
}

BPT_EXPORT CUfunction mgpuModuleGetFunction(CUmodule module,
                                            const char *name) {
  if (!module) {
    fprintf(stderr, "bpt-cuda-runtime: cannot launch %s: the GPU code was "
                    "not loaded: %s\n", name,
            bptNoDevice[0] ? bptNoDevice : "unknown reason");
    exit(3);
  }
  CUfunction function;
  CHECK(cuModuleGetFunction(&function, module, name));
  return function;
}

/* Kernels that ask for more than the default 48 KiB of dynamic shared
 * memory must opt in first. */
static void bptAllowSharedMemory(CUfunction function, int32_t smem) {
  if (smem > 48 * 1024)
    CHECK(cuFuncSetAttribute(
        function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem));
}

BPT_EXPORT void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                 intptr_t gridY, intptr_t gridZ,
                                 intptr_t blockX, intptr_t blockY,
                                 intptr_t blockZ, int32_t smem,
                                 CUstream stream, void **params, void **extra,
                                 size_t paramsCount) {
  (void)paramsCount;
  bptAllowSharedMemory(function, smem);
  CHECK(cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                       smem, stream, params, extra));
}

BPT_EXPORT void mgpuLaunchClusterKernel(
    CUfunction function, intptr_t clusterX, intptr_t clusterY,
    intptr_t clusterZ, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
    intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem,
    CUstream stream, void **params, void **extra, size_t paramsCount) {
  (void)paramsCount;
  bptAllowSharedMemory(function, smem);
  CUlaunchAttribute attr;
  attr.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  attr.value.clusterDim.x = clusterX;
  attr.value.clusterDim.y = clusterY;
  attr.value.clusterDim.z = clusterZ;
  CUlaunchConfig config = {0};
  config.gridDimX = gridX;
  config.gridDimY = gridY;
  config.gridDimZ = gridZ;
  config.blockDimX = blockX;
  config.blockDimY = blockY;
  config.blockDimZ = blockZ;
  config.sharedMemBytes = smem;
  config.hStream = stream;
  config.attrs = &attr;
  config.numAttrs = 1;
  CHECK(cuLaunchKernelEx(&config, function, params, extra));
}

/* --- Streams and events -------------------------------------------------- */

BPT_EXPORT CUstream mgpuStreamCreate(void) {
  bptInit();
  CUstream stream;
  CHECK(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
  return stream;
}

BPT_EXPORT void mgpuStreamDestroy(CUstream stream) {
  CHECK(cuStreamDestroy(stream));
}

BPT_EXPORT void mgpuStreamSynchronize(CUstream stream) {
  CHECK(cuStreamSynchronize(stream));
}

BPT_EXPORT void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  CHECK(cuStreamWaitEvent(stream, event, 0));
}

BPT_EXPORT CUevent mgpuEventCreate(void) {
  bptInit();
  CUevent event;
  CHECK(cuEventCreate(&event, CU_EVENT_DISABLE_TIMING));
  return event;
}

BPT_EXPORT void mgpuEventDestroy(CUevent event) {
  CHECK(cuEventDestroy(event));
}

BPT_EXPORT void mgpuEventSynchronize(CUevent event) {
  CHECK(cuEventSynchronize(event));
}

BPT_EXPORT void mgpuEventRecord(CUevent event, CUstream stream) {
  CHECK(cuEventRecord(event, stream));
}

/* --- Memory ---------------------------------------------------------------- */

BPT_EXPORT void *mgpuMemAlloc(uint64_t size, CUstream stream,
                              bool isHostShared) {
  bptInit();
  CUdeviceptr ptr = 0;
  if (size == 0)
    return NULL;
  if (isHostShared)
    CHECK(cuMemAllocManaged(&ptr, size, CU_MEM_ATTACH_GLOBAL));
  else
    CHECK(cuMemAllocAsync(&ptr, size, stream));
  return (void *)ptr;
}

BPT_EXPORT void mgpuMemFree(void *ptr, CUstream stream) {
  if (ptr)
    CHECK(cuMemFreeAsync((CUdeviceptr)ptr, stream));
}

BPT_EXPORT void mgpuMemcpy(void *dst, void *src, size_t size,
                           CUstream stream) {
  CHECK(cuMemcpyAsync((CUdeviceptr)dst, (CUdeviceptr)src, size, stream));
}

BPT_EXPORT void mgpuMemset32(void *dst, unsigned int value, size_t count,
                             CUstream stream) {
  CHECK(cuMemsetD32Async((CUdeviceptr)dst, value, count, stream));
}

BPT_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                             CUstream stream) {
  CHECK(cuMemsetD16Async((CUdeviceptr)dst, value, count, stream));
}

/* --- TMA tensor maps -------------------------------------------------------- */

/* The kernels read a tensor map through a pointer to device memory (the
 * NVVM lowering's convention), so each map is copied there. A program
 * makes the same few maps again at every call: they are kept, up to
 * kTensorMaps of them, in one device buffer, and a map already there is
 * not copied again. A new map takes the least recently requested slot:
 * never one handed out since the last launch (those were requested last),
 * and only once the device is idle (a kernel in flight may read it; this
 * happens only in programs with more than kTensorMaps distinct maps). The
 * copy is from pageable memory, which the driver may still be moving when
 * cuMemcpyHtoD returns, and kernels run on non-blocking streams: the
 * context is synchronised after it (a miss happens once per map). */
enum { kTensorMaps = 256 };
static CUtensorMap bptMaps[kTensorMaps];
static uint64_t bptMapUse[kTensorMaps]; /* request stamp; 0: empty */
static CUdeviceptr bptMapBuffer;
static uint64_t bptMapClock, bptMapsMade;

/* How many tensor maps the program asked for (tests use it to tell that
 * the TMA kernels ran). */
BPT_EXPORT uint64_t bptCudaTensorMaps(void) { return bptMapsMade; }

BPT_EXPORT void *mgpuTensorMapEncodeTiledMemref(
    int64_t rank, void *descriptor, int64_t dataType, int64_t interleave,
    int64_t swizzle, int64_t l2Promotion, int64_t oobFill, int64_t *boxDims) {
  bptInit();
  BptTensorMapRequest r;
  char why[160];
  if (!bptTensorMapRead(&r, rank, descriptor, dataType, swizzle, boxDims, why,
                        sizeof why)) {
    fprintf(stderr, "bpt-cuda-runtime: cannot make a TMA tensor map: %s\n",
            why);
    exit(3);
  }
  ++bptMapsMade;
  const cuuint32_t unit[5] = {1, 1, 1, 1, 1};
  CUtensorMap map;
  memset(&map, 0, sizeof map);
  CHECK(cuTensorMapEncodeTiled(
      &map, (CUtensorMapDataType)dataType, r.rank, r.address, r.dims,
      r.strides, r.box, unit, (CUtensorMapInterleave)interleave,
      (CUtensorMapSwizzle)swizzle, (CUtensorMapL2promotion)l2Promotion,
      (CUtensorMapFloatOOBfill)oobFill));
  if (!bptMapBuffer)
    CHECK(cuMemAlloc(&bptMapBuffer, sizeof bptMaps));
  int slot = 0;
  for (int i = 0; i < kTensorMaps; ++i) {
    if (bptMapUse[i] && !memcmp(&bptMaps[i], &map, sizeof map)) {
      bptMapUse[i] = ++bptMapClock;
      return (void *)(bptMapBuffer + i * sizeof map);
    }
    if (bptMapUse[i] < bptMapUse[slot])
      slot = i;
  }
  if (bptMapUse[slot])
    CHECK(cuCtxSynchronize()); /* a kernel may still read the old map */
  bptMaps[slot] = map;
  bptMapUse[slot] = ++bptMapClock;
  CUdeviceptr device = bptMapBuffer + slot * sizeof map;
  CHECK(cuMemcpyHtoD(device, &map, sizeof map));
  CHECK(cuCtxSynchronize()); /* the copy has landed before any launch */
  return (void *)device;
}

/* --- For host programs and benchmarks -------------------------------------- */

/* The number of CUDA devices; 0 where there is no driver or no device
 * (never exits: callers use it to decide whether to run at all). */
BPT_EXPORT int bptCudaDeviceCount(void) {
  int count = 0;
  if (cuInit(0) != CUDA_SUCCESS || cuDeviceGetCount(&count) != CUDA_SUCCESS)
    return 0;
  return count;
}

/* Host-side allocations complete before they return: compiled code uses
 * them on its own (non-blocking) streams. */
BPT_EXPORT void *bptCudaAlloc(uint64_t size) {
  void *ptr = mgpuMemAlloc(size, NULL, false);
  CHECK(cuStreamSynchronize(NULL));
  return ptr;
}

BPT_EXPORT void bptCudaFree(void *ptr) {
  mgpuMemFree(ptr, NULL);
  CHECK(cuStreamSynchronize(NULL));
}

BPT_EXPORT void bptCudaCopyToDevice(void *dst, const void *src,
                                    uint64_t size) {
  bptInit();
  CHECK(cuMemcpyHtoD((CUdeviceptr)dst, src, size));
}

BPT_EXPORT void bptCudaCopyToHost(void *dst, const void *src, uint64_t size) {
  bptInit();
  CHECK(cuMemcpyDtoH(dst, (CUdeviceptr)src, size));
}

/* The device pool every compiled allocation comes from. */
static CUmemoryPool bptPool(void) {
  bptInit();
  CUdevice device;
  CHECK(cuCtxGetDevice(&device));
  CUmemoryPool pool;
  CHECK(cuDeviceGetDefaultMemPool(&pool, device));
  return pool;
}

/* The most bytes the compiled program's allocations (gpu.alloc: buffers,
 * results, staged constants) held at once since the last reset: its
 * device-memory footprint beyond the inputs the caller allocated. */
BPT_EXPORT uint64_t bptCudaPeakBytes(void) {
  cuuint64_t high = 0;
  CHECK(cuMemPoolGetAttribute(bptPool(), CU_MEMPOOL_ATTR_USED_MEM_HIGH,
                              &high));
  return high;
}

BPT_EXPORT void bptCudaResetPeak(void) {
  cuuint64_t zero = 0;
  CHECK(cuMemPoolSetAttribute(bptPool(), CU_MEMPOOL_ATTR_USED_MEM_HIGH,
                              &zero));
}

BPT_EXPORT void bptCudaSynchronize(void) {
  bptInit();
  CHECK(cuCtxSynchronize());
}

/* Milliseconds taken by `iterations` calls of `fn(arg)` on the device,
 * measured with events around the whole loop after one warm-up call. */
BPT_EXPORT float bptCudaTime(void (*fn)(void *), void *arg, int iterations) {
  bptInit();
  fn(arg);
  CHECK(cuCtxSynchronize());
  CUevent start, stop;
  CHECK(cuEventCreate(&start, CU_EVENT_DEFAULT));
  CHECK(cuEventCreate(&stop, CU_EVENT_DEFAULT));
  CHECK(cuEventRecord(start, NULL));
  for (int i = 0; i < iterations; ++i)
    fn(arg);
  CHECK(cuEventRecord(stop, NULL));
  CHECK(cuEventSynchronize(stop));
  float ms = 0;
  CHECK(cuEventElapsedTime(&ms, start, stop));
  CHECK(cuEventDestroy(start));
  CHECK(cuEventDestroy(stop));
  return ms / (float)iterations;
}
