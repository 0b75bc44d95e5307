# forge_native: OpenBLAS GEMM and fused training kernels. Built by scripts/build-addon.js, which
# locates OpenBLAS and passes its include and library directories in FORGE_OPENBLAS_INCLUDE and
# FORGE_OPENBLAS_LIB.
{
  "targets": [
    {
      "target_name": "forge_native",
      "sources": [
        "native/addon.cc",
        "native/common.cc",
        "native/thread-pool.cc",
        "native/gemm.cc",
        "native/layer-norm.cc",
        "native/gelu.cc",
        "native/dropout.cc",
        "native/attention.cc",
        "native/cross-entropy.cc",
        "native/softmax.cc",
        "native/transpose.cc",
        "native/segment-sum.cc",
        "native/flat-math.cc",
        "native/elementwise.cc",
        "native/reduce-sum.cc",
        "native/huge-pages.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"process.env.FORGE_OPENBLAS_INCLUDE || '/usr/include'\")"
      ],
      "libraries": [
        "-L<!(node -p \"process.env.FORGE_OPENBLAS_LIB || '/usr/lib'\")",
        "-Wl,-rpath,<!(node -p \"process.env.FORGE_OPENBLAS_LIB || '/usr/lib'\")",
        "-l<!(node -p \"process.env.FORGE_OPENBLAS_NAME || 'openblas'\")",
        "-lpthread"
      ],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": [
        "-std=c++17", "-O3", "-fexceptions",
        "-fno-math-errno", "-fno-trapping-math", "-fno-signed-zeros", "-fassociative-math"
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-math-errno"]
      }
    }
  ]
}
