# Per-ISA kernel units (excluded from the kernels layer glob): each gets its own -m flags, so
# only dispatch.cpp, after checking the CPU, may call into them.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set(x86_dir ${CMAKE_CURRENT_LIST_DIR})
  target_sources(corral_kernels PRIVATE
    ${x86_dir}/avx2/kernels_avx2.cpp
    ${x86_dir}/avx512/kernels_avx512.cpp
    ${x86_dir}/amx/kernels_amx.cpp
    ${x86_dir}/amx/kernels_amx_emulated.cpp)
  set_source_files_properties(${x86_dir}/avx2/kernels_avx2.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-ffp-contract=off")
  set_source_files_properties(${x86_dir}/avx512/kernels_avx512.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512vnni;-ffp-contract=off")
  set_source_files_properties(${x86_dir}/amx/kernels_amx.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512vnni;-mamx-tile;-mamx-int8;-ffp-contract=off")
  set_source_files_properties(${x86_dir}/amx/kernels_amx_emulated.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-ffp-contract=off")
  target_compile_definitions(corral_kernels PRIVATE CORRAL_X86_KERNELS=1)
endif()
