// Ring attention on GPUs (--bpt-ring-gpu-pipeline): per step, the next
// key/value blocks are received and the held ones sent as one NCCL group
// on the communication stream, issued before the step's kernels (the
// attention kernel with global positions and a log-sum-exp, then the two
// merge kernels) and waited on after them. The last step communicates
// nothing. The running results, the send copies and the merges are device
// buffers and device kernels; rank and size come from MPI.
// RUN: bpt-opt %S/Inputs/ring_rank.mlir --bpt-ring-gpu-pipeline="devices=2 format=isa" | mlir-translate --mlir-to-llvmir | FileCheck %s
// RUN: bpt-opt %S/Inputs/ring_rank.mlir --bpt-ring-gpu-pipeline="devices=2 order=zigzag chip=sm_80" | FileCheck %s --check-prefix=BIN --dump-input=never

// CHECK-LABEL: define {{.*}} @attn(
//       CHECK:   call i32 @MPI_Comm_rank(ptr @ompi_mpi_comm_world
//       CHECK:   call i32 @MPI_Comm_size(ptr @ompi_mpi_comm_world
// The running output (0) and log-sum-exp (-inf), filled on the device:
//       CHECK:   call ptr @mgpuMemAlloc
//       CHECK:   call void @mgpuLaunchKernel
//       CHECK:   call void @mgpuLaunchKernel
// The held blocks, copied device to device into send buffers:
//       CHECK:   call void @mgpuMemcpy
//       CHECK:   call void @mgpuMemcpy
// Step 0: 2 x 128 x 64 f16 = 32768 bytes per block.
//       CHECK:   call void @bptNcclGroupStart()
//       CHECK:   %[[RK:.+]] = call ptr @bptNcclIrecv(ptr %{{.+}}, i64 32768, i32 %[[PEER:.+]])
//       CHECK:   %[[RV:.+]] = call ptr @bptNcclIrecv(ptr %{{.+}}, i64 32768, i32 %[[PEER]])
//       CHECK:   %[[SK:.+]] = call ptr @bptNcclIsend(ptr %{{.+}}, i64 32768, i32 %[[PEER]])
//       CHECK:   %[[SV:.+]] = call ptr @bptNcclIsend(ptr %{{.+}}, i64 32768, i32 %[[PEER]])
//  CHECK-NEXT:   call void @bptNcclGroupEnd()
//       CHECK:   call ptr @mgpuModuleGetFunction(ptr %{{.+}}, ptr @bpt_kernels_bpt_attention_b1_h4x2_q128_k128_d64x64_f16_f32_causal_lse_s3e000000_name)
//       CHECK:   call void @mgpuLaunchKernel
//       CHECK:   call void @mgpuLaunchKernel
//       CHECK:   call void @mgpuLaunchKernel
//       CHECK:   call i32 @bptNcclWait(ptr %[[RK]])
//       CHECK:   call i32 @bptNcclWait(ptr %[[RV]])
//       CHECK:   call i32 @bptNcclWait(ptr %[[SK]])
//       CHECK:   call i32 @bptNcclWait(ptr %[[SV]])
// Step 1 (last): compute only.
//   CHECK-NOT:   @bptNccl
//       CHECK:   call ptr @mgpuModuleGetFunction(ptr %{{.+}}, ptr @bpt_kernels_bpt_attention
//   CHECK-NOT:   @bptNccl
//       CHECK:   ret
// No host-side memory functions: every buffer is the device's.
//   CHECK-NOT:   call ptr @malloc
//   CHECK-NOT:   call void @free

// BIN-DAG: gpu.binary @bpt_kernels
// BIN-DAG: llvm.call @bptNcclGroupStart
