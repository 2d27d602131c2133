# Warning and sanitizer flags shared by every corral target.
add_library(corral_flags INTERFACE)
target_compile_options(corral_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wnon-virtual-dtor
  -Wno-missing-field-initializers)
if(CORRAL_WERROR)
  target_compile_options(corral_flags INTERFACE -Werror)
endif()
if(CORRAL_SANITIZE)
  target_compile_options(corral_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(corral_flags INTERFACE -fsanitize=address,undefined)
endif()
if(CORRAL_FUZZ)
  # Undefined behaviour stops the run like a crash, so the fuzzer keeps it as a finding.
  target_compile_options(corral_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
  target_link_options(corral_flags INTERFACE -fsanitize=address,undefined)
endif()
