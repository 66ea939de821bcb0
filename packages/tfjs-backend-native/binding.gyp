{
  "targets": [
    {
      "target_name": "lml_native",
      "sources": [
        "native/addon.cc",
        "native/adamw.cc",
        "native/batchnorm.cc",
        "native/conv.cc",
        "native/elementwise.cc",
        "native/layout.cc",
        "native/matmul.cc",
        "native/pooling.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
