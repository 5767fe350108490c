# -*- Python -*-
# lit configuration of bpt-mlir: IR tests (FileCheck) and CPU integration
# tests (JIT or AOT execution compared with a NumPy reference).

import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "BPT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".py", ".test"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "Inputs", "CMakeLists.txt"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.bpt_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))
config.substitutions.append(("%python", config.python_executable))
# Embedding tests: the plugin, the source tree, the build tree to install.
config.substitutions.append(("%bpt_plugin",
                             os.path.join(config.bpt_obj_root, "lib",
                                          "libBPTPlugin.so")))
config.substitutions.append(("%bpt_src_root", config.bpt_src_root))
config.substitutions.append(("%bpt_obj_root", config.bpt_obj_root))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# The python package drives execution tests (compile, run, compare).
config.environment["PYTHONPATH"] = os.path.join(config.bpt_src_root, "python")
config.environment["BPT_TOOLS_DIR"] = config.bpt_tools_dir
config.environment["BPT_LLVM_TOOLS_DIR"] = config.llvm_tools_dir

tool_dirs = [config.bpt_tools_dir, config.llvm_tools_dir]
tools = ["bpt-opt", "bpt-capi-test", "mlir-opt", "mlir-runner",
         "mlir-translate", "llc", "not"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Optional features.
if shutil.which("mpirun"):
    config.available_features.add("mpi")
if shutil.which("cmake") and shutil.which("ninja"):
    config.available_features.add("cmake")

# CUDA: the toolkit (ptxas, headers, the libcuda stub) builds cubins and the
# GPU runtime here; a GPU with a driver runs them.
cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
if os.path.exists(os.path.join(cuda_home, "bin", "ptxas")):
    config.available_features.add("cuda")
    config.environment["CUDA_HOME"] = cuda_home
    config.substitutions.append(("%cuda_home", cuda_home))
    # A disassembler (the nvidia-cuda-nvdisasm wheel scripts/setup.sh
    # installs): tests of the machine code ptxas makes of the kernels.
    import subprocess
    _found = subprocess.run(
        [config.python_executable, "-c",
         "from bpt.gpu import nvdisasm; print(nvdisasm() or '')"],
        capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=config.environment["PYTHONPATH"],
                 CUDA_HOME=cuda_home)).stdout.strip()
    if _found:
        config.available_features.add("nvdisasm")


def _cuda_devices():
    """(number of devices, compute capability major of device 0)."""
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0, 0
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0, 0
    major = ctypes.c_int(0)
    if count.value > 0:
        # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
        cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, 0)
    return count.value, major.value


_devices, _major = _cuda_devices() if "cuda" in config.available_features \
    else (0, 0)
if _devices > 0:
    config.available_features.add("cuda-gpu")
# Hopper (sm_90a kernels: TMA, warpgroup MMA).
if _devices > 0 and _major == 9:
    config.available_features.add("cuda-sm90")
# Ring attention over GPUs: two or more devices and mpirun.
if _devices > 1 and "mpi" in config.available_features:
    config.available_features.add("cuda-multi-gpu")
