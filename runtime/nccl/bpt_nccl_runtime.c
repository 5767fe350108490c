/*===- bpt_nccl_runtime.c - NCCL transfers of ring attention on GPUs ------===*
 *
 * --bpt-ring-gpu-pipeline lowers the ring's mpi.isend / mpi.irecv of
 * device buffers to the calls below (--bpt-convert-mpi-to-llvm with
 * engine=nccl): each ring step's receives and sends form one NCCL group,
 *
 *   bptNcclGroupStart(); r = bptNcclIrecv(buf, bytes, prev); ...
 *   s = bptNcclIsend(buf, bytes, next); ... bptNcclGroupEnd();
 *   ... the step's kernels ...
 *   bptNcclWait(r); bptNcclWait(s); ...
 *
 * The group is enqueued on a communication stream of its own and returns at
 * once, so the transfers run while the step's kernels run on theirs; a
 * wait blocks the host until the group's transfers are done (one event per
 * group). NCCL has no tags: transfers between two ranks match in the order
 * they are issued, which the ring keeps.
 *
 * The communicator is made on first use: rank and size from MPI_COMM_WORLD
 * (the host program has called MPI_Init, as for CPU ranks), the NCCL unique
 * id made by rank 0 and broadcast with MPI_Bcast, the device and context
 * those of runtime/cuda (one GPU per rank on a node: BPT_CUDA_DEVICE, else
 * the OpenMPI local rank). Errors end the process with a message naming
 * the call; mpirun then ends the other ranks.
 *===----------------------------------------------------------------------===*/

#include <cuda.h>
#include <mpi.h>
#include <nccl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BPT_EXPORT __attribute__((visibility("default")))

/* From runtime/cuda: the program's context, made current. */
CUcontext bptCudaContext(void);

static void bptFail(const char *call, const char *what) {
  int rank = -1, initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized)
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  fprintf(stderr, "bpt-nccl-runtime (rank %d): %s failed: %s\n", rank, call,
          what);
  exit(3);
}

static void bptCheckNccl(ncclResult_t r, const char *call) {
  if (r != ncclSuccess)
    bptFail(call, ncclGetErrorString(r));
}

static void bptCheckCuda(CUresult r, const char *call) {
  if (r == CUDA_SUCCESS)
    return;
  const char *name = NULL;
  if (cuGetErrorName(r, &name) != CUDA_SUCCESS || !name)
    name = "unknown CUDA error";
  bptFail(call, name);
}

#define NCCL_CHECK(call) bptCheckNccl((call), #call)
#define CU_CHECK(call) bptCheckCuda((call), #call)

static ncclComm_t bptComm;
static CUstream bptCommStream;

static void bptCommInit(void) {
  if (bptComm) {
    bptCudaContext();
    return;
  }
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized)
    bptFail("bptNcclInit", "MPI is not initialised (the host program calls "
                           "MPI_Init before the compiled function)");
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  bptCudaContext();
  ncclUniqueId id;
  if (rank == 0)
    NCCL_CHECK(ncclGetUniqueId(&id));
  if (MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
    bptFail("MPI_Bcast", "the NCCL id did not reach every rank");
  CU_CHECK(cuStreamCreate(&bptCommStream, CU_STREAM_NON_BLOCKING));
  NCCL_CHECK(ncclCommInitRank(&bptComm, size, id, rank));
}

/* A request: the event recorded after its group, shared by the group's
 * requests (freed with the last of them). */
typedef struct BptEvent {
  CUevent event;
  int users;
} BptEvent;

typedef struct BptRequest {
  BptEvent *done;
} BptRequest;

/* Requests of the open group, completed by bptNcclGroupEnd. */
enum { kMaxGroup = 64 };
static BptRequest *bptOpen[kMaxGroup];
static int bptOpenCount;
static int bptInGroup;

BPT_EXPORT void bptNcclGroupStart(void) {
  bptCommInit();
  if (bptInGroup)
    bptFail("bptNcclGroupStart", "a group is already open");
  NCCL_CHECK(ncclGroupStart());
  bptInGroup = 1;
  bptOpenCount = 0;
}

BPT_EXPORT void bptNcclGroupEnd(void) {
  if (!bptInGroup)
    bptFail("bptNcclGroupEnd", "no group is open");
  NCCL_CHECK(ncclGroupEnd());
  bptInGroup = 0;
  BptEvent *done = malloc(sizeof *done);
  if (!done)
    bptFail("bptNcclGroupEnd", "out of host memory");
  CU_CHECK(cuEventCreate(&done->event, CU_EVENT_DISABLE_TIMING));
  CU_CHECK(cuEventRecord(done->event, bptCommStream));
  done->users = bptOpenCount;
  for (int i = 0; i < bptOpenCount; ++i)
    bptOpen[i]->done = done;
  if (bptOpenCount == 0) {
    CU_CHECK(cuEventDestroy(done->event));
    free(done);
  }
}

/* One transfer of the open group (or of a group of its own). */
static BptRequest *bptTransfer(int send, void *ptr, int64_t bytes,
                               int32_t peer) {
  int alone = !bptInGroup;
  if (alone)
    bptNcclGroupStart();
  if (bptOpenCount == kMaxGroup)
    bptFail(send ? "bptNcclIsend" : "bptNcclIrecv",
            "more than 64 transfers in one group");
  if (send)
    NCCL_CHECK(ncclSend(ptr, (size_t)bytes, ncclUint8, peer, bptComm,
                        (cudaStream_t)bptCommStream));
  else
    NCCL_CHECK(ncclRecv(ptr, (size_t)bytes, ncclUint8, peer, bptComm,
                        (cudaStream_t)bptCommStream));
  BptRequest *request = malloc(sizeof *request);
  if (!request)
    bptFail("bptNcclTransfer", "out of host memory");
  request->done = NULL;
  bptOpen[bptOpenCount++] = request;
  if (alone)
    bptNcclGroupEnd();
  return request;
}

BPT_EXPORT void *bptNcclIsend(void *ptr, int64_t bytes, int32_t peer) {
  return bptTransfer(1, ptr, bytes, peer);
}

BPT_EXPORT void *bptNcclIrecv(void *ptr, int64_t bytes, int32_t peer) {
  return bptTransfer(0, ptr, bytes, peer);
}

/* Blocks until the request's group has completed on the device. */
BPT_EXPORT int32_t bptNcclWait(void *handle) {
  BptRequest *request = handle;
  if (!request || !request->done)
    bptFail("bptNcclWait", "the request's group was never ended");
  BptEvent *done = request->done;
  CU_CHECK(cuEventSynchronize(done->event));
  if (--done->users == 0) {
    CU_CHECK(cuEventDestroy(done->event));
    free(done);
  }
  free(request);
  return 0;
}

/* Ends the communicator (optional: the process may simply exit). */
BPT_EXPORT void bptNcclFinalize(void) {
  if (!bptComm)
    return;
  NCCL_CHECK(ncclCommDestroy(bptComm));
  CU_CHECK(cuStreamDestroy(bptCommStream));
  bptComm = NULL;
}
