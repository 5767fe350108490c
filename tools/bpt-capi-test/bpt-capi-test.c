/*===- bpt-capi-test.c - Drive bpt through its C API ----------------------===*\
|*                                                                            *|
|* Registers the bpt dialect (dialect handle) and passes, parses a module    *|
|* with a bpt.attention from argv[1] (or stdin), runs the pass pipeline of   *|
|* argv[2] and prints the result; errors go to stderr with exit status 1.    *|
|* Used by test/Embedding/capi.mlir.                                          *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "bpt-c/BPT.h"
#include "mlir-c/IR.h"
#include "mlir-c/Pass.h"

#include <stdio.h>
#include <stdlib.h>

static void printToFile(MlirStringRef str, void *userData) {
  fwrite(str.data, 1, str.length, (FILE *)userData);
}

static char *readAll(FILE *f) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (len + 1 == cap)
      buf = realloc(buf, cap *= 2);
  }
  if (buf)
    buf[len] = 0;
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bpt-capi-test FILE|- PIPELINE\n");
    return 2;
  }
  FILE *in = argv[1][0] == '-' ? stdin : fopen(argv[1], "r");
  if (!in) {
    fprintf(stderr, "bpt-capi-test: cannot open %s\n", argv[1]);
    return 1;
  }
  char *text = readAll(in);

  MlirContext ctx = mlirContextCreate();
  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  mlirBPTRegisterAllDialects(registry);
  mlirContextAppendDialectRegistry(ctx, registry);
  mlirDialectRegistryDestroy(registry);
  /* The handle loads the bpt dialect on its own too. */
  MlirDialect bpt =
      mlirDialectHandleLoadDialect(mlirGetDialectHandle__bpt__(), ctx);
  MlirStringRef ns = mlirDialectGetNamespace(bpt);
  fprintf(stderr, "loaded dialect: %.*s\n", (int)ns.length, ns.data);
  mlirRegisterBPTPasses();

  MlirModule module =
      mlirModuleCreateParse(ctx, mlirStringRefCreateFromCString(text));
  free(text);
  if (mlirModuleIsNull(module)) {
    fprintf(stderr, "bpt-capi-test: the input does not parse\n");
    mlirContextDestroy(ctx);
    return 1;
  }
  MlirPassManager pm = mlirPassManagerCreate(ctx);
  MlirOpPassManager opm = mlirPassManagerGetAsOpPassManager(pm);
  MlirLogicalResult parsed = mlirParsePassPipeline(
      opm, mlirStringRefCreateFromCString(argv[2]), printToFile, stderr);
  int status = 0;
  if (mlirLogicalResultIsFailure(parsed)) {
    fprintf(stderr, "\nbpt-capi-test: bad pipeline\n");
    status = 1;
  } else if (mlirLogicalResultIsFailure(mlirPassManagerRunOnOp(
                 pm, mlirModuleGetOperation(module)))) {
    fprintf(stderr, "bpt-capi-test: the pipeline failed\n");
    status = 1;
  } else {
    mlirOperationPrint(mlirModuleGetOperation(module), printToFile, stdout);
    printf("\n");
  }
  mlirPassManagerDestroy(pm);
  mlirModuleDestroy(module);
  mlirContextDestroy(ctx);
  return status;
}
